// The client against the ChittyID service as deployed (docs/OPERATIONS.md "Which service this talks to"):
// a stand-in written from the service's public route table (deployed-standin.mjs), and v1's
// emulator to show nothing changes there. Real sockets throughout.
import { jest } from '@jest/globals'
import { ChittyIDClient, ChittyIDEmulator } from '../index.mjs'
import { ChittyIDClient as PortableClient } from '../portable.mjs'
import { createRequire } from 'node:module'
import { startDeployedStandIn, startNewestRevisionStandIn } from './deployed-standin.mjs'
import { ID_PATTERN } from './helpers.mjs'

const require = createRequire(import.meta.url)
const { clientOptions } = require('../lib/options.js')

const DEPLOYED_ID = /^\d{2}-[1-9]-[A-Z]{3}-\d{4}-[PLTEA]-\d{4}-[0-5]-\d{2}$/
const PLACEHOLDER_ID = /^\d{2}-0-ERR-00\d{2}-[PLTEA]-\d{4}-0-\d{2}$/
const noRetry = { retry: false, circuitBreaker: false }

let standIn
const clients = []
function client(options = {}) {
  const c = new ChittyIDClient({ serviceUrl: standIn.serviceUrl, ...options })
  clients.push(c)
  return c
}

beforeEach(async () => {
  standIn = await startDeployedStandIn()
})
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  await standIn.close()
})

describe('mint on the deployed wire', () => {
  test.each([
    ['PEO', 'P', 'person'],
    ['PLACE', 'L', 'place'],
    ['PROP', 'T', 'thing'],
    ['EVNT', 'E', 'event'],
    ['AUTH', 'A', 'authority'],
    ['INFO', 'T', 'thing'],
    ['FACT', 'T', 'thing'],
    ['CONTEXT', 'P', 'person'],
    ['ACTOR', 'P', 'person'],
  ])('%s mints a %s id (entityType %s beside entity, name and metadata)', async (entity, letter, word) => {
    const c = client()
    const id = await c.mint({ entity, name: 'n', metadata: { k: 1 } })
    expect(id).toMatch(DEPLOYED_ID)
    expect(id.split('-')[4]).toBe(letter)
    const sent = JSON.parse(standIn.requests.at(-1).body)
    expect(sent).toEqual({ entityType: word, entity, name: 'n', metadata: { k: 1 } })
    expect(c.getStats().wire).toBe('deployed')
  })

  test("a caller's own entityType wins", async () => {
    const id = await client().mint({ entity: 'PEO', entityType: 'event' })
    expect(id.split('-')[4]).toBe('E')
  })
})

describe('validate, health and connect on the deployed wire', () => {
  test('validate falls back to POST /api/validate after a 404 on v1 route, then goes there directly', async () => {
    const c = client()
    expect(c.getStats().wire).toBe('unknown')
    const id = await client({ wire: 'deployed' }).mint({ entity: 'PEO' })
    standIn.requests.length = 0
    // The service names neither the id nor its entity: both are filled in, as a cached answer has them.
    expect(await c.validate(id)).toEqual({ valid: true, chittyId: id, entity: 'PEO' })
    expect(standIn.paths()).toEqual([`GET /v1/validate/${id}`, 'POST /api/validate'])
    expect(c.getStats().wire).toBe('deployed')
    const tampered = id.slice(0, -2) + (id.endsWith('00') ? '01' : '00')
    const bad = await c.validate(tampered)
    expect(bad.valid).toBe(false)
    expect(bad.error).toMatch(/checksum/)
    expect(standIn.paths().slice(2)).toEqual(['POST /api/validate'])
    expect(JSON.parse(standIn.requests.at(-1).body)).toEqual({ id: tampered })
  })

  test('a placeholder id validates as not valid, with errorCode EPLACEHOLDER', async () => {
    const result = await client({ wire: 'deployed' }).validate('03-0-ERR-0001-T-2612-0-22')
    expect(result).toMatchObject({ valid: false, errorCode: 'EPLACEHOLDER' })
  })

  test.each([
    ['native', ChittyIDClient],
    ['portable', PortableClient],
  ])("%s build: a placeholder's answer is not cached: each validate() asks again", async (_, Client) => {
    // The service's answer invites another validation (it may then replace the placeholder); a
    // cached verdict would skip it and drop errorCode.
    const c = new Client({ serviceUrl: standIn.serviceUrl, wire: 'deployed', retry: false })
    clients.push(c)
    const placeholder = '03-0-ERR-0001-P-2612-0-15'
    const first = await c.validate(placeholder)
    expect(first).toMatchObject({ valid: false, errorCode: 'EPLACEHOLDER' })
    expect(await c.validate(placeholder)).toEqual(first)
    expect(standIn.paths()).toEqual(['POST /api/validate', 'POST /api/validate'])
  })

  test('healthCheck is true: {origin}/api/health (every revision has it) after a 404 on {serviceUrl}/health', async () => {
    const c = client()
    expect(await c.healthCheck()).toBe(true)
    expect(standIn.paths()).toEqual(['GET /v1/health', 'GET /api/health'])
    expect(await c.healthCheck()).toBe(true)
    expect(standIn.paths().slice(2)).toEqual(['GET /api/health'])
  })

  test('connect() reaches CONNECTED', async () => {
    const c = client({ connection: { healthCheckInterval: 60_000 } })
    expect(await c.connect()).toBe(true)
    expect(c.getConnectionState().state).toBe('CONNECTED')
    await c.disconnect()
  })

  test('failover probes use the same rule: a down deployed endpoint comes back through {origin}/api/health', async () => {
    const second = await startDeployedStandIn()
    try {
      const c = new ChittyIDClient({
        serviceUrl: [standIn.serviceUrl, second.serviceUrl],
        failover: { probeIntervalMs: 20, failbackSuccesses: 1 },
        ...noRetry,
      })
      clients.push(c)
      const failback = new Promise((resolve) => c.on('failback', resolve))
      const port = new URL(standIn.origin).port
      await standIn.close()
      await c.mint({ entity: 'PEO' })
      expect(c.getStats().endpoints.map((e) => e.healthy)).toEqual([false, true])
      // The primary comes back on the same port.
      standIn = await startDeployedStandIn({ port: Number(port) })
      const deadline = Date.now() + 20_000
      let event
      while (event === undefined && Date.now() < deadline) {
        await c.mint({ entity: 'PEO' })
        event = await Promise.race([failback, new Promise((r) => setTimeout(r, 100))])
      }
      expect(event).toBeDefined()
      expect(standIn.paths()).toContain('GET /api/health')
      expect(c.getStats().endpoints.map((e) => e.wire)).toEqual(['deployed', 'deployed'])
    } finally {
      await second.close()
    }
  })
})

describe('mintBatch without a batch route', () => {
  test('mints one by one, ids in request order; the 404 is remembered', async () => {
    const c = client()
    const requests = [
      { entity: 'PEO' },
      { entity: 'PLACE' },
      { entity: 'EVNT' },
      { entity: 'AUTH' },
      { entity: 'PROP' },
      { entity: 'PEO' },
    ]
    const ids = await c.mintBatch(requests)
    expect(ids.map((id) => id.split('-')[4])).toEqual(['P', 'L', 'E', 'A', 'T', 'P'])
    expect(new Set(ids).size).toBe(6)
    expect(standIn.paths().filter((p) => p === 'POST /v1/mint/batch')).toHaveLength(1)
    await c.mintBatch([{ entity: 'PEO' }])
    expect(standIn.paths().filter((p) => p === 'POST /v1/mint/batch')).toHaveLength(1)
  })

  test('a failure carries every id minted and the failed positions: nothing minted is lost', async () => {
    const c = client({ wire: 'deployed', ...noRetry })
    // Position 2 gets a placeholder; the stand-in decides by the request's name.
    const original = standIn.fault
    standIn.faultFor = (body) => (body.name === 'boom' ? 'MINT_UNAVAILABLE' : original)
    const requests = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({ entity: 'PEO', name: i === 2 ? 'boom' : `n${i}` }))
    const err = await c.mintBatch(requests).catch((e) => e)
    expect(err.code).toBe('EPLACEHOLDER')
    expect(err.message).toMatch(/^ChittyID service unavailable - cannot batch mint IDs: /)
    expect(err.failedPositions).toEqual([2])
    expect(err.mintedIds).toHaveLength(8)
    expect(err.mintedIds[2]).toBeNull()
    const minted = err.mintedIds.filter((id) => id !== null)
    // Every id the service minted is in the error, in its position.
    const served = standIn.requests.filter((r) => r.path === '/v1/mint' && JSON.parse(r.body).name !== 'boom').length
    expect(minted).toHaveLength(served)
    expect(minted.length).toBeGreaterThanOrEqual(2)
    expect(minted.length).toBeLessThan(8)
    err.mintedIds.forEach((id, i) => {
      if (id !== null)
        expect(JSON.parse(standIn.requests.find((r) => r.body.includes(`"n${i}"`)).body).name).toBe(`n${i}`)
    })
  })
})

describe('placeholders', () => {
  test.each([
    ['MINT_UNAVAILABLE', '0001', false],
    ['MINT_TIMEOUT', '0002', false],
    ['MINT_REJECTED', '0003', false],
    ['INVALID_REQUEST', '0008', true],
  ])('a %s placeholder rejects with EPLACEHOLDER, its id and errorCode, sent once', async (code, seq, retrySafe) => {
    standIn.fault = code
    const c = client()
    const err = await c.mint({ entity: 'PEO' }).catch((e) => e)
    expect(err.code).toBe('EPLACEHOLDER')
    expect(err.placeholderId).toMatch(PLACEHOLDER_ID)
    expect(err.placeholderId.split('-')[3]).toBe(seq)
    expect(err.serviceErrorCode).toBe(code)
    expect(err.retrySafe).toBe(retrySafe)
    expect(err.message).toMatch(/^ChittyID service unavailable - cannot mint PEO ID: .*placeholder id/)
    expect(standIn.paths().filter((p) => p === 'POST /v1/mint')).toHaveLength(1)
  })

  test('RATE_LIMITED is ERATELIMITED and pauses the client like a 429', async () => {
    standIn.fault = 'RATE_LIMITED'
    const c = client({ retry: { maxAttempts: 1 }, circuitBreaker: false })
    const limited = jest.fn()
    c.on('rateLimited', limited)
    const err = await c.mint({ entity: 'PEO' }).catch((e) => e)
    expect(err.code).toBe('ERATELIMITED')
    expect(err.serviceErrorCode).toBe('RATE_LIMITED')
    expect(err.retrySafe).toBe(true)
    expect(err.placeholderId).toMatch(PLACEHOLDER_ID)
    const stats = c.getStats()
    expect(stats.rateLimit.pauses).toBe(1)
    expect(stats.rateLimit.paused).toBe(true)
    await new Promise((r) => setTimeout(r, 20))
    expect(limited).toHaveBeenCalledWith(expect.objectContaining({ operation: 'mint' }))
    expect(stats.breaker).toBeNull()
  })

  test('with retries, a RATE_LIMITED placeholder is retried after the pause', async () => {
    standIn.fault = 'RATE_LIMITED'
    const c = client({ circuitBreaker: false })
    setTimeout(() => {
      standIn.fault = null
    }, 300)
    const id = await c.mint({ entity: 'PEO' })
    expect(id).toMatch(DEPLOYED_ID)
    expect(c.getStats().rateLimit.pauses).toBeGreaterThanOrEqual(1)
  })

  test('acceptPlaceholders resolves the placeholder, marked by an event and a counter', async () => {
    standIn.fault = 'MINT_TIMEOUT'
    const c = client({ acceptPlaceholders: true })
    const heard = jest.fn()
    c.on('placeholder', heard)
    const id = await c.mint({ entity: 'PLACE' })
    expect(id).toMatch(PLACEHOLDER_ID)
    await new Promise((r) => setTimeout(r, 20))
    expect(heard).toHaveBeenCalledWith({ chittyId: id, errorCode: 'MINT_TIMEOUT' })
    expect(c.getStats().placeholdersAccepted).toBe(1)
    expect(c.metrics()).toMatch(/^chittyid_client_placeholders_accepted_total 1$/m)
  })

  test('acceptPlaceholders never accepts a RATE_LIMITED placeholder: it is a rate limit', async () => {
    standIn.fault = 'RATE_LIMITED'
    const c = client({ acceptPlaceholders: true, retry: { maxAttempts: 1 } })
    const err = await c.mint({ entity: 'PEO' }).catch((e) => e)
    expect(err.code).toBe('ERATELIMITED')
    expect(c.getStats().placeholdersAccepted).toBe(0)
    expect(c.getStats().rateLimit.pauses).toBe(1)
  })

  test('acceptPlaceholders must be a boolean', () => {
    expect(() => new ChittyIDClient({ acceptPlaceholders: 'yes' })).toThrow(/acceptPlaceholders/)
  })
})

describe('errors a real user meets', () => {
  test('401: the API key is missing; the message keeps v1 wording first and hints at apiKey', async () => {
    standIn.requireKey = 'sk-live-1234567890'
    const err = await client(noRetry)
      .mint({ entity: 'PEO' })
      .catch((e) => e)
    expect(err.status).toBe(401)
    expect(err.message).toMatch(
      /^ChittyID service unavailable - cannot mint PEO ID: ChittyID service error: 401 Unauthorized /,
    )
    expect(err.message).toMatch(/apiKey/)
  })

  test('403: a refused key is never shown', async () => {
    standIn.requireKey = 'sk-live-1234567890'
    const c = client({ apiKey: 'sk-wrong-secret-0987', ...noRetry })
    const err = await c.mint({ entity: 'PEO' }).catch((e) => e)
    expect(err.status).toBe(403)
    expect(err.message).toMatch(/ChittyID service error: 403 Forbidden .*apiKey/)
    expect(JSON.stringify({ ...err, message: err.message, stack: err.stack, cause: String(err.cause) })).not.toContain(
      'sk-wrong-secret-0987',
    )
  })

  test('validate() during an auth failure is not "this id is invalid": errorCode EAUTH', async () => {
    const id = await client({ wire: 'deployed' }).mint({ entity: 'PEO' })
    standIn.requireKey = 'sk-live-1234567890'
    const result = await client({ apiKey: 'sk-wrong-secret-0987', wire: 'deployed', ...noRetry }).validate(id)
    expect(result).toEqual({ valid: false, error: 'Service error: 403', errorCode: 'EAUTH' })
  })

  test('a 404 names the method and the URL tried', async () => {
    const c = client({ wire: 'v1', ...noRetry })
    const err = await c.mintBatch([{ entity: 'PEO' }]).catch((e) => e)
    expect(err.status).toBe(404)
    expect(err.code).toBe('EHTTP')
    expect(err.message).toBe(
      `ChittyID service unavailable - cannot batch mint IDs: ChittyID service error: 404 Not Found (no such route: POST ${standIn.serviceUrl}/mint/batch)`,
    )
    const result = await c.validate('03-1-USA-1234-P-2612-3-42')
    expect(result).toEqual({
      valid: false,
      error: `Service error: 404 (no such route: GET ${standIn.serviceUrl}/validate/03-1-USA-1234-P-2612-3-42)`,
    })
  })
})

describe('mint results are checked', () => {
  test('a service echoing Authorization into chittyId never resolves to the key, nor shows it', async () => {
    standIn.echoAuthorization = true
    const key = 'sk-echo-secret-4242'
    const c = client({ apiKey: key, ...noRetry })
    const err = await c.mint({ entity: 'PEO' }).catch((e) => e)
    expect(err).toBeInstanceOf(Error)
    expect(err.code).toBe('EMINTUNKNOWN')
    expect(err.cause.code).toBe('EBADRESPONSE')
    expect(err.message).toMatch(/chittyId contains the API key/)
    const shown = JSON.stringify({ ...err, message: err.message, stack: err.stack, cause: err.cause.message })
    expect(shown).not.toContain(key)
  })

  test('a chittyId of neither grammar rejects', async () => {
    standIn.echoAuthorization = true
    const err = await client({ ...noRetry, retry: { mint: 'idempotent', maxAttempts: 1 } })
      .mint({ entity: 'PEO' })
      .catch((e) => e)
    expect(err.code).toBe('EBADRESPONSE')
    expect(err.message).toMatch(/not a ChittyID of either grammar/)
  })
})

describe('the wire option', () => {
  test('is checked', () => {
    expect(() => new ChittyIDClient({ wire: 'v2' })).toThrow(/"wire" must be one of "auto", "v1", "deployed"/)
  })

  test('under the automatically chosen fetch transport it is v1 (no detection traffic); an explicit transport keeps auto', () => {
    const saved = process.env.CHITTYID_TRANSPORT
    delete process.env.CHITTYID_TRANSPORT
    try {
      const auto = clientOptions({})
      expect(auto.transport).toBe('fetch')
      expect(auto.native.wire).toBe('v1')
      expect(clientOptions({ transport: 'fetch' }).native.wire).toBeUndefined()
      expect(clientOptions({ wire: 'deployed' }).native.wire).toBe('deployed')
    } finally {
      process.env.CHITTYID_TRANSPORT = saved
    }
  })

  test('wire: "v1" sends v1 calls only, the mint body as given', async () => {
    const c = client({ wire: 'v1', ...noRetry })
    await c.mint({ entity: 'PEO' }).catch(() => {})
    expect(JSON.parse(standIn.requests.at(-1).body)).toEqual({ entity: 'PEO' })
    expect(await c.healthCheck()).toBe(false)
    expect(standIn.paths()).toEqual(['POST /v1/mint', 'GET /v1/health'])
    expect(c.getStats().wire).toBe('v1')
  })

  test('the fetch transport learns the deployed wire too', async () => {
    const c = client({ transport: 'fetch' })
    const id = await c.mint({ entity: 'EVNT' })
    expect(id.split('-')[4]).toBe('E')
    expect((await c.validate(id)).valid).toBe(true)
    expect(await c.healthCheck()).toBe(true)
    expect(c.getStats().wire).toBe('deployed')
  })
})

describe("against v1's emulator nothing changes", () => {
  test('auto speaks v1: v1 routes only, ids of v1 grammar, a batch route', async () => {
    const emulator = await ChittyIDEmulator.start({ port: 0, token: 't' })
    try {
      const c = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, apiKey: 't' })
      clients.push(c)
      const id = await c.mint({ entity: 'PLACE' })
      expect(id).toMatch(ID_PATTERN)
      expect(id.split('-')[4]).toBe('L')
      expect(c.getStats().wire).toBe('v1')
      expect(await c.validate(id)).toEqual({ valid: true, chittyId: id, entity: 'PLACE' })
      expect(await c.healthCheck()).toBe(true)
      const ids = await c.mintBatch([{ entity: 'PEO' }, { entity: 'FACT' }])
      expect(ids.map((x) => x.split('-')[4])).toEqual(['P', 'F'])
      expect(emulator.stats().requests).toEqual({ health: 1, mint: 1, batch: 1, validate: 1, other: 0 })
    } finally {
      await emulator.close()
    }
  })
})

describe("against the emulator's deployed profile (a second reading of the same facts)", () => {
  let emulator
  let c
  beforeEach(async () => {
    emulator = await ChittyIDEmulator.start({ port: 0, profile: 'deployed' })
    c = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, circuitBreaker: false })
    clients.push(c)
  })
  afterEach(() => emulator.close())

  test('mint returns the requested type; validate, healthCheck and connect work; the wire is learnt', async () => {
    const ids = []
    for (const [entity, letter] of [
      ['PEO', 'P'],
      ['PLACE', 'L'],
      ['PROP', 'T'],
      ['EVNT', 'E'],
      ['AUTH', 'A'],
    ]) {
      const id = await c.mint({ entity })
      expect(id).toMatch(DEPLOYED_ID)
      expect(id.split('-')[4]).toBe(letter)
      ids.push(id)
    }
    expect(c.getStats().wire).toBe('deployed')
    for (const [i, id] of ids.entries())
      expect(await c.validate(id)).toEqual({
        valid: true,
        chittyId: id,
        entity: ['PEO', 'PLACE', 'PROP', 'EVNT', 'AUTH'][i],
      })
    const tampered = ids[0].slice(0, -2) + (ids[0].endsWith('00') ? '01' : '00')
    expect((await c.validate(tampered)).valid).toBe(false)
    expect(await c.healthCheck()).toBe(true)
    expect(await c.connect()).toBe(true)
    expect(c.getConnectionState().state).toBe('CONNECTED')
    await c.disconnect()
  })

  test('a fresh client learns the wire from validate and health too', async () => {
    const minted = await c.mint({ entity: 'PEO' })
    const fresh = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1` })
    clients.push(fresh)
    expect(await fresh.healthCheck()).toBe(true)
    expect(fresh.getStats().wire).toBe('deployed')
    expect((await fresh.validate(minted)).valid).toBe(true)
  })

  test('mintBatch mints one by one in order; a placeholder in the middle keeps every minted id', async () => {
    const ids = await c.mintBatch([{ entity: 'EVNT' }, { entity: 'PEO' }, { entity: 'PLACE' }])
    expect(ids.map((id) => id.split('-')[4])).toEqual(['E', 'P', 'L'])
    const before = emulator.stats().minted
    emulator.setFault({ placeholder: 'MINT_UNAVAILABLE', remaining: 1 })
    const err = await c.mintBatch(Array.from({ length: 6 }, () => ({ entity: 'PEO' }))).catch((e) => e)
    expect(err.code).toBe('EPLACEHOLDER')
    expect(err.failedPositions).toHaveLength(1)
    const minted = err.mintedIds.filter((id) => id !== null)
    expect(minted).toHaveLength(emulator.stats().minted - before)
    minted.forEach((id) => expect(emulator.stats().mintedIds).toContain(id))
  })

  test('placeholders reject with their errorCode; RATE_LIMITED pauses; acceptPlaceholders resolves them marked', async () => {
    emulator.setFault({ placeholder: 'MINT_TIMEOUT' })
    const err = await c.mint({ entity: 'PEO' }).catch((e) => e)
    expect(err).toMatchObject({ code: 'EPLACEHOLDER', serviceErrorCode: 'MINT_TIMEOUT', retrySafe: false })
    expect(err.placeholderId).toMatch(PLACEHOLDER_ID)
    expect(emulator.stats().minted).toBe(0)

    emulator.setFault({ placeholder: 'RATE_LIMITED' })
    const once = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, retry: { maxAttempts: 1 } })
    clients.push(once)
    const limited = await once.mint({ entity: 'PEO' }).catch((e) => e)
    expect(limited).toMatchObject({ code: 'ERATELIMITED', serviceErrorCode: 'RATE_LIMITED', retrySafe: true })

    emulator.setFault({ placeholder: 'MINT_UNAVAILABLE' })
    const accepting = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, acceptPlaceholders: true })
    clients.push(accepting)
    const heard = jest.fn()
    accepting.on('placeholder', heard)
    const id = await accepting.mint({ entity: 'PLACE' })
    expect(id).toMatch(PLACEHOLDER_ID)
    await new Promise((r) => setTimeout(r, 20))
    expect(heard).toHaveBeenCalledWith({ chittyId: id, errorCode: 'MINT_UNAVAILABLE' })
    expect(accepting.getStats().placeholdersAccepted).toBe(1)
    expect(await accepting.validate(id)).toMatchObject({ valid: false, errorCode: 'EPLACEHOLDER' })
  })
})

describe("a placeholder the service replaces while validating it (worker.js's pending-replacement path)", () => {
  // As the deployed source answers POST /api/validate for a placeholder it holds a pending
  // request for, once its minting backend mints: success, replaced, oldId, newId, a message,
  // the backend's answer spread in (chittyId, ...) and a timestamp. No `valid` field.
  const NEW_ID = '03-1-USA-1234-P-2612-2-74'
  const PLACEHOLDER = '03-0-ERR-0001-P-2612-0-15'
  let server
  let origin
  beforeEach(async () => {
    const { createServer } = await import('node:http')
    server = createServer((req, res) => {
      let raw = ''
      req.on('data', (c) => (raw += c))
      req.on('end', () => {
        const send = (status, body) =>
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
        if (req.method === 'POST' && req.url === '/api/validate') {
          const { id } = JSON.parse(raw)
          return send(200, {
            success: true,
            replaced: true,
            oldId: id,
            newId: NEW_ID,
            message: 'replaced',
            chittyId: NEW_ID,
            components: { entityType: 'P' },
            timestamp: new Date().toISOString(),
          })
        }
        send(404, { success: false, error: 'NOT_FOUND' })
      })
    })
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${server.address().port}`
  })
  afterEach(() => new Promise((resolve) => server.close(resolve)))

  test.each([
    ['native', ChittyIDClient],
    ['portable', PortableClient],
  ])('%s build: validate() gives the new id apart, not only inside the error text', async (_, Client) => {
    const c = new Client({ serviceUrl: `${origin}/v1`, wire: 'deployed', retry: false })
    try {
      expect(await c.validate(PLACEHOLDER)).toEqual({
        valid: false,
        error: `placeholder id, replaced by ${NEW_ID}`,
        errorCode: 'EPLACEHOLDER',
        replacedBy: NEW_ID,
      })
    } finally {
      await c.close()
    }
  })
})

describe('the newest revision (bf07a1f5): POST /mint, and the old mint routes answer 308 (raw-socket stand-in)', () => {
  let newest
  beforeEach(async () => {
    newest = await startNewestRevisionStandIn()
  })
  afterEach(() => newest.close())

  const builds = [
    ['native', (o) => new ChittyIDClient(o)],
    ['native over fetch', (o) => new ChittyIDClient({ transport: 'fetch', ...o })],
    ['portable', (o) => new PortableClient(o)],
  ]

  test.each(builds)(
    '%s: the first mint follows the 308 of POST /v1/mint to POST /mint (key, Idempotency-Key and body kept), the next go to POST /mint',
    async (_, make) => {
      const c = make({ serviceUrl: newest.serviceUrl, apiKey: 'k-newest-1', circuitBreaker: false })
      try {
        const first = await c.mint({ entity: 'PLACE' })
        const second = await c.mint({ entity: 'EVNT' })
        expect([first.split('-')[4], second.split('-')[4]]).toEqual(['L', 'E'])
        expect(newest.minted).toEqual([first, second])
        const mints = newest.requests.filter((r) => r.method === 'POST' && /mint$/.test(r.path))
        expect(mints.map((r) => r.path)).toEqual(['/v1/mint', '/mint', '/mint'])
        const [moved, served] = mints
        expect(served.headers.authorization).toBe('Bearer k-newest-1')
        expect(served.headers['idempotency-key']).toBe(moved.headers['idempotency-key'])
        expect(served.body).toBe(moved.body)
        expect(await c.validate(first)).toMatchObject({ valid: true })
        expect(await c.healthCheck()).toBe(true)
      } finally {
        await c.close()
      }
    },
  )

  test.each(builds)('%s: with serviceUrl at the origin, POST /mint mints at once', async (_, make) => {
    const c = make({ serviceUrl: newest.origin, circuitBreaker: false })
    try {
      const id = await c.mint({ entity: 'PEO' })
      expect(id).toMatch(DEPLOYED_ID)
      expect(id.split('-')[4]).toBe('P')
      expect(newest.paths().filter((p) => /mint$/.test(p))).toEqual(['POST /mint'])
    } finally {
      await c.close()
    }
  })
})

describe('a revision before the newest (no POST /mint): one 404 there, then POST /v1/mint', () => {
  test.each([
    ['native', (o) => new ChittyIDClient(o)],
    ['native over fetch', (o) => new ChittyIDClient({ transport: 'fetch', ...o })],
    ['portable', (o) => new PortableClient(o)],
  ])('%s, wire "deployed": the 404 is remembered and nothing is minted twice', async (_, make) => {
    const c = make({ serviceUrl: standIn.serviceUrl, wire: 'deployed', circuitBreaker: false })
    try {
      const ids = [await c.mint({ entity: 'PEO' }), await c.mint({ entity: 'AUTH' })]
      expect(ids.map((id) => id.split('-')[4])).toEqual(['P', 'A'])
      expect(standIn.paths()).toEqual(['POST /mint', 'POST /v1/mint', 'POST /v1/mint'])
    } finally {
      await c.close()
    }
  })
})
