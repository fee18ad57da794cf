// The emulator's deployed profile (docs/TESTING.md "The deployed profile"), driven over real sockets with
// plain fetch, as a caller of the deployed service would: its routes and bodies, its ids (checked
// by lib/id.js and by the independently computed check pair), placeholders under faults,
// the ledger, and the CLI flag. The client's side of this wire is tested elsewhere.
import { createRequire } from 'node:module'
import { spawn } from 'node:child_process'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ChittyIDEmulator } from '../index.mjs'

const require = createRequire(import.meta.url)
const format = require('../lib/id.js')
const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** The check pair done the plain way (BigInt of the whole number), not lib/id.js's. */
function referencePair(fields) {
  const digits = [...fields.replaceAll('-', '')].map((c) => String(parseInt(c, 36))).join('')
  return String((98n - (BigInt(digits) % 97n)) % 97n).padStart(2, '0')
}

let emu
beforeAll(async () => {
  emu = await ChittyIDEmulator.start({ profile: 'deployed' })
})
afterAll(() => emu.close())
beforeEach(() => {
  emu.clearFaults()
  emu.resetLedger()
})

async function call(method, path, body, headers = {}) {
  const response = await fetch(`${emu.url}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await response.text()
  let json
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: response.status, headers: response.headers, text, json }
}

const mint = (body, headers) => call('POST', '/mint', body, headers)

test('the profile is reported, and v1 stays the default', async () => {
  expect(emu.profile).toBe('deployed')
  const v1 = await ChittyIDEmulator.start()
  try {
    expect(v1.profile).toBe('v1')
    const answer = await fetch(`${v1.url}/v1/mint`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"entity":"PEO"}',
    })
    expect(answer.status).toBe(201)
    expect(format.idGrammarOf((await answer.json()).chittyId)).toBe('v1')
  } finally {
    await v1.close()
  }
  await expect(ChittyIDEmulator.start({ profile: 'v2' })).rejects.toThrow(/profile/)
})

test('mint reads entityType (word or letter) and answers 200 with a deployed id of that type and its components', async () => {
  const asked = [
    [{ entityType: 'person' }, 'P'],
    [{ entityType: 'place' }, 'L'],
    [{ entityType: 'thing' }, 'T'],
    [{ entityType: 'event' }, 'E'],
    [{ entityType: 'authority' }, 'A'],
    [{ entityType: 'P' }, 'P'],
    [{ entityType: 'a' }, 'A'],
    [{ entity: 'PEO', entityType: 'person', name: 'Ada', metadata: { k: 1 } }, 'P'],
    [{ entity: 'PEO' }, 'T'], // v1's field alone is not read: a Thing
  ]
  const ids = []
  for (const [body, letter] of asked) {
    const answer = await mint(body)
    expect({ body, status: answer.status }).toEqual({ body, status: 200 })
    const { chittyId, success, components, fallback } = answer.json
    expect(success).toBe(true)
    expect(fallback).toBeUndefined()
    expect(format.idGrammarOf(chittyId)).toBe('deployed')
    expect(chittyId[14]).toBe(letter)
    expect(chittyId.slice(23)).toBe(referencePair(chittyId.slice(0, 22)))
    const parsed = format.parse(chittyId)
    expect(components).toEqual({ ...parsed, grammar: undefined })
    ids.push(chittyId)
  }
  const stats = emu.stats()
  expect(stats.minted).toBe(asked.length)
  expect(stats.mintedIds).toEqual(ids)
  expect(new Set(ids).size).toBe(ids.length)
  expect(stats.placeholders).toBe(0)
})

test("validate is POST /api/validate with { id }: the service's verdicts and messages", async () => {
  const id = (await mint({ entityType: 'event' })).json.chittyId
  const good = await call('POST', '/api/validate', { id })
  expect(good.status).toBe(200)
  expect(good.json).toMatchObject({
    success: true,
    valid: true,
    components: { entityType: 'E', checksum: id.slice(23) },
  })
  const pair = Number(id.slice(23))
  const wrongPair = `${id.slice(0, 23)}${String((pair + 1) % 97).padStart(2, '0')}`
  const wrong = await call('POST', '/api/validate', { id: wrongPair })
  expect(wrong.json).toMatchObject({
    success: true,
    valid: false,
    error: `Invalid checksum: expected ${id.slice(23)}, got ${wrongPair.slice(23)}`,
  })
  expect(format.validateFormat(wrongPair)).toBe(false)
  const v1Id = await call('POST', '/api/validate', { id: 'CT-A-CHI-1234-I-24-A-0' })
  expect(v1Id.json).toMatchObject({ valid: false, error: 'Version must be 2 digits' })
  const missing = await call('POST', '/api/validate', {})
  expect(missing.json).toMatchObject({
    success: true,
    valid: false,
    error: 'ChittyID is required and must be a string',
  })
  const placeholder = await call('POST', '/api/validate', { id: '03-0-ERR-0002-T-2612-0-00' })
  expect(placeholder.json).toMatchObject({
    success: true,
    valid: false,
    isError: true,
    errorCode: '0002',
    errorName: 'MINT_TIMEOUT',
    canReplace: true,
  })
  const garbage = await call('POST', '/api/validate', 'not json')
  expect([garbage.status, garbage.json.error]).toEqual([503, 'SECURITY_ERROR'])
  expect(emu.stats().requests.validate).toBe(6)
})

test('health is GET /health at the origin; v1 routes, batch, a trailing slash and unknown routes are 404 NOT_FOUND', async () => {
  const health = await call('GET', '/health')
  expect([health.status, health.json.status]).toEqual([200, 'ok'])
  expect((await call('GET', '/api/health')).json.status).toBe('healthy')
  const misses = [
    ['GET', '/v1/health'],
    ['POST', '/v1/mint/batch', { requests: [{ entity: 'PEO' }] }],
    ['POST', '/mint/', { entity: 'PEO' }],
    ['GET', '/mint'],
    ['GET', '/v1/validate/03-1-USA-1234-P-2612-2-00'],
    ['GET', '/v1/mint'],
    ['DELETE', '/api/validate'],
  ]
  for (const [method, path, body] of misses) {
    const answer = await call(method, path, body)
    expect({ method, path, status: answer.status, body: answer.json }).toEqual({
      method,
      path,
      status: 404,
      body: expect.objectContaining({ success: false, error: 'NOT_FOUND', message: `Route not found: ${path}` }),
    })
  }
  expect(emu.stats()).toMatchObject({ minted: 0, requests: { health: 2, other: misses.length, batch: 0 } })
})

test('no auth check, and Idempotency-Key is ignored: a retried mint mints twice, as the ledger shows', async () => {
  const withToken = await ChittyIDEmulator.start({ profile: 'deployed', token: 'secret' })
  try {
    expect(withToken.ignoresIdempotencyKeys).toBe(true)
    const headers = { 'content-type': 'application/json', 'idempotency-key': 'retry-me' }
    const once = await fetch(`${withToken.url}/mint`, { method: 'POST', headers, body: '{"entityType":"person"}' })
    const twice = await fetch(`${withToken.url}/mint`, { method: 'POST', headers, body: '{"entityType":"person"}' })
    expect([once.status, twice.status]).toEqual([200, 200])
    const [a, b] = [(await once.json()).chittyId, (await twice.json()).chittyId]
    expect(a).not.toBe(b)
    expect(withToken.stats()).toMatchObject({ minted: 2, mintedIds: [a, b], idempotentReplays: 0, unauthorized: 0 })
  } finally {
    await withToken.close()
  }
})

test.each([
  ['MINT_UNAVAILABLE', 1],
  ['MINT_TIMEOUT', 2],
  ['MINT_REJECTED', 3],
  ['RATE_LIMITED', 7],
  ['INVALID_REQUEST', 8],
  ['INTERNAL_ERROR', 99],
])('setFault({ placeholder: %s }) answers 200 with a placeholder numbered %i, not minted', async (code, number) => {
  emu.setFault({ placeholder: code, remaining: 1 })
  const answer = await mint({ entityType: 'place' })
  expect(answer.status).toBe(200)
  const { chittyId, success, fallback, errorCode, components } = answer.json
  expect({ success, fallback, errorCode }).toEqual({ success: true, fallback: true, errorCode: code })
  expect(chittyId).toMatch(new RegExp(`^03-0-ERR-${String(number).padStart(4, '0')}-L-[0-9]{4}-0-[0-9]{2}$`))
  expect(chittyId.slice(23)).toBe(referencePair(chittyId.slice(0, 22)))
  expect([
    format.isPlaceholderId(chittyId),
    format.placeholderErrorNumber(chittyId),
    format.validateFormat(chittyId),
  ]).toEqual([true, number, false])
  expect(components).toMatchObject({ region: '0', jurisdiction: 'ERR', entityType: 'L', trustLevel: '0' })
  // `remaining: 1`: the next mint is a real one.
  const real = await mint({ entityType: 'place' })
  expect(real.json.fallback).toBeUndefined()
  expect(emu.stats()).toMatchObject({ minted: 1, mintedIds: [real.json.chittyId], placeholders: 1 })
})

test('an unknown type gets the INVALID_REQUEST placeholder; a bad placeholder code is refused', async () => {
  const answer = await mint({ entityType: 'spaceship' })
  expect(answer.json).toMatchObject({ success: true, fallback: true, errorCode: 'INVALID_REQUEST' })
  expect(answer.json.chittyId.startsWith('03-0-ERR-0008-T-')).toBe(true)
  expect(emu.stats()).toMatchObject({ minted: 0, placeholders: 1 })
  expect(() => emu.setFault({ placeholder: 'DOWN' })).toThrow(
    expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
  )
})

test('the existing faults work under the profile; its 429s have no Retry-After', async () => {
  emu.setFault({ rateLimitRetryAfter: 5, remaining: 1 })
  const limited = await mint({ entityType: 'person' })
  expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, null])
  emu.setFault({ rateLimitPerSecond: 1, routes: ['mint'] })
  const statuses = []
  for (let i = 0; i < 3; i++) statuses.push((await mint({})).status)
  expect(statuses[0]).toBe(200)
  expect(statuses).toContain(429)
  emu.setFault({ errorStatus: 503, routes: ['validate'], remaining: 1 })
  expect((await call('POST', '/api/validate', { id: 'x' })).status).toBe(503)
  emu.setFault({ down: true })
  const down = await call('GET', '/health')
  expect([down.status, down.json.status]).toEqual([503, 'down'])
  emu.setFault({ latencyMs: 150, remaining: 1 })
  const t0 = Date.now()
  expect((await call('GET', '/health')).status).toBe(200)
  expect(Date.now() - t0).toBeGreaterThanOrEqual(140)
  emu.clearFaults()
  const before = emu.stats().minted
  emu.setFault({ dropAfterCommit: true, remaining: 1 })
  await expect(mint({ entityType: 'person' })).rejects.toThrow()
  expect(emu.stats().minted).toBe(before + 1)
})

test('the CLI starts the deployed profile with --profile deployed (and --placeholder)', async () => {
  const child = spawn(
    process.execPath,
    [
      join(root, 'bin', 'chittyid-emulator.js'),
      '--profile',
      'deployed',
      '--port',
      '0',
      '--placeholder',
      'MINT_TIMEOUT',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  try {
    const line = await new Promise((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (chunk) => {
        out += chunk
        if (out.includes('\n')) resolve(out)
      })
      child.on('exit', (code) => reject(new Error(`exited ${code}`)))
      setTimeout(() => reject(new Error(`no output: ${out}`)), 20_000).unref()
    })
    expect(line).toMatch(/profile deployed/)
    const url = /listening on (\S+)/.exec(line)[1]
    const answer = await fetch(`${url}/v1/mint`, { method: 'POST', body: '{"entityType":"person"}' })
    expect(await answer.json()).toMatchObject({ fallback: true, errorCode: 'MINT_TIMEOUT' })
    expect((await fetch(`${url}/health`)).status).toBe(200)
  } finally {
    child.kill('SIGTERM')
  }
})

// Facts of the newest public revision of the service's worker (docs/DEPLOYED.md).
test('the old mint routes (POST /v1/mint, GET /generate, GET /api/get-chittyid) answer 308 to POST /mint and mint nothing', async () => {
  for (const [method, path] of [
    ['POST', '/v1/mint'],
    ['GET', '/generate?type=person'],
    ['GET', '/api/get-chittyid?for=claude'],
  ]) {
    const moved = await fetch(`${emu.url}${path}`, {
      method,
      redirect: 'manual',
      body: method === 'POST' ? '{"entityType":"person"}' : undefined,
    })
    expect({ path, status: moved.status, location: moved.headers.get('location') }).toEqual({
      path,
      status: 308,
      location: '/mint',
    })
    expect(moved.headers.get('deprecation')).toBe('true')
    expect(moved.headers.get('sunset')).toBe('2027-05-27')
    expect(moved.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(JSON.parse(await moved.text())._deprecation).toMatchObject({ canonical: '/mint', sunset: '2027-05-27' })
  }
  // fetch follows a 308 with the method and body: the mint lands on /mint, once.
  const followed = await fetch(`${emu.url}/v1/mint`, { method: 'POST', body: '{"entityType":"event"}' })
  expect(followed.status).toBe(200)
  expect((await followed.json()).chittyId[14]).toBe('E')
  expect(emu.stats()).toMatchObject({ minted: 1, requests: { mint: 1, other: 0 } })
})

test('CORS: JSON answers allow any origin; the preflight allows GET, POST, OPTIONS and Content-Type, Authorization only', async () => {
  const preflight = await fetch(`${emu.url}/mint`, { method: 'OPTIONS' })
  expect(preflight.status).toBe(200)
  expect(await preflight.text()).toBe('')
  expect(preflight.headers.get('content-type')).toBeNull()
  expect(Object.fromEntries([...preflight.headers].filter(([name]) => name.startsWith('access-control-')))).toEqual({
    'access-control-allow-origin': '*',
    'access-control-allow-methods': 'GET, POST, OPTIONS',
    'access-control-allow-headers': 'Content-Type, Authorization',
  })
  for (const answer of [
    await call('GET', '/health'),
    await mint({ entityType: 'place' }),
    await call('POST', '/api/validate', { id: 'x' }),
    await call('GET', '/nowhere'),
  ])
    expect(answer.headers.get('access-control-allow-origin')).toBe('*')
})

test('the catch-all 503 (SECURITY_ERROR) carries X-Security-Error and no CORS header', async () => {
  const failed = await call('POST', '/api/validate', 'not json')
  expect([failed.status, failed.json.error]).toEqual([503, 'SECURITY_ERROR'])
  expect(failed.headers.get('x-security-error')).toBe('true')
  expect(failed.headers.get('access-control-allow-origin')).toBeNull()
})

test("validate reads a placeholder's SSSS as parseInt does: 0x63 is 99 (a placeholder), 0x64 is 100 (not one)", async () => {
  const asPlaceholder = await call('POST', '/api/validate', { id: '03-0-ERR-0x63-T-2612-0-22' })
  expect(asPlaceholder.json).toMatchObject({ valid: false, isError: true, errorCode: '0x63' })
  const notOne = await call('POST', '/api/validate', { id: '03-0-ERR-0x64-T-2612-0-22' })
  expect(notOne.json).toMatchObject({ valid: false, error: 'Region must be 1 digit (1-9)' })
  expect(notOne.json.isError).toBeUndefined()
})

test('GET /api/spec names the grammar, the five types and the six trust levels', async () => {
  const { json } = await call('GET', '/api/spec')
  expect(json.specification.format).toBe('VV-G-LLL-SSSS-T-YYMM-C-XX')
  expect(Object.keys(json.specification.entityTypes)).toEqual(['P', 'L', 'T', 'E', 'A'])
  expect(json.specification.trustLevels).toEqual({
    0: 'Unverified',
    1: 'Basic',
    2: 'Standard',
    3: 'Verified',
    4: 'Premium',
    5: 'Official',
  })
})
