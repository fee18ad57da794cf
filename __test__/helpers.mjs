import { createServer } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import { ChittyIDClient, ChittyIDEmulator } from '../index.mjs'

export const ID_PATTERN = /^[A-Z]{2}-[A-Z]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{2}-[A-Z]-[0-9A-Z]$/

/** The native client's events (README "Events"; event-payloads.test.mjs holds the list to it and to the types). */
export const CLIENT_EVENTS = [
  'stateChange',
  'connected',
  'disconnected',
  'reconnecting',
  'unhealthy',
  'maxReconnectAttemptsReached',
  'retry',
  'circuitOpen',
  'circuitHalfOpen',
  'circuitClose',
  'rateLimited',
  'error',
  'fleetDegraded',
  'fleetRestored',
  'failover',
  'failback',
  'placeholder',
]

/**
 * Emulators and clients a suite starts, all closed by `closeAll()` (from its `afterEach`), so a
 * failing test leaves nothing running for the next.
 */
export function tracker() {
  const emulators = []
  const clients = []
  return {
    async emulator(options = {}) {
      const emulator = await ChittyIDEmulator.start({ port: 0, ...options })
      emulators.push(emulator)
      return emulator
    },
    client(options) {
      const client = new ChittyIDClient(options)
      clients.push(client)
      return client
    },
    async closeAll() {
      await Promise.all(clients.splice(0).map((c) => c.close()))
      await Promise.all(emulators.splice(0).map((e) => e.close().catch(() => {})))
    },
  }
}

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

/**
 * A server that answers the statuses of `script` in turn (then 201s), echoing the caller's
 * `Authorization` in the reason phrase of every error (as a careless proxy would), and records
 * each request's method, URL and headers.
 */
export async function echoingServer(script = []) {
  const seen = []
  const server = createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers })
    const status = script.length > 0 ? script.shift() : 201
    req.resume()
    req.on('end', () => {
      if (status >= 300) {
        res.writeHead(status, `echo ${req.headers.authorization}`, {
          'content-type': 'application/json',
          'retry-after': '0',
        })
        return res.end('{}')
      }
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({ chittyId: 'CT-A-CHI-1234-P-24-A-0', chittyIds: ['CT-A-CHI-1234-P-24-A-0'], valid: true }),
      )
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${server.address().port}/v1`, seen, close: () => new Promise((r) => server.close(r)) }
}

/**
 * A raw-socket server that calls `answer({ socket, head, body, key, path })` for each request
 * (head + Content-Length body; `path`: the request target without its query) and writes nothing
 * itself: the answer may be any bytes, or none.
 * `requests` lists each request line as received (`GET /v1/validate/x HTTP/1.1`).
 */
export async function rawServer(answer) {
  const sockets = new Set()
  const requests = []
  const server = createNetServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buf = Buffer.alloc(0)
    socket.on('data', (data) => {
      buf = Buffer.concat([buf, data])
      for (;;) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) return
        const head = buf.subarray(0, end).toString()
        const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] || 0)
        if (buf.length < end + 4 + length) return
        const body = buf.subarray(end + 4, end + 4 + length).toString()
        buf = buf.subarray(end + 4 + length)
        const key = /idempotency-key:\s*(\S+)/i.exec(head)?.[1]
        // Without the query (a mint on the deployed wire carries its type there too).
        const path = head.split(' ')[1].split('?')[0]
        requests.push(head.split('\r\n')[0])
        answer({ socket, head, body, key, path })
      }
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}/v1`,
    requests,
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
