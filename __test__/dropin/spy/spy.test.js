'use strict'

// A v1-era service suite that stubs the ChittyID service with jest.spyOn(global, 'fetch').

const { ChittyIDClient } = require('@chittyos/chittyid-client')

const SERVICE = 'https://id.chitty.cc/v1'
const ID = 'CT-A-CHI-1234-P-24-A-0'

function json(body, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

describe('ChittyID integration (fetch spied)', () => {
  let client

  beforeEach(() => {
    client = new ChittyIDClient({ serviceUrl: SERVICE, apiKey: 'test-key' })
  })

  afterEach(() => {
    jest.restoreAllMocks()
  })

  test('mints an id with v1 request shape', async () => {
    const fetchSpy = jest.spyOn(global, 'fetch').mockResolvedValue(json({ success: true, chittyId: ID }, 201))
    const request = { entity: 'PEO', name: 'Alice', metadata: { source: 'test' } }

    await expect(client.mint(request)).resolves.toBe(ID)

    expect(fetchSpy).toHaveBeenCalledTimes(1)
    const [url, init] = fetchSpy.mock.calls[0]
    expect(url).toBe(`${SERVICE}/mint`)
    expect(init.method).toBe('POST')
    expect(init.headers).toEqual(
      expect.objectContaining({ 'Content-Type': 'application/json', Authorization: 'Bearer test-key' }),
    )
    expect(init.body).toBe(JSON.stringify(request))
  })

  test('a spy installed before the client is created sees the request too', async () => {
    const fetchSpy = jest
      .spyOn(global, 'fetch')
      .mockResolvedValue({ ok: true, status: 200, json: async () => ({ chittyId: ID }) })
    const early = new ChittyIDClient({ serviceUrl: SERVICE })

    await expect(early.mint({ entity: 'PLACE' })).resolves.toBe(ID)
    expect(fetchSpy).toHaveBeenCalledWith(
      `${SERVICE}/mint`,
      expect.objectContaining({ method: 'POST', body: '{"entity":"PLACE"}' }),
    )
    expect(fetchSpy.mock.calls[0][1].headers.Authorization).toBeUndefined()
  })

  test('batch mints', async () => {
    const fetchSpy = jest.spyOn(global, 'fetch').mockResolvedValue(json({ success: true, chittyIds: [ID, ID] }))
    const requests = [{ entity: 'PEO' }, { entity: 'PROP' }]

    await expect(client.mintBatch(requests)).resolves.toEqual([ID, ID])
    expect(fetchSpy.mock.calls[0][0]).toBe(`${SERVICE}/mint/batch`)
    expect(JSON.parse(fetchSpy.mock.calls[0][1].body)).toEqual({ requests })
  })

  test('validates through the service', async () => {
    const fetchSpy = jest.spyOn(global, 'fetch').mockResolvedValue(json({ valid: true, chittyId: ID, entity: 'PEO' }))

    await expect(client.validate(ID)).resolves.toEqual({ valid: true, chittyId: ID, entity: 'PEO' })
    expect(fetchSpy.mock.calls[0][0]).toBe(`${SERVICE}/validate/${encodeURIComponent(ID)}`)
    expect(fetchSpy.mock.calls[0][1].headers).toEqual(expect.objectContaining({ Authorization: 'Bearer test-key' }))
  })

  test('a 503 fails the mint with the v1 wording', async () => {
    jest.spyOn(global, 'fetch').mockResolvedValue(new Response('', { status: 503, statusText: 'Service Unavailable' }))

    await expect(client.mint({ entity: 'PEO' })).rejects.toThrow(
      'ChittyID service unavailable - cannot mint PEO ID: ChittyID service error: 503 Service Unavailable',
    )
  })

  test('a network failure says fetch failed', async () => {
    jest.spyOn(global, 'fetch').mockRejectedValue(new TypeError('fetch failed'))

    await expect(client.mint({ entity: 'PEO' })).rejects.toThrow(/cannot mint PEO ID: .*fetch failed/)
    const result = await client.validate(ID)
    expect(result.valid).toBe(true)
    expect(result.error).toMatch(/fetch failed/)
  })

  test('health check', async () => {
    const fetchSpy = jest.spyOn(global, 'fetch').mockResolvedValue(json({ status: 'ok' }))
    await expect(client.healthCheck()).resolves.toBe(true)
    expect(fetchSpy.mock.calls[0][0]).toBe(`${SERVICE}/health`)
  })
})
