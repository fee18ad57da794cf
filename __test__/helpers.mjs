import { ChittyIDClient, ChittyIDEmulator } from '../index.mjs'

export const ID_PATTERN = /^[A-Z]{2}-[A-Z]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{2}-[A-Z]-[0-9A-Z]$/

/** Starts an emulator and a client pointed at its /v1 prefix. */
export async function startPair({ token, client: clientOptions = {} } = {}) {
  const emulator = await ChittyIDEmulator.start({ port: 0, token })
  const client = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, apiKey: token, ...clientOptions })
  return {
    emulator,
    client,
    async close() {
      await client.close()
      await emulator.close()
    },
  }
}

/** A loopback port with nothing listening on it. */
export async function closedPort() {
  const emulator = await ChittyIDEmulator.start({ port: 0 })
  const { port } = emulator
  await emulator.close()
  return port
}
