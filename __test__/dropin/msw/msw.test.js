'use strict'

// A v1-era service suite using msw's setupServer.

const { http, HttpResponse } = require('msw')
const { setupServer } = require('msw/node')
const { ChittyIDClient } = require('@chittyos/chittyid-client')

const SERVICE = 'https://id.chitty.cc/v1'
const ID = 'CT-A-CHI-1234-L-24-A-0'

const server = setupServer()

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

describe('ChittyID integration (msw)', () => {
  let client

  beforeEach(() => {
    client = new ChittyIDClient({ serviceUrl: SERVICE, apiKey: 'test-key' })
  })

  test('mints an id', async () => {
    const seen = []
    server.use(
      http.post(`${SERVICE}/mint`, async ({ request }) => {
        seen.push({
          method: request.method,
          contentType: request.headers.get('content-type'),
          authorization: request.headers.get('authorization'),
          body: await request.json(),
        })
        return HttpResponse.json({ success: true, chittyId: ID }, { status: 201 })
      }),
    )

    await expect(client.mint({ entity: 'PLACE', name: 'HQ' })).resolves.toBe(ID)
    expect(seen).toEqual([
      {
        method: 'POST',
        contentType: 'application/json',
        authorization: 'Bearer test-key',
        body: { entity: 'PLACE', name: 'HQ' },
      },
    ])
  })

  test('batch mints', async () => {
    server.use(
      http.post(`${SERVICE}/mint/batch`, async ({ request }) => {
        const { requests } = await request.json()
        return HttpResponse.json({ success: true, chittyIds: requests.map(() => ID) })
      }),
    )
    await expect(client.mintBatch([{ entity: 'PLACE' }, { entity: 'PLACE' }])).resolves.toEqual([ID, ID])
  })

  test('validates', async () => {
    server.use(
      http.get(`${SERVICE}/validate/:id`, ({ params }) =>
        HttpResponse.json({ valid: true, chittyId: params.id, entity: 'PLACE' }),
      ),
    )
    await expect(client.validate(ID)).resolves.toEqual({ valid: true, chittyId: ID, entity: 'PLACE' })
  })

  test('a 503 fails the mint with the v1 wording', async () => {
    server.use(
      http.post(`${SERVICE}/mint`, () => new HttpResponse(null, { status: 503, statusText: 'Service Unavailable' })),
    )
    await expect(client.mint({ entity: 'PLACE' })).rejects.toThrow(
      'ChittyID service unavailable - cannot mint PLACE ID: ChittyID service error: 503 Service Unavailable',
    )
  })

  test('a network failure', async () => {
    server.use(http.post(`${SERVICE}/mint`, () => HttpResponse.error()))
    await expect(client.mint({ entity: 'PLACE' })).rejects.toThrow(/cannot mint PLACE ID: .*Failed to fetch/)
  })

  test('health check follows the service', async () => {
    server.use(http.get(`${SERVICE}/health`, () => HttpResponse.json({ status: 'ok' })))
    await expect(client.healthCheck()).resolves.toBe(true)
    server.use(http.get(`${SERVICE}/health`, () => new HttpResponse(null, { status: 500 })))
    await expect(client.healthCheck()).resolves.toBe(false)
  })
})
