import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const INDEX = fileURLToPath(new URL('../index.js', import.meta.url))

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `cond` every 5 ms; fails the test after `ms` with `what`. */
export async function waitFor(cond, what, ms = 3000) {
  const deadline = Date.now() + ms
  for (;;) {
    if (await cond()) return
    if (Date.now() >= deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(5)
  }
}

/**
 * Waits until `read()` has held still for `quietMs` and returns its value: what was already on
 * its way has landed. A request written before an abort or a disconnect reaches the emulator's
 * thread when that thread next runs, on a loaded machine well after the client has moved on;
 * counting at once would miss it, and see it "sent after".
 */
export async function heldStill(read, what, quietMs = 200, ms = 10000) {
  let value = read()
  let since = Date.now()
  await waitFor(
    () => {
      const now = read()
      if (now !== value) [value, since] = [now, Date.now()]
      return Date.now() - since >= quietMs
    },
    what,
    ms,
  )
  return value
}

/** Records `[name, payload, time]` for each of `names` emitted by `emitter`. */
export function record(emitter, names) {
  const events = []
  for (const name of names) emitter.on(name, (payload) => events.push([name, payload, Date.now()]))
  return {
    events,
    names: () => events.map(([n]) => n),
    of: (name) => events.filter(([n]) => n === name).map(([, p]) => p),
    count: (name) => events.filter(([n]) => n === name).length,
  }
}

/**
 * Runs `node -e script ...args` in the package root, with `env` added to (an undefined value:
 * removed from) this process's environment; resolves { code, signal, stdout, stderr, ms }.
 * Kills the child and rejects when it does not exit within `timeoutMs`.
 */
export function runNode(script, args = [], timeoutMs = 15000, { env, shellPrefix } = {}) {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const childEnv = { ...process.env, ...env }
    for (const [name, value] of Object.entries(env || {})) if (value === undefined) delete childEnv[name]
    const options = { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] }
    // `shellPrefix` runs first in a shell (e.g. `ulimit -n 256`), which then execs node.
    const child = shellPrefix
      ? spawn('bash', ['-c', `${shellPrefix}; exec "$0" -e "$1" "\${@:2}"`, process.execPath, script, ...args], options)
      : spawn(process.execPath, ['-e', script, ...args], options)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`child did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, timeoutMs)
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started })
    })
  })
}

/**
 * Listens `server` (http or net) on loopback, counting the connections it accepts and the ones
 * still open: `{ url, connections(), open(), close() }`; `close()` destroys the open ones.
 */
export async function listenCounting(server) {
  const sockets = new Set()
  let connections = 0
  server.on('connection', (socket) => {
    connections += 1
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    connections: () => connections,
    open: () => sockets.size,
    close: () => {
      for (const s of sockets) s.destroy()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}
