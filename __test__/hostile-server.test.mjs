// The whole client against raw-socket servers that break HTTP on purpose. Each case broke the
// hand-written HTTP/1.1 transport of an earlier version (answers handed to the wrong caller,
// unbounded trailers, wrapped chunk sizes); now every caller gets its own answer or an error.
import { ChittyIDClient } from '../index.mjs'
import { rawServer } from './helpers.mjs'

const json = (status, obj) => {
  const body = JSON.stringify(obj)
  return `HTTP/1.1 ${status} OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
}

const validateAnswer = (path) => {
  const id = decodeURIComponent(path.split('/').pop())
  return json(200, { valid: id.endsWith('0'), chittyId: id })
}

async function withClient(answer, options, fn) {
  const server = await rawServer(answer)
  const client = new ChittyIDClient({ serviceUrl: server.url, retry: false, connection: false, ...options })
  try {
    await fn(client)
  } finally {
    await client.close()
    await server.close()
  }
}

test('100 Continue and 103 Early Hints before the answer: every caller gets its own answer', async () => {
  const answer = ({ socket, key, path }) => {
    const interim = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n'
    socket.write(interim + (key ? json(201, { chittyId: key }) : validateAnswer(path)))
  }
  // The native transport's HTTP: under the fetch transport the platform's fetch reads the answer,
  // and Node 20's (undici 6) refuses an unsolicited 100 Continue ("bad response"), as it did
  // for v1 (docs/MIGRATION.md, "v1-era suites and fetch stubs").
  await withClient(answer, { transport: 'native' }, async (client) => {
    // Mint answers are format-checked, so each caller's key is a well-formed id the server echoes.
    const keys = Array.from({ length: 200 }, (_, i) => `KY-A-AAA-${String(i).padStart(4, '0')}-P-00-A-0`)
    const ids = await Promise.all(keys.map((idempotencyKey) => client.mint({ entity: 'PEO' }, { idempotencyKey })))
    expect(ids).toEqual(keys)
    const verdicts = await Promise.all(
      ['AA-A-AAA-0000-P-00-A-0', 'AA-A-AAA-0000-P-00-A-1'].map((id) => client.validate(id)),
    )
    expect(verdicts.map((v) => v.valid)).toEqual([true, false])
    // Cached verdicts stay with their own ids.
    expect((await client.validate('AA-A-AAA-0000-P-00-A-1')).valid).toBe(false)
  })
})

test('stray bytes on an idle pooled connection never answer a later request', async () => {
  // Well-formed, so only the connection handling (not the format check) can keep it out.
  const STRAY = 'ST-R-AYY-0000-P-00-A-0'
  let n = 0
  const answer = ({ socket, key }) => {
    n += 1
    socket.write(json(201, { chittyId: key }) + (n === 1 ? json(201, { chittyId: STRAY }) : ''))
  }
  await withClient(answer, {}, async (client) => {
    const first = 'KY-A-AAA-0001-P-00-A-0'
    expect(await client.mint({ entity: 'PEO' }, { idempotencyKey: first })).toBe(first)
    await new Promise((resolve) => setTimeout(resolve, 50))
    for (const key of ['KY-A-AAA-0002-P-00-A-0', 'KY-A-AAA-0003-P-00-A-0', 'KY-A-AAA-0004-P-00-A-0']) {
      const outcome = await client.mint({ entity: 'PEO' }, { idempotencyKey: key }).catch((e) => e)
      expect(outcome).not.toBe(STRAY)
      if (typeof outcome === 'string') expect(outcome).toBe(key)
    }
  })
})

test.each([
  ['conflicting Content-Length headers', 'HTTP/1.1 201 Created\r\nContent-Length: 2\r\nContent-Length: 30\r\n\r\n{}'],
  [
    'a chunk size that overflows 64 bits',
    'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n{}\r\n0\r\n\r\n',
  ],
])('%s: the call fails with a clear error, the process lives on', async (_, raw) => {
  await withClient(
    ({ socket }) => socket.write(raw),
    {},
    async (client) => {
      const err = await client.mint({ entity: 'PEO' }).catch((e) => e)
      expect(err).toBeInstanceOf(Error)
      expect(['EBADRESPONSE', 'ECONNRESET', 'EMINTUNKNOWN']).toContain(err.code)
      expect(err.message).toMatch(/^ChittyID service unavailable - cannot mint PEO ID: /)
    },
  )
})

test('endless trailers: the call fails long before its timeout and the server is cut off', async () => {
  let written = 0
  const answer = ({ socket }) => {
    socket.write('HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n')
    const line = `X-Trailer: ${'t'.repeat(1000)}\r\n`
    const pump = () => {
      while (written < 64 * 1024 * 1024 && !socket.destroyed) {
        written += line.length
        if (!socket.write(line)) return socket.once('drain', pump)
      }
    }
    pump()
  }
  await withClient(answer, { timeout: 20000, maxResponseBytes: 65536 }, async (client) => {
    const started = Date.now()
    const err = await client.mint({ entity: 'PEO' }).catch((e) => e)
    expect(err).toBeInstanceOf(Error)
    expect(Date.now() - started).toBeLessThan(10000)
    expect(written).toBeLessThan(16 * 1024 * 1024)
  })
})
