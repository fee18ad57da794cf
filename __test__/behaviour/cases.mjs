// The shared behaviour suite (docs/PORTABLE.md "One source of truth"): every case runs against
// the native build under jest (__test__/behaviour.test.mjs), against the portable build under
// jest, and against the portable build inside workerd (__test__/workers.test.mjs), so the two
// builds cannot drift apart unnoticed.
//
// A case is data plus three steps:
// - `server`: what it talks to, started fresh for the case on the Node side: 'emulator' (the
//   embedded emulator, `emulator` = its start options) or 'deployed' (a stand-in of the deployed
//   service's wire, __test__/behaviour/deployed-standin.mjs);
// - `setup(server)`: Node side, before the run (faults);
// - `run(t)`: in the runtime under test; `t.api` is the package as that runtime imports it,
//   `t.client(options)` a client of the server (closed afterwards), `t.serviceUrl`, `t.deadUrl`
//   (nothing listens there), `t.build` ('native' | 'portable'), `t.runtime` ('node' | 'workerd').
//   It checks what it can and returns plain data;
// - `check(result, server)`: Node side, the server's ledger.
// `builds` limits a case to some builds (default: both).
import { ok, eq, match, rejection, errorFields } from './check.mjs'

const TOKEN = 'behaviour-secret-key'

/**
 * A case: the deployed service answers one mint with a 503 carrying `body` (a service body
 * naming a failure at or after its minting backend): the mint is EMINTUNKNOWN, sent once.
 */
function unknownAfter503(name, label, body) {
  return {
    name,
    server: 'deployed',
    setup(srv) {
      srv.unavailable = { remaining: 1, body }
    },
    async run(t) {
      const client = t.client({ retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1 } })
      const err = errorFields(await rejection(client.mint({ entity: 'PEO' }), `a mint answered ${label}`))
      eq([err.code, err.mayHaveMinted], ['EMINTUNKNOWN', true], `${label}: code, mayHaveMinted`)
      return null
    },
    check(_, srv) {
      eq(srv.requests.mint, 1, `${label}: sent once`)
    },
  }
}

export const cases = [
  {
    name: 'mint returns an id of the grammar with the requested type letter',
    emulator: { token: TOKEN },
    async run(t) {
      const client = t.client()
      const id = await client.mint({ entity: 'PLACE', name: 'Lisbon' })
      ok(t.api.validateFormat(id), `a well-formed id, got ${id}`)
      eq(t.api.ChittyIDClient.parse(id).entityType, 'L', 'the type letter')
      eq(t.api.parse(id), t.api.ChittyIDClient.parse(id), 'parse() and ChittyIDClient.parse() agree')
      ok(client.validateFormat(id), 'client.validateFormat accepts it')
      return id
    },
    check(id, emu) {
      eq(emu.stats().mintedIds, [id], 'the emulator minted exactly that id')
    },
  },
  {
    name: 'validate answers from the service, then from the cache',
    emulator: { token: TOKEN },
    async run(t) {
      const client = t.client()
      const id = await client.mint({ entity: 'PEO' })
      const first = await client.validate(id)
      const second = await client.validate(id)
      eq(first, { valid: true, chittyId: id, entity: 'PEO' }, 'the service answer')
      eq(second, first, 'the cached answer')
      eq(client.getStats().cache.hits, 1, 'one cache hit')
      const bad = await client.validate(42)
      eq(bad, { valid: false, error: 'ChittyID must be a string' }, 'a non-string id')
      return null
    },
    check(_, emu) {
      eq(emu.stats().requests.validate, 1, 'validate requests that reached the service')
    },
  },
  {
    name: 'concurrent validate() calls of one id share one request',
    emulator: { token: TOKEN },
    setup(emu) {
      emu.setFault({ latencyMs: 100, routes: ['validate'] })
    },
    async run(t) {
      const client = t.client()
      const id = 'AB-C-DEF-1234-P-26-A-1'
      const answers = await Promise.all(Array.from({ length: 8 }, () => client.validate(id)))
      ok(
        answers.every((a) => JSON.stringify(a) === JSON.stringify(answers[0])),
        'every caller gets the same answer',
      )
      return answers[0]
    },
    check(_, emu) {
      eq(emu.stats().requests.validate, 1, 'requests for 8 concurrent callers')
    },
  },
  {
    name: 'mintBatch returns one id per request, in order',
    emulator: { token: TOKEN },
    async run(t) {
      const ids = await t.client().mintBatch([{ entity: 'PEO' }, { entity: 'EVNT' }, { entity: 'AUTH' }])
      eq(
        ids.map((id) => t.api.parse(id).entityType),
        ['P', 'E', 'A'],
        'type letters in request order',
      )
      return ids
    },
    check(ids, emu) {
      eq(emu.stats().mintedIds, ids, 'minted ids')
    },
  },
  {
    name: 'a refused key is EHTTP 401 with v1 wording, not retried, the key never shown',
    emulator: { token: TOKEN },
    async run(t) {
      const client = t.client({ apiKey: 'wrong-key-do-not-show' })
      const thrown = await rejection(client.mint({ entity: 'PEO' }), 'mint with a wrong key')
      ok(thrown instanceof t.api.ChittyIDError, 'a ChittyIDError')
      const err = errorFields(thrown)
      eq([err.code, err.status, err.name], ['EHTTP', 401, 'ChittyIDError'], 'code, status, name')
      match(err.message, /^ChittyID service unavailable - cannot mint PEO ID: ChittyID service error: 401/, 'message')
      eq([err.cause && err.cause.code, err.cause && err.cause.status], ['EHTTP', 401], 'the cause: the failed request')
      ok(err.message.endsWith(err.cause.message), "the message ends with the cause's")
      ok(!JSON.stringify(err).includes('wrong-key-do-not-show'), 'the key appears nowhere in the error')
      return err
    },
    check(_, emu) {
      eq(emu.stats().requests.mint, 1, 'mint requests (a 401 is not retried)')
    },
  },
  {
    name: 'a 503 is retried with a retry event (a throwing listener stops nobody), then the mint succeeds',
    emulator: { token: TOKEN },
    setup(emu) {
      emu.setFault({ errorStatus: 503, remaining: 1, routes: ['mint'] })
    },
    async run(t) {
      const client = t.client()
      const retries = []
      client.on('retry', () => {
        throw new Error('a listener with a bug stops neither the others nor the call')
      })
      client.on('retry', (e) =>
        retries.push({
          operation: e.operation,
          attempt: e.attempt,
          code: e.error.code,
          delayOk: e.delay >= 0 && e.delay <= 5000,
        }),
      )
      const id = await client.mint({ entity: 'PEO' })
      eq(retries, [{ operation: 'mint', attempt: 1, code: 'EHTTP', delayOk: true }], 'retry events')
      const { requests, errors, retries: counted } = client.getStats().requests.mint
      eq(
        { requests, errors, retries: counted },
        { requests: 2, errors: 1, retries: 1 },
        'attempts, failed attempts and retries counted',
      )
      return id
    },
    check(id, emu) {
      eq(emu.stats().mintedIds, [id], 'one id minted')
      eq(emu.stats().requests.mint, 2, 'two attempts')
    },
  },
  {
    name: 'the payloads of retry (with its Error), circuitOpen, circuitHalfOpen and circuitClose are the documented objects',
    emulator: { token: TOKEN },
    setup(emu) {
      emu.setFault({ errorStatus: 503, remaining: 2, routes: ['mint'] })
    },
    async run(t) {
      const client = t.client({
        retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
        circuitBreaker: { failureThreshold: 2, resetTimeout: 50, halfOpenAttempts: 1 },
      })
      const heard = []
      for (const name of ['retry', 'circuitOpen', 'circuitHalfOpen', 'circuitClose'])
        client.on(name, (payload) => heard.push([name, payload]))
      await rejection(client.mint({ entity: 'PEO' }), 'a mint whose two attempts get a 503')
      await new Promise((resolve) => setTimeout(resolve, 80))
      await client.mint({ entity: 'PEO' })
      const shapes = heard.map(([name, payload]) => {
        const shape = { name, keys: Object.keys(payload), plain: Object.getPrototypeOf(payload) === Object.prototype }
        if (name !== 'retry') return { ...shape, payload }
        const { error, ...rest } = payload
        return {
          ...shape,
          fields: { ...rest, delay: typeof rest.delay },
          error: {
            isError: error instanceof Error,
            keys: Object.keys(error),
            code: error.code,
            message: error.message,
          },
        }
      })
      eq(
        shapes,
        [
          {
            name: 'retry',
            keys: ['operation', 'attempt', 'delay', 'error'],
            plain: true,
            fields: { operation: 'mint', attempt: 1, delay: 'number' },
            error: {
              isError: true,
              keys: ['code'],
              code: 'EHTTP',
              message: 'ChittyID service error: 503 Service Unavailable',
            },
          },
          {
            name: 'circuitOpen',
            keys: ['failures', 'resetTimeout'],
            plain: true,
            payload: { failures: 2, resetTimeout: 50 },
          },
          { name: 'circuitHalfOpen', keys: [], plain: true, payload: {} },
          { name: 'circuitClose', keys: [], plain: true, payload: {} },
        ],
        'the payloads',
      )
      return null
    },
  },
  {
    name: 'retry safety: a mint whose answer was lost is EMINTUNKNOWN with its key, never minted twice',
    emulator: { token: TOKEN, ignoreIdempotencyKeys: true },
    setup(emu) {
      emu.setFault({ dropAfterCommit: true, remaining: 1 })
    },
    async run(t) {
      const client = t.client()
      const err = errorFields(
        await rejection(
          client.mint({ entity: 'PEO' }, { idempotencyKey: 'order-4711' }),
          'a mint whose answer is lost',
        ),
      )
      eq(
        [err.code, err.mayHaveMinted, err.idempotencyKey],
        ['EMINTUNKNOWN', true, 'order-4711'],
        'code, mayHaveMinted, key',
      )
      match(err.message, /^ChittyID service unavailable - cannot mint PEO ID: fetch failed/, 'v1 wording')
      ok(err.cause && typeof err.cause.code === 'string', 'the cause has a code')
      return err
    },
    check(_, emu) {
      const s = emu.stats()
      eq([s.minted, s.requests.mint], [1, 1], 'minted once, sent once')
    },
  },
  {
    name: 'retry safety: a 503 naming a failure at or after the minting backend is EMINTUNKNOWN, never retried',
    server: 'deployed',
    setup(srv) {
      srv.unavailable = {
        remaining: 1,
        mints: true,
        body: {
          success: false,
          error: 'SERVICE_UNAVAILABLE',
          message: 'Both ChittyMint and fallback service unavailable: Request timeout',
          errorCode: 'MINT_TIMEOUT',
          service: 'id.chitty.cc',
        },
      }
    },
    async run(t) {
      const client = t.client({ retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1 } })
      const err = errorFields(
        await rejection(
          client.mint({ entity: 'PEO' }, { idempotencyKey: 'order-503' }),
          'a mint answered MINT_TIMEOUT',
        ),
      )
      eq(
        [err.code, err.mayHaveMinted, err.idempotencyKey, err.cause && err.cause.code],
        ['EMINTUNKNOWN', true, 'order-503', 'EHTTP'],
        'code, mayHaveMinted, key, cause',
      )
      match(
        err.message,
        /^ChittyID service unavailable - cannot mint PEO ID: ChittyID service error: 503/,
        'v1 wording',
      )
      return err
    },
    check(_, srv) {
      eq([srv.minted, srv.requests.mint], [1, 1], 'minted once by the backend, sent once')
    },
  },
  unknownAfter503(
    'retry safety: the service catch-all 503 (SECURITY_ERROR) leaves a mint unknown, never retried',
    'SECURITY_ERROR',
    { success: false, error: 'SECURITY_ERROR', message: 'x' },
  ),
  unknownAfter503(
    'retry safety: a SECURITY_ERROR 503 led by a BOM (TextDecoder drops it) is unknown in every build',
    'BOM-led SECURITY_ERROR',
    '\uFEFF{"success":false,"error":"SECURITY_ERROR","detail":"\uFFFD"}',
  ),
  {
    name: 'retry safety: a 503 from in front of the service (no service body) is retried',
    server: 'deployed',
    setup(srv) {
      srv.unavailable = { remaining: 1, body: 'Service Unavailable' }
    },
    async run(t) {
      const client = t.client({ retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1 } })
      const first = await client.mint({ entity: 'PEO' })
      return { first }
    },
    check({ first }, srv) {
      match(first, /^[0-9]{2}-[1-9]-[A-Z]{3}-[0-9]{4}-P-/, 'minted after a gateway 503')
      eq([srv.minted, srv.requests.mint], [1, 2], 'a gateway 503 (plain text): retried')
    },
  },
  {
    name: 'retry safety: a 503 whose errorCode says the backend refused before minting is retried',
    server: 'deployed',
    setup(srv) {
      srv.unavailable = {
        remaining: 1,
        body: { success: false, error: 'SERVICE_UNAVAILABLE', errorCode: 'RATE_LIMITED', message: 'x' },
      }
    },
    async run(t) {
      const client = t.client({ retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1 } })
      return client.mint({ entity: 'PEO' })
    },
    check(id, srv) {
      match(id, /^[0-9]{2}-[1-9]-[A-Z]{3}-[0-9]{4}-P-/, 'minted after RATE_LIMITED')
      eq([srv.minted, srv.requests.mint], [1, 2], 'RATE_LIMITED: retried')
    },
  },
  {
    name: 'retry safety: "idempotent" mode retries a lost answer under the same key against a service that honours keys',
    emulator: { token: TOKEN },
    setup(emu) {
      emu.setFault({ dropAfterCommit: true, remaining: 1 })
    },
    async run(t) {
      return t.client({ retry: { mint: 'idempotent' } }).mint({ entity: 'PEO' })
    },
    check(id, emu) {
      const s = emu.stats()
      eq([s.mintedIds, s.idempotentReplays, s.requests.mint], [[id], 1, 2], 'one id, replayed once, two attempts')
    },
  },
  {
    name: 'the circuit opens after counted failures and then fails fast with ECIRCUITOPEN',
    emulator: { token: TOKEN },
    setup(emu) {
      emu.setFault({ errorStatus: 500 })
    },
    async run(t) {
      const client = t.client({ retry: false, circuitBreaker: { failureThreshold: 2, resetTimeout: 60000 } })
      const events = []
      client.on('circuitOpen', (e) => events.push(e))
      const id = 'AB-C-DEF-1234-P-26-A-1'
      eq(await client.validate(id), { valid: false, error: 'Service error: 500' }, 'a 500 answer')
      await client.validate('AB-C-DEF-1234-P-26-A-2')
      eq(events, [{ failures: 2, resetTimeout: 60000 }], 'circuitOpen heard')
      const err = errorFields(await rejection(client.mint({ entity: 'PEO' }), 'a mint with the circuit open'))
      eq([err.code, err.circuitBreakerState], ['ECIRCUITOPEN', 'OPEN'], 'fail-fast code')
      match(err.message, /^ChittyID service unavailable - cannot mint PEO ID: circuit breaker is OPEN/, 'message')
      const fallback = await client.validate('AB-C-DEF-1234-P-26-A-3')
      eq(fallback.valid, true, 'validate answers the format check')
      match(fallback.error, /circuit breaker is OPEN/, 'and says why')
      eq(client.getStats().breaker.state, 'OPEN', 'stats')
      return null
    },
    check(_, emu) {
      const s = emu.stats()
      eq([s.requests.validate, s.requests.mint], [2, 0], 'nothing sent while open')
    },
  },
  {
    name: 'a 429 with Retry-After pauses the client and the mint is retried after it',
    emulator: { token: TOKEN },
    setup(emu) {
      emu.setFault({ rateLimitRetryAfter: 1, remaining: 1, routes: ['mint'] })
    },
    async run(t) {
      const client = t.client()
      const paused = []
      client.on('rateLimited', (e) => paused.push(e))
      const started = Date.now()
      const id = await client.mint({ entity: 'PEO' })
      eq(paused, [{ operation: 'mint', retryInMs: 1000, retryAfter: true }], 'rateLimited event')
      ok(Date.now() - started >= 900, 'the retry waited for Retry-After')
      eq(client.getStats().breaker.failures, 0, 'a 429 is not a breaker failure')
      return id
    },
    check(id, emu) {
      eq([emu.stats().mintedIds, emu.stats().requests.mint], [[id], 2], 'minted after the pause')
    },
  },
  {
    name: 'an unreachable service: validate falls back to the format check, a mint fails with a transport code',
    emulator: { token: TOKEN },
    async run(t) {
      const client = t.client({ serviceUrl: t.deadUrl, retry: { maxAttempts: 2, initialDelayMs: 1 } })
      const answer = await client.validate('AB-C-DEF-1234-P-26-A-1')
      eq(answer.valid, true, 'the format verdict')
      match(answer.error, /fetch failed/, 'the error')
      const err = errorFields(await rejection(client.mint({ entity: 'PEO' }), 'a mint to nowhere'))
      match(err.message, /^ChittyID service unavailable - cannot mint PEO ID: fetch failed/, 'v1 wording')
      // Node reports a refused connection (nothing sent: retried, then ECONNREFUSED); workerd
      // reports every lost connection alike, so a safe mint cannot prove it was not sent there.
      if (t.runtime === 'workerd') eq(err.code, 'EMINTUNKNOWN', 'code in workerd')
      else eq(err.code, 'ECONNREFUSED', 'code')
      return err
    },
  },
  {
    name: 'a timeout is ETIMEDOUT with v1 wording',
    emulator: { token: TOKEN },
    setup(emu) {
      emu.setFault({ latencyMs: 1500, routes: ['validate'] })
    },
    async run(t) {
      const client = t.client({ timeout: 150, retry: false })
      const answer = await client.validate('AB-C-DEF-1234-P-26-A-1')
      eq(answer, { valid: true, error: 'fetch failed: request timed out after 150 ms' }, 'validate after a timeout')
      return answer
    },
  },
  {
    name: 'a garbled 2xx: the mint is EMINTUNKNOWN (EBADRESPONSE), validate falls back',
    emulator: { token: TOKEN },
    setup(emu) {
      emu.setFault({ malformedJson: true })
    },
    async run(t) {
      const client = t.client()
      const err = errorFields(await rejection(client.mint({ entity: 'PEO' }), 'a mint answered with garbage'))
      eq([err.code, err.cause.code], ['EMINTUNKNOWN', 'EBADRESPONSE'], 'code and cause')
      const answer = await client.validate('AB-C-DEF-1234-P-26-A-1')
      eq(answer.valid, true, 'format verdict')
      match(answer.error, /invalid response/, 'error')
      return err
    },
    check(_, emu) {
      eq(emu.stats().requests.mint, 1, 'the mint was not retried')
    },
  },
  {
    name: 'HALF_OPEN admits halfOpenAttempts trial calls at once; the others fail fast naming the trials in flight',
    emulator: { token: TOKEN },
    setup(emu) {
      // Every answer takes 400 ms (latency reaches every route and, with no `remaining`, every
      // request, so the trials are still in flight when the third call comes); batches are a
      // 500, and one opens the circuit.
      emu.setFault({ latencyMs: 400, errorStatus: 500, routes: ['batch'] })
    },
    async run(t) {
      const client = t.client({
        retry: false,
        circuitBreaker: { failureThreshold: 1, resetTimeout: 50, halfOpenAttempts: 2 },
      })
      const opening = errorFields(await rejection(client.mintBatch([{ entity: 'PEO' }]), 'the 500'))
      eq(opening.status, 500, 'the batch failed')
      await new Promise((resolve) => setTimeout(resolve, 120))
      const calls = [0, 1, 2].map(() =>
        client.mint({ entity: 'PEO' }).then(
          (id) => ({ id }),
          (err) => errorFields(err),
        ),
      )
      const c = await calls[2]
      // While the two trials are in flight: the counted failures within monitorWindow (the
      // batch's 500), whatever the state (docs/OPERATIONS.md "Circuit breaker").
      const during = client.getStats().breaker
      eq([during.state, during.failures], ['HALF_OPEN', 1], 'breaker stats in HALF_OPEN')
      const [a, b] = await Promise.all(calls.slice(0, 2))
      ok(typeof a.id === 'string' && typeof b.id === 'string', `two trials minted: ${JSON.stringify([a, b])}`)
      eq([c.code, c.circuitBreakerState], ['ECIRCUITOPEN', 'HALF_OPEN'], 'the third failed fast')
      match(c.message, /circuit breaker is HALF_OPEN \(2 trial calls in flight\)$/, 'message')
      return [a.id, b.id]
    },
    check(ids, emu) {
      eq(emu.stats().mintedIds.slice().sort(), ids.slice().sort(), 'only the trials were sent and minted')
    },
  },
  {
    name: 'a service moved with 308 keeps working: the mint and its body follow the redirect (the client follows it)',
    emulator: { token: TOKEN, redirectStatus: 308 },
    async run(t) {
      const client = t.client()
      const id = await client.mint({ entity: 'PLACE' })
      eq(t.api.ChittyIDClient.parse(id).entityType, 'L', 'the body reached the new route')
      eq((await client.validate(id)).valid, true, 'validate follows too')
      return id
    },
    check(id, emu) {
      eq(emu.stats().mintedIds, [id], 'minted once')
    },
  },
  {
    name: 'healthCheck() is false for a health answer over maxResponseBytes',
    emulator: { token: TOKEN },
    setup(emu) {
      emu.setFault({ oversizedBody: 64 * 1024, routes: ['health'] })
    },
    async run(t) {
      eq(await t.client({ maxResponseBytes: 4096 }).healthCheck(), false, 'oversized health answer')
      eq(await t.client().healthCheck(), true, 'the same answer under the default cap')
      return null
    },
  },
  {
    name: 'aborting a call rejects with AbortError; close() rejects calls in flight with ECLIENTCLOSED; a mint says whether it may have minted',
    emulator: { token: TOKEN },
    setup(emu) {
      emu.setFault({ latencyMs: 2000, routes: ['mint'] })
    },
    async run(t) {
      const client = t.client()
      const controller = new AbortController()
      const aborted = client.mint({ entity: 'PEO' }, { signal: controller.signal })
      setTimeout(() => controller.abort(), 50)
      const a = errorFields(await rejection(aborted, 'an aborted mint'))
      eq([a.name, a.code], ['AbortError', 'ABORT_ERR'], 'abort')
      // The request had reached the emulator (which holds its answer): it may have minted.
      eq(
        [a.mayHaveMinted, typeof a.idempotencyKey],
        [true, 'string'],
        'an abort after sending may have minted, with the key',
      )
      const before = errorFields(
        await rejection(
          client.mint({ entity: 'PEO' }, { signal: AbortSignal.abort() }),
          'a mint aborted before the call',
        ),
      )
      eq([before.code, before.mayHaveMinted, before.idempotencyKey], ['ABORT_ERR', false, undefined], 'nothing sent')
      const atOnce = new AbortController()
      const immediate = client.mint({ entity: 'PEO' }, { signal: atOnce.signal })
      atOnce.abort()
      eq(
        errorFields(await rejection(immediate, 'a mint aborted right after the call')).code,
        'ABORT_ERR',
        'abort at once',
      )
      const inFlight = client.mint({ entity: 'PEO' })
      setTimeout(() => client.close(), 50)
      const c = errorFields(await rejection(inFlight, 'a mint when the client closes'))
      eq(
        [c.code, c.mayHaveMinted, typeof c.idempotencyKey],
        ['ECLIENTCLOSED', true, 'string'],
        'closed, may have minted',
      )
      const later = errorFields(await rejection(client.validate('AB-C-DEF-1234-P-26-A-1'), 'a call after close'))
      eq(later.code, 'ECLIENTCLOSED', 'after close')
      return null
    },
  },
  {
    name: 'one signal shared by 30 calls: the client adds one abort listener to it, and an abort stops every call',
    emulator: { token: TOKEN },
    setup(emu) {
      emu.setFault({ latencyMs: 2000, routes: ['mint', 'validate'] })
    },
    async run(t) {
      const client = t.client()
      const controller = new AbortController()
      const { signal } = controller
      // Counted on the signal itself: workerd has no getEventListeners().
      let listeners = 0
      const add = signal.addEventListener.bind(signal)
      signal.addEventListener = (type, ...rest) => {
        if (type === 'abort') listeners++
        return add(type, ...rest)
      }
      const mints = Array.from({ length: 20 }, () => rejection(client.mint({ entity: 'PEO' }, { signal }), 'a mint'))
      const validations = Array.from({ length: 10 }, () =>
        rejection(client.validate('AB-C-DEF-1234-P-26-A-1', { signal }), 'a validation'),
      )
      await new Promise((resolve) => setTimeout(resolve, 300))
      eq(listeners, 1, 'abort listeners added to the shared signal')
      controller.abort()
      const minted = (await Promise.all(mints)).map(errorFields)
      const validated = (await Promise.all(validations)).map(errorFields)
      for (const e of [...minted, ...validated]) eq([e.name, e.code], ['AbortError', 'ABORT_ERR'], 'each call aborted')
      for (const e of minted) {
        if (e.mayHaveMinted) eq(typeof e.idempotencyKey, 'string', 'a mint that may have minted has its key')
        else eq([e.mayHaveMinted, e.idempotencyKey], [false, undefined], 'a mint not sent has no key')
      }
      eq(listeners, 1, 'abort listeners added in all')
      return { mayHaveMinted: minted.filter((e) => e.mayHaveMinted).length }
    },
    check({ mayHaveMinted }, emu) {
      // Every mint the service received is one its caller was told may have minted.
      ok(
        emu.stats().requests.mint <= mayHaveMinted,
        `at most ${mayHaveMinted} mints at the service, got ${emu.stats().requests.mint}`,
      )
    },
  },
  {
    name: 'bad arguments are TypeErrors with ERR_INVALID_ARG_VALUE, nothing sent',
    emulator: { token: TOKEN },
    async run(t) {
      const client = t.client()
      const noEntity = errorFields(await rejection(client.mint({ name: 'x' }), 'a mint without entity'))
      eq([noEntity.isTypeError, noEntity.code], [true, 'ERR_INVALID_ARG_VALUE'], 'mint without entity')
      const notArray = errorFields(await rejection(client.mintBatch('PEO'), 'mintBatch of a string'))
      eq(notArray.code, 'ERR_INVALID_ARG_VALUE', 'mintBatch of a string')
      let thrown
      try {
        t.client({ timeout: -5 })
      } catch (err) {
        thrown = errorFields(err)
      }
      eq([thrown && thrown.isTypeError, thrown && thrown.code], [true, 'ERR_INVALID_ARG_VALUE'], 'a bad timeout')
      match(thrown.message, /"timeout"/, 'names the option')
      eq(t.api.validateFormat('CHITTY-PEO-123'), false, 'legacy ids are invalid')
      eq(t.api.validateFormat(null), false, 'null is invalid')
      return null
    },
    check(_, emu) {
      eq(emu.stats().requests.mint + emu.stats().requests.batch, 0, 'nothing sent')
    },
  },
  {
    name: 'mintChittyID and validateChittyID make a one-off client',
    emulator: { token: TOKEN },
    async run(t) {
      const config = { serviceUrl: t.serviceUrl, apiKey: t.apiKey }
      const id = await t.api.mintChittyID({ entity: 'FACT' }, config)
      eq(await t.api.validateChittyID(id, config), { valid: true, chittyId: id, entity: 'FACT' }, 'validated')
      return id
    },
  },
  {
    name: 'healthCheck is true against a healthy service and false against a down one',
    emulator: { token: TOKEN },
    async run(t) {
      eq(await t.client().healthCheck(), true, 'healthy')
      eq(await t.client({ serviceUrl: t.deadUrl }).healthCheck(), false, 'unreachable')
      return null
    },
  },

  // The deployed service's wire, against the emulator's deployed profile (and once against the
  // stand-in written apart from it, which records the bodies it was sent).
  {
    name: 'deployed wire: mint sends entityType, validate and health are found at the origin, mintBatch mints one by one',
    server: 'deployed',
    async run(t) {
      const client = t.client()
      const id = await client.mint({ entity: 'PLACE' })
      match(id, /^[0-9]{2}-[1-9]-[A-Z]{3}-[0-9]{4}-L-[0-9]{4}-[0-5]-[0-9]{2}$/, 'a deployed id of type L')
      ok(t.api.validateFormat(id), 'validateFormat accepts it (check pair)')
      eq((await client.validate(id)).valid, true, 'validate through POST /api/validate')
      eq(await client.healthCheck(), true, 'health at the origin')
      const ids = await client.mintBatch([
        { entity: 'PEO' },
        { entity: 'EVNT' },
        { entity: 'AUTH' },
        { entity: 'PROP' },
        { entity: 'PEO' },
      ])
      eq(
        ids.map((x) => x.split('-')[4]),
        ['P', 'E', 'A', 'T', 'P'],
        'batch in order',
      )
      eq(client.getStats().wire, 'deployed', 'the wire learnt')
      return { id, ids }
    },
    check({ id, ids }, srv) {
      eq(srv.minted, [id, ...ids].length, 'minted')
      eq(srv.bodies[0].entityType, 'place', 'entityType sent')
      // Up to 4 mints at once: the order they arrive in is not fixed.
      eq(
        srv.bodies
          .slice(1)
          .map((b) => b.entityType)
          .sort(),
        ['authority', 'event', 'person', 'person', 'thing'],
        'entityType of each batch mint',
      )
      eq(srv.requests.batch, 0, 'the wire known from the mint, no batch route is tried')
    },
  },
  {
    name: 'deployed profile: the client learns the wire, mints with the type asked, validates and batch-mints',
    emulator: { profile: 'deployed' },
    async run(t) {
      const client = t.client()
      const id = await client.mint({ entity: 'EVNT' })
      eq(t.api.parse(id).entityType, 'E', 'the type letter')
      eq((await client.validate(id)).valid, true, 'valid')
      eq(await client.healthCheck(), true, 'healthy')
      const ids = await client.mintBatch([{ entity: 'AUTH' }, { entity: 'PLACE' }])
      eq(
        ids.map((x) => t.api.parse(x).entityType),
        ['A', 'L'],
        'batch in order',
      )
      eq(client.getStats().wire, 'deployed', 'the wire learnt')
      return [id, ...ids]
    },
    check(ids, emu) {
      eq(emu.stats().mintedIds.slice().sort(), ids.slice().sort(), 'minted exactly those')
      eq(emu.stats().requests.batch, 0, 'the wire known, no batch route is tried')
    },
  },
  {
    name: 'deployed profile: with the origin as service URL, mints go to {origin}/mint (wire auto and deployed)',
    emulator: { profile: 'deployed' },
    async run(t) {
      // The deployed service (its newest revision) mints at POST {origin}/mint, v1's route below the origin.
      const origin = new URL(t.serviceUrl).origin
      const ids = []
      for (const wire of ['auto', 'deployed']) {
        const client = t.client({ serviceUrl: origin, wire, retry: false })
        const id = await client.mint({ entity: 'PLACE' })
        eq(t.api.parse(id).entityType, 'L', `the type letter (wire ${wire})`)
        eq(client.getStats().wire, 'deployed', `the wire learnt (wire ${wire})`)
        ids.push(id)
      }
      return ids
    },
    check(ids, emu) {
      eq(emu.stats().mintedIds.slice().sort(), ids.slice().sort(), 'minted exactly those')
    },
  },
  {
    name: 'deployed profile: with the origin as service URL, a passing healthCheck() first tells no wire',
    emulator: { profile: 'deployed' },
    async run(t) {
      // v1's health route and the deployed one are then the same URL: its 2xx says nothing of
      // the wire, so mint and validate must still find the deployed routes afterwards.
      const client = t.client({ serviceUrl: new URL(t.serviceUrl).origin, retry: false })
      eq(await client.healthCheck(), true, 'healthy')
      eq(client.getStats().wire, 'unknown', 'the wire is still unknown')
      const id = await client.mint({ entity: 'PEO' })
      eq(t.api.parse(id).entityType, 'P', 'minted at {origin}/mint')
      eq((await client.validate(id)).valid, true, 'validated at {origin}/api/validate')
      eq(client.getStats().wire, 'deployed', 'the wire learnt from the mint')
      return id
    },
    check(id, emu) {
      eq(emu.stats().mintedIds, [id], 'minted exactly that id')
    },
  },
  {
    name: 'deployed profile: an entity outside the v1 table is sent as entityType, never minted as a thing',
    emulator: { profile: 'deployed' },
    async run(t) {
      // The deployed service reads only entityType (a word, a letter or a purpose) and mints a
      // thing without one: the entity is passed on for it to read or refuse.
      const client = t.client({ retry: false })
      const letters = []
      for (const entity of ['person', 'E', 'context'])
        letters.push(t.api.parse(await client.mint({ entity })).entityType)
      eq(letters, ['P', 'E', 'P'], 'the type letters the service read')
      const err = errorFields(await rejection(client.mint({ entity: 'NOPE' }), 'a type the service refuses'))
      eq([err.code, err.serviceErrorCode], ['EPLACEHOLDER', 'INVALID_REQUEST'], 'refused, not a thing')
      return null
    },
    check(_, emu) {
      eq([emu.stats().minted, emu.stats().placeholders], [3, 1], 'three minted, one refused')
    },
  },
  {
    name: 'deployed profile: validate answers alike from the service and from the cache',
    emulator: { profile: 'deployed' },
    async run(t) {
      const sorted = (o) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)))
      const client = t.client()
      const id = await client.mint({ entity: 'EVNT' })
      const first = sorted(await client.validate(id))
      const second = sorted(await client.validate(id))
      eq(first, { chittyId: id, entity: 'EVNT', valid: true }, 'the service answer names the id and its entity')
      eq(second, first, 'the cached answer is the same')
      eq(client.getStats().cache.hits, 1, 'one cache hit')
      return null
    },
  },
  {
    name: 'deployed profile: validating a held placeholder once the backend mints again replaces it (replacedBy)',
    emulator: { profile: 'deployed' },
    setup(emu) {
      emu.setFault({ placeholder: 'MINT_UNAVAILABLE', remaining: 1 })
    },
    async run(t) {
      const client = t.client({ acceptPlaceholders: true, retry: false })
      const placeholder = await client.mint({ entity: 'PEO' })
      match(placeholder, /^03-0-ERR-0001-P-/, 'a placeholder, accepted')
      const replaced = await client.validate(placeholder)
      eq([replaced.valid, replaced.errorCode], [false, 'EPLACEHOLDER'], 'the placeholder is still no id')
      eq(t.api.parse(replaced.replacedBy).entityType, 'P', 'the replacing id, of the type asked')
      const again = await client.validate(placeholder)
      eq([again.valid, again.errorCode, again.replacedBy], [false, 'EPLACEHOLDER', undefined], 'replaced once only')
      return replaced.replacedBy
    },
    check(newId, emu) {
      eq([emu.stats().mintedIds, emu.stats().placeholders], [[newId], 1], 'one placeholder, one id minted for it')
    },
  },
  {
    name: 'deployed profile: a MINT_UNAVAILABLE placeholder is EPLACEHOLDER, not retried, not retry-safe',
    emulator: { profile: 'deployed' },
    setup(emu) {
      emu.setFault({ placeholder: 'MINT_UNAVAILABLE', remaining: 1 })
    },
    async run(t) {
      const err = errorFields(
        await rejection(t.client({ retry: { initialDelayMs: 1 } }).mint({ entity: 'PEO' }), 'a placeholder answer'),
      )
      eq(
        [err.code, err.serviceErrorCode, err.retrySafe, err.mayHaveMinted],
        ['EPLACEHOLDER', 'MINT_UNAVAILABLE', false, undefined],
        'fields',
      )
      match(err.placeholderId, /^[0-9]{2}-0-ERR-0001-/, 'the placeholder id')
      match(
        err.message,
        /placeholder id .* \(MINT_UNAVAILABLE\) instead of a minted id; the service may have minted/,
        'message',
      )
      return err
    },
    check(_, emu) {
      eq(
        [emu.stats().requests.mint, emu.stats().placeholders, emu.stats().minted],
        [1, 1, 0],
        'one request, one placeholder, nothing minted',
      )
    },
  },
  {
    name: 'deployed profile: an INVALID_REQUEST placeholder is retry-safe and no breaker failure',
    emulator: { profile: 'deployed' },
    setup(emu) {
      emu.setFault({ placeholder: 'INVALID_REQUEST', remaining: 1 })
    },
    async run(t) {
      const client = t.client()
      const invalid = errorFields(await rejection(client.mint({ entity: 'PEO' }), 'INVALID_REQUEST'))
      eq(
        [invalid.code, invalid.serviceErrorCode, invalid.retrySafe],
        ['EPLACEHOLDER', 'INVALID_REQUEST', true],
        'INVALID_REQUEST',
      )
      eq(client.getStats().breaker.failures, 0, 'a request it found invalid is not a breaker failure')
      return invalid
    },
  },
  {
    name: 'deployed profile: a RATE_LIMITED placeholder is ERATELIMITED and pauses the client',
    emulator: { profile: 'deployed' },
    setup(emu) {
      emu.setFault({ placeholder: 'RATE_LIMITED', remaining: 1 })
    },
    async run(t) {
      const client = t.client({ retry: false })
      const err = errorFields(await rejection(client.mint({ entity: 'PEO' }), 'a rate-limited placeholder'))
      eq([err.code, err.serviceErrorCode, err.retrySafe], ['ERATELIMITED', 'RATE_LIMITED', true], 'fields')
      eq(client.getStats().rateLimit.pauses, 1, 'the client paused')
      eq(client.getStats().breaker.failures, 0, 'not a breaker failure')
      return err
    },
  },
  {
    name: 'deployed profile: with acceptPlaceholders a placeholder resolves, marked by a placeholder event',
    emulator: { profile: 'deployed' },
    setup(emu) {
      emu.setFault({ placeholder: 'MINT_UNAVAILABLE', remaining: 1 })
    },
    async run(t) {
      const client = t.client({ acceptPlaceholders: true })
      const heard = []
      client.on('placeholder', (e) => heard.push(e))
      const id = await client.mint({ entity: 'PEO' })
      match(id, /^[0-9]{2}-0-ERR-00[0-9]{2}-/, 'the placeholder id')
      eq(heard, [{ chittyId: id, errorCode: 'MINT_UNAVAILABLE' }], 'placeholder event')
      eq(client.getStats().placeholdersAccepted, 1, 'counted')
      eq(t.api.validateFormat(id), false, 'a placeholder is in no grammar')
      return id
    },
  },
  {
    name: 'deployed profile: a batch minted one by one that meets a placeholder keeps every minted id',
    emulator: { profile: 'deployed' },
    setup(emu) {
      emu.setFault({ placeholder: 'MINT_UNAVAILABLE', remaining: 1 })
    },
    async run(t) {
      const err = errorFields(
        await rejection(
          t.client().mintBatch([{ entity: 'PEO' }, { entity: 'PEO' }, { entity: 'PEO' }]),
          'a batch with a placeholder',
        ),
      )
      eq(err.code, 'EPLACEHOLDER', 'the code of the failed mint')
      eq(err.failedPositions.length, 1, 'one failed position')
      eq(err.mintedIds[err.failedPositions[0]], null, 'no id there')
      match(
        err.message,
        /no batch route: minted one by one, 2 of 3 minted, failed at positions \[[0-2]\]; the minted ids are in error\.mintedIds/,
        'message',
      )
      return err.mintedIds.filter((id) => id !== null)
    },
    check(minted, emu) {
      eq(emu.stats().mintedIds.slice().sort(), minted.slice().sort(), 'every minted id is in the error')
    },
  },
  {
    name: '401 hints at the apiKey; validate() answers errorCode EAUTH; a 404 names the route',
    emulator: { token: TOKEN },
    async run(t) {
      const wrong = t.client({ apiKey: 'not-the-key', retry: false })
      const err = errorFields(await rejection(wrong.mint({ entity: 'PEO' }), 'a 401'))
      eq([err.code, err.status], ['EHTTP', 401], 'code and status')
      match(err.message, /401 .*check the apiKey option\)$/, 'the hint')
      eq(
        await wrong.validate('AB-C-DEF-1234-P-26-A-1'),
        { valid: false, error: 'Service error: 401', errorCode: 'EAUTH' },
        'validate',
      )
      const lost = t.client({ serviceUrl: `${t.serviceUrl}/nowhere`, wire: 'v1', retry: false })
      const missing = errorFields(await rejection(lost.mint({ entity: 'PEO' }), 'a 404'))
      eq([missing.code, missing.status], ['EHTTP', 404], '404')
      ok(
        missing.message.endsWith(`(no such route: POST ${t.serviceUrl}/nowhere/mint)`),
        `the route in ${missing.message}`,
      )
      eq(
        await t.client().validate('..'),
        { valid: false, error: 'ChittyID cannot be "." or ".." (a URL path drops dot segments)' },
        'a dot segment, answered locally',
      )
      return null
    },
    check(_, emu) {
      eq(emu.stats().requests.validate, 1, 'only the 401 validate reached the service')
    },
  },
]

/** The case called `name`. */
export function caseNamed(name) {
  const found = cases.find((c) => c.name === name)
  if (!found) throw new Error(`no behaviour case named ${JSON.stringify(name)}`)
  return found
}

/** The cases for a build. */
export function casesFor(build) {
  return cases.filter((c) => !c.builds || c.builds.includes(build))
}

/**
 * Runs a case's `run` step in this runtime: `api` is the package as imported here, `env` the
 * URLs the Node side started for it. Closes every client the case made. Returns the result or
 * `{ failed: message }`.
 */
export async function runCase(name, { api, build, runtime, serviceUrl, deadUrl }) {
  const c = caseNamed(name)
  const clients = []
  const t = {
    api,
    build,
    runtime,
    serviceUrl,
    deadUrl,
    apiKey: TOKEN,
    client(options = {}) {
      const client = new api.ChittyIDClient({ serviceUrl, apiKey: TOKEN, ...options })
      clients.push(client)
      return client
    },
  }
  try {
    return { result: (await c.run(t)) ?? null }
  } catch (err) {
    return { failed: err && err.stack ? String(err.stack) : String(err) }
  } finally {
    await Promise.all(clients.map((client) => client.close()))
  }
}
