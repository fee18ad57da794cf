// Every `code` a rejection carries is one of `ChittyIDErrorCode` (lib/types/errors.d.ts), so a
// `switch (err.code)` typed against it sees every case. Here: TLS failures over real sockets,
// which Node's fetch names with many codes (DEPTH_ZERO_SELF_SIGNED_CERT, SELF_SIGNED_CERT_IN_CHAIN,
// ...) that every transport must report as the few codes the type lists.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { makeCertificates } from './certificates.mjs'
import { ChittyIDClient } from '../index.js'
import { ChittyIDClient as PortableClient } from '../portable.js'

const typesFile = fileURLToPath(new URL('../lib/types/errors.d.ts', import.meta.url))
// The union's members: the `| 'CODE'` lines before the class.
const CODES = new Set(
  [
    ...readFileSync(typesFile, 'utf8')
      .split('export declare class')[0]
      .matchAll(/\|\s*'([A-Z0-9_]+)'/g),
  ].map((m) => m[1]),
)

// The TLS codes of the README's errors table.
const TLS_CODES = [
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_INVALID',
  'ERR_TLS_HANDSHAKE',
]

let dir, certs
const servers = []
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'chittyid-error-codes-'))
  certs = makeCertificates(dir)
})
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  rmSync(dir, { recursive: true, force: true })
})

/** An https server on 127.0.0.1 with the given certificate (chain) and key; resolves to its URL. */
async function serve(cert, key) {
  const server = createServer({ cert, key }, (req, res) => res.end('{}'))
  servers.push(server)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `https://127.0.0.1:${server.address().port}/v1`
}

const CLIENTS = {
  native: (serviceUrl) => new ChittyIDClient({ serviceUrl, transport: 'native', retry: false }),
  fetch: (serviceUrl) => new ChittyIDClient({ serviceUrl, transport: 'fetch', retry: false }),
  portable: (serviceUrl) => new PortableClient({ serviceUrl, retry: false }),
}

// A self-signed leaf (Node: DEPTH_ZERO_SELF_SIGNED_CERT) and a chain that carries its untrusted
// root (Node: SELF_SIGNED_CERT_IN_CHAIN).
const CASES = {
  'self-signed leaf': () => [readFileSync(certs.caFile), readFileSync(join(dir, 'ca.key'))],
  'untrusted root in chain': () => [
    Buffer.concat([readFileSync(certs.certFile), readFileSync(certs.caFile)]),
    readFileSync(certs.keyFile),
  ],
}

test('the union lists the TLS codes (sanity of the parse above)', () => {
  expect(CODES.has('ERR_TLS_CERT_INVALID')).toBe(true)
  expect(CODES.has('EHTTP')).toBe(true)
})

describe.each(Object.keys(CASES))('%s', (name) => {
  test.each(Object.keys(CLIENTS))('%s client: the code is a ChittyIDErrorCode', async (kind) => {
    const url = await serve(...CASES[name]())
    const client = CLIENTS[kind](url)
    try {
      const mint = await client.mint({ entity: 'PEO' }).then(
        () => null,
        (e) => e,
      )
      expect(mint).not.toBeNull()
      // A TLS failure happens before anything is sent: the mint is not EMINTUNKNOWN.
      expect({ code: mint.code, known: CODES.has(mint.code) }).toEqual({ code: expect.any(String), known: true })
      expect(TLS_CODES).toContain(mint.code)
      const healthy = await client.healthCheck()
      expect(healthy).toBe(false)
    } finally {
      await client.close()
    }
  })
})

test("the README's errors table lists exactly the codes of ChittyIDErrorCode", () => {
  const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8')
  const section = readme.slice(readme.indexOf('\n## Errors\n'), readme.indexOf('\n## Events\n'))
  // The first cell of every table row but the header.
  const rows = section.split('\n').filter((line) => line.startsWith('| `'))
  const listed = new Set(rows.flatMap((row) => [...row.split(' | ')[0].matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1])))
  expect([...listed].filter((c) => !CODES.has(c))).toEqual([])
  expect([...CODES].filter((c) => !listed.has(c))).toEqual([])
})
