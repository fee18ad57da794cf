// The HTTP transport as v1's `fetch` behaved, end to end against the emulator, a real forward
// proxy and child processes: redirects, gzip, HTTP/2 over TLS, proxies from the environment,
// NODE_TLS_REJECT_UNAUTHORIZED, bounded connections and local resource failures.
import { get } from 'node:http'
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib'
import { ChittyIDClient, ChittyIDEmulator } from '../index.mjs'
import { startForwardProxy } from './forward-proxy.mjs'
import { ID_PATTERN, rawServer } from './helpers.mjs'
import { runNode } from './wait.mjs'

const runWithEnv = (script, env, timeoutMs = 30000, shellPrefix) => runNode(script, [], timeoutMs, { env, shellPrefix })

// The native transport's HTTP (the fetch transport's is the platform's `fetch`): this file runs
// on it in a `CHITTYID_TRANSPORT=fetch` run too, and so do the processes it starts.
let runTransport
beforeAll(() => {
  runTransport = process.env.CHITTYID_TRANSPORT
  process.env.CHITTYID_TRANSPORT = 'native'
})
afterAll(() => {
  if (runTransport === undefined) delete process.env.CHITTYID_TRANSPORT
  else process.env.CHITTYID_TRANSPORT = runTransport
})

describe('redirects, as fetch follows them', () => {
  for (const redirectStatus of [301, 308]) {
    test(`a service moved from /v1 to /api/v1 with ${redirectStatus} keeps working`, async () => {
      const emu = await ChittyIDEmulator.start({ redirectStatus })
      const client = new ChittyIDClient({ serviceUrl: `${emu.url}/v1`, retry: false })
      try {
        // A 301 turns the POST into a GET (fetch's rule), which the service answers 404.
        if (redirectStatus === 308) {
          expect(await client.mint({ entity: 'PEO' })).toMatch(ID_PATTERN)
          expect(emu.stats().minted).toBe(1)
        } else {
          await expect(client.mint({ entity: 'PEO' })).rejects.toThrow(/ChittyID service error: 40[45]/)
          expect(emu.stats().minted).toBe(0)
        }
        const direct = new ChittyIDClient({ serviceUrl: `${emu.url}/api/v1` })
        const id = await direct.mint({ entity: 'PROP' })
        await direct.close()
        expect(await client.validate(id)).toEqual({ valid: true, chittyId: id, entity: 'PROP' })
        expect(await client.healthCheck()).toBe(true)
      } finally {
        await client.close()
        await emu.close()
      }
    })
  }
})

test('gzip answers are decoded (validate stays authoritative)', async () => {
  const emu = await ChittyIDEmulator.start({ compress: true })
  const client = new ChittyIDClient({ serviceUrl: `${emu.url}/v1` })
  try {
    const id = await client.mint({ entity: 'PLACE' })
    expect(id).toMatch(ID_PATTERN)
    expect(await client.validate(id)).toEqual({ valid: true, chittyId: id, entity: 'PLACE' })
    // A well-formed id the service never minted: the service's "no", not the format fallback.
    const answer = await client.validate('CT-A-CHI-1234-P-24-A-0')
    expect(answer.valid).toBe(false)
    expect(answer.error).not.toMatch(/fetch failed|invalid response/)
    // The emulator really compressed: the same request, asking for gzip, gets gzip bytes back.
    const raw = await new Promise((resolve, reject) => {
      get(`${emu.url}/v1/validate/${id}`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }))
      }).on('error', reject)
    })
    expect(raw.encoding).toBe('gzip')
    expect([...raw.body.subarray(0, 2)]).toEqual([0x1f, 0x8b])
  } finally {
    await client.close()
    await emu.close()
  }
})

test('deflate answers are decoded as HTTP defines them (zlib); a body that cannot be decoded is EBADRESPONSE, not a reset', async () => {
  const ID = 'CT-A-CHI-1234-P-24-A-0'
  let encode
  const server = await rawServer(({ socket }) => {
    const [encoding, body] = encode()
    socket.write(
      `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: ${encoding}\r\nContent-Length: ${body.length}\r\n\r\n`,
    )
    socket.write(body)
  })
  const client = new ChittyIDClient({ serviceUrl: server.url, retry: false })
  const answer = JSON.stringify({ chittyId: ID })
  try {
    encode = () => ['deflate', deflateSync(answer)]
    expect(await client.mint({ entity: 'PEO' })).toBe(ID)
    for (const [encoding, body] of [
      ['deflate', deflateRawSync(answer)],
      ['deflate', Buffer.from('not deflate at all')],
      ['gzip', gzipSync(answer).subarray(0, 20)],
    ]) {
      encode = () => [encoding, body]
      const error = await client.mint({ entity: 'PEO' }).catch((e) => e)
      // The service answered, so the mint may have happened: EMINTUNKNOWN, caused by the garbled answer.
      expect([encoding, error.code, error.cause?.code, error.cause?.message]).toEqual([
        encoding,
        'EMINTUNKNOWN',
        'EBADRESPONSE',
        expect.stringMatching(/cannot be read/),
      ])
    }
  } finally {
    await client.close()
    await server.close()
  }
})

test('HTTPS to the emulator negotiates HTTP/2 and trusts only the given CA', async () => {
  const emu = await ChittyIDEmulator.start({ tls: true })
  const client = new ChittyIDClient({ serviceUrl: `${emu.url}/v1`, ca: emu.ca })
  const untrusting = new ChittyIDClient({ serviceUrl: `${emu.url}/v1`, retry: false })
  try {
    const ids = await Promise.all(Array.from({ length: 50 }, () => client.mint({ entity: 'PEO' })))
    expect(new Set(ids).size).toBe(50)
    expect(emu.h2Requests).toBe(50)
    await expect(untrusting.mint({ entity: 'PEO' })).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })
  } finally {
    await client.close()
    await untrusting.close()
    await emu.close()
  }
})

test('NODE_TLS_REJECT_UNAUTHORIZED=0 skips verification with one process warning', async () => {
  const emu = await ChittyIDEmulator.start({ tls: true })
  try {
    const script = `
      const { ChittyIDClient } = require('./index.js')
      const warnings = []
      process.on('warning', (w) => warnings.push(w.code))
      ;(async () => {
        const a = new ChittyIDClient({ serviceUrl: process.argv[1] || '${emu.url}/v1' })
        const b = new ChittyIDClient({ serviceUrl: '${emu.url}/v1' })
        const id = await a.mint({ entity: 'PEO' })
        await b.mint({ entity: 'PEO' })
        await new Promise((r) => setImmediate(r))
        console.log(JSON.stringify({ id, warnings }))
        await a.close(); await b.close()
      })().catch((e) => { console.log(JSON.stringify({ error: e.code })); })`
    const unverified = await runWithEnv(script, { NODE_TLS_REJECT_UNAUTHORIZED: '0' })
    const out = JSON.parse(unverified.stdout)
    expect(out.id).toMatch(ID_PATTERN)
    expect(out.warnings.filter((c) => c === 'CHITTYID_TLS_UNVERIFIED')).toHaveLength(1)
    const verified = await runWithEnv(script, { NODE_TLS_REJECT_UNAUTHORIZED: undefined })
    expect(JSON.parse(verified.stdout)).toEqual({ error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })
  } finally {
    await emu.close()
  }
})

describe('proxies, as Node applies them', () => {
  let proxy
  let emu
  let tlsEmu
  beforeAll(async () => {
    proxy = await startForwardProxy()
    emu = await ChittyIDEmulator.start()
    tlsEmu = await ChittyIDEmulator.start({ tls: true })
  })
  afterAll(async () => {
    await proxy.close()
    await emu.close()
    await tlsEmu.close()
  })
  beforeEach(() => {
    proxy.seen.requests.length = 0
    proxy.seen.tunnels.length = 0
  })

  test('the proxy option sends plain http through the proxy, with the key', async () => {
    const client = new ChittyIDClient({ serviceUrl: `${emu.url}/v1`, proxy: proxy.url, apiKey: 'pk' })
    try {
      expect(await client.mint({ entity: 'PEO' })).toMatch(ID_PATTERN)
      expect(proxy.seen.requests.map((r) => `${r.method} ${r.url}`)).toEqual([`POST ${emu.url}/v1/mint?type=person`])
      expect(proxy.seen.requests[0].headers.authorization).toBe('Bearer pk')
    } finally {
      await client.close()
    }
  })

  test('proxy: false and an unset NODE_USE_ENV_PROXY go direct', async () => {
    const direct = new ChittyIDClient({ serviceUrl: `${emu.url}/v1`, proxy: false })
    try {
      await direct.mint({ entity: 'PEO' })
    } finally {
      await direct.close()
    }
    const script = `const { ChittyIDClient } = require('./index.js'); const c = new ChittyIDClient({ serviceUrl: '${emu.url}/v1' });
      c.mint({ entity: 'PEO' }).then((id) => { console.log(id); return c.close() })`
    const ignored = await runWithEnv(script, {
      HTTP_PROXY: proxy.url,
      http_proxy: proxy.url,
      NODE_USE_ENV_PROXY: undefined,
    })
    expect(ignored.stdout.trim()).toMatch(ID_PATTERN)
    expect(proxy.seen.requests).toHaveLength(0)
  })

  test('with NODE_USE_ENV_PROXY=1, HTTPS_PROXY tunnels https (h2 inside) and NO_PROXY is honoured; lowercase wins', async () => {
    const script = `const { ChittyIDClient } = require('./index.js')
      const c = new ChittyIDClient({ serviceUrl: '${tlsEmu.url}/v1', ca: process.env.EMU_CA })
      const d = new ChittyIDClient({ serviceUrl: '${emu.url}/v1' })
      Promise.all([c.mint({ entity: 'PEO' }), d.mint({ entity: 'PEO' })]).then((ids) => { console.log(JSON.stringify(ids)); return Promise.all([c.close(), d.close()]) })
        .catch((e) => console.log(JSON.stringify({ error: e.code, message: e.message })))`
    const h2Before = tlsEmu.h2Requests
    const run = await runWithEnv(script, {
      NODE_USE_ENV_PROXY: '1',
      EMU_CA: tlsEmu.ca,
      https_proxy: proxy.url,
      HTTPS_PROXY: 'http://127.0.0.1:9',
      HTTP_PROXY: proxy.url,
      NO_PROXY: '127.0.0.1',
      no_proxy: `127.0.0.1:${emu.port}`,
    })
    const ids = JSON.parse(run.stdout)
    expect(ids).toHaveLength(2)
    for (const id of ids) expect(id).toMatch(ID_PATTERN)
    expect(proxy.seen.tunnels).toEqual([`127.0.0.1:${tlsEmu.port}`])
    expect(proxy.seen.requests).toHaveLength(0) // the http target matched no_proxy
    expect(tlsEmu.h2Requests - h2Before).toBe(1)
  })

  test('credentials in a proxy URL authenticate to the proxy (option and env, http and CONNECT); wrong ones fail without showing them', async () => {
    const guarded = await startForwardProxy({ auth: 'agent:s3cr%et' })
    try {
      const withAuth = guarded.url.replace('http://', 'http://agent:s3cr%25et@')
      const client = new ChittyIDClient({ serviceUrl: `${emu.url}/v1`, proxy: withAuth })
      try {
        expect(await client.mint({ entity: 'PEO' })).toMatch(ID_PATTERN)
      } finally {
        await client.close()
      }
      expect(guarded.seen.requests.map((r) => r.headers['proxy-authorization'])).toEqual([
        `Basic ${Buffer.from('agent:s3cr%et').toString('base64')}`,
      ])
      const script = `const { ChittyIDClient } = require('./index.js')
        const c = new ChittyIDClient({ serviceUrl: '${tlsEmu.url}/v1', ca: process.env.EMU_CA, retry: false })
        c.mint({ entity: 'PEO' }).then((id) => console.log(JSON.stringify({ id })), (e) => console.log(JSON.stringify({ code: e.code, message: e.message, cause: String(e.cause) }))).finally(() => c.close())`
      const tunnelled = await runWithEnv(script, { NODE_USE_ENV_PROXY: '1', EMU_CA: tlsEmu.ca, HTTPS_PROXY: withAuth })
      expect(JSON.parse(tunnelled.stdout).id).toMatch(ID_PATTERN)
      expect(guarded.seen.tunnels).toEqual([`127.0.0.1:${tlsEmu.port}`])
      expect(guarded.seen.refused).toBe(0)

      const wrong = await runWithEnv(script, {
        NODE_USE_ENV_PROXY: '1',
        EMU_CA: tlsEmu.ca,
        HTTPS_PROXY: guarded.url.replace('http://', 'http://agent:hunter2@'),
      })
      const failure = JSON.parse(wrong.stdout)
      expect(failure).toMatchObject({ code: 'ERR_PROXY_AUTH' })
      expect(failure.message).toMatch(/407 Proxy Authentication Required/)
      expect(wrong.stdout + wrong.stderr).not.toContain('hunter2')
      expect(guarded.seen.refused).toBe(1)
    } finally {
      await guarded.close()
    }
  })

  test('a bad proxy URL is a TypeError at construction that does not show the URL', () => {
    expect(() => new ChittyIDClient({ proxy: 'http://user:hunter2@[bad' })).toThrow(TypeError)
    try {
      new ChittyIDClient({ proxy: 'http://user:hunter2@[bad' })
    } catch (err) {
      expect(err.message).not.toContain('hunter2')
    }
  })
})

describe('bounded connections', () => {
  test('30,000 concurrent mints: all succeed over about maxConnections sockets, the breaker stays CLOSED', async () => {
    const emu = await ChittyIDEmulator.start()
    const client = new ChittyIDClient({ serviceUrl: `${emu.url}/v1`, maxConnections: 64, timeout: 60000 })
    try {
      const results = await Promise.allSettled(Array.from({ length: 30000 }, () => client.mint({ entity: 'EVNT' })))
      const failed = results.filter((r) => r.status === 'rejected')
      expect(failed.map((r) => r.reason.code).slice(0, 5)).toEqual([])
      expect(new Set(results.map((r) => r.value)).size).toBe(30000)
      expect(emu.stats().minted).toBe(30000)
      // hyper races a new connection against one about to come back to the pool, so a few
      // more than 64 may open over the run (docs/ARCHITECTURE.md, "Transport"); unbounded
      // connections would be in the thousands here.
      expect(emu.stats().connections).toBeLessThanOrEqual(80)
      expect(client.getStats().breaker.state).toBe('CLOSED')
    } finally {
      await client.close()
      await emu.close()
    }
  }, 120000)

  test('64 callers minting one after another over a default client keep to about 64 sockets', async () => {
    // Permits to spare (maxConnections 256): each exchange's connection must still be back in
    // the pool before its caller's next mint, or the count would climb toward 256.
    const emu = await ChittyIDEmulator.start()
    const client = new ChittyIDClient({ serviceUrl: `${emu.url}/v1` })
    try {
      const ids = new Set()
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          for (let i = 0; i < 150; i++) ids.add(await client.mint({ entity: 'PEO' }))
        }),
      )
      expect(ids.size).toBe(9600)
      expect(emu.stats().connections).toBeGreaterThanOrEqual(64)
      expect(emu.stats().connections).toBeLessThanOrEqual(80)
    } finally {
      await client.close()
      await emu.close()
    }
  }, 60000)

  test('out of file descriptors is EMFILE, not a service failure: the breaker stays CLOSED', async () => {
    const emu = await ChittyIDEmulator.start()
    try {
      const script = `const { ChittyIDClient } = require('./index.js')
        const c = new ChittyIDClient({ serviceUrl: '${emu.url}/v1', maxConnections: 2000, retry: false, connection: false })
        Promise.allSettled(Array.from({ length: 1500 }, () => c.mint({ entity: 'PEO' }))).then(async (rs) => {
          const codes = {}
          for (const r of rs) { const k = r.status === 'fulfilled' ? 'ok' : r.reason.code; codes[k] = (codes[k] || 0) + 1 }
          console.log(JSON.stringify({ codes, breaker: c.getStats().breaker.state }))
          await c.close()
        })`
      const run = await runWithEnv(script, {}, 60000, 'ulimit -n 256')
      const { codes, breaker } = JSON.parse(run.stdout)
      expect(codes.EMFILE).toBeGreaterThan(0)
      expect(codes.ok).toBeGreaterThan(0)
      expect(Object.keys(codes).sort()).toEqual(['EMFILE', 'ok'])
      expect(breaker).toBe('CLOSED')
    } finally {
      await emu.close()
    }
  }, 90000)
})
