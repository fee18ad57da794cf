// An id can never leave its path segment: `validate(id)` sends `GET <serviceUrl>/validate/<id
// encoded>` and nothing else, over both transports. "." and ".." would be removed by the URL
// parser (the key going to `/v1/` or `/v1/validate/`, that route's answer taken as the verdict),
// and no encoding survives it ("%2e" is a dot too), so they are answered without a request
// (docs/OPERATIONS.md, "Id grammars"; docs/ARCHITECTURE.md, "Redaction").
import { ChittyIDClient } from '../index.mjs'
import * as portable from '../portable.mjs'
import { rawServer } from './helpers.mjs'

const DOT_SEGMENT = 'ChittyID cannot be "." or ".." (a URL path drops dot segments)'

// Sent: each must arrive as exactly one segment, decoding back to the id.
const SENT = [
  '',
  '...',
  '%2e',
  '%2E',
  '%2e%2e',
  '.%2e',
  '%2e.',
  'a/../b',
  '../x',
  'x/..',
  './',
  '/..',
  '..%2f',
  '\\..',
  '..\\',
  '..;',
  '..?a',
  '..#a',
  '. .',
  ' ..',
  '.. ',
  '\u2024\u2024',
  '．．',
  'CT-A-CHI-1234-I-24-A-0',
]
// Answered locally.
const LOCAL = ['.', '..']

// 'portable': the portable build (docs/PORTABLE.md) over the runtime's fetch.
describe.each(['native', 'fetch', 'portable'])('validate() over the %s transport', (transport) => {
  test('no request leaves for any path but /v1/validate/<the id as one segment>', async () => {
    // Every route answers `valid: true`, so a request that escaped would also be believed.
    const server = await rawServer(({ socket }) => {
      const body = JSON.stringify({ valid: true })
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
    })
    const options = { serviceUrl: server.url, apiKey: 'sk-test-dots', retry: false, cache: false }
    const client =
      transport === 'portable' ? new portable.ChittyIDClient(options) : new ChittyIDClient({ ...options, transport })
    try {
      for (const id of LOCAL) {
        expect([id, await client.validate(id)]).toEqual([id, { valid: false, error: DOT_SEGMENT }])
      }
      expect(server.requests).toEqual([])
      expect(client.getStats().requests.validate.requests).toBe(0)

      for (const id of SENT) {
        const before = server.requests.length
        expect([id, await client.validate(id)]).toEqual([id, { valid: true }])
        expect(server.requests.length).toBe(before + 1)
        const [method, target, version] = server.requests.at(-1).split(' ')
        expect([id, method, version]).toEqual([id, 'GET', 'HTTP/1.1'])
        const segment = /^\/v1\/validate\/([^/?#]*)$/.exec(target)
        expect([id, target, segment !== null]).toEqual([id, target, true])
        expect(decodeURIComponent(segment[1])).toBe(id)
      }
      expect(server.requests.length).toBe(SENT.length)
    } finally {
      await client.close()
      await server.close()
    }
  })
})
