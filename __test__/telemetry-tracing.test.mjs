// diagnostics_channel (`chittyid:request`, one trace per attempt), per-call and client-level
// headers on both transports, and the OpenTelemetry example with the SDK's in-memory exporter.
import diagnosticsChannel from 'node:diagnostics_channel'
import { createRequire } from 'node:module'
import { context, propagation, trace } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { ChittyIDClient, ChittyIDEmulator, TRACING_CHANNEL } from '../index.mjs'
import { closedPort, echoingServer, startPair } from './helpers.mjs'
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
        url: `${server.url}/mint`,
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
    const urls = rec.events.filter(([name]) => name === 'asyncEnd').map(([, ctx]) => [ctx.operation, ctx.url])
    expect(urls[0]).toEqual(['mint', `${dead}/mint`])
    expect(urls.at(-2)).toEqual(['mint', `${live.url}/v1/mint`])
    // The deployed service validates below its origin, not below the service URL.
    expect(urls.at(-1)).toEqual(['validate', `${live.url}/api/validate`])
    // The logger's records name the endpoint each attempt went to, too.
    const endpoints = logged.filter((r) => r.event === 'request').map((r) => r.endpoint)
    expect(endpoints[0]).toBe(new URL(dead).origin)
    expect(endpoints.slice(-2)).toEqual([live.url, live.url])
  } finally {
    rec.stop()
    await client.close()
    await live.close()
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
          'url.full': `${server.url}/mint`,
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
})
