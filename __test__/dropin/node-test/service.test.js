// A v1-era service suite under `node --test`: node:test's own mock of fetch, and msw. The
// client is made at module top, before any stub exists.

import assert from 'node:assert/strict'
import { after, afterEach, before, describe, mock, test } from 'node:test'
import { http, HttpResponse } from 'msw'
import { setupServer } from 'msw/node'
import { ChittyIDClient } from '@chittyos/chittyid-client'

const SERVICE = 'https://id.chitty.cc/v1'
const ID = 'CT-A-CHI-1234-T-24-A-0'

const client = new ChittyIDClient({ serviceUrl: SERVICE, apiKey: 'test-key' })

function json(body, status = 200, statusText = '') {
  return new Response(JSON.stringify(body), { status, statusText, headers: { 'Content-Type': 'application/json' } })
}

describe('fetch mocked with mock.method', () => {
  afterEach(() => mock.restoreAll())

  test('mints an id with v1 request shape', async () => {
    const fetchMock = mock.method(globalThis, 'fetch', async () => json({ success: true, chittyId: ID }, 201))

    assert.equal(await client.mint({ entity: 'THING', name: 'Lamp' }), ID)
    assert.equal(fetchMock.mock.callCount(), 1)
    const [url, init] = fetchMock.mock.calls[0].arguments
    assert.equal(url, `${SERVICE}/mint`)
    assert.equal(init.method, 'POST')
    assert.deepEqual(init.headers, { 'Content-Type': 'application/json', Authorization: 'Bearer test-key' })
    assert.equal(init.body, '{"entity":"THING","name":"Lamp"}')
  })

  test('a 500 fails the mint after one request, with the v1 wording', async () => {
    const fetchMock = mock.method(globalThis, 'fetch', async () => json({}, 500, 'Internal Server Error'))

    await assert.rejects(client.mint({ entity: 'THING' }), {
      message: 'ChittyID service unavailable - cannot mint THING ID: ChittyID service error: 500 Internal Server Error',
    })
    assert.equal(fetchMock.mock.callCount(), 1)
  })

  test('a network error keeps the stub message', async () => {
    mock.method(globalThis, 'fetch', async () => {
      throw new TypeError('fetch failed')
    })

    await assert.rejects(client.mint({ entity: 'THING' }), {
      message: 'ChittyID service unavailable - cannot mint THING ID: fetch failed',
    })
    assert.deepEqual(await client.validate(ID), { valid: true, error: 'fetch failed' })
  })
})

describe('the service stubbed with msw', () => {
  const server = setupServer()
  before(() => server.listen({ onUnhandledRequest: 'error' }))
  afterEach(() => server.resetHandlers())
  after(() => server.close())

  test('validates and checks health', async () => {
    server.use(
      http.get(`${SERVICE}/validate/:id`, ({ params }) =>
        HttpResponse.json({ valid: true, chittyId: params.id, entity: 'THING' }),
      ),
      http.get(`${SERVICE}/health`, () => new HttpResponse(null, { status: 503 })),
    )
    assert.deepEqual(await client.validate(ID), { valid: true, chittyId: ID, entity: 'THING' })
    assert.equal(await client.healthCheck(), false)
  })
})
