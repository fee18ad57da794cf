'use strict'

// A v1-era suite for a service module (./people.js) whose one client, { serviceUrl, apiKey,
// timeout: 2000 }, is shared by every test. It stubs fetch the ways v1 suites did:
// jest.spyOn(global, 'fetch') with exact-call assertions and mockResolvedValueOnce, fake
// timers driving the client's timeout, and `global.fetch = jest.fn()`. Not a line of
// configuration: it runs as written against v1 and against this package.

const people = require('./people')

const SERVICE = 'https://id.chitty.cc/v1'
const ID = 'CT-A-CHI-1234-P-24-A-0'
const PLACE_ID = 'CT-A-CHI-5678-L-24-A-1'

function json(body, status = 200, statusText = '') {
  return new Response(JSON.stringify(body), { status, statusText, headers: { 'Content-Type': 'application/json' } })
}

function status(code, statusText) {
  return new Response('', { status: code, statusText })
}

afterEach(() => {
  jest.restoreAllMocks()
  jest.useRealTimers()
})

describe('people service', () => {
  test('the shared client has the configured url and timeout', () => {
    // v1's client was the plain object { serviceUrl, apiKey, timeout }; this package keeps the
    // key out of the client's enumerable properties, so it is asserted on its own.
    expect(people.client).toEqual(expect.objectContaining({ serviceUrl: SERVICE, timeout: 2000 }))
    expect(people.client.apiKey).toBe('test-key')
  })

  test('registerPerson sends exactly the mint request', async () => {
    const fetchSpy = jest.spyOn(global, 'fetch').mockResolvedValueOnce(json({ success: true, chittyId: ID }, 201))

    await expect(people.registerPerson('Ada Lovelace', { source: 'signup' })).resolves.toEqual({
      chittyId: ID,
      name: 'Ada Lovelace',
    })

    expect(fetchSpy).toHaveBeenCalledTimes(1)
    expect(fetchSpy).toHaveBeenCalledWith(`${SERVICE}/mint`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer test-key' },
      body: JSON.stringify({ entity: 'PEO', name: 'Ada Lovelace', metadata: { source: 'signup' } }),
      signal: expect.any(AbortSignal),
    })
  })

  test('a 503 answered once fails the registration after one request', async () => {
    const fetchSpy = jest.spyOn(global, 'fetch').mockResolvedValueOnce(status(503, 'Service Unavailable'))

    await expect(people.registerPerson('Bob')).rejects.toThrow(
      new Error('ChittyID service unavailable - cannot mint PEO ID: ChittyID service error: 503 Service Unavailable'),
    )
    expect(fetchSpy).toHaveBeenCalledTimes(1)
  })

  test('six failures in a row do not stop the seventh call', async () => {
    const fetchSpy = jest.spyOn(global, 'fetch')
    for (let i = 0; i < 6; i++) fetchSpy.mockResolvedValueOnce(status(500, 'Internal Server Error'))
    fetchSpy.mockResolvedValueOnce(json({ chittyId: PLACE_ID }))

    for (let i = 0; i < 6; i++) {
      await expect(people.registerPlace('Somewhere')).rejects.toThrow(
        'ChittyID service error: 500 Internal Server Error',
      )
    }
    await expect(people.registerPlace('Somewhere')).resolves.toBe(PLACE_ID)
    expect(fetchSpy).toHaveBeenCalledTimes(7)
  })

  test('the next test reaches the service as usual', async () => {
    const fetchSpy = jest.spyOn(global, 'fetch').mockResolvedValueOnce(json({ chittyId: PLACE_ID }, 201))
    await expect(people.registerPlace('Elsewhere')).resolves.toBe(PLACE_ID)
    expect(fetchSpy).toHaveBeenCalledWith(
      `${SERVICE}/mint`,
      expect.objectContaining({ body: '{"entity":"PLACE","name":"Elsewhere"}' }),
    )
  })

  test('a fetch that rejects: its own message after the v1 prefix', async () => {
    jest.spyOn(global, 'fetch').mockRejectedValueOnce(new Error('fetch failed'))
    await expect(people.registerPerson('Eve')).rejects.toThrow(
      new Error('ChittyID service unavailable - cannot mint PEO ID: fetch failed'),
    )

    jest.spyOn(global, 'fetch').mockRejectedValueOnce(new Error('socket hang up'))
    await expect(people.registerPerson('Eve')).rejects.toThrow(
      new Error('ChittyID service unavailable - cannot mint PEO ID: socket hang up'),
    )
  })

  test('a 2xx answer without chittyId resolves undefined', async () => {
    jest.spyOn(global, 'fetch').mockResolvedValueOnce(json({ success: true }, 201))
    await expect(people.registerPlace('Nowhere')).resolves.toBeUndefined()
  })

  test('a request without entity goes to the service, which refuses it', async () => {
    const fetchSpy = jest
      .spyOn(global, 'fetch')
      .mockResolvedValueOnce(json({ error: 'entity is required' }, 400, 'Bad Request'))

    await expect(people.registerRaw({ name: 'nobody' })).rejects.toThrow(
      new Error('ChittyID service unavailable - cannot mint undefined ID: ChittyID service error: 400 Bad Request'),
    )
    expect(fetchSpy).toHaveBeenCalledWith(
      `${SERVICE}/mint`,
      expect.objectContaining({ method: 'POST', body: '{"name":"nobody"}' }),
    )
  })

  test('lookup sends exactly the validate request', async () => {
    const fetchSpy = jest
      .spyOn(global, 'fetch')
      .mockResolvedValueOnce(json({ valid: true, chittyId: ID, entity: 'PEO' }))

    await expect(people.lookup(ID)).resolves.toEqual({ valid: true, chittyId: ID, entity: 'PEO' })
    expect(fetchSpy).toHaveBeenCalledWith(`${SERVICE}/validate/${encodeURIComponent(ID)}`, {
      headers: { Authorization: 'Bearer test-key' },
    })
  })

  test('checkId asks the service every time', async () => {
    const fetchSpy = jest
      .spyOn(global, 'fetch')
      .mockResolvedValueOnce(json({ valid: true, chittyId: ID, entity: 'PEO' }))
      .mockResolvedValueOnce(json({ valid: false, chittyId: ID }))

    await expect(people.checkId(ID)).resolves.toBe(true)
    await expect(people.checkId(ID)).resolves.toBe(false)
    expect(fetchSpy).toHaveBeenCalledTimes(2)
  })

  test('a service error makes the id invalid, after one request', async () => {
    const fetchSpy = jest.spyOn(global, 'fetch').mockResolvedValueOnce(status(503, 'Service Unavailable'))
    await expect(people.lookup(ID)).resolves.toEqual({ valid: false, error: 'Service error: 503' })
    expect(fetchSpy).toHaveBeenCalledTimes(1)
  })

  test('an unreachable service falls back to the format check', async () => {
    jest.spyOn(global, 'fetch').mockRejectedValueOnce(new TypeError('fetch failed'))
    await expect(people.lookup(ID)).resolves.toEqual({ valid: true, error: 'fetch failed' })
    jest.spyOn(global, 'fetch').mockRejectedValueOnce(new TypeError('fetch failed'))
    await expect(people.lookup('not-an-id')).resolves.toEqual({ valid: false, error: 'fetch failed' })
  })

  test('registerHousehold sends exactly the batch request', async () => {
    const fetchSpy = jest.spyOn(global, 'fetch').mockResolvedValueOnce(json({ chittyIds: [ID, ID] }, 201))

    await expect(people.registerHousehold(['Ann', 'Ben'])).resolves.toEqual([ID, ID])
    expect(fetchSpy).toHaveBeenCalledWith(`${SERVICE}/mint/batch`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer test-key' },
      body: JSON.stringify({
        requests: [
          { entity: 'PEO', name: 'Ann' },
          { entity: 'PEO', name: 'Ben' },
        ],
      }),
    })
  })

  test('a failed batch names the status', async () => {
    jest.spyOn(global, 'fetch').mockResolvedValueOnce(status(500, 'Internal Server Error'))
    await expect(people.registerHousehold(['Ann'])).rejects.toThrow(
      new Error('ChittyID service unavailable - cannot batch mint IDs: ChittyID service error: 500'),
    )
  })

  test('isServiceUp asks /health', async () => {
    const fetchSpy = jest
      .spyOn(global, 'fetch')
      .mockResolvedValueOnce(json({ status: 'ok' }))
      .mockResolvedValueOnce(status(502, 'Bad Gateway'))
    await expect(people.isServiceUp()).resolves.toBe(true)
    await expect(people.isServiceUp()).resolves.toBe(false)
    expect(fetchSpy).toHaveBeenNthCalledWith(1, `${SERVICE}/health`, { method: 'GET', signal: expect.any(AbortSignal) })
  })

  test('a failed registration shows where it was called from', async () => {
    jest.spyOn(global, 'fetch').mockRejectedValueOnce(new Error('fetch failed'))
    const error = await people.registerPerson('Trace').catch((e) => e)
    // V8's async frame of the caller (jest prints it as "at Object.registerPerson (...)").
    expect(error.stack).toMatch(/registerPerson \(.*people\.js:\d+/)
  })
})

describe('people service with fake timers', () => {
  beforeEach(() => {
    jest.useFakeTimers()
  })

  function hangingFetch() {
    return jest.spyOn(global, 'fetch').mockImplementation(
      (url, init) =>
        new Promise((resolve, reject) => {
          init.signal.addEventListener('abort', () => reject(new Error('The operation was aborted')))
        }),
    )
  }

  test('a hanging mint is given up after the client timeout', async () => {
    hangingFetch()
    const pending = people.registerPerson('Slow')
    jest.advanceTimersByTime(2000)
    await expect(pending).rejects.toThrow(
      new Error('ChittyID service unavailable - cannot mint PEO ID: The operation was aborted'),
    )
  })

  test('and not a millisecond earlier', async () => {
    const fetchSpy = hangingFetch()
    const pending = people.registerPlace('Slow')
    const { signal } = fetchSpy.mock.calls[0][1]
    jest.advanceTimersByTime(1999)
    expect(signal.aborted).toBe(false)
    jest.advanceTimersByTime(1)
    expect(signal.aborted).toBe(true)
    await expect(pending).rejects.toThrow('The operation was aborted')
  })
})

describe('people service with global.fetch = jest.fn()', () => {
  const realFetch = global.fetch

  beforeEach(() => {
    global.fetch = jest.fn()
  })

  afterEach(() => {
    global.fetch = realFetch
  })

  test('registers from a hand-made response object', async () => {
    global.fetch.mockResolvedValue({ ok: true, status: 201, json: async () => ({ chittyId: ID }) })
    await expect(people.registerPerson('Grace')).resolves.toEqual({ chittyId: ID, name: 'Grace' })
    expect(global.fetch).toHaveBeenCalledTimes(1)
    expect(global.fetch.mock.calls[0][0]).toBe(`${SERVICE}/mint`)
  })

  test('a hand-made 500 fails once, with the v1 wording', async () => {
    global.fetch.mockResolvedValue({ ok: false, status: 500, statusText: 'Internal Server Error' })
    await expect(people.registerPerson('Grace')).rejects.toThrow(
      new Error('ChittyID service unavailable - cannot mint PEO ID: ChittyID service error: 500 Internal Server Error'),
    )
    expect(global.fetch).toHaveBeenCalledTimes(1)
  })

  test('checks an id from a hand-made response object', async () => {
    global.fetch.mockResolvedValue({
      ok: true,
      status: 200,
      json: async () => ({ valid: true, chittyId: ID, entity: 'PEO' }),
    })
    await expect(people.checkId(ID)).resolves.toBe(true)
    expect(global.fetch).toHaveBeenCalledWith(`${SERVICE}/validate/${encodeURIComponent(ID)}`, {
      headers: { Authorization: 'Bearer test-key' },
    })
  })
})
