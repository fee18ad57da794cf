'use strict'

// v1-era habits the other drop-in suites do not show: how v1 users called the client and
// stubbed fetch in ways that only worked because v1 was plain JS over `fetch`.

const { ChittyIDClient, mintChittyID, validateChittyID } = require('@chittyos/chittyid-client')

const SERVICE = 'https://id.chitty.cc/v1'
const ID = 'CT-A-CHI-1234-P-24-A-0'
const ID2 = 'CT-A-CHI-5678-L-24-A-1'

function json(body, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

afterEach(() => {
  jest.restoreAllMocks()
  jest.useRealTimers()
})

describe('call shapes v1 accepted', () => {
  test('ids.map(client.validate.bind(client)): extra positional arguments are ignored', async () => {
    const client = new ChittyIDClient({ serviceUrl: SERVICE, apiKey: 'k' })
    const spy = jest.spyOn(global, 'fetch').mockImplementation(async (url) => {
      const id = decodeURIComponent(url.split('/').pop())
      return json({ valid: true, chittyId: id, entity: 'PEO' })
    })
    const answers = await Promise.all([ID, ID2].map(client.validate.bind(client)))
    expect(answers).toEqual([
      { valid: true, chittyId: ID, entity: 'PEO' },
      { valid: true, chittyId: ID2, entity: 'PEO' },
    ])
    expect(spy).toHaveBeenCalledTimes(2)
  })

  test('requests.map(client.mint, client) and batches.map(client.mintBatch, client)', async () => {
    const client = new ChittyIDClient({ serviceUrl: SERVICE, apiKey: 'k' })
    jest
      .spyOn(global, 'fetch')
      .mockImplementation(async (url) =>
        url.endsWith('/batch') ? json({ chittyIds: [ID, ID2] }) : json({ chittyId: ID }),
      )
    const requests = [{ entity: 'PEO' }, { entity: 'PLACE' }, { entity: 'PROP' }]
    await expect(Promise.all(requests.map(client.mint, client))).resolves.toEqual([ID, ID, ID])
    await expect(Promise.all([requests, requests].map(client.mintBatch, client))).resolves.toEqual([
      [ID, ID2],
      [ID, ID2],
    ])
  })

  test('ids.map(validateChittyID) and requests.map(mintChittyID)', async () => {
    jest
      .spyOn(global, 'fetch')
      .mockImplementation(async (url) => (url.includes('/validate/') ? json({ valid: false }) : json({ chittyId: ID })))
    const answers = await Promise.all([ID, ID2].map(validateChittyID))
    expect(answers.map((a) => a.valid)).toEqual([false, false])
    expect(global.fetch.mock.calls[0][0]).toBe(`${SERVICE}/validate/${encodeURIComponent(ID)}`)
    await expect(Promise.all([{ entity: 'PEO' }].map(mintChittyID))).resolves.toEqual([ID])
  })

  test('healthCheck from an array callback', async () => {
    const client = new ChittyIDClient({ serviceUrl: SERVICE })
    jest.spyOn(global, 'fetch').mockResolvedValue(new Response('ok'))
    const results = await Promise.all([1, 2].map(() => client.healthCheck()))
    expect(results).toEqual([true, true])
  })

  test('mint sends unknown request fields as they were given', async () => {
    const client = new ChittyIDClient({ serviceUrl: SERVICE })
    const spy = jest.spyOn(global, 'fetch').mockResolvedValue(json({ chittyId: ID }))
    const request = { entity: 'PEO', name: 'A', metadata: { a: 1 }, tags: ['x'], extra: null, when: new Date(0) }
    await client.mint(request)
    expect(spy.mock.calls[0][1].body).toBe(JSON.stringify(request))
  })
})

describe('configs v1 accepted', () => {
  test('a timeout read from the environment (a string) is used as ms', async () => {
    jest.useFakeTimers()
    const client = new ChittyIDClient({ serviceUrl: SERVICE, timeout: '1500' })
    const spy = jest
      .spyOn(global, 'fetch')
      .mockImplementation(
        (url, init) =>
          new Promise((resolve, reject) =>
            init.signal.addEventListener('abort', () => reject(new Error('The operation was aborted'))),
          ),
      )
    const pending = client.mint({ entity: 'PEO' })
    jest.advanceTimersByTime(1499)
    expect(spy.mock.calls[0][1].signal.aborted).toBe(false)
    jest.advanceTimersByTime(1)
    await expect(pending).rejects.toThrow('cannot mint PEO ID: The operation was aborted')
  })

  test('falsy values mean the defaults', () => {
    const client = new ChittyIDClient({ serviceUrl: '', apiKey: '', timeout: 0 })
    expect(client.serviceUrl).toBe(SERVICE)
    expect(client.timeout).toBe(10000)
    expect(client.apiKey).toBeFalsy()
  })
})

describe('fetch stubs v1 tolerated', () => {
  test('a stub that rejects with a string, or with undefined', async () => {
    const client = new ChittyIDClient({ serviceUrl: SERVICE })
    jest.spyOn(global, 'fetch').mockRejectedValueOnce('offline')
    await expect(client.mint({ entity: 'PEO' })).rejects.toBe('offline')
    jest.spyOn(global, 'fetch').mockRejectedValueOnce(undefined)
    await expect(client.mint({ entity: 'PEO' })).rejects.toBeUndefined()
    jest.spyOn(global, 'fetch').mockRejectedValueOnce('offline')
    await expect(client.validate(ID)).resolves.toEqual({ valid: true, error: 'Validation failed' })
    jest.spyOn(global, 'fetch').mockRejectedValueOnce(undefined)
    await expect(client.mintBatch([{ entity: 'PEO' }])).rejects.toThrow(
      'ChittyID service unavailable - cannot batch mint IDs: Unknown error',
    )
    jest.spyOn(global, 'fetch').mockRejectedValueOnce(42)
    await expect(client.healthCheck()).resolves.toBe(false)
  })

  test('a Response whose body stream fails half way', async () => {
    const client = new ChittyIDClient({ serviceUrl: SERVICE })
    const body = () =>
      new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"chittyId":"CT-'))
        },
        pull(controller) {
          controller.error(new Error('socket hang up'))
        },
      })
    jest.spyOn(global, 'fetch').mockImplementation(async () => new Response(body(), { status: 200 }))
    await expect(client.mint({ entity: 'PEO' })).rejects.toThrow('cannot mint PEO ID: socket hang up')
    await expect(client.validate(ID)).resolves.toEqual({ valid: true, error: 'socket hang up' })
  })

  test('a hand-made object with text() only, and one without headers', async () => {
    const client = new ChittyIDClient({ serviceUrl: SERVICE })
    global.fetch = jest.fn().mockResolvedValue({ ok: true, status: 200, text: async () => '{}' })
    await expect(client.mint({ entity: 'PEO' })).rejects.toThrow('cannot mint PEO ID: response.json is not a function')
    global.fetch = jest.fn().mockResolvedValue({ ok: true, json: async () => ({ valid: true, chittyId: ID }) })
    await expect(client.validate(ID)).resolves.toEqual({ valid: true, chittyId: ID, entity: undefined })
  })

  test('global.fetch replaced after the client was made, then restored', async () => {
    const client = new ChittyIDClient({ serviceUrl: SERVICE })
    const original = global.fetch
    try {
      global.fetch = jest.fn().mockResolvedValue(json({ chittyId: ID }))
      await expect(client.mint({ entity: 'PEO' })).resolves.toBe(ID)
      global.fetch = jest.fn().mockResolvedValue(json({ chittyId: ID2 }))
      await expect(client.mint({ entity: 'PEO' })).resolves.toBe(ID2)
    } finally {
      global.fetch = original
    }
    expect(global.fetch).toBe(original)
  })
})

describe('fake timers', () => {
  test.each([
    ['modern', {}],
    ['legacy', { legacyFakeTimers: true }],
  ])('%s fake timers: calls with a stub that answers at once still settle', async (_, config) => {
    jest.useFakeTimers(config)
    const client = new ChittyIDClient({ serviceUrl: SERVICE, apiKey: 'k' })
    jest.spyOn(global, 'fetch').mockImplementation(async (url) => {
      if (url.endsWith('/health')) return new Response('ok')
      if (url.includes('/validate/')) return json({ valid: true, chittyId: ID, entity: 'PEO' })
      if (url.endsWith('/batch')) return json({ chittyIds: [ID] })
      return json({ chittyId: ID })
    })
    await expect(client.mint({ entity: 'PEO' })).resolves.toBe(ID)
    await expect(client.mintBatch([{ entity: 'PEO' }])).resolves.toEqual([ID])
    await expect(client.validate(ID)).resolves.toEqual({ valid: true, chittyId: ID, entity: 'PEO' })
    await expect(client.healthCheck()).resolves.toBe(true)
    expect(jest.getTimerCount()).toBe(0)
  })

  test('the package loaded while fake timers are installed', async () => {
    jest.useFakeTimers()
    let fresh
    jest.isolateModules(() => {
      fresh = require('@chittyos/chittyid-client')
    })
    const client = new fresh.ChittyIDClient({ serviceUrl: SERVICE })
    jest.spyOn(global, 'fetch').mockResolvedValue(json({ chittyId: ID }))
    await expect(client.mint({ entity: 'PEO' })).resolves.toBe(ID)
    jest.runOnlyPendingTimers()
  })
})

describe('module registry', () => {
  test('jest.resetModules() and require again: both copies work', async () => {
    const before = new ChittyIDClient({ serviceUrl: SERVICE })
    jest.resetModules()
    const again = require('@chittyos/chittyid-client')
    expect(again.ChittyIDClient).not.toBe(ChittyIDClient)
    const after = new again.ChittyIDClient({ serviceUrl: SERVICE })
    jest.spyOn(global, 'fetch').mockImplementation(async () => json({ chittyId: ID }))
    await expect(before.mint({ entity: 'PEO' })).resolves.toBe(ID)
    await expect(after.mint({ entity: 'PEO' })).resolves.toBe(ID)
    expect(after.validateFormat(ID)).toBe(true)
    expect(before.validateFormat(ID)).toBe(true)
  })

  test('jest.mock of another module with requireActual of this one', async () => {
    jest.doMock('node:os', () => ({ ...jest.requireActual('node:os'), hostname: () => 'mocked' }))
    jest.resetModules()
    const actual = jest.requireActual('@chittyos/chittyid-client')
    const client = new actual.ChittyIDClient({ serviceUrl: SERVICE })
    jest.spyOn(global, 'fetch').mockResolvedValue(json({ chittyId: ID }))
    await expect(client.mint({ entity: 'PEO' })).resolves.toBe(ID)
    jest.dontMock('node:os')
  })
})

describe('quiet', () => {
  test('loading, constructing and calling print nothing', async () => {
    const spies = ['log', 'info', 'warn', 'error', 'debug'].map((m) => jest.spyOn(console, m))
    const warning = jest.spyOn(process, 'emitWarning')
    let fresh
    jest.isolateModules(() => {
      fresh = require('@chittyos/chittyid-client')
    })
    const client = new fresh.ChittyIDClient({ serviceUrl: SERVICE, apiKey: 'k', timeout: 500 })
    jest.spyOn(global, 'fetch').mockResolvedValueOnce(new Response('', { status: 503 }))
    await client.mint({ entity: 'PEO' }).catch(() => {})
    jest.spyOn(global, 'fetch').mockRejectedValueOnce(new TypeError('fetch failed'))
    await client.validate(ID)
    for (const spy of spies) expect(spy).not.toHaveBeenCalled()
    expect(warning).not.toHaveBeenCalled()
  })
})
