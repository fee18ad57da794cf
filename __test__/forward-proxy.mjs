import { createServer, request as httpRequest } from 'node:http'
import { connect } from 'node:net'

/**
 * A real forward proxy on loopback: absolute-form requests for http targets are forwarded,
 * CONNECT opens a tunnel (for https targets). It records what went through it. With `auth`
 * (`"user:password"`) it answers 407 to anything without that Basic `Proxy-Authorization`.
 */
export async function startForwardProxy({ auth } = {}) {
  const seen = { requests: [], tunnels: [], refused: 0 }
  const expected = auth === undefined ? undefined : `Basic ${Buffer.from(auth).toString('base64')}`
  const authorized = (req) => expected === undefined || req.headers['proxy-authorization'] === expected
  const server = createServer((req, res) => {
    seen.requests.push({ method: req.method, url: req.url, headers: req.headers })
    if (!authorized(req)) {
      seen.refused++
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"', 'content-length': '0' })
      return res.end()
    }
    const target = new URL(req.url)
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode, answer.statusMessage, answer.headers)
        answer.pipe(res)
      },
    )
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  const sockets = new Set()
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  server.on('connect', (req, clientSocket, head) => {
    seen.tunnels.push(req.url)
    if (!authorized(req)) {
      seen.refused++
      clientSocket.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n',
      )
      return
    }
    const [host, port] = req.url.split(':')
    const upstream = connect(Number(port), host, () => {
      clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(clientSocket)
      clientSocket.pipe(upstream)
    })
    sockets.add(upstream)
    upstream.on('close', () => sockets.delete(upstream))
    upstream.on('error', () => clientSocket.destroy())
    clientSocket.on('error', () => upstream.destroy())
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    seen,
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
