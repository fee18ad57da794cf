// client.invalidate(id) against a real HTTP service whose verdicts can be revoked: a node:http
// server answering GET /v1/validate/:id from a table the test changes. (Fleet mode's part, the
// shared Redis entry, is in fleet.test.mjs.)
import http from 'node:http'
import { ChittyIDClient } from '../index.mjs'

const ID = 'CT-A-CHI-1234-I-24-A-0'

/** A validate service: `verdicts` (id -> boolean) is read per request; `down` answers 503. */
async function revocableService() {
  const state = { verdicts: new Map(), requests: 0, down: false, hold: null }
  const server = http.createServer(async (req, res) => {
    const match = /^\/v1\/validate\/(.+)$/.exec(req.url)
    if (!match) {
      res.writeHead(404).end()
      return
    }
    state.requests++
    // The verdict as the request arrives; `hold` delays only the answer.
    const id = decodeURIComponent(match[1])
    const valid = state.verdicts.get(id) === true
    if (state.hold) await state.hold
    if (state.down) {
      res.writeHead(503).end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ valid, chittyId: id }))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.url = `http://127.0.0.1:${server.address().port}/v1`
  state.close = () => new Promise((resolve) => server.close(resolve))
  return state
}

describe('client.invalidate(id)', () => {
  let service
  beforeEach(async () => {
    service = await revocableService()
  })
  afterEach(async () => {
    await service.close()
  })

  test('a revoked id stops being served from the cache', async () => {
    const client = new ChittyIDClient({ serviceUrl: service.url, retry: false })
    try {
      service.verdicts.set(ID, true)
      expect((await client.validate(ID)).valid).toBe(true)
      service.verdicts.set(ID, false) // revoked at the service
      expect((await client.validate(ID)).valid).toBe(true) // still cached
      expect(service.requests).toBe(1)

      await expect(client.invalidate(ID)).resolves.toBe(true)
      expect(await client.validate(ID)).toMatchObject({ valid: false })
      expect(service.requests).toBe(2)
      // The new answer is cached again; forgetting an id held nowhere says so.
      await expect(client.invalidate('CT-A-CHI-9999-I-24-A-0')).resolves.toBe(false)
      expect(client.getStats().cache).toMatchObject({ size: 1 })
    } finally {
      await client.close()
    }
  })

  test('a stale entry is forgotten too: no stale answer once the service fails', async () => {
    const client = new ChittyIDClient({
      serviceUrl: service.url,
      retry: false,
      cache: { ttlMs: 50, staleIfErrorMs: 60000 },
    })
    try {
      service.verdicts.set(ID, true)
      await client.validate(ID)
      await new Promise((resolve) => setTimeout(resolve, 120)) // past the TTL, inside the stale window
      service.down = true
      // Without invalidate the stale "valid" would be served (the control case)...
      expect(await client.validate(ID)).toMatchObject({ valid: true, stale: true })
      // ...after it, the failure falls back to the format check with the service's error.
      await expect(client.invalidate(ID)).resolves.toBe(true)
      const answer = await client.validate(ID)
      expect(answer.stale).toBeUndefined()
      expect(answer.error).toEqual(expect.any(String))
    } finally {
      await client.close()
    }
  })

  test('an answer already on its way when the id is invalidated is not cached', async () => {
    const client = new ChittyIDClient({ serviceUrl: service.url, retry: false })
    try {
      service.verdicts.set(ID, true)
      let release
      service.hold = new Promise((resolve) => (release = resolve))
      const inFlight = client.validate(ID)
      while (service.requests === 0) await new Promise((resolve) => setTimeout(resolve, 5))
      await expect(client.invalidate(ID)).resolves.toBe(false)
      service.verdicts.set(ID, false)
      release()
      service.hold = null
      expect((await inFlight).valid).toBe(true) // the answer of its time...
      expect((await client.validate(ID)).valid).toBe(false) // ...was not kept
      expect(service.requests).toBe(2)
    } finally {
      await client.close()
    }
  })

  test("a client made with v1's options only works too (under jest: v1 semantics, nothing cached)", async () => {
    const client = new ChittyIDClient({ serviceUrl: service.url })
    try {
      service.verdicts.set(ID, true)
      await client.validate(ID)
      const before = service.requests
      expect(typeof (await client.invalidate(ID))).toBe('boolean')
      service.verdicts.set(ID, false)
      expect((await client.validate(ID)).valid).toBe(false)
      expect(service.requests).toBe(before + 1)
    } finally {
      await client.close()
    }
  })

  test('without a cache it resolves false; bad input and a closed client reject', async () => {
    const client = new ChittyIDClient({ serviceUrl: service.url, cache: false })
    await expect(client.invalidate(ID)).resolves.toBe(false)
    await expect(client.invalidate(42)).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
    await client.close()
    await expect(client.invalidate(ID)).rejects.toMatchObject({ code: 'ECLIENTCLOSED' })
  })
})
