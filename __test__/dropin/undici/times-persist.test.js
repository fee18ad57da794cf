'use strict'

// A v1-era service suite with undici's MockAgent whose interceptors answer a counted number of
// times (`.times(n)`) or for good (`.persist()`): one request per call, so n calls use up n
// answers and `assertNoPendingInterceptors()` holds; the agent's call history counts the
// requests. One agent for the file, installed in beforeAll (a persistent interceptor stays for
// the tests after it, so each test asks for ids of its own); undici's fetch made the global one
// there (see mock-agent.test.js).

const { MockAgent, setGlobalDispatcher, getGlobalDispatcher, fetch: undiciFetch } = require('undici')
const { ChittyIDClient } = require('@chittyos/chittyid-client')

const ORIGIN = 'https://id.chitty.cc'
const SERVICE = `${ORIGIN}/v1`
const ID = 'CT-A-CHI-1234-T-24-A-0'

const client = new ChittyIDClient({ serviceUrl: SERVICE, apiKey: 'test-key' })

const mockAgent = new MockAgent({ enableCallHistory: true })
const originalFetch = global.fetch
const originalDispatcher = getGlobalDispatcher()

beforeAll(() => {
  global.fetch = undiciFetch
  mockAgent.disableNetConnect()
  setGlobalDispatcher(mockAgent)
})

afterEach(() => {
  mockAgent.assertNoPendingInterceptors()
  mockAgent.clearCallHistory()
})

const paths = () =>
  mockAgent
    .getCallHistory()
    .calls()
    .map((call) => `${call.method} ${call.path}`)

afterAll(async () => {
  await mockAgent.close()
  setGlobalDispatcher(originalDispatcher)
  global.fetch = originalFetch
})

describe('ChittyID integration (MockAgent times and persist)', () => {
  test('three mints use up an answer given three times', async () => {
    mockAgent.get(ORIGIN).intercept({ path: '/v1/mint', method: 'POST' }).reply(201, { chittyId: ID }).times(3)

    for (let i = 0; i < 3; i++) await expect(client.mint({ entity: 'PROP' })).resolves.toBe(ID)
    await expect(client.mint({ entity: 'PROP' })).rejects.toThrow(
      'ChittyID service unavailable - cannot mint PROP ID: fetch failed',
    )
    expect(paths()).toEqual(Array(4).fill('POST /v1/mint'))
    const last = mockAgent.getCallHistory().lastCall()
    expect(last.body).toBe('{"entity":"PROP"}')
    expect(last.headers).toEqual(
      expect.objectContaining({ 'Content-Type': 'application/json', Authorization: 'Bearer test-key' }),
    )
  })

  test('a 503 twice: two mints fail, one request each, the next one succeeds', async () => {
    const pool = mockAgent.get(ORIGIN)
    pool.intercept({ path: '/v1/mint', method: 'POST' }).reply(503, '').times(2)
    pool.intercept({ path: '/v1/mint', method: 'POST' }).reply(200, { chittyId: ID })

    await expect(client.mint({ entity: 'PROP' })).rejects.toThrow(
      'ChittyID service unavailable - cannot mint PROP ID: ChittyID service error: 503 Service Unavailable',
    )
    await expect(client.mint({ entity: 'PROP' })).rejects.toThrow('ChittyID service error: 503')
    await expect(client.mint({ entity: 'PROP' })).resolves.toBe(ID)
    expect(paths()).toHaveLength(3)
  })

  test('validate: a persistent 502 answers every call with the service error', async () => {
    mockAgent
      .get(ORIGIN)
      .intercept({ path: (path) => path.startsWith('/v1/validate/BG-'), method: 'GET' })
      .reply(502, 'Bad Gateway')
      .persist()

    for (const id of ['BG-1', 'BG-2', 'BG-1']) {
      await expect(client.validate(id)).resolves.toEqual({ valid: false, error: 'Service error: 502' })
    }
    expect(paths()).toEqual(['GET /v1/validate/BG-1', 'GET /v1/validate/BG-2', 'GET /v1/validate/BG-1'])
  })

  test('validate: a persistent network error falls back to the format check every time', async () => {
    mockAgent
      .get(ORIGIN)
      .intercept({ path: (path) => path.startsWith('/v1/validate/CT-') || path === '/v1/validate/down', method: 'GET' })
      .replyWithError(new Error('ECONNRESET'))
      .persist()

    await expect(client.validate(ID)).resolves.toEqual({ valid: true, error: 'fetch failed' })
    await expect(client.validate('down')).resolves.toEqual({ valid: false, error: 'fetch failed' })
    expect(paths()).toHaveLength(2)
  })

  test('an answer given twice: validate asks the service each time (no cache)', async () => {
    mockAgent
      .get(ORIGIN)
      .intercept({ path: '/v1/validate/AP-2', method: 'GET' })
      .reply(200, { valid: true, chittyId: 'AP-2', entity: 'PROP' })
      .times(2)

    await expect(client.validate('AP-2')).resolves.toEqual({ valid: true, chittyId: 'AP-2', entity: 'PROP' })
    await expect(client.validate('AP-2')).resolves.toEqual({ valid: true, chittyId: 'AP-2', entity: 'PROP' })
    expect(paths()).toEqual(['GET /v1/validate/AP-2', 'GET /v1/validate/AP-2'])
  })
})
