'use strict'

// A v1-era service suite that stubs the ChittyID service with undici's MockAgent as the global
// dispatcher. Under jest, Node's own fetch reads the global dispatcher from the outer realm, not
// from the test's global, so suites like this one made `fetch` undici's (which reads it from the
// test's global) next to `setGlobalDispatcher`; without that the requests go to the network, on
// v1 as on v2.

const { MockAgent, setGlobalDispatcher, getGlobalDispatcher, fetch: undiciFetch } = require('undici')
const { ChittyIDClient, mintChittyID, validateChittyID } = require('@chittyos/chittyid-client')

const ORIGIN = 'https://id.chitty.cc'
const SERVICE = `${ORIGIN}/v1`
const ID = 'CT-A-CHI-1234-T-24-A-0'

// Made when the module loads, before any stub exists.
const client = new ChittyIDClient({ serviceUrl: SERVICE, apiKey: 'test-key' })
const quick = new ChittyIDClient({ serviceUrl: SERVICE, timeout: 50 })

const originalFetch = global.fetch
const originalDispatcher = getGlobalDispatcher()
let mockAgent

beforeAll(() => {
  global.fetch = undiciFetch
})

beforeEach(() => {
  mockAgent = new MockAgent()
  mockAgent.disableNetConnect()
  setGlobalDispatcher(mockAgent)
})

afterEach(async () => {
  mockAgent.assertNoPendingInterceptors()
  await mockAgent.close()
  setGlobalDispatcher(originalDispatcher)
})

afterAll(() => {
  global.fetch = originalFetch
})

describe('ChittyID integration (undici MockAgent)', () => {
  test('mints an id; the request is v1’s', async () => {
    const seen = []
    mockAgent
      .get(ORIGIN)
      .intercept({
        path: '/v1/mint',
        method: 'POST',
        headers: { authorization: 'Bearer test-key', 'content-type': 'application/json' },
        body: JSON.stringify({ entity: 'EVNT', name: 'Launch', metadata: { source: 'test' } }),
      })
      .reply(201, (opts) => {
        seen.push(opts)
        return { success: true, chittyId: ID }
      })

    await expect(client.mint({ entity: 'EVNT', name: 'Launch', metadata: { source: 'test' } })).resolves.toBe(ID)

    expect(seen).toHaveLength(1)
    expect(seen[0].method).toBe('POST')
    expect(seen[0].path).toBe('/v1/mint')
    expect(seen[0].headers).toEqual(
      expect.objectContaining({ 'Content-Type': 'application/json', Authorization: 'Bearer test-key' }),
    )
    expect(seen[0].headers['Idempotency-Key']).toBeUndefined()
    expect(JSON.parse(seen[0].body)).toEqual({ entity: 'EVNT', name: 'Launch', metadata: { source: 'test' } })
  })

  test('batch mints', async () => {
    mockAgent
      .get(ORIGIN)
      .intercept({ path: '/v1/mint/batch', method: 'POST', body: '{"requests":[{"entity":"EVNT"},{"entity":"PEO"}]}' })
      .reply(200, { success: true, chittyIds: [ID, ID] })

    await expect(client.mintBatch([{ entity: 'EVNT' }, { entity: 'PEO' }])).resolves.toEqual([ID, ID])
  })

  test('validates with a GET carrying the key only', async () => {
    const seen = []
    mockAgent
      .get(ORIGIN)
      .intercept({ path: `/v1/validate/${encodeURIComponent(ID)}`, method: 'GET' })
      .reply(200, (opts) => {
        seen.push(opts)
        return { valid: true, chittyId: ID, entity: 'EVNT', extra: 'dropped' }
      })

    await expect(client.validate(ID)).resolves.toStrictEqual({ valid: true, chittyId: ID, entity: 'EVNT' })
    expect(seen[0].headers.Authorization).toBe('Bearer test-key')
    expect(seen[0].headers['Content-Type']).toBeUndefined()
    expect(seen[0].body).toBeFalsy()
  })

  test('a 500 fails the mint with the v1 wording, once', async () => {
    mockAgent
      .get(ORIGIN)
      .intercept({ path: '/v1/mint', method: 'POST' })
      .reply(500, { error: 'boom' }, { headers: { 'content-type': 'application/json' } })

    const error = await client.mint({ entity: 'EVNT' }).catch((err) => err)
    expect(error).toBeInstanceOf(Error)
    expect(error.message).toBe(
      'ChittyID service unavailable - cannot mint EVNT ID: ChittyID service error: 500 Internal Server Error',
    )
    expect(error.code).toBeUndefined()
  })

  test('a 500 on validate and on a batch', async () => {
    const pool = mockAgent.get(ORIGIN)
    pool.intercept({ path: `/v1/validate/${encodeURIComponent(ID)}`, method: 'GET' }).reply(500, '')
    pool.intercept({ path: '/v1/mint/batch', method: 'POST' }).reply(500, '')

    await expect(client.validate(ID)).resolves.toEqual({ valid: false, error: 'Service error: 500' })
    await expect(client.mintBatch([{ entity: 'EVNT' }])).rejects.toThrow(
      /^ChittyID service unavailable - cannot batch mint IDs: ChittyID service error: 500$/,
    )
  })

  test('a network error: fetch failed', async () => {
    const pool = mockAgent.get(ORIGIN)
    pool.intercept({ path: '/v1/mint', method: 'POST' }).replyWithError(new Error('socket hang up'))
    pool
      .intercept({ path: `/v1/validate/${encodeURIComponent(ID)}`, method: 'GET' })
      .replyWithError(new Error('kaboom'))

    const error = await client.mint({ entity: 'EVNT' }).catch((err) => err)
    expect(error).toBeInstanceOf(Error)
    expect(error.message).toBe('ChittyID service unavailable - cannot mint EVNT ID: fetch failed')
    expect(error.code).toBeUndefined()
    // validate falls back to the format check.
    await expect(client.validate(ID)).resolves.toEqual({ valid: true, error: 'fetch failed' })
  })

  test('an unmatched request fails, since net connect is disabled', async () => {
    mockAgent.get(ORIGIN).intercept({ path: '/v1/mint', method: 'POST' }).reply(200, { chittyId: ID })

    await expect(client.validate('not-an-id')).resolves.toEqual({ valid: false, error: 'fetch failed' })
    await expect(client.mint({ entity: 'EVNT' })).resolves.toBe(ID)
  })

  test('the helpers and healthCheck', async () => {
    const pool = mockAgent.get(ORIGIN)
    pool.intercept({ path: '/v1/mint', method: 'POST', body: '{"entity":"PEO"}' }).reply(200, { chittyId: ID })
    pool
      .intercept({ path: `/v1/validate/${encodeURIComponent(ID)}`, method: 'GET' })
      .reply(200, { valid: false, error: 'unknown id' })
    pool.intercept({ path: '/v1/health', method: 'GET' }).reply(200, { status: 'ok' })
    pool.intercept({ path: '/v1/health', method: 'GET' }).reply(503, '')

    await expect(mintChittyID({ entity: 'PEO' }, { serviceUrl: SERVICE })).resolves.toBe(ID)
    await expect(validateChittyID(ID, { serviceUrl: SERVICE })).resolves.toStrictEqual({
      valid: false,
      chittyId: undefined,
      entity: undefined,
    })
    await expect(client.healthCheck()).resolves.toBe(true)
    await expect(client.healthCheck()).resolves.toBe(false)
  })

  test('mint’s timeout aborts a delayed answer', async () => {
    mockAgent.get(ORIGIN).intercept({ path: '/v1/mint', method: 'POST' }).reply(201, { chittyId: ID }).delay(300)

    // fetch rejects with the platform's DOMException, which under jest is not an instance of
    // the test's Error (another realm's): v1 passed such a rejection on as it was.
    await expect(quick.mint({ entity: 'EVNT' })).rejects.toMatchObject({
      name: 'AbortError',
      message: 'This operation was aborted',
    })
  })
})
