// A hostile service echoes the request's credentials everywhere it can: its reason phrase, its
// headers (Retry-After included), its JSON fields (error, message, ids, errorCode) and bodies
// that are not JSON, on every route, health checks included. Nothing the client hands its
// observers may carry the API key: event payloads (every event, and `errorMonitor`), the
// `chittyid:request` channel's contexts (calls and the client's own health probes), logger
// records, warnings, stats, metrics, and the native debug log (CHITTYID_LOG=trace).
import diagnosticsChannel from 'node:diagnostics_channel'
import { EventEmitter } from 'node:events'
import { execFile } from 'node:child_process'
import { createServer } from 'node:http'
import { inspect, promisify } from 'node:util'
import { ChittyIDClient, TRACING_CHANNEL } from '../index.mjs'
import { CLIENT_EVENTS } from './helpers.mjs'
import { ROOT, waitFor } from './wait.mjs'

const KEY = 'sk-hostile-9Qx7Lm2Pz4'

/**
 * What the service answers, by `mode`; every answer carries the caller's credentials as the
 * service received them (`auth`, `key`).
 */
const ANSWERS = {
  fail: (auth, key) => [503, { error: key, message: auth, details: `token ${key}` }, { 'retry-after': '0' }],
  refused: (auth, key) => [400, { error: `bad request from ${key}`, message: auth }, {}],
  echoIds: (auth, key) => [
    201,
    { chittyId: key, chittyIds: [key], valid: true, entity: key, error: auth, errorCode: key },
    {},
  ],
  garbled: (auth) => [200, `not json: ${auth}`, {}],
  placeholder: (auth, key) => [
    201,
    { success: true, fallback: true, errorCode: `MINT_${key}`, chittyId: '03-0-ERR-0002-P-2612-0-11' },
    {},
  ],
  // Last: the pause after a 429 (the key as Retry-After is no delay: the default one) slows what follows.
  rateLimited: (auth, key) => [429, { error: auth }, { 'retry-after': key }],
}

/** An HTTP service answering every request (health checks too) as `server.mode` says. */
async function hostileService() {
  const state = { mode: 'fail', seen: 0 }
  const server = createServer((req, res) => {
    state.seen++
    req.resume()
    req.on('end', () => {
      // A side channel for a test in another process: `GET /mode/<mode>`.
      if (req.url.startsWith('/mode/')) {
        state.mode = req.url.slice('/mode/'.length)
        return res.writeHead(204).end()
      }
      const auth = req.headers.authorization || ''
      const key = auth.replace(/^Bearer\s+/i, '')
      const [status, body, headers] = ANSWERS[state.mode](auth, key)
      res.writeHead(status, `echo ${auth}`, {
        'content-type': 'application/json',
        'x-echo': auth,
        'www-authenticate': `Bearer realm="${key}"`,
        ...headers,
      })
      res.end(typeof body === 'string' ? body : JSON.stringify(body))
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.url = `http://127.0.0.1:${server.address().port}/v1`
  state.close = () => {
    server.closeAllConnections()
    return new Promise((resolve) => server.close(resolve))
  }
  return state
}

/** Everything a value shows: its JSON, and `inspect` with hidden fields and the cause chain. */
function shown(value) {
  let json
  try {
    json = JSON.stringify(value)
  } catch {
    json = ''
  }
  return `${json}\n${inspect(value, { showHidden: true, depth: 6 })}`
}

async function exercise(client) {
  const seen = []
  const calls = [
    () => client.mint({ entity: 'PEO' }),
    () => client.mintBatch([{ entity: 'PEO' }, { entity: 'PLACE' }]),
    () => client.validate(`CT-A-CHI-${1000 + seen.length}-P-24-A-0`),
    () => client.healthCheck(),
  ]
  for (const call of calls) {
    try {
      seen.push(shown(await call()))
    } catch (err) {
      seen.push(shown(err), err.stack)
    }
  }
  return seen
}

describe.each(['native', 'fetch'])('a service that echoes the key, over the %s transport', (transport) => {
  test('no event, channel message, logger record, warning, stat or metric carries it', async () => {
    const primary = await hostileService()
    const secondary = await hostileService()
    const heard = []
    const logged = []
    const warnings = []
    const channel = diagnosticsChannel.tracingChannel(TRACING_CHANNEL)
    const traced = []
    const handlers = Object.fromEntries(
      ['start', 'end', 'asyncStart', 'asyncEnd', 'error'].map((part) => [part, (ctx) => traced.push(part, shown(ctx))]),
    )
    channel.subscribe(handlers)
    const emitWarning = process.emitWarning
    process.emitWarning = (message, options) => warnings.push(shown(message), shown(options))
    const log = (...args) => logged.push(shown(args))
    const client = new ChittyIDClient({
      serviceUrl: [primary.url, secondary.url],
      apiKey: KEY,
      transport,
      timeout: 2000,
      acceptPlaceholders: true,
      cache: false,
      retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2, jitter: 0 },
      circuitBreaker: { failureThreshold: 2, resetTimeout: 20 },
      failover: { probeIntervalMs: 20, failbackSuccesses: 1 },
      connection: { healthCheckInterval: 20, reconnectDelay: 20, maxReconnectDelay: 20, jitter: 0 },
      logger: { debug: log, info: log, warn: log, error: log },
    })
    for (const name of CLIENT_EVENTS) client.on(name, (payload) => heard.push(name, shown(payload)))
    client.on(EventEmitter.errorMonitor, (err) => heard.push('errorMonitor', `${shown(err)}\n${err.stack}`))
    const observed = []
    try {
      await client.connect()
      for (const mode of Object.keys(ANSWERS)) {
        primary.mode = mode
        secondary.mode = mode
        observed.push(mode, ...(await exercise(client)))
        // Let the health checks and probes of this mode run and report (after the 429, the
        // pause holds them back).
        if (mode === 'rateLimited') break
        const before = primary.seen + secondary.seen
        await waitFor(() => primary.seen + secondary.seen >= before + 4, `checks under ${mode}`, 10000)
        await new Promise((resolve) => setTimeout(resolve, 30))
      }
      observed.push(shown(client.getStats()), client.metrics(), shown(client))
    } finally {
      await client.close()
      channel.unsubscribe(handlers)
      process.emitWarning = emitWarning
      await primary.close()
      await secondary.close()
    }
    const names = heard.filter((_, i) => i % 2 === 0)
    // The observers did hear the hostile answers.
    for (const name of ['retry', 'failover', 'placeholder', 'rateLimited', 'circuitOpen', 'error', 'errorMonitor'])
      expect(names).toContain(name)
    expect(traced).toContain('error')
    expect(traced.join('\n')).toMatch(/"probe":"(connection|failover)"/)
    expect(logged.join('\n')).toContain('[redacted]')
    for (const [what, text] of [
      ['events', heard.join('\n')],
      ['channel', traced.join('\n')],
      ['logger', logged.join('\n')],
      ['warnings', warnings.join('\n')],
      ['calls, stats, metrics', observed.join('\n')],
    ]) {
      expect(
        text.includes(KEY)
          ? `${what}: ${text.slice(Math.max(0, text.indexOf(KEY) - 300), text.indexOf(KEY) + 50)}`
          : what,
      ).toBe(what)
    }
  }, 60000)
})

test('the native debug log (CHITTYID_LOG=trace) never prints the key a service echoes', async () => {
  const service = await hostileService()
  const script = `
    const { ChittyIDClient } = require(process.argv[1]);
    const client = new ChittyIDClient({ serviceUrl: process.argv[2], apiKey: process.argv[3], acceptPlaceholders: true,
      cache: false, circuitBreaker: false, retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 } });
    (async () => {
      for (const mode of process.argv[4].split(',')) {
        await fetch(process.argv[2].replace('/v1', '/mode/') + mode).catch(() => {});
        for (const call of [() => client.mint({ entity: 'PEO' }), () => client.validate('CT-A-CHI-1234-P-24-A-0'), () => client.healthCheck()])
          await call().catch(() => {});
      }
      await client.close();
    })();`
  // The child switches modes through the side channel (its own requests carry no key).
  const modes = Object.keys(ANSWERS)
  const original = service.mode
  try {
    const run = promisify(execFile)(process.execPath, ['-e', script, ROOT, service.url, KEY, modes.join(',')], {
      env: { ...process.env, CHITTYID_LOG: 'trace', CHITTYID_TRANSPORT: 'native' },
      encoding: 'utf8',
      timeout: 30000,
    })
    const { stderr } = await run
    expect(stderr).toContain('chittyid_client') // logging was on
    expect(stderr).toContain('accepted a placeholder id')
    const at = stderr.indexOf(KEY)
    expect(at === -1 ? 'no key' : stderr.slice(Math.max(0, at - 300), at + 50)).toBe('no key')
  } finally {
    service.mode = original
    await service.close()
  }
}, 60000)
