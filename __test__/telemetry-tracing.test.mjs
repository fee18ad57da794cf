// diagnostics_channel (`chittyid:request`, one trace per attempt), per-call and client-level
// headers on both transports, and the OpenTelemetry example with the SDK's in-memory exporter.
import diagnosticsChannel from 'node:diagnostics_channel'
import { createRequire } from 'node:module'
import { context, propagation, trace } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { ChittyIDClient, ChittyIDConnectionManager, ChittyIDEmulator, TRACING_CHANNEL } from '../index.mjs'
import { closedPort, echoingServer, rawServer, startPair } from './helpers.mjs'
import { waitFor } from './wait.mjs'

const require = createRequire(import.meta.url)
const { instrumentChittyID, traceHeaders } = require('../examples/otel.js')

const KEY = 'sk-trace-secret-42'

/** Subscribes to every event of the channel, recording [event, snapshot of the context]. */
function recordChannel() {
  const events = []
  const channel = diagnosticsChannel.tracingChannel(TRACING_CHANNEL)
  const make = (name) => (ctx) =>
    events.push([
      name,
      { ...ctx, error: ctx.error && { code: ctx.error.code, message: ctx.error.message, status: ctx.error.status } },
      ctx,
    ])
  const handlers = {
    start: make('start'),
    end: make('end'),
    asyncStart: make('asyncStart'),
    asyncEnd: make('asyncEnd'),
    error: make('error'),
  }
  channel.subscribe(handlers)
  return { events, stop: () => channel.unsubscribe(handlers) }
}

const fastRetry = { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2, jitter: 0 }

describe.each(['native', 'fetch'])('chittyid:request over the %s transport', (transport) => {
  test('one trace per attempt: start, end, error, asyncStart, asyncEnd with operation, url, method, attempt, status, key', async () => {
    const server = await echoingServer([503])
    const client = new ChittyIDClient({ serviceUrl: server.url, apiKey: KEY, transport, retry: fastRetry })
    const rec = recordChannel()
    try {
      await client.mint({ entity: 'PEO' }, { idempotencyKey: 'order-77' })
      expect(rec.events.map(([name, ctx]) => `${name}#${ctx.attempt}`)).toEqual([
        'start#1',
        'end#1',
        'error#1',
        'asyncStart#1',
        'asyncEnd#1',
        'start#2',
        'end#2',
        'asyncStart#2',
        'asyncEnd#2',
      ])
      const [first, second] = [rec.events[4][1], rec.events[8][1]]
      expect(first).toMatchObject({
        operation: 'mint',
        method: 'POST',
        // The wire not known yet: the type goes in the query too, for the deployed service's older revisions.
        url: `${server.url}/mint?type=person`,
        attempt: 1,
        status: 503,
        idempotencyKey: 'order-77',
      })
      expect(first.error).toMatchObject({ code: 'EHTTP', status: 503 })
      expect(first.error.message).not.toContain(KEY)
      expect(first.error.message).toMatch(/\[redacted\]/i)
      expect(second).toMatchObject({ attempt: 2, status: 201, error: undefined, idempotencyKey: 'order-77' })
      expect(second.startTime).toBeGreaterThanOrEqual(first.endTime - 1)
      expect(second.endTime).toBeGreaterThanOrEqual(second.startTime)
      // Every event of one attempt shares one context object, as with tracePromise.
      expect(new Set(rec.events.slice(0, 5).map(([, , ctx]) => ctx)).size).toBe(1)
      expect(server.seen.map((r) => r.headers['idempotency-key'])).toEqual(['order-77', 'order-77'])
    } finally {
      rec.stop()
      await client.close()
      await server.close()
    }
  })

  test('a transport failure is an error event with its code; validate and healthCheck are traced too', async () => {
    const server = await echoingServer()
    const client = new ChittyIDClient({ serviceUrl: server.url, transport, cache: false, retry: false })
    const rec = recordChannel()
    try {
      await client.validate('CT-A-CHI-1234-P-24-A-0')
      await client.healthCheck()
      const ends = rec.events.filter(([name]) => name === 'asyncEnd').map(([, ctx]) => ctx)
      expect(ends.map((c) => [c.operation, c.method, c.url, c.status])).toEqual([
        ['validate', 'GET', `${server.url}/validate/CT-A-CHI-1234-P-24-A-0`, 201],
        ['healthCheck', 'GET', `${server.url}/health`, 201],
      ])
      await server.close()
      // Refused, or reset on a pooled connection the server closed (fetch keeps one).
      const failure = await client.mint({ entity: 'PEO' }).catch((err) => err)
      // A reset after sending leaves the mint's outcome unknown (docs/ARCHITECTURE.md, "Retry safety").
      const code = failure.code === 'EMINTUNKNOWN' ? failure.cause.code : failure.code
      expect(['ECONNREFUSED', 'ECONNRESET']).toContain(code)
      const error = rec.events.filter(([name]) => name === 'error').map(([, ctx]) => ctx)
      expect(error).toHaveLength(1)
      expect(error[0]).toMatchObject({ operation: 'mint', attempt: 1, status: undefined, error: { code } })
    } finally {
      rec.stop()
      await client.close()
    }
  })

  test("per-call headers and the client-level hook reach the service; the client's own headers cannot be overridden", async () => {
    const server = await echoingServer()
    const asked = []
    const client = new ChittyIDClient({
      serviceUrl: server.url,
      apiKey: KEY,
      transport,
      cache: false,
      headers: ({ operation }) => {
        asked.push(operation)
        return { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'x-tenant': 'acme' }
      },
    })
    try {
      await client.mint({ entity: 'PEO' }, { headers: { 'X-Tenant': 'globex', tracestate: 'vendor=1' } })
      await client.validate('CT-A-CHI-1234-P-24-A-0')
      await client.mintBatch([{ entity: 'PEO' }])
      expect(asked).toEqual(['mint', 'validate', 'mintBatch'])
      const [mint, validate] = server.seen
      expect(mint.headers).toMatchObject({
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        tracestate: 'vendor=1',
        'x-tenant': 'globex', // the call's own header wins over the hook's
        authorization: `Bearer ${KEY}`,
        'content-type': 'application/json',
      })
      expect(validate.headers['x-tenant']).toBe('acme')
      for (const [headers, text] of [
        [{ Authorization: 'Bearer other' }, /cannot be overridden/],
        [{ 'Content-Type': 'text/plain' }, /cannot be overridden/],
        [{ 'idempotency-key': 'x' }, /cannot be overridden/],
        [{ Host: 'evil.example' }, /cannot be overridden/],
        [{ 'x-evil': 'a\r\nInjected: 1' }, /visible ASCII/],
        [{ 'bad name': 'v' }, /not a valid header name/],
        [{ 'x-obj': { a: 1 } }, /must be a string/],
      ]) {
        await expect(client.mint({ entity: 'PEO' }, { headers })).rejects.toMatchObject({
          name: 'TypeError',
          code: 'ERR_INVALID_ARG_VALUE',
          message: expect.stringMatching(text),
        })
      }
      expect(server.seen).toHaveLength(3)
    } finally {
      await client.close()
      await server.close()
    }
  })
})

test('nobody subscribed: calls record nothing, even if a subscriber arrives while they run', async () => {
  const pair = await startPair()
  try {
    pair.emulator.setFault({ latencyMs: 100, remaining: 1 })
    const pending = pair.client.mint({ entity: 'PEO' })
    const rec = recordChannel()
    await pending
    expect(rec.events).toHaveLength(0)
    await pair.client.mint({ entity: 'PEO' })
    expect(rec.events.map(([name]) => name)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd'])
    rec.stop()
    await pair.client.mint({ entity: 'PEO' })
    expect(rec.events).toHaveLength(4)
  } finally {
    await pair.close()
  }
})

test('an aborted attempt ends its trace with an AbortError', async () => {
  const pair = await startPair()
  const rec = recordChannel()
  try {
    pair.emulator.setFault({ latencyMs: 2000, remaining: 1 })
    const controller = new AbortController()
    const pending = pair.client.mint({ entity: 'PEO' }, { signal: controller.signal })
    await new Promise((r) => setTimeout(r, 100))
    controller.abort()
    await expect(pending).rejects.toMatchObject({ code: 'ABORT_ERR' })
    await new Promise((r) => setTimeout(r, 50))
    expect(rec.events.map(([name]) => name)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
    expect(rec.events[2][1].error.code).toBe('ABORT_ERR')
  } finally {
    rec.stop()
    await pair.close()
  }
})

test('close() ends the trace of an attempt in flight: every start gets its asyncEnd', async () => {
  const pair = await startPair()
  const rec = recordChannel()
  try {
    pair.emulator.setFault({ latencyMs: 3000, remaining: 1 })
    const pending = pair.client.mint({ entity: 'PEO' })
    pending.catch(() => {})
    await waitFor(() => rec.events.some(([name]) => name === 'start'), 'the start of the attempt')
    await pair.client.close()
    await expect(pending).rejects.toMatchObject({ code: 'ECLIENTCLOSED' })
    expect(rec.events.map(([name]) => name)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
    expect(rec.events[2][1].error.code).toBe('ECLIENTCLOSED')
    expect(rec.events[4][2].endTime).toBeGreaterThanOrEqual(rec.events[0][2].startTime)
  } finally {
    rec.stop()
    await pair.close()
  }
})

test('a subscriber that freezes the context never keeps a call from settling (one warning)', async () => {
  const pair = await startPair()
  const channel = diagnosticsChannel.tracingChannel(TRACING_CHANNEL)
  const handlers = { start: (ctx) => Object.freeze(ctx), end() {}, asyncStart() {}, asyncEnd() {}, error() {} }
  const warnings = []
  const emitWarning = process.emitWarning
  process.emitWarning = (message, options) => warnings.push({ message, ...options })
  channel.subscribe(handlers)
  try {
    // Its end could not be written: before, the call's outcome was lost and it never settled.
    await expect(pair.client.mint({ entity: 'PEO' })).resolves.toMatch(/^CT-/)
    // An aborted call ends its open attempt the same way.
    pair.emulator.setFault({ latencyMs: 2000, remaining: 1 })
    const controller = new AbortController()
    const pending = pair.client.validate('CT-A-CHI-1234-P-24-A-0', { signal: controller.signal })
    await new Promise((resolve) => setTimeout(resolve, 100))
    controller.abort()
    await expect(pending).rejects.toMatchObject({ code: 'ABORT_ERR' })
    await expect(pair.client.mint({ entity: 'PEO' })).resolves.toMatch(/^CT-/)
    expect(warnings).toEqual([
      {
        message: expect.stringMatching(/^tracing a ChittyID request on chittyid:request failed: .*read only/),
        type: 'ChittyIDTracingError',
        code: 'CHITTYID_TRACING_FAILED',
      },
    ])
  } finally {
    channel.unsubscribe(handlers)
    process.emitWarning = emitWarning
    await pair.close()
  }
})

test("each attempt's url is the endpoint it went to: after a failover, and on the deployed wire's origin routes", async () => {
  const dead = `http://127.0.0.1:${await closedPort()}/v1`
  const live = await ChittyIDEmulator.start({ port: 0, profile: 'deployed' })
  const logged = []
  const log = (record) => logged.push(record)
  const logger = { debug: log, info: log, warn: log, error: log }
  const client = new ChittyIDClient({
    serviceUrl: [dead, `${live.url}/v1`],
    cache: false,
    timeout: 2000,
    logger,
    loggerStyle: 'object-first',
  })
  const rec = recordChannel()
  try {
    await client.mint({ entity: 'PEO' })
    await client.validate('CT-A-CHI-1234-P-24-A-0')
    // (A probe of the dead endpoint, due after a second, may come in between on a slow machine.)
    const urls = rec.events
      .filter(([name, ctx]) => name === 'asyncEnd' && ctx.probe === undefined)
      .map(([, ctx]) => [ctx.operation, ctx.url])
    expect(urls[0]).toEqual(['mint', `${dead}/mint?type=person`])
    expect(urls.at(-2)).toEqual(['mint', `${live.url}/v1/mint?type=person`])
    // The deployed service validates below its origin, not below the service URL.
    expect(urls.at(-1)).toEqual(['validate', `${live.url}/api/validate`])
    // The logger's records name the endpoint each attempt went to, too.
    const endpoints = logged.filter((r) => r.event === 'request' && r.probe === undefined).map((r) => r.endpoint)
    expect(endpoints[0]).toBe(new URL(dead).origin)
    expect(endpoints.slice(-2)).toEqual([live.url, live.url])
  } finally {
    rec.stop()
    await client.close()
    await live.close()
  }
})

/** The traces of probes in `rec`: each probe's events in order, by its context object. */
function probeTraces(rec) {
  const traces = new Map()
  for (const [name, , ctx] of rec.events) {
    if (ctx.probe === undefined) continue
    if (!traces.has(ctx)) traces.set(ctx, [])
    traces.get(ctx).push(name)
  }
  return [...traces].map(([ctx, names]) => ({ ctx, names }))
}

describe.each(['native', 'fetch'])("the client's own health checks over the %s transport", (transport) => {
  test("the connection manager's checks are traced as probes (probe: 'connection'), apart from calls, in the context the client was made in", async () => {
    const server = await echoingServer([])
    const { AsyncLocalStorage } = await import('node:async_hooks')
    const als = new AsyncLocalStorage()
    const logged = []
    const log = (record) => logged.push(record)
    const logger = { debug: log, info: log, warn: log, error: log }
    const client = als.run(
      'made',
      () =>
        new ChittyIDClient({
          serviceUrl: server.url,
          apiKey: KEY,
          transport,
          logger,
          loggerStyle: 'object-first',
          connection: { healthCheckInterval: 40, reconnectDelay: 40, maxReconnectDelay: 40, jitter: 0 },
        }),
    )
    const stores = []
    const rec = recordChannel()
    const channel = diagnosticsChannel.tracingChannel(TRACING_CHANNEL)
    const onStart = (ctx) => stores.push([ctx.probe, als.getStore()])
    channel.start.subscribe(onStart)
    try {
      await als.run('caller', () => client.connect())
      await als.run('caller', () => client.healthCheck())
      await waitFor(() => probeTraces(rec).length >= 3, 'three traced checks', 10000)
      const settled = probeTraces(rec).filter((t) => t.names.includes('asyncEnd'))
      for (const { ctx, names } of settled) {
        expect(names).toEqual(['start', 'end', 'asyncStart', 'asyncEnd'])
        expect(ctx).toMatchObject({
          operation: 'healthCheck',
          method: 'GET',
          url: `${server.url}/health`,
          attempt: 1,
          status: 201,
          error: undefined,
          probe: 'connection',
        })
        expect(ctx.endTime).toBeGreaterThanOrEqual(ctx.startTime)
      }
      // The caller's healthCheck() is a call: no `probe`, published in the caller's context.
      const calls = rec.events.filter(([name, ctx]) => name === 'asyncEnd' && ctx.probe === undefined)
      expect(calls.map(([, ctx]) => [ctx.operation, ctx.probe])).toEqual([['healthCheck', undefined]])
      expect(stores.filter(([probe]) => probe === undefined)).toEqual([[undefined, 'caller']])
      expect(stores.filter(([probe]) => probe !== undefined).every(([, store]) => store === 'made')).toBe(true)
      // Every check the server saw was traced (the last may still be on its way).
      const checks = server.seen.filter((r) => r.url === '/v1/health').length - 1 // minus healthCheck()
      expect(probeTraces(rec).length).toBeGreaterThanOrEqual(checks - 1)
      // The logger hears them too, marked.
      expect(logged.some((r) => r.event === 'request' && r.probe === 'connection' && r.status === 201)).toBe(true)
    } finally {
      channel.start.unsubscribe(onStart)
      rec.stop()
      await client.close()
      await server.close()
    }
  })

  test('a subscriber that arrives after connect() sees the checks from the next call or event on; a failing one carries its error, never the key', async () => {
    const script = []
    const server = await echoingServer(script)
    const client = new ChittyIDClient({
      serviceUrl: server.url,
      apiKey: KEY,
      transport,
      connection: { healthCheckInterval: 30, reconnectDelay: 30, maxReconnectDelay: 30, jitter: 0 },
    })
    try {
      expect(await client.connect()).toBe(true)
      // Nobody subscribed at connect(): the checks are not recorded (nothing to pay for)...
      const rec = recordChannel()
      try {
        await new Promise((resolve) => setTimeout(resolve, 150))
        expect(probeTraces(rec)).toEqual([])
        // ...until the client's next call (or event) finds the subscriber.
        await client.healthCheck()
        await waitFor(() => probeTraces(rec).some((t) => t.names.includes('asyncEnd')), 'a traced check', 10000)
        // From now on the server answers 503 with the key in its reason phrase.
        script.push(...Array(1000).fill(503))
        await waitFor(() => probeTraces(rec).some((t) => t.names.includes('error')), 'a failed check traced', 10000)
        const failed = probeTraces(rec).find((t) => t.names.includes('error'))
        expect(failed.names).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
        expect(failed.ctx).toMatchObject({ probe: 'connection', status: 503 })
        expect(failed.ctx.error).toMatchObject({ code: 'EHTTP', status: 503 })
        expect(failed.ctx.error.message).toMatch(/\[redacted\]/)
        expect(JSON.stringify(rec.events.map(([, snapshot]) => snapshot))).not.toContain(KEY)
      } finally {
        rec.stop()
      }
    } finally {
      await client.close()
      await server.close()
    }
  })

  test("the probes of a down endpoint are traced (probe: 'failover'); every probe's trace ends, through disconnect() and close()", async () => {
    const dead = `http://127.0.0.1:${await closedPort()}/v1`
    const live = await echoingServer([])
    const client = new ChittyIDClient({
      serviceUrl: [dead, live.url],
      apiKey: KEY,
      transport,
      retry: false,
      timeout: 2000,
      failover: { probeIntervalMs: 30 },
      connection: { healthCheckInterval: 30 },
    })
    const rec = recordChannel()
    try {
      await client.mint({ entity: 'PEO' })
      await client.connect()
      await waitFor(
        () => probeTraces(rec).some((t) => t.ctx.probe === 'failover' && t.names.includes('asyncEnd')),
        'a traced failover probe',
        10000,
      )
      const probe = probeTraces(rec).find((t) => t.ctx.probe === 'failover')
      expect(probe.names).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
      expect(probe.ctx).toMatchObject({ operation: 'healthCheck', method: 'GET', url: `${dead}/health` })
      expect(probe.ctx.error.code).toBe('ECONNREFUSED')
      // The connection manager checks the endpoint calls go to now.
      const checks = probeTraces(rec).filter((t) => t.ctx.probe === 'connection')
      expect(checks.length).toBeGreaterThan(0)
      expect(checks.every((t) => t.ctx.url === `${live.url}/health`)).toBe(true)
      await client.disconnect()
    } finally {
      await client.close()
      rec.stop()
      await live.close()
    }
    // Every trace that started ended.
    for (const { names } of probeTraces(rec)) expect(names.at(-1)).toBe('asyncEnd')
  })
})

test("the compat ChittyIDConnectionManager's checks are marked probe: 'connection' as well", async () => {
  const server = await echoingServer([])
  const manager = new ChittyIDConnectionManager({ serviceUrl: server.url, apiKey: KEY })
  const rec = recordChannel()
  try {
    expect(await manager.connect()).toBe(true)
    expect(await manager.performHealthCheck()).toBe(true)
    const settled = rec.events.filter(([name]) => name === 'asyncEnd').map(([, ctx]) => [ctx.operation, ctx.probe])
    expect(settled).toEqual([
      ['healthCheck', 'connection'],
      ['healthCheck', 'connection'],
    ])
    expect(rec.events.every(([, ctx]) => ctx.url === `${server.url}/health`)).toBe(true)
  } finally {
    rec.stop()
    await manager.disconnect()
    await server.close()
  }
})

test.each([
  ['disconnect()', 'ABORT_ERR', (client) => client.disconnect()],
  ['close()', 'ECLIENTCLOSED', (client) => client.close()],
])('a check in flight when %s stops the connection manager ends its trace (%s)', async (_, code, stop) => {
  // The service never answers: the first check of connect() stays in flight.
  const server = await rawServer(() => {})
  const logged = []
  const log = (record) => logged.push(record)
  const logger = { debug: log, info: log, warn: log, error: log }
  const client = new ChittyIDClient({ serviceUrl: server.url, apiKey: KEY, logger, loggerStyle: 'object-first' })
  const rec = recordChannel()
  try {
    client.connect().catch(() => {})
    await waitFor(() => probeTraces(rec).length === 1, 'the check under way', 10000)
    await stop(client)
    await waitFor(() => probeTraces(rec)[0].names.includes('asyncEnd'), 'its end', 10000)
    const [{ ctx, names }] = probeTraces(rec)
    expect(names).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
    expect(ctx).toMatchObject({ probe: 'connection', status: undefined })
    expect(ctx.error.code).toBe(code)
    // Stopped by the caller, not failed: no request record for the logger.
    expect(logged.filter((r) => r.event === 'request')).toEqual([])
  } finally {
    rec.stop()
    await client.close()
    await server.close()
  }
})

describe('examples/otel.js', () => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  let stop

  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    propagation.setGlobalPropagator(new W3CTraceContextPropagator())
    trace.setGlobalTracerProvider(provider)
    stop = instrumentChittyID(trace.getTracer('chittyid-test'))
  })

  afterAll(async () => {
    stop()
    await provider.shutdown()
    context.disable()
    propagation.disable()
    trace.disable()
  })

  test.each(['native', 'fetch'])(
    "spans per attempt, children of the caller's active span, whose traceparent the service receives (%s)",
    async (transport) => {
      exporter.reset()
      const server = await echoingServer([503])
      const client = new ChittyIDClient({
        serviceUrl: server.url,
        apiKey: KEY,
        transport,
        retry: fastRetry,
        headers: traceHeaders,
      })
      const tracer = trace.getTracer('chittyid-test')
      try {
        let parent
        await tracer.startActiveSpan('handle order', async (span) => {
          parent = span.spanContext()
          await client.mint({ entity: 'PEO' })
          span.end()
        })
        const spans = exporter.getFinishedSpans().filter((s) => s.name === 'ChittyID mint')
        expect(spans).toHaveLength(2)
        for (const span of spans) {
          expect(span.spanContext().traceId).toBe(parent.traceId)
          expect(span.parentSpanContext.spanId).toBe(parent.spanId)
          expect(span.kind).toBe(2) // SpanKind.CLIENT
        }
        const [first, second] = spans.sort(
          (a, b) => a.attributes['chittyid.attempt'] - b.attributes['chittyid.attempt'],
        )
        expect(first.attributes).toMatchObject({
          'http.request.method': 'POST',
          'url.full': `${server.url}/mint?type=person`,
          'chittyid.operation': 'mint',
          'chittyid.attempt': 1,
          'http.response.status_code': 503,
          'error.type': '503',
          'server.address': '127.0.0.1',
          'server.port': Number(new URL(server.url).port),
        })
        expect(first.status.code).toBe(2) // SpanStatusCode.ERROR
        expect(second.attributes).toMatchObject({
          'chittyid.attempt': 2,
          'http.request.resend_count': 1,
          'http.response.status_code': 201,
        })
        expect(first.attributes['chittyid.idempotency_key']).toBe(server.seen[0].headers['idempotency-key'])
        const traceparent = `00-${parent.traceId}-${parent.spanId}-01`
        expect(server.seen.map((r) => r.headers.traceparent)).toEqual([traceparent, traceparent])
      } finally {
        await client.close()
        await server.close()
      }
    },
  )

  test("the connection manager's checks are root spans marked chittyid.probe, not children of the call that connected", async () => {
    exporter.reset()
    const server = await echoingServer([])
    const client = new ChittyIDClient({ serviceUrl: server.url, apiKey: KEY, connection: { healthCheckInterval: 30 } })
    try {
      await trace.getTracer('chittyid-test').startActiveSpan('boot', async (span) => {
        await client.connect()
        span.end()
      })
      const probeSpans = () => exporter.getFinishedSpans().filter((s) => s.attributes['chittyid.probe'])
      await waitFor(() => probeSpans().length >= 2, 'two check spans', 10000)
      for (const span of probeSpans()) {
        expect(span.name).toBe('ChittyID healthCheck')
        expect(span.parentSpanContext).toBeUndefined()
        expect(span.attributes).toMatchObject({
          'chittyid.probe': 'connection',
          'url.full': `${server.url}/health`,
          'http.response.status_code': 201,
        })
      }
    } finally {
      await client.close()
      await server.close()
    }
  })
})
