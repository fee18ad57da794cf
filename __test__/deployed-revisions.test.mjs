// The clients against the older revisions of the deployed service's worker (docs/DEPLOYED.md
// "Revisions read"), each a raw-socket stand-in written from that revision's source
// (deployed-standin.mjs `startOlderRevisionStandIn`): R3 reads the entity type only from the
// query string; R1, R2 and R4 mint only at `GET /api/get-chittyid` and have no `GET /health`.
// Every build mints the type asked against each, finds its health route, and never mints twice.
import { ChittyIDClient } from '../index.mjs'
import { ChittyIDClient as PortableClient } from '../portable.mjs'
import { startOlderRevisionStandIn } from './deployed-standin.mjs'

const DEPLOYED_ID = /^\d{2}-[1-9]-[A-Z]{3}-\d{4}-[PLTEA]-\d{4}-[0-5]-\d{2}$/
const letter = (id) => id.split('-')[4]

const BUILDS = [
  ['native', (o) => new ChittyIDClient(o)],
  ['native over fetch', (o) => new ChittyIDClient({ transport: 'fetch', ...o })],
  ['portable', (o) => new PortableClient(o)],
]
const TYPES = [
  ['PEO', 'P', 'person'],
  ['PLACE', 'L', 'place'],
  ['EVNT', 'E', 'event'],
  ['AUTH', 'A', 'authority'],
  ['PROP', 'T', 'thing'],
]

let standIn
const clients = []
function client(make, options = {}) {
  const c = make({ serviceUrl: standIn.serviceUrl, circuitBreaker: false, ...options })
  clients.push(c)
  return c
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  await standIn?.close()
  standIn = undefined
})

const mintPaths = () => standIn.paths().filter((p) => /mint$|get-chittyid$/.test(p))

describe('R3: POST /v1/mint reads the type only from the query', () => {
  test.each(BUILDS)('%s: every mint has the type asked (?type= beside the body), each sent once', async (_, make) => {
    standIn = await startOlderRevisionStandIn('R3')
    const c = client(make)
    const ids = []
    for (const [entity, expected] of TYPES) {
      const id = await c.mint({ entity, name: 'n' })
      expect(id).toMatch(DEPLOYED_ID)
      expect(letter(id)).toBe(expected)
      ids.push(id)
    }
    expect(standIn.minted).toEqual(ids)
    // The service URL's v1 route is R3's mint route; once the wire is known, the newest route
    // is tried once (404), and every later mint is one request.
    expect(mintPaths()).toEqual(['POST /v1/mint', 'POST /mint', ...TYPES.slice(1).map(() => 'POST /v1/mint')])
    const sent = standIn.requests.filter((r) => r.path === '/v1/mint')
    expect(sent.map((r) => r.query)).toEqual(TYPES.map(([, , word]) => `?type=${word}`))
    expect(JSON.parse(sent[0].body)).toEqual({ entityType: 'person', entity: 'PEO', name: 'n' })
    expect(c.getStats().wire).toBe('deployed')
  })

  test.each(BUILDS)("%s: a caller's own entityType is the query's type too", async (_, make) => {
    standIn = await startOlderRevisionStandIn('R3')
    const id = await client(make).mint({ entity: 'PEO', entityType: 'event' })
    expect(letter(id)).toBe('E')
    expect(standIn.requests.at(-1).query).toBe('?type=event')
  })

  test.each(BUILDS)(
    '%s, service URL at the origin: one 404 on POST /mint, then POST /v1/mint with the type',
    async (_, make) => {
      standIn = await startOlderRevisionStandIn('R3')
      const c = client(make, { serviceUrl: standIn.origin })
      expect(letter(await c.mint({ entity: 'PLACE' }))).toBe('L')
      expect(letter(await c.mint({ entity: 'AUTH' }))).toBe('A')
      expect(mintPaths()).toEqual(['POST /mint', 'POST /v1/mint', 'POST /v1/mint'])
      expect(standIn.minted).toHaveLength(2)
    },
  )

  test('wire "v1" sends v1 requests only: no query, the body as given', async () => {
    standIn = await startOlderRevisionStandIn('R3')
    const c = client(BUILDS[0][1], { wire: 'v1', retry: false })
    await c.mint({ entity: 'PEO' }).catch(() => {})
    expect(standIn.requests.at(-1)).toMatchObject({ path: '/v1/mint', query: '', body: '{"entity":"PEO"}' })
  })
})

describe.each(['R1', 'R2', 'R4'])('%s: GET /api/get-chittyid is the only mint route', (revision) => {
  test.each(BUILDS)(
    '%s: the first mint finds it after a 404 on each POST route; later mints go there at once',
    async (_, make) => {
      standIn = await startOlderRevisionStandIn(revision)
      const c = client(make, { apiKey: 'k-older-1' })
      const ids = []
      for (const [entity, expected] of TYPES) {
        const id = await c.mint({ entity })
        expect(letter(id)).toBe(expected)
        ids.push(id)
      }
      expect(standIn.minted).toEqual(ids)
      expect(mintPaths()).toEqual(['POST /v1/mint', 'POST /mint', ...TYPES.map(() => 'GET /api/get-chittyid')])
      const gets = standIn.requests.filter((r) => r.path === '/api/get-chittyid')
      expect(gets.map((r) => r.query)).toEqual(TYPES.map(([, , word]) => `?type=${word}`))
      expect(gets.every((r) => r.body === '' && r.headers['content-length'] === undefined)).toBe(true)
      expect(gets[0].headers.authorization).toBe('Bearer k-older-1')
      expect(c.getStats().wire).toBe('deployed')
    },
  )

  test.each(BUILDS)('%s, wire "deployed": POST /mint, POST /v1/mint, then the GET route', async (_, make) => {
    standIn = await startOlderRevisionStandIn(revision)
    const c = client(make, { wire: 'deployed' })
    expect(letter(await c.mint({ entity: 'EVNT' }))).toBe('E')
    expect(letter(await c.mint({ entity: 'PLACE' }))).toBe('L')
    expect(mintPaths()).toEqual(['POST /mint', 'POST /v1/mint', 'GET /api/get-chittyid', 'GET /api/get-chittyid'])
  })

  test.each(BUILDS)('%s: healthCheck() is true through GET /api/health; validate() works', async (_, make) => {
    standIn = await startOlderRevisionStandIn(revision)
    const c = client(make)
    expect(await c.healthCheck()).toBe(true)
    expect(standIn.paths()).toEqual(['GET /v1/health', 'GET /api/health'])
    expect(c.getStats().wire).toBe('deployed')
    expect(await c.healthCheck()).toBe(true)
    expect(standIn.paths().slice(2)).toEqual(['GET /api/health'])
    const id = await c.mint({ entity: 'PEO' })
    expect(await c.validate(id)).toEqual({ valid: true, chittyId: id, entity: 'PEO' })
  })

  test.each(BUILDS)('%s: mintBatch mints one by one, in order, with each type', async (_, make) => {
    standIn = await startOlderRevisionStandIn(revision)
    const c = client(make)
    const ids = await c.mintBatch(TYPES.map(([entity]) => ({ entity })))
    expect(ids.map(letter)).toEqual(TYPES.map(([, l]) => l))
    expect(standIn.minted.slice().sort()).toEqual(ids.slice().sort())
  })
})

test.each(['R1', 'R2', 'R4'])('%s: the connection manager connects through GET /api/health', async (revision) => {
  standIn = await startOlderRevisionStandIn(revision)
  const c = client(BUILDS[0][1], { connection: { healthCheckInterval: 60_000 } })
  expect(await c.connect()).toBe(true)
  expect(c.getConnectionState().state).toBe('CONNECTED')
  expect(standIn.paths()).toContain('GET /api/health')
  await c.disconnect()
})

describe('nothing is minted twice on the GET route', () => {
  test.each(BUILDS)(
    '%s, R1: its 503 MINT_SERVICE_ERROR (the backend call threw, maybe after minting) is not sent again',
    async (_, make) => {
      standIn = await startOlderRevisionStandIn('R1')
      const c = client(make, { wire: 'deployed' })
      await c.mint({ entity: 'PEO' })
      standIn.backend = 'throws'
      standIn.backendMints = true
      const err = await c.mint({ entity: 'PEO' }).catch((e) => e)
      expect(err.code).toBe('EMINTUNKNOWN')
      expect(standIn.minted).toHaveLength(2)
      expect(mintPaths().filter((p) => p === 'GET /api/get-chittyid')).toHaveLength(2)
    },
  )

  test.each(BUILDS)(
    '%s, R4: its 503 SERVICE_UNAVAILABLE after a backend failure is not sent again',
    async (_, make) => {
      standIn = await startOlderRevisionStandIn('R4')
      const c = client(make, { wire: 'deployed' })
      await c.mint({ entity: 'PEO' })
      standIn.backend = 'throws'
      standIn.fallbackDown = true
      const err = await c.mint({ entity: 'PEO' }).catch((e) => e)
      expect(err.code).toBe('EMINTUNKNOWN')
      expect(mintPaths().filter((p) => p === 'GET /api/get-chittyid')).toHaveLength(2)
    },
  )

  test.each(BUILDS)('%s, R2: a placeholder rejects as on the newer routes, sent once', async (_, make) => {
    standIn = await startOlderRevisionStandIn('R2')
    const c = client(make)
    standIn.backend = 'throws'
    const err = await c.mint({ entity: 'PLACE' }).catch((e) => e)
    expect(err).toMatchObject({ code: 'EPLACEHOLDER', serviceErrorCode: 'MINT_UNAVAILABLE', retrySafe: false })
    expect(letter(err.placeholderId)).toBe('L')
    expect(mintPaths()).toEqual(['POST /v1/mint', 'POST /mint', 'GET /api/get-chittyid'])
  })
})

describe('a service that moved on to its newest revision', () => {
  test.each(BUILDS)(
    '%s: a 404 on the learnt GET route forgets it; the next mint starts at POST /mint',
    async (_, make) => {
      standIn = await startOlderRevisionStandIn('R2')
      const c = client(make, { wire: 'deployed', retry: false })
      expect(letter(await c.mint({ entity: 'PEO' }))).toBe('P')
      standIn.moveToNewest()
      standIn.requests.length = 0
      standIn.minted.length = 0
      // The newest revision answers the GET route with a 308 to /mint, which has no GET: 404.
      const err = await c.mint({ entity: 'PEO' }).catch((e) => e)
      expect([err.code, err.status]).toEqual(['EHTTP', 404])
      expect(standIn.minted).toEqual([])
      const id = await c.mint({ entity: 'EVNT' })
      expect(letter(id)).toBe('E')
      expect(standIn.minted).toEqual([id])
      expect(standIn.paths()).toEqual(['GET /api/get-chittyid', 'GET /mint', 'POST /mint'])
    },
  )
})
