'use strict'

// v1-era suites whose stubs answer the way a real service behind a CDN does: gzip bodies and
// redirects (nock), and msw handing a request on to a real server (passthrough).

const http = require('node:http')
const zlib = require('node:zlib')
const nock = require('nock')
const { http: mswHttp, HttpResponse, passthrough } = require('msw')
const { setupServer } = require('msw/node')
const { ChittyIDClient } = require('@chittyos/chittyid-client')

const ORIGIN = 'https://id.chitty.cc'
const SERVICE = `${ORIGIN}/v1`
const ID = 'CT-A-CHI-1234-P-24-A-0'

describe('nock: gzip and redirects', () => {
  beforeAll(() => nock.disableNetConnect())
  afterEach(() => nock.cleanAll())
  afterAll(() => nock.enableNetConnect())

  test('a gzip-encoded answer is decoded', async () => {
    const client = new ChittyIDClient({ serviceUrl: SERVICE, apiKey: 'k' })
    nock(ORIGIN)
      .post('/v1/mint')
      .reply(200, zlib.gzipSync(JSON.stringify({ chittyId: ID })), {
        'Content-Encoding': 'gzip',
        'Content-Type': 'application/json',
      })
    await expect(client.mint({ entity: 'PEO' })).resolves.toBe(ID)
    nock(ORIGIN)
      .get(`/v1/validate/${ID}`)
      .reply(200, zlib.gzipSync(JSON.stringify({ valid: true, chittyId: ID, entity: 'PEO' })), {
        'Content-Encoding': 'gzip',
      })
    await expect(client.validate(ID)).resolves.toEqual({ valid: true, chittyId: ID, entity: 'PEO' })
  })

  test.each([301, 302])('a %i redirect of validate is followed', async (status) => {
    const client = new ChittyIDClient({ serviceUrl: SERVICE })
    nock(ORIGIN)
      .get(`/v1/validate/${ID}`)
      .reply(status, '', { Location: `${ORIGIN}/api/v1/validate/${ID}` })
      .get(`/api/v1/validate/${ID}`)
      .reply(200, { valid: true, chittyId: ID, entity: 'PEO' })
    await expect(client.validate(ID)).resolves.toEqual({ valid: true, chittyId: ID, entity: 'PEO' })
  })

  test('a 301 of /health is followed', async () => {
    const client = new ChittyIDClient({ serviceUrl: SERVICE })
    nock(ORIGIN)
      .get('/v1/health')
      .reply(301, '', { Location: `${ORIGIN}/health` })
      .get('/health')
      .reply(200, 'ok')
    await expect(client.healthCheck()).resolves.toBe(true)
  })
})

describe('msw: passthrough to a real server', () => {
  let server
  let origin
  const seen = []
  const msw = setupServer()

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`)
      res.setHeader('content-type', 'application/json')
      if (req.url.startsWith('/v1/validate/')) res.end(JSON.stringify({ valid: true, chittyId: ID, entity: 'PEO' }))
      else res.end(JSON.stringify({ chittyId: ID }))
    })
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${server.address().port}`
    msw.listen({ onUnhandledRequest: 'error' })
  })
  afterAll(async () => {
    msw.close()
    await new Promise((resolve) => server.close(resolve))
  })

  test('mint goes through, validate is answered by the handler', async () => {
    msw.use(
      mswHttp.post(`${origin}/v1/mint`, () => passthrough()),
      mswHttp.get(`${origin}/v1/validate/:id`, () => HttpResponse.json({ valid: false })),
    )
    const client = new ChittyIDClient({ serviceUrl: `${origin}/v1`, apiKey: 'k' })
    await expect(client.mint({ entity: 'PEO' })).resolves.toBe(ID)
    await expect(client.validate(ID)).resolves.toEqual({ valid: false, chittyId: undefined, entity: undefined })
    expect(seen).toEqual(['POST /v1/mint'])
  })
})
