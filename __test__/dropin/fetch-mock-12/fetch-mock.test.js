'use strict'

// A v1-era service suite using fetch-mock 12 (not jest-fetch-mock: see ../fetch-mock/):
// `mockGlobal()` puts its fetch in place of the global one, `.route()` answers, and
// `callHistory` tells what was asked. Without the separate jest integration package, as
// most suites were written.

const fetchMock = require('fetch-mock').default
const { ChittyIDClient, mintChittyID, validateChittyID } = require('@chittyos/chittyid-client')

const SERVICE = 'https://id.chitty.cc/v1'
const ID = 'CT-A-CHI-1234-E-24-A-0'

// Made when the module loads, before fetch-mock replaces the global fetch.
const client = new ChittyIDClient({ serviceUrl: SERVICE, apiKey: 'test-key' })

beforeEach(() => {
  fetchMock.mockGlobal()
})

afterEach(() => {
  fetchMock.removeRoutes()
  fetchMock.clearHistory()
  fetchMock.unmockGlobal()
})

describe('ChittyID integration (fetch-mock 12)', () => {
  test('mints an id: URL, method, headers and body as v1 sent them', async () => {
    fetchMock.route(`${SERVICE}/mint`, { status: 201, body: { success: true, chittyId: ID } })

    await expect(client.mint({ entity: 'EVNT', name: 'Launch' })).resolves.toBe(ID)

    expect(fetchMock.callHistory.calls()).toHaveLength(1)
    const call = fetchMock.callHistory.lastCall()
    expect(call.url).toBe(`${SERVICE}/mint`)
    expect(call.options.method).toBe('post')
    expect(call.options.headers).toEqual({ 'content-type': 'application/json', authorization: 'Bearer test-key' })
    expect(call.options.body).toBe('{"entity":"EVNT","name":"Launch"}')
    // The init as the client passed it.
    const [url, init] = call.args
    expect(url).toBe(`${SERVICE}/mint`)
    expect(init.method).toBe('POST')
    expect(init.headers).toEqual({ 'Content-Type': 'application/json', Authorization: 'Bearer test-key' })
    expect(init.signal).toBeInstanceOf(AbortSignal)
  })

  test('routes matched on method, headers and body', async () => {
    fetchMock.route(
      {
        url: `${SERVICE}/mint/batch`,
        method: 'post',
        headers: { Authorization: 'Bearer test-key' },
        body: { requests: [{ entity: 'EVNT' }, { entity: 'PEO' }] },
      },
      { success: true, chittyIds: [ID, ID] },
      'batch',
    )

    await expect(client.mintBatch([{ entity: 'EVNT' }, { entity: 'PEO' }])).resolves.toEqual([ID, ID])
    expect(fetchMock.callHistory.called('batch')).toBe(true)
    expect(fetchMock.callHistory.done()).toBe(true)
  })

  test('validates: a GET with the key, no body', async () => {
    fetchMock.route(`begin:${SERVICE}/validate/`, { valid: true, chittyId: ID, entity: 'EVNT', extra: 1 })

    await expect(client.validate(ID)).resolves.toStrictEqual({ valid: true, chittyId: ID, entity: 'EVNT' })
    const call = fetchMock.callHistory.lastCall()
    expect(call.url).toBe(`${SERVICE}/validate/${encodeURIComponent(ID)}`)
    expect(call.options.method).toBe('get')
    expect(call.options.headers).toEqual({ authorization: 'Bearer test-key' })
    expect(call.options.body).toBeUndefined()
    expect(call.args[1]).toEqual({ headers: { Authorization: 'Bearer test-key' } })
  })

  test('a 500: one request, v1 messages, no code', async () => {
    fetchMock.route('*', 500)

    const error = await client.mint({ entity: 'EVNT' }).catch((err) => err)
    expect(error).toBeInstanceOf(Error)
    expect(error.message).toBe(
      'ChittyID service unavailable - cannot mint EVNT ID: ChittyID service error: 500 Internal Server Error',
    )
    expect(error.code).toBeUndefined()
    await expect(client.mintBatch([{ entity: 'EVNT' }])).rejects.toThrow(
      'ChittyID service unavailable - cannot batch mint IDs: ChittyID service error: 500',
    )
    await expect(client.validate(ID)).resolves.toEqual({ valid: false, error: 'Service error: 500' })
    await expect(client.healthCheck()).resolves.toBe(false)
    expect(fetchMock.callHistory.calls().map((c) => c.url)).toEqual([
      `${SERVICE}/mint`,
      `${SERVICE}/mint/batch`,
      `${SERVICE}/validate/${encodeURIComponent(ID)}`,
      `${SERVICE}/health`,
    ])
  })

  test('a network error keeps its message', async () => {
    fetchMock.route('*', { throws: new TypeError('Failed to fetch') })

    const error = await client.mint({ entity: 'EVNT' }).catch((err) => err)
    expect(error.message).toBe('ChittyID service unavailable - cannot mint EVNT ID: Failed to fetch')
    expect(error.code).toBeUndefined()
    await expect(client.validate(ID)).resolves.toEqual({ valid: true, error: 'Failed to fetch' })
    await expect(client.validate('not-an-id')).resolves.toEqual({ valid: false, error: 'Failed to fetch' })
    expect(fetchMock.callHistory.calls()).toHaveLength(3)
  })

  test('an unrouted request is refused by fetch-mock', async () => {
    fetchMock.route(`${SERVICE}/health`, { body: { status: 'ok' } })

    await expect(client.healthCheck()).resolves.toBe(true)
    await expect(client.mint({ entity: 'EVNT' })).rejects.toThrow(
      'ChittyID service unavailable - cannot mint EVNT ID: fetch-mock: No response or fallback rule to cover post to https://id.chitty.cc/v1/mint',
    )
    expect(fetchMock.callHistory.calls().map((c) => c.url)).toEqual([`${SERVICE}/health`, `${SERVICE}/mint`])
  })

  test('the helpers', async () => {
    fetchMock
      .route(`${SERVICE}/mint`, { chittyId: ID })
      .route(`path:/v1/validate/${encodeURIComponent(ID)}`, { valid: false, error: 'unknown id' })

    await expect(mintChittyID({ entity: 'PEO' }, { serviceUrl: SERVICE })).resolves.toBe(ID)
    await expect(validateChittyID(ID, { serviceUrl: SERVICE })).resolves.toStrictEqual({
      valid: false,
      chittyId: undefined,
      entity: undefined,
    })
    expect(fetchMock.callHistory.calls()[0].options.headers).toEqual({ 'content-type': 'application/json' })
    expect(fetchMock.callHistory.calls()[1].args[1]).toEqual({ headers: {} })
  })

  test('a 2xx without chittyId resolves undefined', async () => {
    fetchMock.route(`${SERVICE}/mint`, { success: true })
    await expect(client.mint({ entity: 'EVNT' })).resolves.toBeUndefined()
  })
})
