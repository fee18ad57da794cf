// The declared types never lie about runtime shapes, checked mechanically: real objects (stats,
// connection states, every event payload, errors, validate() answers, mint results, parse()
// results, the emulator's counters, the compat layer's objects, log records and tracing
// contexts), made by driving both builds against the embedded emulator, a raw-socket server and
// a fake Redis, are walked against the types `index.d.ts` and `portable.d.ts` declare, read with
// the TypeScript compiler API (__test__/type-shape-check.mjs). A key at runtime the type does not
// declare, a required key missing, or a value of another kind or outside its literals fails,
// naming the path, what is declared and what was seen. Every event the types list must be
// provoked, and no undeclared one may be emitted.
import diagnostics from 'node:diagnostics_channel'
import { createServer } from 'node:net'
import { createHash } from 'node:crypto'
import * as Native from '../index.js'
import * as Portable from '../portable.js'
import { declaredTypes } from './type-shape-check.mjs'
import { closedPort, rawServer } from './helpers.mjs'
import { parseRespCommand } from './redis-server.mjs'
import { sleep, waitFor } from './wait.mjs'

const { ChittyIDClient, ChittyIDEmulator } = Native

// Every shape checked, as a type over the native (`M`) and portable (`P`) entries.
const SHAPES = {
  MintResult: "Awaited<ReturnType<M.ChittyIDClient['mint']>>",
  MintBatchResult: "Awaited<ReturnType<M.ChittyIDClient['mintBatch']>>",
  Validation: 'M.ValidationResult',
  Health: "Awaited<ReturnType<M.ChittyIDClient['healthCheck']>>",
  Connect: "Awaited<ReturnType<M.ChittyIDClient['connect']>>",
  Invalidate: "Awaited<ReturnType<M.ChittyIDClient['invalidate']>>",
  Metrics: "ReturnType<M.ChittyIDClient['metrics']>",
  Stats: "ReturnType<M.ChittyIDClient['getStats']>",
  Connection: "ReturnType<M.ChittyIDClient['getConnectionState']>",
  Error: 'M.ChittyIDError',
  PlainError: 'Error',
  UnknownOption: 'M.ChittyIDUnknownOptionError',
  PUnknownOption: 'P.ChittyIDUnknownOptionError',
  Client: 'M.ChittyIDClient',
  Events: 'M.ChittyIDClientEvents',
  ParsedV1: 'M.ParsedChittyID | null',
  ParsedDeployed: 'M.ParsedDeployedChittyID | null',
  ParsedAny: 'ReturnType<typeof M.parse>',
  Emulator: 'M.ChittyIDEmulator',
  EmulatorStats: "ReturnType<M.ChittyIDEmulator['stats']>",
  LogRecord: 'M.ChittyIDLogRecord',
  RequestContext: 'M.ChittyIDRequestContext',
  ConnectionStateConst: 'typeof M.ConnectionState',
  TracingChannel: 'typeof M.TRACING_CHANNEL',
  NativeRuntime: 'typeof M.RUNTIME',
  RetryConfig: 'typeof M.RETRY_CONFIG',
  Breaker: 'M.CircuitBreaker',
  BreakerState: "ReturnType<M.CircuitBreaker['getState']>",
  CircuitOpenError: 'M.CircuitOpenError',
  Manager: 'M.ChittyIDConnectionManager',
  ManagerState: "ReturnType<M.ChittyIDConnectionManager['getState']>",
  ManagerStats: "ReturnType<M.ChittyIDConnectionManager['getStats']>",
  ManagerEvents: 'M.ConnectionManagerEvents',
  Cache: 'M.ChittyIDCache',
  CacheStats: "ReturnType<M.ChittyIDCache['getStats']>",
  CacheConfig: "ReturnType<M.ChittyIDCache['getConfig']>",
  CacheKeys: "ReturnType<M.ChittyIDCache['keys']>",
  CacheGet: "ReturnType<M.ChittyIDCache['get']>",
  PMintResult: "Awaited<ReturnType<P.ChittyIDClient['mint']>>",
  PMintBatchResult: "Awaited<ReturnType<P.ChittyIDClient['mintBatch']>>",
  PValidation: 'P.ValidationResult',
  PHealth: "Awaited<ReturnType<P.ChittyIDClient['healthCheck']>>",
  PStats: "ReturnType<P.ChittyIDClient['getStats']>",
  PConnection: "ReturnType<P.ChittyIDClient['getConnectionState']>",
  PError: 'P.ChittyIDError',
  PClient: 'P.ChittyIDClient',
  PEvents: 'P.PortableClientEvents',
  PParsedAny: 'ReturnType<typeof P.parse>',
  PRuntime: 'typeof P.RUNTIME',
}

// Events the types list that a build never emits, each with the reason (none may hide a lie).
const NEVER_EMITTED = {
  // The portable build has no connection manager, the only source of `error` events.
  portable: ['error'],
}

let shapes
const closers = []
const later = (fn) => closers.push(fn)

beforeAll(() => {
  shapes = declaredTypes(SHAPES)
})

afterAll(async () => {
  for (const close of closers.reverse()) await close()
})

/** Collects values to check: `see(shape, label, value)`. */
function collector() {
  const values = []
  return {
    values,
    see: (shape, label, value) => values.push([shape, label, value]),
    problems: () => values.flatMap(([shape, label, value]) => shapes.check(shape, value, label)),
  }
}

const rejection = (promise) =>
  promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`)
    },
    (err) => err,
  )

/**
 * Listens to every event `names` lists on `emitter` (keeping every payload) and notes every event
 * it emits at all, through the listener lookup both builds' delivery makes (lib/events.js).
 */
function hear(emitter, names) {
  const heard = new Map()
  const emitted = new Set()
  for (const name of names) emitter.on(name, (...args) => heard.set(name, [...(heard.get(name) || []), args]))
  const rawListeners = emitter.rawListeners
  Object.defineProperty(emitter, 'rawListeners', {
    enumerable: false,
    configurable: true,
    value(event) {
      emitted.add(event)
      return rawListeners.call(this, event)
    },
  })
  return { heard, emitted }
}

/** Checks every payload heard against `eventsShape[name]`, and that exactly `expected` were heard. */
function eventProblems(eventsShape, hearings, expected) {
  const problems = []
  const declared = new Set(shapes.keysOf(eventsShape))
  const heardNames = new Set()
  for (const { heard, emitted } of hearings) {
    for (const name of emitted) {
      if (typeof name === 'string' && !declared.has(name)) problems.push(`event ${name}: emitted, not declared`)
    }
    for (const [name, calls] of heard) {
      heardNames.add(name)
      for (const [i, args] of calls.entries()) {
        problems.push(...shapes.checkMember(eventsShape, name, args, `event ${name} #${i + 1}`))
      }
    }
  }
  for (const name of expected) if (!heardNames.has(name)) problems.push(`event ${name}: declared, never provoked`)
  return problems
}

/** A fake Redis: `-ERR` to everything while `broken`, else PONG/OK and script SHAs. */
async function fakeRedis() {
  const state = { broken: true }
  const server = createServer((socket) => {
    socket.on('error', () => {})
    let buf = ''
    socket.on('data', (data) => {
      buf += data.toString('latin1')
      for (;;) {
        const command = parseRespCommand(buf)
        if (!command) return
        buf = buf.slice(command.used)
        const [name = '', sub = '', arg = ''] = command.args
        let reply
        if (state.broken) reply = '-ERR fake redis is broken\r\n'
        else if (name.toUpperCase() === 'PING') reply = '+PONG\r\n'
        else if (name.toUpperCase() === 'SCRIPT' && sub.toUpperCase() === 'LOAD') {
          const sha = createHash('sha1').update(arg, 'latin1').digest('hex')
          reply = `$${sha.length}\r\n${sha}\r\n`
        } else reply = '+OK\r\n'
        socket.write(reply)
      }
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const sockets = new Set()
  server.on('connection', (s) => sockets.add(s))
  return {
    state,
    url: `redis://127.0.0.1:${server.address().port}`,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

/** One RESP array of bulk strings from the front of `buf`, or null when incomplete. */

test('the native build: every runtime shape is the declared one', async () => {
  const { see, problems } = collector()
  const apiKey = 'type-shapes-key'
  const v1 = await ChittyIDEmulator.start({ token: apiKey })
  const spare = await ChittyIDEmulator.start({ token: apiKey })
  const deployed = await ChittyIDEmulator.start({ profile: 'deployed' })
  later(() => v1.close())
  later(() => spare.close())
  later(() => deployed.close())
  const dead = await closedPort()
  const hearings = []
  const records = []
  const logger = {
    debug: (record) => records.push(record),
    info: (record) => records.push(record),
    warn: (record) => records.push(record),
    error: (record) => records.push(record),
  }
  const names = shapes.keysOf('Events')
  const make = (config) => {
    const client = new ChittyIDClient({ transport: 'native', logger, loggerStyle: 'object-first', ...config })
    hearings.push(hear(client, names))
    later(() => client.close())
    return client
  }
  const contexts = []
  const channel = diagnostics.tracingChannel('chittyid:request')
  const subscriber = { start: (context) => contexts.push(context) }
  channel.subscribe(subscriber)
  later(() => channel.unsubscribe(subscriber))

  // Everything on: bulkhead, rate limit, breaker, cache, connection manager.
  const full = make({
    serviceUrl: `${v1.url}/v1`,
    apiKey,
    name: 'shapes',
    bulkhead: { maxConcurrent: 8, maxQueue: 8 },
    rateLimit: { requestsPerSecond: 10000 },
    retry: { initialDelayMs: 1, budget: false },
    circuitBreaker: { failureThreshold: 2, resetTimeout: 300, halfOpenAttempts: 1 },
    cache: { ttlMs: 30, staleIfErrorMs: 60000 },
    connection: {
      healthCheckInterval: 40,
      reconnectDelay: 10,
      maxReconnectDelay: 20,
      maxReconnectAttempts: 1,
      jitter: 0,
    },
  })
  see('Client', 'new ChittyIDClient()', full)
  see('Connection', 'getConnectionState() before connect()', full.getConnectionState())
  const id = await full.mint({ entity: 'PEO' })
  see('MintResult', 'mint()', id)
  const batch = await full.mintBatch([{ entity: 'PEO' }, { entity: 'PLACE' }])
  see('MintBatchResult', 'mintBatch()', batch)
  see('Validation', 'validate(valid id)', await full.validate(id))
  see('Validation', 'validate("nope")', await full.validate('nope'))
  see('Validation', 'validate("..")', await full.validate('..'))
  see('Connect', 'connect()', await full.connect())
  see('Connection', 'getConnectionState() connected', full.getConnectionState())
  see('Health', 'healthCheck()', await full.healthCheck())
  see('Metrics', 'metrics()', full.metrics())
  // A retry, then a pause after a 429.
  v1.setFault({ errorStatus: 503, remaining: 1, routes: ['validate'] })
  see('Validation', 'validate() after a retry', await full.validate(batch[0]))
  v1.setFault({ rateLimitRetryAfter: 0, remaining: 1, routes: ['validate'] })
  see('Validation', 'validate() after a 429', await full.validate(batch[1]))
  // A mint whose outcome is unknown, then an open circuit.
  v1.setFault({ errorStatus: 500, routes: ['mint'] })
  for (let i = 0; i < 5; i++) {
    const err = await rejection(full.mint({ entity: 'PEO' }))
    see('Error', `mint() ${err.code}`, err)
    if (err.code === 'ECIRCUITOPEN') break
  }
  expect(full.getStats().breaker.state).toBe('OPEN')
  v1.clearFaults()
  await sleep(40) // the cached answer expires: a stale one is served while the circuit is open
  see('Validation', 'validate() stale', await full.validate(id))
  see('Stats', 'getStats() circuit open', full.getStats())
  await sleep(350) // half-open: the next call closes the circuit
  see('MintResult', 'mint() after half-open', await full.mint({ entity: 'PEO' }))
  // The connection is lost: unhealthy, reconnecting, then FAILED.
  v1.setFault({ down: true })
  await waitFor(() => full.getConnectionState().state === 'FAILED', 'the connection manager to give up', 10000)
  see('Connection', 'getConnectionState() failed', full.getConnectionState())
  v1.clearFaults()
  see('Invalidate', 'invalidate()', await full.invalidate(id))
  await full.disconnect()
  see('Stats', 'getStats() everything on', full.getStats())
  see('Connection', 'getConnectionState() disconnected', full.getConnectionState())

  // Everything off, a wrong key (EAUTH), a 400.
  const bare = make({ serviceUrl: `${v1.url}/v1`, circuitBreaker: false, cache: false, connection: false })
  see('Validation', 'validate() 401', await bare.validate(id))
  v1.setFault({ errorStatus: 400, remaining: 1, routes: ['mint'] })
  see('Error', 'mint() EHTTP 400', await rejection(bare.mint({ entity: 'PEO' })))
  see('Stats', 'getStats() everything off', bare.getStats())
  see('Connection', 'getConnectionState() connection: false', bare.getConnectionState())

  // Refused, timed out, aborted, closed, bulkhead full, rate limited.
  const refused = make({ serviceUrl: `http://127.0.0.1:${dead}/v1`, retry: false })
  see('Error', 'mint() ECONNREFUSED', await rejection(refused.mint({ entity: 'PEO' })))
  see('Validation', 'validate() unreachable', await refused.validate(id))
  see('Health', 'healthCheck() unreachable', await refused.healthCheck())
  see('Connect', 'connect() unreachable', await refused.connect())
  await refused.disconnect()
  const slow = make({
    serviceUrl: `${v1.url}/v1`,
    apiKey,
    timeout: 100,
    retry: false,
    bulkhead: { maxConcurrent: 1, maxQueue: 0 },
  })
  v1.setFault({ latencyMs: 300, routes: ['mint'] })
  const timedOut = rejection(slow.mint({ entity: 'PEO' }))
  see('Error', 'mint() EBULKHEADFULL', await rejection(slow.mint({ entity: 'PEO' })))
  see('Error', 'mint() timed out', await timedOut)
  const controller = new AbortController()
  const aborted = rejection(slow.mint({ entity: 'PEO' }, { signal: controller.signal }))
  await sleep(50)
  controller.abort()
  see('Error', 'mint() aborted', await aborted)
  const closing = make({ serviceUrl: `${v1.url}/v1`, apiKey })
  const cut = rejection(closing.mint({ entity: 'PEO' }))
  await sleep(50)
  await closing.close()
  see('Error', 'mint() cut by close()', await cut)
  see('Error', 'mint() after close()', await rejection(closing.mint({ entity: 'PEO' })))
  v1.clearFaults()
  const throttled = make({ serviceUrl: `${v1.url}/v1`, apiKey, timeout: 100, rateLimit: { requestsPerSecond: 0.01 } })
  await throttled.mint({ entity: 'PEO' })
  see('Error', 'mint() ERATELIMITED', await rejection(throttled.mint({ entity: 'PEO' })))
  see('Stats', 'getStats() rate limited', throttled.getStats())
  // The service's own limit: an adaptive pause, then calls paced (`pacePerSecond`).
  const paced = make({ serviceUrl: `${v1.url}/v1`, apiKey, cache: false, retry: { maxAttempts: 5 } })
  v1.setFault({ rateLimitPerSecond: 50, routes: ['validate'] })
  await Promise.all(Array.from({ length: 80 }, (_, i) => paced.validate(`CT-A-CHI-${1000 + i}-P-24-A-0`)))
  v1.clearFaults()
  expect(paced.getStats().rateLimit.pauses).toBeGreaterThan(0)
  see('Stats', 'getStats() paced after a pause', paced.getStats())

  // A raw-socket server: a garbled answer, a short batch, a reset.
  const raw = await rawServer(({ socket, path }) => {
    if (path.includes('reset')) return socket.destroy()
    const body = path.endsWith('/mint/batch') ? '{"chittyIds":[]}' : 'not json'
    socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`)
  })
  later(() => raw.close())
  const garbled = make({ serviceUrl: raw.url, retry: false, wire: 'v1' })
  see('Error', 'mint() garbled answer', await rejection(garbled.mint({ entity: 'PEO' })))
  see('Error', 'mintBatch() short answer', await rejection(garbled.mintBatch([{ entity: 'PEO' }])))
  see('Validation', 'validate() garbled answer', await garbled.validate(id))
  const reset = make({ serviceUrl: `${raw.url.replace('/v1', '/reset')}`, retry: false, wire: 'v1' })
  see('Error', 'mint() reset', await rejection(reset.mint({ entity: 'PEO' })))

  // Failover to the second endpoint, then failback to the first.
  const pair = make({
    serviceUrl: [`${spare.url}/v1`, `${v1.url}/v1`],
    apiKey,
    retry: false,
    failover: { probeIntervalMs: 10, failbackSuccesses: 1 },
  })
  spare.setFault({ down: true })
  see('MintResult', 'mint() failed over', await pair.mint({ entity: 'PEO' }))
  see('Stats', 'getStats() failed over', pair.getStats())
  spare.clearFaults()
  await waitFor(
    async () => {
      await pair.mint({ entity: 'PEO' })
      return pair.getStats().endpoints[0].active
    },
    'failback',
    10000,
  )
  see('Stats', 'getStats() two endpoints', pair.getStats())

  // The deployed service: placeholders accepted, refused, replaced; a batch minted one by one.
  const dep = make({ serviceUrl: deployed.url, acceptPlaceholders: true, wire: 'deployed' })
  deployed.setFault({ placeholder: 'MINT_TIMEOUT', remaining: 1 })
  const placeholder = await dep.mint({ entity: 'PEO' })
  see('Validation', 'validate(placeholder)', await dep.validate(placeholder))
  const strict = make({ serviceUrl: deployed.url, wire: 'deployed', retry: false })
  deployed.setFault({ placeholder: 'MINT_UNAVAILABLE', remaining: 1 })
  see('Error', 'mint() EPLACEHOLDER', await rejection(strict.mint({ entity: 'PEO' })))
  deployed.setFault({ placeholder: 'MINT_REJECTED', remaining: 1 })
  see('Error', 'mintBatch() one by one, incomplete', await rejection(strict.mintBatch([{ entity: 'PEO' }])))
  const deployedId = await strict.mint({ entity: 'PEO' })
  see('MintBatchResult', 'mintBatch() one by one', await strict.mintBatch([{ entity: 'PEO' }, { entity: 'PLACE' }]))
  deployed.setFault({ placeholder: 'RATE_LIMITED', remaining: 1 })
  see('Error', 'mint() RATE_LIMITED placeholder', await rejection(strict.mint({ entity: 'PEO' })))
  see('Stats', 'getStats() after an adaptive pause', strict.getStats())
  see('Stats', 'getStats() deployed', dep.getStats())
  see('EmulatorStats', 'deployed emulator stats()', deployed.stats())

  // Fleet mode against a Redis that fails, then answers.
  const redis = await fakeRedis()
  later(() => redis.close())
  const fleet = make({ serviceUrl: `${v1.url}/v1`, apiKey, fleet: { redis: redis.url, deadlineMs: 200 } })
  await fleet.mint({ entity: 'PEO' })
  await waitFor(() => fleet.getStats().fleet.degraded, 'the fleet link to go down', 10000)
  redis.state.broken = false
  await waitFor(() => !fleet.getStats().fleet.degraded, 'the fleet link to come back', 10000)
  see('Stats', 'getStats() fleet', fleet.getStats())

  // The connection manager against a dead port, heard on `error`.
  const lonely = make({ serviceUrl: `http://127.0.0.1:${dead}/v1`, connection: { maxReconnectAttempts: 0 } })
  await lonely.connect()
  await lonely.disconnect()

  // A HALF_OPEN circuit with its one trial in flight; a mint aborted before it was sent.
  const trialBreaker = make({
    serviceUrl: `${v1.url}/v1`,
    apiKey,
    retry: false,
    circuitBreaker: { failureThreshold: 1, resetTimeout: 50, halfOpenAttempts: 1 },
  })
  v1.setFault({ errorStatus: 503, remaining: 1, routes: ['mint'] })
  await rejection(trialBreaker.mint({ entity: 'PEO' }))
  await sleep(80)
  v1.setFault({ latencyMs: 200, routes: ['mint'] })
  const trial = trialBreaker.mint({ entity: 'PEO' })
  await sleep(30)
  see('Error', 'mint() HALF_OPEN trials in flight', await rejection(trialBreaker.mint({ entity: 'PEO' })))
  await trial
  v1.clearFaults()
  see(
    'Error',
    'mint() aborted before sending',
    await rejection(trialBreaker.mint({ entity: 'PEO' }, { signal: AbortSignal.abort() })),
  )
  see('Validation', 'validate(42)', await trialBreaker.validate(42))

  // Two endpoints without breakers.
  const unguarded = make({ serviceUrl: [`${spare.url}/v1`, `${v1.url}/v1`], apiKey, circuitBreaker: false })
  see('MintResult', 'mint() two endpoints, no breaker', await unguarded.mint({ entity: 'PEO' }))
  see('Stats', 'getStats() two endpoints, no breaker', unguarded.getStats())

  // The fetch transport.
  const fetched = make({ serviceUrl: `${v1.url}/v1`, apiKey, transport: 'fetch', retry: false })
  see('MintResult', 'mint() over fetch', await fetched.mint({ entity: 'PEO' }))
  see('Validation', 'validate() over fetch', await fetched.validate(id))
  v1.setFault({ malformedJson: true, remaining: 1, routes: ['mint'] })
  see('Error', 'mint() garbled over fetch', await rejection(fetched.mint({ entity: 'PEO' })))
  const fetchRefused = make({ serviceUrl: `http://127.0.0.1:${dead}/v1`, transport: 'fetch', retry: false })
  see('Error', 'mint() refused over fetch', await rejection(fetchRefused.mint({ entity: 'PEO' })))
  see('Stats', 'getStats() over fetch', fetched.getStats())

  // v1 semantics (the transport chosen under jest, with v1's options only): lib/v1.js answers.
  const transport = process.env.CHITTYID_TRANSPORT
  delete process.env.CHITTYID_TRANSPORT
  let classic
  try {
    classic = new ChittyIDClient({ serviceUrl: `${v1.url}/v1`, apiKey })
    later(() => classic.close())
  } finally {
    process.env.CHITTYID_TRANSPORT = transport
  }
  see('Client', 'a client with v1 semantics', classic)
  see('MintResult', 'mint() with v1 semantics', await classic.mint({ entity: 'PEO' }))
  see('Validation', 'validate() with v1 semantics', await classic.validate(id))
  see('Validation', 'validate("nope") with v1 semantics', await classic.validate('nope'))
  v1.setFault({ errorStatus: 503, remaining: 2 })
  // v1's errors, as documented (docs/MIGRATION.md): plain `Error`s, not `ChittyIDError`s.
  const v1Error = await rejection(classic.mint({ entity: 'PEO' }))
  expect(v1Error).not.toBeInstanceOf(Native.ChittyIDError)
  see('PlainError', 'mint() 503 with v1 semantics', v1Error)
  see('Validation', 'validate() 503 with v1 semantics', await classic.validate(id))
  see('Stats', 'getStats() with v1 semantics', classic.getStats())
  see('Connection', 'getConnectionState() with v1 semantics', classic.getConnectionState())

  // Unknown option names, with and without a suggestion.
  const thrown = (fn) => {
    try {
      fn()
    } catch (err) {
      return err
    }
    throw new Error('expected a throw')
  }
  see(
    'UnknownOption',
    'an unknown option',
    thrown(() => new ChittyIDClient({ zzzqqq: 1 })),
  )
  see(
    'UnknownOption',
    'a misspelt option',
    thrown(() => new ChittyIDClient({ cache: { max: 1 } })),
  )
  see('UnknownOption', 'a misspelt call option', await rejection(full.mint({ entity: 'PEO' }, { signl: 1 })))

  // Ids, the emulator, the constants.
  see('ParsedV1', 'ChittyIDClient.parse(v1 id)', ChittyIDClient.parse(id))
  see('ParsedDeployed', 'parse(deployed id)', Native.parse(deployedId))
  see('ParsedV1', 'parse(v1 id, { grammar: "v1" })', Native.parse(id, { grammar: 'v1' }))
  see('ParsedAny', 'parse(junk)', Native.parse('junk'))
  see('ParsedAny', 'parse(deployed id, { grammar: "deployed" })', Native.parse(deployedId, { grammar: 'deployed' }))
  see('Emulator', 'ChittyIDEmulator.start()', v1)
  const tls = await ChittyIDEmulator.start({ tls: true })
  later(() => tls.close())
  see('Emulator', 'ChittyIDEmulator.start({ tls: true })', tls)
  see(
    'MintResult',
    'mintChittyID()',
    await Native.mintChittyID({ entity: 'PEO' }, { serviceUrl: `${v1.url}/v1`, apiKey }),
  )
  see('Validation', 'validateChittyID()', await Native.validateChittyID(id, { serviceUrl: `${v1.url}/v1`, apiKey }))
  see('EmulatorStats', 'emulator stats()', v1.stats())
  see('ConnectionStateConst', 'ConnectionState', Native.ConnectionState)
  see('TracingChannel', 'TRACING_CHANNEL', Native.TRACING_CHANNEL)
  see('NativeRuntime', 'RUNTIME', Native.RUNTIME)
  records.forEach((record, i) => see('LogRecord', `log record #${i + 1} (${record.event})`, record))
  contexts.forEach((context, i) => see('RequestContext', `tracing context #${i + 1} (${context.operation})`, context))
  expect(contexts.length).toBeGreaterThan(0)

  await Promise.all(
    [
      full,
      bare,
      refused,
      slow,
      throttled,
      garbled,
      reset,
      pair,
      dep,
      strict,
      fleet,
      lonely,
      trialBreaker,
      unguarded,
      fetched,
      fetchRefused,
      classic,
    ].map((c) => c.close()),
  )
  expect([...problems(), ...eventProblems('Events', hearings, names)]).toEqual([])
}, 60000)

test('the compat layer: every runtime shape is the declared one', async () => {
  const { see, problems } = collector()
  const emulator = await ChittyIDEmulator.start()
  later(() => emulator.close())
  const dead = await closedPort()
  see('RetryConfig', 'RETRY_CONFIG', Native.RETRY_CONFIG)
  see('MintResult', 'withRetry() result', await Native.withRetry(async () => 'ok'))

  // A resetTimeout long enough that a loaded machine still calls inside it while open.
  const breaker = new Native.CircuitBreaker({ failureThreshold: 1, resetTimeout: 500, halfOpenAttempts: 1 })
  see('Breaker', 'new CircuitBreaker()', breaker)
  see('BreakerState', 'getState() closed', breaker.getState())
  await rejection(breaker.execute(() => Promise.reject(new Error('boom'))))
  see('BreakerState', 'getState() open', breaker.getState())
  see('CircuitOpenError', 'execute() while open', await rejection(breaker.execute(() => 1)))
  await sleep(550)
  let release
  const trial = breaker.execute(() => new Promise((resolve) => (release = resolve)))
  see('BreakerState', 'getState() half-open', breaker.getState())
  see('CircuitOpenError', 'execute() with the trial in flight', await rejection(breaker.execute(() => 1)))
  release(1)
  await trial
  see('Breaker', 'getCircuitBreaker()', Native.getCircuitBreaker())

  const names = shapes.keysOf('ManagerEvents')
  const hearings = []
  const manager = new Native.ChittyIDConnectionManager({
    serviceUrl: emulator.url,
    healthCheckInterval: 30,
    reconnectDelay: 10,
    maxReconnectDelay: 20,
    maxReconnectAttempts: 1,
  })
  later(() => manager.disconnect())
  hearings.push(hear(manager, names))
  see('Manager', 'new ChittyIDConnectionManager()', manager)
  see('ManagerState', 'getState() disconnected', manager.getState())
  see('ManagerStats', 'getStats() before any check', manager.getStats())
  see('Health', 'connect()', await manager.connect())
  see('Manager', 'a connected manager', manager)
  see('ManagerState', 'getState() connected', manager.getState())
  emulator.setFault({ down: true })
  await waitFor(() => manager.state === 'FAILED', 'the compat manager to give up', 10000)
  emulator.clearFaults()
  see('ManagerState', 'getState() failed', manager.getState())
  see('ManagerStats', 'getStats() failed', manager.getStats())
  await manager.disconnect()
  const lost = new Native.ChittyIDConnectionManager({ serviceUrl: `http://127.0.0.1:${dead}`, maxReconnectAttempts: 0 })
  later(() => lost.disconnect())
  hearings.push(hear(lost, names))
  see('Health', 'connect() unreachable', await lost.connect())
  see('Health', 'performHealthCheck() unreachable', await lost.performHealthCheck())
  await lost.disconnect()

  const cache = new Native.ChittyIDCache({ maxSize: 2, ttlMs: 1000 })
  cache.set('CT-A-CHI-1234-P-24-A-0', true)
  see('CacheGet', 'get() hit', cache.get('CT-A-CHI-1234-P-24-A-0'))
  see('CacheGet', 'get() miss', cache.get('nope'))
  see('Cache', 'new ChittyIDCache()', cache)
  see('CacheStats', 'getStats()', cache.getStats())
  see('CacheConfig', 'getConfig()', cache.getConfig())
  see('CacheKeys', 'keys()', cache.keys())
  see('Cache', 'getSharedCache()', Native.getSharedCache())
  Native.clearSharedCache()

  expect([...problems(), ...eventProblems('ManagerEvents', hearings, names)]).toEqual([])
}, 30000)

test('the portable build: every runtime shape is the declared one (portable.d.ts)', async () => {
  const { see, problems } = collector()
  const apiKey = 'type-shapes-key'
  const v1 = await ChittyIDEmulator.start({ token: apiKey })
  const deployed = await ChittyIDEmulator.start({ profile: 'deployed' })
  later(() => v1.close())
  later(() => deployed.close())
  const dead = await closedPort()
  const names = shapes.keysOf('PEvents')
  const hearings = []
  const make = (config) => {
    const client = new Portable.ChittyIDClient(config)
    hearings.push(hear(client, names))
    later(() => client.close())
    return client
  }

  const full = make({
    serviceUrl: `${v1.url}/v1`,
    apiKey,
    retry: { initialDelayMs: 1 },
    circuitBreaker: { failureThreshold: 2, resetTimeout: 300, halfOpenAttempts: 1 },
    cache: { ttlMs: 30 },
  })
  see('PClient', 'new ChittyIDClient()', full)
  const id = await full.mint({ entity: 'PEO' })
  see('PMintResult', 'mint()', id)
  const batch = await full.mintBatch([{ entity: 'PEO' }, { entity: 'PLACE' }])
  see('PMintBatchResult', 'mintBatch()', batch)
  see('PValidation', 'validate(valid id)', await full.validate(id))
  see('PValidation', 'validate("nope")', await full.validate('nope'))
  see('PValidation', 'validate("..")', await full.validate('..'))
  see('PHealth', 'healthCheck()', await full.healthCheck())
  v1.setFault({ errorStatus: 503, remaining: 1, routes: ['validate'] })
  see('PValidation', 'validate() after a retry', await full.validate(batch[0]))
  v1.setFault({ rateLimitRetryAfter: 0, remaining: 1, routes: ['validate'] })
  see('PValidation', 'validate() after a 429', await full.validate(batch[1]))
  v1.setFault({ errorStatus: 500, routes: ['mint'] })
  for (let i = 0; i < 5; i++) {
    const err = await rejection(full.mint({ entity: 'PEO' }))
    see('PError', `mint() ${err.code}`, err)
    if (err.code === 'ECIRCUITOPEN') break
  }
  expect(full.getStats().breaker.state).toBe('OPEN')
  v1.clearFaults()
  see('PStats', 'getStats() circuit open', full.getStats())
  await sleep(350) // half-open: the next call closes the circuit
  see('PMintResult', 'mint() after half-open', await full.mint({ entity: 'PEO' }))
  see('PStats', 'getStats() everything on', full.getStats())
  see('PConnection', 'getConnectionState()', full.getConnectionState())
  see('PError', 'connect()', await rejection(full.connect()))

  const bare = make({ serviceUrl: `${v1.url}/v1`, circuitBreaker: false, cache: false })
  see('PValidation', 'validate() 401', await bare.validate(id))
  v1.setFault({ errorStatus: 400, remaining: 1, routes: ['mint'] })
  see('PError', 'mint() EHTTP 400', await rejection(bare.mint({ entity: 'PEO' })))
  see('PStats', 'getStats() everything off', bare.getStats())

  const refused = make({ serviceUrl: `http://127.0.0.1:${dead}/v1`, retry: false })
  see('PError', 'mint() ECONNREFUSED', await rejection(refused.mint({ entity: 'PEO' })))
  see('PValidation', 'validate() unreachable', await refused.validate(id))
  see('PHealth', 'healthCheck() unreachable', await refused.healthCheck())
  const slow = make({ serviceUrl: `${v1.url}/v1`, apiKey, timeout: 100, retry: false })
  v1.setFault({ latencyMs: 300, routes: ['mint'] })
  see('PError', 'mint() timed out', await rejection(slow.mint({ entity: 'PEO' })))
  const controller = new AbortController()
  const aborted = rejection(slow.mint({ entity: 'PEO' }, { signal: controller.signal }))
  await sleep(50)
  controller.abort()
  see('PError', 'mint() aborted', await aborted)
  const cut = rejection(slow.mint({ entity: 'PEO' }))
  await sleep(50)
  await slow.close()
  see('PError', 'mint() cut by close()', await cut)
  see('PError', 'mint() after close()', await rejection(slow.mint({ entity: 'PEO' })))
  v1.clearFaults()

  const raw = await rawServer(({ socket, path }) => {
    const body = path.endsWith('/mint/batch') ? '{"chittyIds":[]}' : 'not json'
    socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`)
  })
  later(() => raw.close())
  const garbled = make({ serviceUrl: raw.url, retry: false, wire: 'v1' })
  see('PError', 'mint() garbled answer', await rejection(garbled.mint({ entity: 'PEO' })))
  see('PError', 'mintBatch() short answer', await rejection(garbled.mintBatch([{ entity: 'PEO' }])))
  see('PValidation', 'validate() garbled answer', await garbled.validate(id))

  const dep = make({ serviceUrl: deployed.url, acceptPlaceholders: true, wire: 'deployed' })
  deployed.setFault({ placeholder: 'MINT_TIMEOUT', remaining: 1 })
  const placeholder = await dep.mint({ entity: 'PEO' })
  see('PValidation', 'validate(placeholder)', await dep.validate(placeholder))
  const strict = make({ serviceUrl: deployed.url, wire: 'deployed', retry: false })
  deployed.setFault({ placeholder: 'MINT_UNAVAILABLE', remaining: 1 })
  see('PError', 'mint() EPLACEHOLDER', await rejection(strict.mint({ entity: 'PEO' })))
  deployed.setFault({ placeholder: 'MINT_REJECTED', remaining: 1 })
  see('PError', 'mintBatch() one by one, incomplete', await rejection(strict.mintBatch([{ entity: 'PEO' }])))
  const deployedId = await strict.mint({ entity: 'PEO' })
  see('PStats', 'getStats() deployed', dep.getStats())
  see('PParsedAny', 'ChittyIDClient.parse(v1 id)', Portable.ChittyIDClient.parse(id))
  see('PParsedAny', 'parse(deployed id)', Portable.parse(deployedId))
  see('PRuntime', 'RUNTIME', Portable.RUNTIME)
  let unknown
  try {
    new Portable.ChittyIDClient({ cache: { max: 1 } })
  } catch (err) {
    unknown = err
  }
  see('PUnknownOption', 'a misspelt option', unknown)
  const oneOff = { serviceUrl: `${v1.url}/v1`, apiKey }
  see('PMintResult', 'mintChittyID()', await Portable.mintChittyID({ entity: 'PEO' }, oneOff))
  see('PValidation', 'validateChittyID()', await Portable.validateChittyID(id, oneOff))

  await Promise.all([full, bare, refused, garbled, dep, strict].map((c) => c.close()))
  const expected = names.filter((name) => !NEVER_EMITTED.portable.includes(name))
  expect([...problems(), ...eventProblems('PEvents', hearings, expected)]).toEqual([])
}, 30000)
