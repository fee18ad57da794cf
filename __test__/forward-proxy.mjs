import { createServer, request as httpRequest } from 'node:http'
import { connect } from 'node:net'

/**
 * A real forward proxy on loopback: absolute-form requests for http targets are forwarded,
 * CONNECT opens a tunnel (for https targets). It records what went through it.
 */
export async function startForwardProxy() {
  const seen = { requests: [], tunnels: [] }
  const server = createServer((req, res) => {
    seen.requests.push({ method: req.method, url: req.url, headers: req.headers })
    const target = new URL(req.url)
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers },
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
