// Redirects over fetch (lib/fetch-redirect.js; docs/ARCHITECTURE.md "Fetch transport"): the
// native client's fetch transport and the portable build follow 3xx themselves with the native
// transport's rules, so a mint's body never goes to plain http after https. Real sockets: an
// https server (a throwaway CA, trusted by the fetch installed here) and plain http servers on
// loopback that record what reaches them.
import http from 'node:http'
import https from 'node:https'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent, fetch as undiciFetch } from 'undici'
import { ChittyIDClient as NativeClient } from '../index.mjs'
import * as portable from '../portable.mjs'
import { makeCertificates } from './certificates.mjs'

const ID = 'CT-A-CHI-1234-P-24-A-0'
const KEY = 'redirect-test-key'
const realFetch = globalThis.fetch

let dir
let dispatcher
let servers = []
let clients = []

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'chittyid-redirect-'))
  const certs = makeCertificates(dir)
  dispatcher = new Agent({ connect: { ca: certs.ca } })
  dir = { path: dir, certs }
})

afterAll(async () => {
  await dispatcher.close()
  rmSync(dir.path, { recursive: true, force: true })
})

beforeEach(() => {
  // A real fetch that trusts the test CA.
  globalThis.fetch = (url, init) => undiciFetch(url, { ...init, dispatcher })
})

afterEach(async () => {
  globalThis.fetch = realFetch
  for (const c of clients) await c.close()
  clients = []
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  servers = []
})

/** A server answering with `answer(req, body)` → `{ status, headers, body }`; records requests. */
async function serve(answer, { tls = false, host = '127.0.0.1' } = {}) {
  const seen = []
  const handler = (req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body })
      const a = answer(req, body, seen.length)
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers })
      res.end(a.body ?? '')
    })
  }
  const server = tls
    ? https.createServer({ key: readFileSync(dir.certs.keyFile), cert: readFileSync(dir.certs.certFile) }, handler)
    : http.createServer(handler)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  servers.push(server)
  const origin = `${tls ? 'https' : 'http'}://${host}:${server.address().port}`
  return { seen, origin }
}

const minted = () => ({ status: 200, body: JSON.stringify({ success: true, chittyId: ID }) })
const redirect = (status, location) => ({ status, headers: { location } })

const BUILDS = {
  'native fetch transport': (options) => new NativeClient({ transport: 'fetch', wire: 'v1', ...options }),
  'portable build': (options) => new portable.ChittyIDClient({ wire: 'v1', ...options }),
}

describe.each(Object.keys(BUILDS))('%s', (build) => {
  const client = (options) => {
    const c = BUILDS[build]({ apiKey: KEY, retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1 }, ...options })
    clients.push(c)
    return c
  }

  test('https → http is refused before anything goes to the http target: the mint is EMINTUNKNOWN', async () => {
    const plain = await serve(minted)
    const secure = await serve(() => redirect(307, `${plain.origin}/v1/mint`), { tls: true })
    const err = await client({ serviceUrl: `${secure.origin}/v1` })
      .mint({ entity: 'PEO', name: 'secret name' })
      .catch((e) => e)
    expect([err.code, err.mayHaveMinted, err.cause && err.cause.code]).toEqual([
      'EMINTUNKNOWN',
      true,
      'ERR_INSECURE_REDIRECT',
    ])
    expect(err.message).toMatch(/refused a redirect from https to plain http/)
    expect(secure.seen).toHaveLength(1)
    expect(plain.seen).toHaveLength(0)
  })

  test('a 307 to another origin keeps the method, body and key header, not Authorization', async () => {
    const target = await serve(minted, { host: 'localhost' })
    const start = await serve(() => redirect(307, `${target.origin}/v1/mint`))
    await expect(
      client({ serviceUrl: `${start.origin}/v1` }).mint({ entity: 'PEO' }, { idempotencyKey: 'k-307' }),
    ).resolves.toBe(ID)
    const [first] = start.seen
    const [second] = target.seen
    expect(first.headers.authorization).toBe(`Bearer ${KEY}`)
    expect([second.method, JSON.parse(second.body).entity, second.headers['idempotency-key']]).toEqual([
      'POST',
      'PEO',
      'k-307',
    ])
    expect(second.headers.authorization).toBeUndefined()
  })

  test('a redirect to another origin drops the credentials of the headers option, as natively', async () => {
    const target = await serve(minted, { host: 'localhost' })
    const start = await serve(() => redirect(307, `${target.origin}/v1/mint`))
    const headers = { cookie: 'session=secret', 'x-trace': 't-1' }
    await expect(client({ serviceUrl: `${start.origin}/v1`, headers }).mint({ entity: 'PEO' })).resolves.toBe(ID)
    expect(start.seen[0].headers.cookie).toBe('session=secret')
    const [second] = target.seen
    expect([second.headers.cookie, second.headers['x-trace']]).toEqual([undefined, 't-1'])
  })

  test('a Location with credentials is followed without them, as natively', async () => {
    const target = await serve(minted, { host: 'localhost' })
    const withCredentials = target.origin.replace('//', '//admin:hunter2@')
    const start = await serve(() => redirect(307, `${withCredentials}/v1/mint`))
    await expect(client({ serviceUrl: `${start.origin}/v1` }).mint({ entity: 'PEO' })).resolves.toBe(ID)
    expect(target.seen).toHaveLength(1)
    expect(target.seen[0].headers.authorization).toBeUndefined()
  })

  test('a 302 on a mint becomes a GET without body; Authorization stays on the same origin', async () => {
    const server = await serve((req) => (req.url === '/v1/mint' ? redirect(302, '/v1/minted') : minted()))
    await expect(client({ serviceUrl: `${server.origin}/v1` }).mint({ entity: 'PEO' })).resolves.toBe(ID)
    const second = server.seen[1]
    expect([second.method, second.url, second.body, second.headers['content-type']]).toEqual([
      'GET',
      '/v1/minted',
      '',
      undefined,
    ])
    expect(second.headers.authorization).toBe(`Bearer ${KEY}`)
  })

  test('more than 20 redirects: ERR_TOO_MANY_REDIRECTS, after 21 requests', async () => {
    const server = await serve((req, _, n) => redirect(308, `/v1/hop-${n}`))
    const err = await client({ serviceUrl: `${server.origin}/v1` })
      .mint({ entity: 'PEO' })
      .catch((e) => e)
    expect([err.code, err.cause && err.cause.code]).toEqual(['EMINTUNKNOWN', 'ERR_TOO_MANY_REDIRECTS'])
    expect(server.seen).toHaveLength(21)
  })
})

test('the native transport sends no Referer across a redirect, as fetch sends none', async () => {
  const target = await serve(minted, { host: 'localhost' })
  const start = await serve(() => redirect(307, `${target.origin}/v1/mint`))
  const c = new NativeClient({ transport: 'native', wire: 'v1', apiKey: KEY, serviceUrl: `${start.origin}/v1` })
  clients.push(c)
  await expect(c.mint({ entity: 'PEO' })).resolves.toBe(ID)
  expect(target.seen).toHaveLength(1)
  expect(target.seen[0].headers.referer).toBeUndefined()
})
