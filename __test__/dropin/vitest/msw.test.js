// A v1-era service suite under vitest, stubbing the ChittyID service with msw's setupServer.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { http, HttpResponse } from 'msw'
import { setupServer } from 'msw/node'
import { ChittyIDClient } from '@chittyos/chittyid-client'

const SERVICE = 'https://id.chitty.cc/v1'
const ID = 'CT-A-CHI-1234-L-24-A-0'

const server = setupServer()

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

describe('ChittyID integration (msw, vitest)', () => {
  let client

  beforeEach(() => {
    client = new ChittyIDClient({ serviceUrl: SERVICE, apiKey: 'test-key' })
  })

  test('mints an id with v1 request shape', async () => {
    const seen = []
    server.use(
      http.post(`${SERVICE}/mint`, async ({ request }) => {
        seen.push({
          method: request.method,
          contentType: request.headers.get('content-type'),
          authorization: request.headers.get('authorization'),
          idempotencyKey: request.headers.get('idempotency-key'),
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
        idempotencyKey: null,
        body: { entity: 'PLACE', name: 'HQ' },
      },
    ])
  })

  test('validates and batch mints', async () => {
    server.use(
      http.get(`${SERVICE}/validate/:id`, ({ params }) =>
        HttpResponse.json({ valid: true, chittyId: params.id, entity: 'PLACE' }),
      ),
      http.post(`${SERVICE}/mint/batch`, async ({ request }) => {
        const { requests } = await request.json()
        return HttpResponse.json({ success: true, chittyIds: requests.map(() => ID) })
      }),
    )
    await expect(client.validate(ID)).resolves.toEqual({ valid: true, chittyId: ID, entity: 'PLACE' })
    await expect(client.mintBatch([{ entity: 'PLACE' }, { entity: 'PLACE' }])).resolves.toEqual([ID, ID])
  })

  test('a 500 fails the mint once, with the v1 wording', async () => {
    let calls = 0
    server.use(
      http.post(`${SERVICE}/mint`, () => {
        calls++
        return new HttpResponse(null, { status: 500, statusText: 'Internal Server Error' })
      }),
    )
    await expect(client.mint({ entity: 'PLACE' })).rejects.toThrow(
      'ChittyID service unavailable - cannot mint PLACE ID: ChittyID service error: 500 Internal Server Error',
    )
    expect(calls).toBe(1)
  })

  test('a network error fails the mint and leaves validate to the format', async () => {
    server.use(
      http.post(`${SERVICE}/mint`, () => HttpResponse.error()),
      http.get(`${SERVICE}/validate/:id`, () => HttpResponse.error()),
    )
    await expect(client.mint({ entity: 'PLACE' })).rejects.toThrow(/cannot mint PLACE ID: .*Failed to fetch/)
    const result = await client.validate(ID)
    expect(result.valid).toBe(true)
    expect(result.error).toMatch(/Failed to fetch/)
  })

  test('health check follows the service', async () => {
    server.use(http.get(`${SERVICE}/health`, () => HttpResponse.json({ status: 'ok' })))
    await expect(client.healthCheck()).resolves.toBe(true)
    server.use(http.get(`${SERVICE}/health`, () => new HttpResponse(null, { status: 500 })))
    await expect(client.healthCheck()).resolves.toBe(false)
  })
})
