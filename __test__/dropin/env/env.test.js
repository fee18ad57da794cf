'use strict'

// A v1-era suite for configuration read from the environment, written the way such suites
// are: each test gets a fresh `process.env` of its own (not a copy of the runner's), and the
// module under test is loaded again after `jest.resetModules()`. The ChittyID service is a
// jest spy on `fetch`.

const SERVICE = 'http://127.0.0.1:9/v1'
const ID = 'CT-A-CHI-1234-E-24-A-0'

const ORIGINAL_ENV = process.env

function json(body, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

beforeEach(() => {
  jest.resetModules()
  process.env = { NODE_ENV: 'test', CHITTY_ID_URL: SERVICE, CHITTY_ID_KEY: 'env-key' }
})

afterEach(() => {
  process.env = ORIGINAL_ENV
  jest.restoreAllMocks()
})

describe('ChittyID configured from the environment', () => {
  test('a client made from the environment sends through the stubbed fetch', async () => {
    const fetchSpy = jest.spyOn(global, 'fetch').mockResolvedValue(json({ chittyId: ID }, 201))
    const { ChittyIDClient } = require('@chittyos/chittyid-client')
    const client = new ChittyIDClient({ serviceUrl: process.env.CHITTY_ID_URL, apiKey: process.env.CHITTY_ID_KEY })

    await expect(client.mint({ entity: 'EVNT', name: 'Launch' })).resolves.toBe(ID)
    expect(fetchSpy).toHaveBeenCalledTimes(1)
    const [url, init] = fetchSpy.mock.calls[0]
    expect(url).toBe(`${SERVICE}/mint`)
    expect(init).toEqual({
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer env-key' },
      body: '{"entity":"EVNT","name":"Launch"}',
      signal: expect.any(AbortSignal),
    })
  })

  test('the service module loaded with that environment', async () => {
    const fetchSpy = jest.spyOn(global, 'fetch').mockResolvedValue(json({ chittyId: ID }))
    const { newEventId } = require('./id-service.js')

    await expect(newEventId('Launch')).resolves.toBe(ID)
    expect(fetchSpy.mock.calls.map(([url]) => url)).toEqual([`${SERVICE}/mint`])
  })

  test('a 500 and a network error: v1’s messages, one request each', async () => {
    const fetchSpy = jest
      .spyOn(global, 'fetch')
      .mockResolvedValueOnce(json({ error: 'boom' }, 500))
      .mockRejectedValueOnce(new Error('connect ECONNREFUSED 127.0.0.1:9'))
    const { newEventId } = require('./id-service.js')

    await expect(newEventId('a')).rejects.toThrow(
      'ChittyID service unavailable - cannot mint EVNT ID: ChittyID service error: 500 ',
    )
    await expect(newEventId('b')).rejects.toThrow(
      'ChittyID service unavailable - cannot mint EVNT ID: connect ECONNREFUSED 127.0.0.1:9',
    )
    expect(fetchSpy).toHaveBeenCalledTimes(2)
  })

  test('validate through the stub', async () => {
    const fetchSpy = jest.spyOn(global, 'fetch').mockResolvedValue(json({ valid: true, chittyId: ID, entity: 'EVNT' }))
    const { validateChittyID } = require('@chittyos/chittyid-client')

    await expect(validateChittyID(ID, { serviceUrl: process.env.CHITTY_ID_URL })).resolves.toEqual({
      valid: true,
      chittyId: ID,
      entity: 'EVNT',
    })
    expect(fetchSpy.mock.calls[0]).toEqual([`${SERVICE}/validate/${encodeURIComponent(ID)}`, { headers: {} }])
  })
})
