'use strict'

// A minimal fixed-answer HTTP/1.1 server for the client comparisons when the emulator is
// not fast enough: it parses just enough of each request (request line, Content-Length)
// to answer it with a pre-built response, handles pipelining and keep-alive, and nothing
// else. POST .../mint → 201 with a fixed id; GET .../validate/... → 200 valid; anything
// else → 200 health. Prints its URL, then serves until SIGTERM/SIGINT.
//
//   node bench/fixed-server.js [--port 0]

const net = require('node:net')
const { parseFlags, splitHttpMessages } = require('./lib/common.js')

const flags = parseFlags(process.argv.slice(2))

function response(status, reason, body) {
  return Buffer.from(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
}

const MINTED = response(
  201,
  'Created',
  '{"success":true,"chittyId":"CT-A-CHI-1234-P-24-A-0","entity":"PEO","timestamp":"2024-01-01T00:00:00.000Z","version":"2.0.0"}',
)
const VALID = response(200, 'OK', '{"valid":true,"chittyId":"CT-A-CHI-1234-P-24-A-0","entity":"PEO"}')
const HEALTH = response(200, 'OK', '{"status":"healthy","service":"chittyid-fixed","version":"2.0.0"}')
const MAX_PENDING = 1 << 20

function answer(head) {
  if (head.startsWith('POST ')) return MINTED
  if (head.includes('/validate/')) return VALID
  return HEALTH
}

const server = net.createServer({ noDelay: true }, (socket) => {
  let pending = null
  socket.on('data', (chunk) => {
    const out = []
    const rest = splitHttpMessages(pending ? Buffer.concat([pending, chunk]) : chunk, (head) => out.push(answer(head)))
    pending = rest.length > 0 ? rest : null
    if (pending && pending.length > MAX_PENDING) socket.destroy()
    if (out.length === 1) socket.write(out[0])
    else if (out.length > 1) socket.write(Buffer.concat(out))
  })
  socket.on('error', () => {})
})

server.listen(Number(flags.port || 0), '127.0.0.1', () => {
  const { port } = server.address()
  console.log(`fixed-answer server listening on http://127.0.0.1:${port}`)
})
const stop = () => server.close(() => process.exit(0))
process.once('SIGTERM', () => {
  stop()
  setTimeout(() => process.exit(0), 1000).unref()
})
process.once('SIGINT', stop)
