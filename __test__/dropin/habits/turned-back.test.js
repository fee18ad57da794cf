'use strict'

// A v1 suite after following the last column of MIGRATION.md "What v2 changes, and the option
// that turns it back": the client is given `retry: false, cache: false, circuitBreaker: false`
// (v1 ignored unknown options), made in beforeEach and never closed, with fetch stubbed.

const { ChittyIDClient } = require('@chittyos/chittyid-client')

const SERVICE = 'https://id.chitty.cc/v1'
const ID = 'CT-A-CHI-1234-P-24-A-0'

describe('a client given the options that turn v2 behaviour back', () => {
  let client
  beforeEach(() => {
    client = new ChittyIDClient({ serviceUrl: SERVICE, apiKey: 'k', retry: false, cache: false, circuitBreaker: false })
  })
  afterEach(() => jest.restoreAllMocks())

  test('mints through the stub once', async () => {
    const spy = jest.spyOn(global, 'fetch').mockImplementation(async () => Response.json({ chittyId: ID }))
    await expect(client.mint({ entity: 'PEO' })).resolves.toBe(ID)
    expect(spy).toHaveBeenCalledTimes(1)
    expect(spy.mock.calls[0][0]).toBe(`${SERVICE}/mint`)
  })

  test('validates through the stub', async () => {
    jest
      .spyOn(global, 'fetch')
      .mockImplementation(async () => Response.json({ valid: true, chittyId: ID, entity: 'PEO' }))
    await expect(client.validate(ID)).resolves.toEqual(expect.objectContaining({ valid: true, chittyId: ID }))
  })

  test('a 503 fails after one request', async () => {
    const spy = jest.spyOn(global, 'fetch').mockImplementation(async () => new Response('', { status: 503 }))
    await expect(client.mint({ entity: 'PEO' })).rejects.toThrow('cannot mint PEO ID')
    expect(spy).toHaveBeenCalledTimes(1)
  })

  test('a hanging stub and a short timeout', async () => {
    client = new ChittyIDClient({ serviceUrl: SERVICE, timeout: 200, retry: false })
    jest.spyOn(global, 'fetch').mockImplementation(
      (url, init) =>
        new Promise((resolve, reject) => {
          init.signal.addEventListener('abort', () => reject(new Error('The operation was aborted')))
        }),
    )
    await expect(client.mint({ entity: 'PEO' })).rejects.toThrow('cannot mint PEO ID')
  })

  test('health check', async () => {
    jest.spyOn(global, 'fetch').mockImplementation(async () => new Response('ok'))
    await expect(client.healthCheck()).resolves.toBe(true)
  })
})
