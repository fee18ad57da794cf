// A strict TypeScript consumer: must compile with `tsc --strict`; the @ts-expect-error
// lines prove that wrong usage is rejected.
import ChittyIDClientDefault, {
  ChittyIDClient,
  ChittyIDEmulator,
  ChittyIDError,
  mintChittyID,
  validateChittyID,
  type ValidationResult,
  ConnectionState,
  ChittyIDConnectionManager,
  getSharedConnectionManager,
  resetSharedConnectionManager,
  type ClientConnectionState,
  registerMetrics,
  TRACING_CHANNEL,
  type ChittyIDRequestContext,
  type ChittyIDErrorCode,
  type ChittyIDUnknownOptionError,
  type ChittyIDCacheStats,
} from '@chittyos/chittyid-client'
import diagnosticsChannel from 'node:diagnostics_channel'

async function main(): Promise<void> {
  const emulator = await ChittyIDEmulator.start({ port: 0, token: 't' })
  const client: ChittyIDClient = new ChittyIDClientDefault({
    serviceUrl: `${emulator.url}/v1`,
    apiKey: 't',
    retry: { maxAttempts: 2 },
  })
  const id: string = await client.mint({ entity: 'PEO', name: 'n', metadata: { k: 1 } })
  const ids: string[] = await client.mintBatch([{ entity: 'PLACE' }], { idempotencyKey: 'batch-1' })
  const again: string = await client.mint(
    { entity: 'PEO' },
    { idempotencyKey: 'order-1', signal: AbortSignal.timeout(1000) },
  )
  const result: ValidationResult = await client.validate(id, { signal: AbortSignal.timeout(1000) })
  const ok: boolean = client.validateFormat(ids[0]) && result.valid && (await client.healthCheck())
  const forgotten: boolean = await client.invalidate(id)
  // @ts-expect-error invalidate takes the id as a string
  void client.invalidate(42)
  const parsed = ChittyIDClient.parse(id)
  if (parsed) console.log(parsed.entityType.toLowerCase())
  client.on('retry', (e) => console.log(e.operation, e.attempt, e.delay, e.error.message))
  client.on('circuitOpen', (e) => console.log(e.failures))
  emulator.setFault({ errorStatus: 503, remaining: 1, routes: ['mint'] })
  try {
    await mintChittyID({ entity: 'INFO' }, { serviceUrl: emulator.url, circuitBreaker: false })
  } catch (err) {
    if (err instanceof ChittyIDError) console.log(err.code, err.status, err.cause?.message)
  }
  console.log(ok, again, (await validateChittyID(id)).valid, emulator.stats().mintedIds.length)
  try {
    new ChittyIDClient({ cache: { maxSize: 1 } })
  } catch (err) {
    const unknown = err as ChittyIDUnknownOptionError
    if (unknown.code === 'ERR_CHITTYID_UNKNOWN_OPTION') console.log(unknown.option, unknown.suggestion ?? 'none')
  }

  // Retry safety, rate limits, the emulator's ignore-keys mode.
  const careful = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, retry: { mint: 'idempotent' } })
  careful.on('rateLimited', (e) => console.log(e.operation, e.retryInMs.toFixed(0), e.retryAfter === true))
  const rl = careful.getStats().rateLimit
  console.log(rl.paused, rl.retryInMs, rl.rateLimited, rl.pauses, rl.waits, rl.rejected, rl.pacePerSecond ?? 'unpaced')
  try {
    await careful.mint({ entity: 'PEO' })
  } catch (err) {
    if (err instanceof ChittyIDError && err.code === 'EMINTUNKNOWN' && err.mayHaveMinted) {
      await careful.mint({ entity: 'PEO' }, { idempotencyKey: err.idempotencyKey })
    } else if (err instanceof ChittyIDError && err.code === 'ERATELIMITED') {
      console.log(err.retryInMs, err.cause?.code)
    }
  }
  emulator.setIgnoreIdempotencyKeys(true)
  emulator.setFault({ rateLimitPerSecond: 10 / 60 })
  const ignoring: boolean = emulator.ignoresIdempotencyKeys
  console.log(ignoring, (await ChittyIDEmulator.start({ ignoreIdempotencyKeys: true })).url)
  await careful.close()
  // Id grammars and the emulator's deployed profile.
  const deployed = await ChittyIDEmulator.start({ profile: 'deployed' })
  const profile: 'v1' | 'deployed' = deployed.profile
  deployed.setFault({ placeholder: 'MINT_TIMEOUT', remaining: 1 })
  const placeholders: number = deployed.stats().placeholders
  const narrow = new ChittyIDClient({ serviceUrl: `${deployed.url}/v1`, idGrammar: 'deployed' })
  const anyParsed = ChittyIDClient.parse('03-1-USA-1234-P-2612-2-41')
  if (anyParsed && anyParsed.grammar === 'deployed') console.log(anyParsed.region, anyParsed.checksum)
  const v1Parsed = ChittyIDClient.parse('CT-A-CHI-1234-I-24-A-0', { grammar: 'v1' })
  console.log(profile, placeholders, narrow.validateFormat('x'), v1Parsed?.generation)
  await narrow.close()
  await deployed.close()
  // @ts-expect-error idGrammar is "any", "v1" or "deployed"
  new ChittyIDClient({ idGrammar: 'v2' })
  // @ts-expect-error not a placeholder code of the service
  deployed.setFault({ placeholder: 'DOWN' })
  // @ts-expect-error retry.mint is "safe" or "idempotent"
  new ChittyIDClient({ retry: { mint: 'always' } })
  // @ts-expect-error unknown rateLimited payload field
  careful.on('rateLimited', (e) => e.nope)
  // Observability: logger, headers, name/labels, the tracing channel, prom-client.
  const observed = new ChittyIDClient({
    serviceUrl: `${emulator.url}/v1`,
    logger: console,
    loggerStyle: 'message-first',
    name: 'billing',
    labels: { region: 'eu' },
    headers: ({ operation }) => ({ 'x-operation': operation }),
  })
  await observed.mint(
    { entity: 'PEO' },
    { headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } },
  )
  const label: string | undefined = observed.name
  diagnosticsChannel.tracingChannel(TRACING_CHANNEL).subscribe({
    start: (message) => {
      const ctx = message as ChittyIDRequestContext
      console.log(ctx.operation, ctx.url, ctx.attempt, ctx.idempotencyKey, ctx.startTime)
      const probe: 'connection' | 'failover' | undefined = ctx.probe
      if (probe !== undefined) return
    },
    end() {},
    asyncStart() {},
    asyncEnd: (message) => console.log((message as ChittyIDRequestContext).status),
    error: (message) => console.log((message as ChittyIDRequestContext).error?.code),
  })
  const unregister: () => void = registerMetrics({ registerMetric() {}, getSingleMetric: () => undefined }, observed)
  unregister()
  console.log(label)
  // @ts-expect-error loggerStyle is one of two names
  new ChittyIDClient({ loggerStyle: 'json' })
  // @ts-expect-error header values are strings
  await client.mint({ entity: 'PEO' }, { headers: { traceparent: { a: 1 } } })

  // Resilience II: failover, stale answers, retry budget, bulkhead, client-side rate limit.
  const guarded = new ChittyIDClient({
    serviceUrl: [`${emulator.url}/v1`, `${emulator.url}/api/v1`],
    failover: { probeIntervalMs: 500, failbackSuccesses: 2 },
    cache: { staleIfErrorMs: 3_600_000, negativeStaleIfErrorMs: 0 },
    retry: { budget: { ratio: 0.1, windowMs: 5000, minPerSecond: 2 } },
    bulkhead: { maxConcurrent: 8, maxQueue: 16 },
    rateLimit: { requestsPerSecond: 50, burst: 10 },
  })
  guarded.on('failover', (e) => console.log(e.from, e.to, e.code.toLowerCase()))
  guarded.on('failback', (e) => console.log(e.from, e.to))
  const checked: ValidationResult = await guarded.validate(id)
  const staleFlag: true | undefined = checked.stale
  const gs = guarded.getStats()
  console.log(
    staleFlag,
    gs.retryBudgetExhausted,
    gs.cache?.staleServed,
    gs.bulkhead?.inFlight,
    gs.clientRateLimit?.waits,
  )
  for (const e of gs.endpoints ?? []) console.log(e.url, e.healthy, e.active, e.requests, e.failovers, e.breaker?.state)
  try {
    await guarded.mint({ entity: 'PEO' })
  } catch (err) {
    if (err instanceof ChittyIDError && err.code === 'EBULKHEADFULL') console.log(err.message)
  }
  await guarded.close()
  new ChittyIDClient({ retry: { budget: false }, bulkhead: false, rateLimit: false, failover: false })
  // The deployed service's wire, placeholders and batch fallback.
  const wired = new ChittyIDClient({ wire: 'deployed', acceptPlaceholders: false })
  wired.on('placeholder', (e) => console.log(e.chittyId.length, e.errorCode?.toLowerCase()))
  const wire: 'v1' | 'deployed' | 'unknown' = wired.getStats().wire
  console.log(wire, wired.getStats().placeholdersAccepted, wired.getStats().endpoints?.[0]?.wire)
  const answer = await wired.validate(id)
  if (answer.errorCode === 'EAUTH') console.log('credentials refused: no verdict on', id)
  try {
    await wired.mintBatch([{ entity: 'PEO' }])
  } catch (err) {
    if (err instanceof ChittyIDError && err.code === 'EPLACEHOLDER')
      console.log(err.placeholderId, err.serviceErrorCode, err.retrySafe === true)
    if (err instanceof ChittyIDError && err.mintedIds)
      console.log(
        err.mintedIds.filter((x): x is string => x !== null),
        err.failedPositions,
      )
  }
  await wired.close()
  // @ts-expect-error wire is one of three values
  new ChittyIDClient({ wire: 'v2' })
  // @ts-expect-error bulkhead needs maxConcurrent
  new ChittyIDClient({ bulkhead: { maxQueue: 1 } })
  // @ts-expect-error rateLimit needs requestsPerSecond
  new ChittyIDClient({ rateLimit: { burst: 1 } })
  // @ts-expect-error serviceUrl lists strings
  new ChittyIDClient({ serviceUrl: [1] })

  // @ts-expect-error entity is required
  await client.mint({ name: 'x' })
  // @ts-expect-error idempotencyKey is a string
  await client.mint({ entity: 'PEO' }, { idempotencyKey: 42 })
  // @ts-expect-error validate takes no idempotency key
  await client.validate(id, { idempotencyKey: 'k' })
  // A string of digits read from the environment is a timeout, as in v1 (README "Options").
  new ChittyIDClient({ timeout: process.env.CHITTYID_TIMEOUT })
  new ChittyIDClient({ timeout: '10' })
  // @ts-expect-error timeout is a number or a string of digits
  new ChittyIDClient({ timeout: true })
  // @ts-expect-error unknown event payload field
  client.on('retry', (e) => e.nope)
  // @ts-expect-error unknown fault route
  emulator.setFault({ routes: ['everything'] })

  // Connection manager of the client.
  const monitored = new ChittyIDClient({
    serviceUrl: `${emulator.url}/v1`,
    connection: {
      healthCheckInterval: 1000,
      reconnectDelay: 100,
      maxReconnectAttempts: 5,
      jitter: 0,
      autoConnect: false,
    },
  })
  monitored.on('stateChange', (e) => console.log(e.from, e.to, e.timestamp))
  monitored.on('reconnecting', (e) => console.log(e.attempt, e.delay))
  monitored.on('maxReconnectAttemptsReached', (e) => console.log(e.attempts))
  monitored.on('unhealthy', (e) => console.log(e.serviceUrl))
  const connected: boolean = await monitored.connect()
  const snapshot: ClientConnectionState = monitored.getConnectionState()
  console.log(
    connected,
    snapshot.state === 'CONNECTED',
    snapshot.stats.totalHealthChecks,
    snapshot.lastHealthCheck ?? 0,
  )
  await monitored.disconnect()
  await monitored.close()
  new ChittyIDClient({ connection: false })
  // @ts-expect-error unknown state
  const wrongState: ClientConnectionState['state'] = 'ONLINE'
  // @ts-expect-error connection takes an object or false
  new ChittyIDClient({ connection: true })

  // Compat connection manager.
  const manager = new ChittyIDConnectionManager({
    serviceUrl: emulator.url,
    healthCheckInterval: 50,
    maxReconnectAttempts: 3,
  })
  manager.on('reconnecting', ({ attempt, delay }) => console.log(attempt, delay))
  manager.on('error', (err) => console.log(err.message))
  const ok2: boolean = await manager.connect()
  manager.reconnectAttempts = 2
  const state: ConnectionState = manager.getState().state
  const rate: string = manager.getStats().healthCheckSuccessRate
  const arr = manager.listeners.get('reconnecting')
  const count: number = manager.listeners('reconnecting').length + (arr ? arr.length : 0)
  console.log(ok2, state === ConnectionState.CONNECTED, rate, count, manager.healthCheckTimer !== null, wrongState)
  await manager.reset()
  getSharedConnectionManager({ serviceUrl: emulator.url })
  resetSharedConnectionManager()
  // @ts-expect-error unknown option type
  new ChittyIDConnectionManager({ healthCheckInterval: 'often' })

  await client.close()
  await emulator.close()
}

void main()

// Stats, metrics, cache and scope options, compat cache.
async function observability(client: ChittyIDClient): Promise<void> {
  const stats = client.getStats()
  const p99: number = stats.requests.mint.p99Ms
  const rate: string | undefined = stats.cache?.hitRate
  const text: string = client.metrics()
  console.log(p99, rate, text.length, stats.breaker?.state, stats.connection.state)
  new ChittyIDClient({
    cache: { maxSize: 10, ttlMs: 1000, negativeTtlMs: 10 },
    scope: 'process',
    allowInsecure: false,
    ca: ['pem'],
  })
  new ChittyIDClient({ cache: false })
  // @ts-expect-error scope is "client" or "process"
  new ChittyIDClient({ scope: 'galaxy' })
}
void observability

// Fleet mode.
function fleet(): void {
  const client = new ChittyIDClient({
    fleet: {
      redis: 'redis://127.0.0.1:6379/0',
      keyPrefix: 'svc',
      apiKeyScope: false,
      deadlineMs: 30,
      ratePerSecond: 0.15,
      burst: 1,
      coalesceMs: 200,
      sharedCache: true,
      breakerHint: true,
    },
  })
  new ChittyIDClient({ fleet: false })
  new ChittyIDClient({
    apiKey: 'k',
    ca: ['-----BEGIN CERTIFICATE-----'],
    fleet: { redis: 'rediss://redis.internal:6380/0' },
  })
  // @ts-expect-error redis is required
  new ChittyIDClient({ fleet: { ratePerSecond: 1 } })
  client.on('fleetDegraded', ({ reason }) => console.log(reason.length))
  client.on('fleetRestored', () => {})
  const f = client.getStats().fleet
  if (f !== null) {
    const counts: number[] = [
      f.l2Hits,
      f.l2Misses,
      f.l2Rejected,
      f.rateWaits,
      f.rateLimited,
      f.pauseMs,
      f.breakerHintsApplied,
      f.errors,
      f.timeouts,
    ]
    const up: boolean = f.connected && !f.degraded
    console.log(counts, up)
  }
  const code: ChittyIDErrorCode = 'ERATELIMITED'
  void code
}
void fleet

import { ChittyIDCache, getSharedCache, clearSharedCache } from '@chittyos/chittyid-client'
const compatCache = new ChittyIDCache({ maxSize: 100 })
compatCache.set('X', true)
const verdict: boolean | null = compatCache.get('X')
const compatStats: ChittyIDCacheStats = getSharedCache().getStats()
// @ts-expect-error the compat cache serves no stale answers
console.log(compatStats.staleServed)
console.log(verdict, compatStats.hitRate, compatCache.getConfig().ttlMinutes)
clearSharedCache()
