'use strict'

// A v1-era service suite using nock 14 (which intercepts fetch).

const nock = require('nock')
const { ChittyIDClient } = require('@chittyos/chittyid-client')

const ORIGIN = 'https://id.chitty.cc'
const SERVICE = `${ORIGIN}/v1`
const ID = 'CT-A-CHI-1234-A-24-A-0'

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())
afterAll(() => nock.enableNetConnect())

describe('ChittyID integration (nock)', () => {
  let client

  beforeEach(() => {
    client = new ChittyIDClient({ serviceUrl: SERVICE, apiKey: 'test-key' })
  })

  test('mints an id', async () => {
    const scope = nock(ORIGIN, { reqheaders: { authorization: 'Bearer test-key', 'content-type': 'application/json' } })
      .post('/v1/mint', { entity: 'AUTH', name: 'Deed' })
      .reply(201, { success: true, chittyId: ID })

    await expect(client.mint({ entity: 'AUTH', name: 'Deed' })).resolves.toBe(ID)
    expect(scope.isDone()).toBe(true)
  })

  test('validates', async () => {
    const scope = nock(ORIGIN)
      .get(`/v1/validate/${encodeURIComponent(ID)}`)
      .reply(200, { valid: true, chittyId: ID, entity: 'AUTH' })
    await expect(client.validate(ID)).resolves.toEqual({ valid: true, chittyId: ID, entity: 'AUTH' })
    expect(scope.isDone()).toBe(true)
  })

  test('a 503 fails the mint with the v1 wording', async () => {
    nock(ORIGIN).post('/v1/mint').reply(503).persist()
    await expect(client.mint({ entity: 'AUTH' })).rejects.toThrow(
      'ChittyID service unavailable - cannot mint AUTH ID: ChittyID service error: 503',
    )
  })

  test('a refused connection', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED' })
    nock(ORIGIN).post('/v1/mint').replyWithError(refused).persist()
    await expect(client.mint({ entity: 'AUTH' })).rejects.toThrow('ChittyID service unavailable - cannot mint AUTH ID')
    await expect(client.mint({ entity: 'AUTH' })).rejects.toThrow(/ECONNREFUSED/)
  })

  test('an error given as a plain object is passed on as it is', async () => {
    // nock rejects fetch with the object itself; v1 rethrew anything that was not an Error.
    nock(ORIGIN)
      .post('/v1/mint')
      .replyWithError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:443' })
    await expect(client.mint({ entity: 'AUTH' })).rejects.toEqual({
      code: 'ECONNREFUSED',
      message: 'connect ECONNREFUSED 127.0.0.1:443',
    })
  })

  test('validate falls back to the format check when the service is unreachable', async () => {
    nock(ORIGIN)
      .get(/\/v1\/validate\/.*/)
      .replyWithError('socket hang up')
      .persist()
    const result = await client.validate(ID)
    expect(result.valid).toBe(true)
    expect(result.error).toEqual(expect.any(String))
  })
})
