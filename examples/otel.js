// OpenTelemetry spans for ChittyID requests, built from the client's `chittyid:request`
// TracingChannel, and W3C trace context sent to the service.
//
//   node examples/otel.js          mints against the embedded emulator inside a parent span
//                                  and prints the spans (needs the dev dependencies
//                                  @opentelemetry/api, sdk-trace-base, core, context-async-hooks)
//
// The package ships this file (examples/otel.js): copy it into your service as is.
// In a service: call `instrumentChittyID(tracer)` once at start-up and create clients with
// `headers: traceHeaders`. Each attempt becomes a CLIENT span, child of the span that was
// active when the call was made; the service receives that span as `traceparent`.
'use strict'

const diagnosticsChannel = require('node:diagnostics_channel')
const { context, propagation, trace, SpanKind, SpanStatusCode } = require('@opentelemetry/api')
const { TRACING_CHANNEL } = require('@chittyos/chittyid-client')

/**
 * Subscribes to the client's TracingChannel; returns the function that unsubscribes.
 * Events of one attempt share one context object, so the span is kept per context.
 * The health checks the client sends on its own (`ctx.probe`: the connection manager's, a
 * down endpoint's) become spans too, marked `chittyid.probe`; `{ probes: false }` skips them.
 */
function instrumentChittyID(tracer, { probes = true } = {}) {
  const channel = diagnosticsChannel.tracingChannel(TRACING_CHANNEL)
  const spans = new WeakMap()
  const handlers = {
    // Published in the caller's async context: the active span there is the parent.
    start(ctx) {
      if (ctx.probe !== undefined && !probes) return
      const url = new URL(ctx.url)
      const span = tracer.startSpan(
        `ChittyID ${ctx.operation}`,
        {
          kind: SpanKind.CLIENT,
          // The attempt's own times: events reach JS in batches, after the fact.
          startTime: ctx.startTime,
          attributes: {
            'http.request.method': ctx.method,
            'url.full': ctx.url,
            // Required on HTTP client spans by OpenTelemetry's semantic conventions.
            'server.address': url.hostname.replace(/^\[(.*)\]$/, '$1'),
            'server.port': Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
            'chittyid.operation': ctx.operation,
            'chittyid.attempt': ctx.attempt,
            ...(ctx.attempt > 1 ? { 'http.request.resend_count': ctx.attempt - 1 } : {}),
            ...(ctx.idempotencyKey ? { 'chittyid.idempotency_key': ctx.idempotencyKey } : {}),
            // Published in the context the client was made in: usually a root span.
            ...(ctx.probe ? { 'chittyid.probe': ctx.probe } : {}),
          },
        },
        context.active(),
      )
      spans.set(ctx, span)
    },
    end() {},
    asyncStart() {},
    error(ctx) {
      const span = spans.get(ctx)
      if (!span) return
      span.recordException(ctx.error)
      // The status as a string when the service answered with one (the conventions' rule for
      // HTTP errors), else the failure's code (ECONNREFUSED, ETIMEDOUT, ...).
      span.setAttribute('error.type', ctx.status >= 400 ? String(ctx.status) : ctx.error.code || 'Error')
      span.setStatus({ code: SpanStatusCode.ERROR, message: ctx.error.message })
    },
    asyncEnd(ctx) {
      const span = spans.get(ctx)
      if (!span) return
      spans.delete(ctx)
      if (ctx.status !== undefined) span.setAttribute('http.response.status_code', ctx.status)
      span.end(ctx.endTime)
    },
  }
  channel.subscribe(handlers)
  return () => channel.unsubscribe(handlers)
}

/** The client's `headers` option: the active context as `traceparent` / `tracestate`. */
function traceHeaders() {
  const carrier = {}
  propagation.inject(context.active(), carrier)
  return carrier
}

async function main() {
  const { BasicTracerProvider, SimpleSpanProcessor, ConsoleSpanExporter } = require('@opentelemetry/sdk-trace-base')
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks')
  const { W3CTraceContextPropagator } = require('@opentelemetry/core')
  const { ChittyIDClient, ChittyIDEmulator } = require('@chittyos/chittyid-client')

  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] })
  trace.setGlobalTracerProvider(provider)
  const tracer = trace.getTracer('chittyid-example')
  const stop = instrumentChittyID(tracer)

  const emulator = await ChittyIDEmulator.start({ port: 0 })
  const client = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, headers: traceHeaders })
  try {
    emulator.setFault({ errorStatus: 503, remaining: 1 }) // one retry: two attempt spans
    await tracer.startActiveSpan('register person', async (parent) => {
      console.log('minted', await client.mint({ entity: 'PEO' }))
      parent.end()
    })
  } finally {
    await client.close()
    await emulator.close()
    stop()
    await provider.shutdown()
  }
}

module.exports = { instrumentChittyID, traceHeaders }

if (require.main === module) {
  main().catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
}
