'use strict'

// A v1-era service suite from the Node 16 days: setupFiles made `global.fetch` a polyfill
// (./polyfill-fetch.js: answers from a table, plain objects with only ok, status, statusText
// and json()), and the tests fill its table and read what it was asked.

const polyfill = require('./polyfill-fetch.js')
const { ChittyIDClient, mintChittyID, validateChittyID } = require('@chittyos/chittyid-client')

const SERVICE = 'https://id.chitty.cc/v1'
const ID = 'CT-A-CHI-1234-L-24-A-0'

const client = new ChittyIDClient({ serviceUrl: SERVICE, apiKey: 'test-key' })

afterEach(() => {
  polyfill.reset()
  jest.useRealTimers()
})

describe('ChittyID integration (polyfilled fetch)', () => {
  test('mints an id: v1’s URL, method, headers and body', async () => {
    polyfill.route(`${SERVICE}/mint`, () => polyfill.response(201, { success: true, chittyId: ID }, 'Created'))

    await expect(client.mint({ entity: 'LOC', name: 'HQ' })).resolves.toBe(ID)

    expect(polyfill.calls).toHaveLength(1)
    const { url, init } = polyfill.calls[0]
    expect(url).toBe(`${SERVICE}/mint`)
    expect(init.method).toBe('POST')
    expect(init.headers).toEqual({ 'Content-Type': 'application/json', Authorization: 'Bearer test-key' })
    expect(init.body).toBe('{"entity":"LOC","name":"HQ"}')
    expect(Object.keys(init).sort()).toEqual(['body', 'headers', 'method', 'signal'])
  })

  test('batch mints and validates', async () => {
    polyfill.route(`${SERVICE}/mint/batch`, (url, init) =>
      polyfill.response(
        200,
        JSON.stringify({ success: true, chittyIds: JSON.parse(init.body).requests.map(() => ID) }),
      ),
    )
    polyfill.route(/\/validate\//, () => polyfill.response(200, { valid: true, chittyId: ID, entity: 'LOC' }))

    await expect(client.mintBatch([{ entity: 'LOC' }, { entity: 'LOC' }])).resolves.toEqual([ID, ID])
    await expect(client.validate(ID)).resolves.toEqual({ valid: true, chittyId: ID, entity: 'LOC' })
    expect(polyfill.calls.map((c) => c.url)).toEqual([
      `${SERVICE}/mint/batch`,
      `${SERVICE}/validate/${encodeURIComponent(ID)}`,
    ])
    expect(polyfill.calls[0].init).toEqual({
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer test-key' },
      body: '{"requests":[{"entity":"LOC"},{"entity":"LOC"}]}',
    })
    expect(polyfill.calls[1].init).toEqual({ headers: { Authorization: 'Bearer test-key' } })
  })

  test('a 500: v1’s messages, one request each, no code', async () => {
    polyfill.route(/./, () => polyfill.response(500, '', 'Internal Server Error'))

    const error = await client.mint({ entity: 'LOC' }).catch((err) => err)
    expect(error).toBeInstanceOf(Error)
    expect(error.message).toBe(
      'ChittyID service unavailable - cannot mint LOC ID: ChittyID service error: 500 Internal Server Error',
    )
    expect(error.code).toBeUndefined()
    await expect(client.mintBatch([{ entity: 'LOC' }])).rejects.toThrow(
      /^ChittyID service unavailable - cannot batch mint IDs: ChittyID service error: 500$/,
    )
    await expect(client.validate(ID)).resolves.toEqual({ valid: false, error: 'Service error: 500' })
    await expect(client.healthCheck()).resolves.toBe(false)
    expect(polyfill.calls).toHaveLength(4)
  })

  test('a status text the polyfill leaves out', async () => {
    polyfill.route(`${SERVICE}/mint`, () => ({ ok: false, status: 503, json: async () => ({}) }))
    await expect(client.mint({ entity: 'LOC' })).rejects.toThrow(
      'ChittyID service unavailable - cannot mint LOC ID: ChittyID service error: 503 undefined',
    )
  })

  test('a network error (node-fetch’s FetchError) keeps its message', async () => {
    polyfill.route(/./, (url) => {
      throw polyfill.fetchError(url, 'connect ECONNREFUSED 127.0.0.1:443', 'ECONNREFUSED')
    })

    const error = await client.mint({ entity: 'LOC' }).catch((err) => err)
    expect(error.message).toBe(
      `ChittyID service unavailable - cannot mint LOC ID: request to ${SERVICE}/mint failed, reason: connect ECONNREFUSED 127.0.0.1:443`,
    )
    expect(error.code).toBeUndefined()
    await expect(client.mintBatch([{ entity: 'LOC' }])).rejects.toThrow(/cannot batch mint IDs: request to .* failed/)
    await expect(client.validate(ID)).resolves.toEqual({
      valid: true,
      error: `request to ${SERVICE}/validate/${encodeURIComponent(ID)} failed, reason: connect ECONNREFUSED 127.0.0.1:443`,
    })
    await expect(client.healthCheck()).resolves.toBe(false)
    expect(polyfill.calls).toHaveLength(4)
  })

  test('a body that is not JSON', async () => {
    polyfill.route(/./, () => polyfill.response(200, '<html>'))
    await expect(client.mint({ entity: 'LOC' })).rejects.toThrow(/^ChittyID service unavailable - cannot mint LOC ID: /)
    await expect(client.validate('not-an-id')).resolves.toEqual({ valid: false, error: expect.any(String) })
  })

  test('mint’s timeout aborts the polyfill’s request (fake timers)', async () => {
    jest.useFakeTimers()
    polyfill.route(`${SERVICE}/mint`, () => new Promise(() => {}))
    const slow = new ChittyIDClient({ serviceUrl: SERVICE, timeout: 2000 })

    const minted = slow.mint({ entity: 'LOC' }).catch((err) => err)
    await jest.advanceTimersByTimeAsync(2000)
    const error = await minted
    expect(error.message).toBe('ChittyID service unavailable - cannot mint LOC ID: The user aborted a request.')
    expect(polyfill.calls[0].init.signal.aborted).toBe(true)
  })

  test('the helpers, and a fetch swapped in after the client was made', async () => {
    polyfill.route(`${SERVICE}/mint`, () => polyfill.response(200, { chittyId: ID }))
    polyfill.route(/\/validate\//, () => polyfill.response(200, { valid: false }))
    await expect(mintChittyID({ entity: 'LOC' }, { serviceUrl: SERVICE })).resolves.toBe(ID)
    await expect(validateChittyID('XX', { serviceUrl: SERVICE })).resolves.toStrictEqual({
      valid: false,
      chittyId: undefined,
      entity: undefined,
    })
    expect(polyfill.calls[0].init.headers).toEqual({ 'Content-Type': 'application/json' })
    expect(polyfill.calls[1].init).toEqual({ headers: {} })

    const installed = global.fetch
    const other = jest.fn(async () => ({
      ok: true,
      status: 200,
      statusText: 'OK',
      json: async () => ({ chittyId: 'X' }),
    }))
    global.fetch = other
    try {
      await expect(client.mint({ entity: 'LOC' })).resolves.toBe('X')
      await expect(client.healthCheck()).resolves.toBe(true)
    } finally {
      global.fetch = installed
    }
    expect(other).toHaveBeenCalledTimes(2)
    expect(other.mock.calls[1][0]).toBe(`${SERVICE}/health`)
    expect(other.mock.calls[1][1]).toEqual({ method: 'GET', signal: expect.any(AbortSignal) })
  })
})
