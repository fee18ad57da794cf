// Node side of the behaviour suite: the server a case talks to, started fresh for it, and an
// address where nothing listens.
import net from 'node:net'
import { ChittyIDEmulator } from '../../index.mjs'
import { startDeployedStandIn } from './deployed-standin.mjs'

/** `{ server, serviceUrl, close }` for case `c`, its `setup` applied. */
export async function serverFor(c) {
  if (c.server === 'deployed') {
    const standIn = await startDeployedStandIn()
    if (c.setup) c.setup(standIn)
    return { server: standIn, serviceUrl: standIn.serviceUrl, close: () => standIn.close() }
  }
  const emu = await ChittyIDEmulator.start({ port: 0, ...(c.emulator ?? {}) })
  if (c.setup) c.setup(emu)
  return { server: emu, serviceUrl: `${emu.url}/v1`, close: () => emu.close() }
}

/** A loopback URL where nothing listens (a port bound, then released). */
export async function deadUrl() {
  const probe = net.createServer()
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address()
  await new Promise((resolve) => probe.close(resolve))
  return `http://127.0.0.1:${port}/v1`
}
