import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ChittyIDClient } from '../index.mjs'
import { makeCertificates } from './certificates.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const FIXED_ID = 'CT-A-TLS-0001-P-26-A-0'

let dir
let certs
let server
let url

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chittyid-tls-'))
  certs = makeCertificates(dir)
  server = createServer({ key: readFileSync(certs.keyFile), cert: readFileSync(certs.certFile) }, (req, res) => {
    res.setHeader('content-type', 'application/json')
    if (req.url === '/v1/health') return res.end('{"status":"ok"}')
    req.resume()
    req.on('end', () => {
      res.statusCode = 201
      res.end(JSON.stringify({ success: true, chittyId: FIXED_ID }))
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `https://127.0.0.1:${server.address().port}/v1`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  rmSync(dir, { recursive: true, force: true })
})

test('https with a CA given in the ca option', async () => {
  // The native transport's: Node's fetch does not take a CA per request (docs/MIGRATION.md).
  const client = new ChittyIDClient({ serviceUrl: url, ca: certs.ca, retry: false, transport: 'native' })
  expect(await client.mint({ entity: 'PEO' })).toBe(FIXED_ID)
  expect(await client.healthCheck()).toBe(true)
  await client.close()
})

test('an untrusted certificate fails the handshake with a TLS code, not a retry', async () => {
  const client = new ChittyIDClient({ serviceUrl: url })
  const retries = []
  client.on('retry', (e) => retries.push(e))
  const err = await client.mint({ entity: 'PEO' }).catch((e) => e)
  expect(err.code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  expect(err.message).toContain('fetch failed')
  expect(retries).toHaveLength(0)
  expect(await client.healthCheck()).toBe(false)
  await client.close()
})

test('NODE_EXTRA_CA_CERTS is honoured', async () => {
  const script = `
    const { ChittyIDClient } = require(${JSON.stringify(root)});
    new ChittyIDClient({ serviceUrl: process.argv[1] }).mint({ entity: 'PEO' })
      .then((id) => process.stdout.write(id), (e) => { process.stdout.write('ERR ' + e.code); });`
  // Asynchronous on purpose: the https server lives in this process.
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script, url], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') },
    encoding: 'utf8',
    timeout: 20000,
  })
  expect(stdout).toBe(FIXED_ID)
})

test('plain http to a non-loopback host is refused unless allowInsecure', () => {
  expect(() => new ChittyIDClient({ serviceUrl: 'http://id.chitty.cc/v1' })).toThrow(/allowInsecure/)
  expect(() => new ChittyIDClient({ serviceUrl: 'http://id.chitty.cc/v1', allowInsecure: true })).not.toThrow()
  expect(() => new ChittyIDClient({ serviceUrl: 'http://[::1]:8787/v1' })).not.toThrow()
})
