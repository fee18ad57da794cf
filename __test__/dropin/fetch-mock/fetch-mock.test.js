'use strict'

// A v1-era service suite using jest-fetch-mock, enabled in setupFiles.

const { ChittyIDClient, mintChittyID, validateChittyID } = require('@chittyos/chittyid-client')

const SERVICE = 'https://id.chitty.cc/v1'
const ID = 'CT-A-CHI-1234-E-24-A-0'

describe('ChittyID integration (jest-fetch-mock)', () => {
  let client

  beforeEach(() => {
    fetch.resetMocks()
    client = new ChittyIDClient({ serviceUrl: SERVICE, apiKey: 'test-key' })
  })

  test('mints an id', async () => {
    fetch.mockResponseOnce(JSON.stringify({ success: true, chittyId: ID }), { status: 201 })

    const id = await client.mint({ entity: 'EVNT', name: 'Launch' })

    expect(id).toBe(ID)
    expect(fetch.mock.calls.length).toBe(1)
    expect(fetch.mock.calls[0][0]).toBe(`${SERVICE}/mint`)
    expect(fetch.mock.calls[0][1].method).toBe('POST')
    expect(fetch.mock.calls[0][1].headers['Content-Type']).toBe('application/json')
    expect(fetch.mock.calls[0][1].headers.Authorization).toBe('Bearer test-key')
    expect(fetch.mock.calls[0][1].body).toBe('{"entity":"EVNT","name":"Launch"}')
  })

  test('mintChittyID helper', async () => {
    fetch.mockResponseOnce(JSON.stringify({ chittyId: ID }))
    await expect(mintChittyID({ entity: 'EVNT' }, { serviceUrl: SERVICE })).resolves.toBe(ID)
    expect(fetch).toHaveBeenCalledTimes(1)
  })

  test('validates', async () => {
    fetch.mockResponseOnce(JSON.stringify({ valid: false, error: 'unknown id' }))
    // v1 answered with the body's valid, chittyId and entity, nothing else.
    await expect(client.validate(ID)).resolves.toStrictEqual({ valid: false, chittyId: undefined, entity: undefined })
    expect(fetch.mock.calls[0][0]).toBe(`${SERVICE}/validate/${encodeURIComponent(ID)}`)
  })

  test('validateChittyID helper on a service error', async () => {
    fetch.mockResponse('', { status: 500, statusText: 'Internal Server Error' })
    await expect(validateChittyID(ID, { serviceUrl: SERVICE })).resolves.toEqual({
      valid: false,
      error: 'Service error: 500',
    })
  })

  test('a 503 fails the mint with the v1 wording', async () => {
    fetch.mockResponse('', { status: 503, statusText: 'Service Unavailable' })
    await expect(client.mint({ entity: 'EVNT' })).rejects.toThrow('ChittyID service error: 503')
    await expect(client.mint({ entity: 'EVNT' })).rejects.toThrow(/^ChittyID service unavailable - cannot mint EVNT ID/)
  })

  test('a network failure rejects with its message', async () => {
    fetch.mockReject(new Error('network error'))
    await expect(client.mint({ entity: 'EVNT' })).rejects.toThrow('network error')
    await expect(client.validate('not-an-id')).resolves.toEqual({
      valid: false,
      error: expect.stringContaining('network error'),
    })
  })
})
