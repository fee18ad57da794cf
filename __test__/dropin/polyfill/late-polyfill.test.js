'use strict'

// A v1-era suite from Node 16, where there was no global fetch when the package loaded and the
// client was made: the polyfill is installed later, in beforeAll, and the calls made before that
// fail as v1's did ("fetch is not defined").

const polyfill = require('./polyfill-fetch.js')

delete global.fetch // as on Node 16 (./setup.js installed it for the project's other files)

const { ChittyIDClient } = require('@chittyos/chittyid-client')

const SERVICE = 'https://id.chitty.cc/v1'
const ID = 'CT-A-CHI-1234-L-24-A-0'

const client = new ChittyIDClient({ serviceUrl: SERVICE, apiKey: 'test-key' })

afterEach(() => polyfill.reset())
afterAll(() => {
  global.fetch = polyfill.fetch
})

describe('ChittyID integration (fetch polyfilled late)', () => {
  test('before any fetch exists: v1’s failures', async () => {
    expect(typeof fetch).toBe('undefined')
    const error = await client.mint({ entity: 'LOC' }).catch((err) => err)
    expect(error).toBeInstanceOf(Error)
    expect(error.message).toBe('ChittyID service unavailable - cannot mint LOC ID: fetch is not defined')
    expect(error.code).toBeUndefined()
    await expect(client.mintBatch([{ entity: 'LOC' }])).rejects.toThrow(
      'ChittyID service unavailable - cannot batch mint IDs: fetch is not defined',
    )
    await expect(client.validate(ID)).resolves.toEqual({ valid: true, error: 'fetch is not defined' })
    await expect(client.healthCheck()).resolves.toBe(false)
  })

  test('once the polyfill is installed, the same client uses it', async () => {
    global.fetch = polyfill.fetch
    polyfill.route(`${SERVICE}/mint`, () => polyfill.response(200, { chittyId: ID }))
    polyfill.route(`${SERVICE}/health`, () => polyfill.response(200, { status: 'ok' }))

    await expect(client.mint({ entity: 'LOC' })).resolves.toBe(ID)
    await expect(client.healthCheck()).resolves.toBe(true)
    expect(polyfill.calls.map((c) => [c.url, c.init.method])).toEqual([
      [`${SERVICE}/mint`, 'POST'],
      [`${SERVICE}/health`, 'GET'],
    ])
    expect(polyfill.calls[0].init.headers).toEqual({
      'Content-Type': 'application/json',
      Authorization: 'Bearer test-key',
    })
  })
})
