// The `logger` option: pino, winston and console-style loggers receive structured records of
// every attempt and of the client's events, never the API key.
import { createRequire } from 'node:module'
import { Writable } from 'node:stream'
import pino from 'pino'
import winston from 'winston'
import { ChittyIDClient, ChittyIDEmulator } from '../index.mjs'
import { echoingServer, startPair } from './helpers.mjs'

const KEY = 'sk-telemetry-secret-0123456789'
const native = createRequire(import.meta.url)('../lib/native/index.js')
/** The native queue of attempt records holds this many (src/observe/telemetry.rs MAX_QUEUED). */
const RECORD_QUEUE = 65536

const fastRetry = { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2, jitter: 0 }

describe('logger option', () => {
  test('a pino logger gets JSON records (object first): attempts, retries, key redacted', async () => {
    const server = await echoingServer([503])
    const lines = []
    const stream = new Writable({
      write(chunk, _enc, cb) {
        lines.push(
          ...chunk
            .toString()
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l)),
        )
        cb()
      },
    })
    const logger = pino({ level: 'debug' }, stream)
    const client = new ChittyIDClient({
      serviceUrl: server.url,
      apiKey: KEY,
      logger,
      name: 'billing',
      retry: fastRetry,
    })
    try {
      expect(await client.mint({ entity: 'PEO' })).toBe('CT-A-CHI-1234-P-24-A-0')
      await new Promise((r) => setImmediate(r))
      const requests = lines.filter((l) => l.event === 'request')
      expect(requests).toHaveLength(2)
      const [failed, ok] = requests
      expect(failed).toMatchObject({
        level: 40, // warn
        event: 'request',
        client: 'billing',
        operation: 'mint',
        attempt: 1,
        method: 'POST',
        endpoint: new URL(server.url).origin,
        status: 503,
        code: 'EHTTP',
        msg: 'chittyid mint attempt 1: 503 in ' + failed.durationMs + ' ms',
      })
      expect(failed.error).toMatch(/\[redacted\]/i)
      expect(ok).toMatchObject({ level: 20, operation: 'mint', attempt: 2, status: 201, method: 'POST' })
      expect(ok.code).toBeUndefined()
      expect(typeof ok.durationMs).toBe('number')
      expect(ok.durationMs).toBeGreaterThan(0)
      expect(ok.idempotencyKey).toBe(failed.idempotencyKey)
      expect(ok.idempotencyKey).toBe(server.seen[0].headers['idempotency-key'])
      const retry = lines.find((l) => l.event === 'retry')
      expect(retry).toMatchObject({ level: 30, operation: 'mint', attempt: 1, code: 'EHTTP', client: 'billing' })
      // The server really echoed the key; none of it reached the logs.
      expect(server.seen[0].headers.authorization).toBe(`Bearer ${KEY}`)
      expect(JSON.stringify(lines)).not.toContain(KEY)
    } finally {
      await client.close()
      await server.close()
    }
  })

  test('winston gets (message, meta): the record lands in its info object', async () => {
    const infos = []
    class Capture extends winston.Transport {
      log(info, callback) {
        infos.push(info)
        callback()
      }
    }
    const logger = winston.createLogger({ level: 'debug', transports: [new Capture()] })
    const pair = await startPair({ token: KEY, client: { logger, cache: false } })
    try {
      const id = await pair.client.mint({ entity: 'EVNT' })
      await pair.client.validate(id)
      const records = infos.filter((i) => i.event === 'request')
      expect(records.map((r) => [r.level, r.operation, r.method, r.status])).toEqual([
        ['debug', 'mint', 'POST', 201],
        ['debug', 'validate', 'GET', 200],
      ])
      expect(records[0].message).toMatch(/^chittyid mint attempt 1: 201 in [0-9.]+ ms$/)
      expect(records[0].endpoint).toBe(new URL(pair.emulator.url).origin)
      expect(JSON.stringify(infos)).not.toContain(KEY)
    } finally {
      await pair.close()
    }
  })

  test('a console-style logger gets (message, record); failures at warn, breaker at error', async () => {
    const calls = []
    const logger = Object.fromEntries(
      ['debug', 'info', 'warn', 'error'].map((level) => [level, (...args) => calls.push([level, ...args])]),
    )
    const server = await echoingServer([500])
    const client = new ChittyIDClient({
      serviceUrl: server.url,
      apiKey: KEY,
      logger,
      retry: false,
      circuitBreaker: { failureThreshold: 1 },
    })
    try {
      await expect(client.mint({ entity: 'PEO' })).rejects.toMatchObject({ status: 500 })
      await new Promise((r) => setImmediate(r))
      const warn = calls.find(([level, , record]) => level === 'warn' && record.event === 'request')
      expect(typeof warn[1]).toBe('string')
      expect(warn[2]).toMatchObject({ operation: 'mint', status: 500, code: 'EHTTP', attempt: 1 })
      const open = calls.find(([, , record]) => record.event === 'circuitOpen')
      expect(open[0]).toBe('error')
      expect(open[2]).toMatchObject({ failures: 1 })
      expect(JSON.stringify(calls)).not.toContain(KEY)
    } finally {
      await client.close()
      await server.close()
    }
  })

  test('records of many concurrent calls all arrive, in batches, none dropped', async () => {
    const records = []
    const logger = { debug: (msg, r) => records.push(r), info() {}, warn: (msg, r) => records.push(r), error() {} }
    const pair = await startPair({ client: { logger } })
    try {
      const ids = await Promise.all(Array.from({ length: 300 }, () => pair.client.mint({ entity: 'PEO' })))
      expect(new Set(ids).size).toBe(300)
      const requests = records.filter((r) => r.event === 'request')
      expect(requests).toHaveLength(300)
      expect(new Set(requests.map((r) => r.idempotencyKey)).size).toBe(300)
      expect(records.some((r) => r.event === 'telemetryDropped')).toBe(false)
    } finally {
      await pair.close()
    }
  })

  test('records turned away by a full queue are counted: getStats().telemetryDropped, the metric, the logger', async () => {
    // The native client behind the client, caught as it reads its stats; its test hook
    // `emitTestTelemetry` queues a burst of records while this thread is busy in it, as a burst
    // of attempts from the I/O thread arrives while the JS thread is busy elsewhere.
    let nativeClient
    const getStats = native.NativeClient.prototype.getStats
    native.NativeClient.prototype.getStats = function (...args) {
      nativeClient = this
      return getStats.apply(this, args)
    }
    const dropped = []
    const logger = {
      debug() {},
      info() {},
      warn: (msg, r) => r?.event === 'telemetryDropped' && dropped.push(r.dropped),
      error() {},
    }
    const pair = await startPair({ client: { logger } })
    try {
      const { client } = pair
      expect(client.getStats().telemetryDropped).toBe(0)
      expect(nativeClient).toBeDefined()
      expect(client.metrics()).toMatch(/^chittyid_client_telemetry_dropped_total 0$/m)
      nativeClient.emitTestTelemetry(RECORD_QUEUE + 7)
      expect(client.getStats().telemetryDropped).toBe(7)
      expect(client.metrics()).toMatch(/^chittyid_client_telemetry_dropped_total 7$/m)
      // The next call drains the queue: the logger hears of the drop once. The call's own
      // record may come while the queue is still full, and be dropped (and counted) too.
      await client.mint({ entity: 'PEO' })
      const first = client.getStats().telemetryDropped
      expect([7, 8]).toContain(first)
      expect(dropped).toEqual([first])
      // Below the bound nothing is dropped; above it the count goes on.
      nativeClient.emitTestTelemetry(10)
      await client.mint({ entity: 'PEO' })
      expect(client.getStats().telemetryDropped).toBe(first)
      nativeClient.emitTestTelemetry(RECORD_QUEUE + 2)
      expect(client.getStats().telemetryDropped).toBe(first + 2)
      await client.mint({ entity: 'PEO' })
      const total = client.getStats().telemetryDropped
      expect([first + 2, first + 3]).toContain(total)
      expect(dropped).toEqual([first, total - first])
      expect(client.metrics()).toMatch(new RegExp(`^chittyid_client_telemetry_dropped_total ${total}$`, 'm'))
    } finally {
      native.NativeClient.prototype.getStats = getStats
      await pair.close()
    }
  }, 60000)

  test('a logger that throws changes nothing for the caller (one process warning)', async () => {
    const warnings = []
    const emitWarning = process.emitWarning
    process.emitWarning = (message, options) => warnings.push({ message, ...options })
    const boom = () => {
      throw new Error('disk full')
    }
    const pair = await startPair({ client: { logger: { debug: boom, info: boom, warn: boom, error: boom } } })
    try {
      await pair.client.mint({ entity: 'PEO' })
      await pair.client.mint({ entity: 'PEO' })
      await new Promise((r) => setImmediate(r))
      expect(warnings).toEqual([
        expect.objectContaining({ code: 'CHITTYID_LOGGER_THREW', message: expect.stringContaining('disk full') }),
      ])
    } finally {
      process.emitWarning = emitWarning
      await pair.close()
    }
  })

  test('a placeholder id is logged at warn: the mint resolved to an id that was not minted', async () => {
    const deployed = await ChittyIDEmulator.start({ port: 0, profile: 'deployed' })
    const lines = []
    const log = (level) => (message, record) => lines.push({ level, ...record })
    const logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
    const client = new ChittyIDClient({ serviceUrl: deployed.url, acceptPlaceholders: true, logger })
    try {
      deployed.setFault({ placeholder: 'MINT_UNAVAILABLE', remaining: 1 })
      const id = await client.mint({ entity: 'PEO' })
      expect(lines.filter((l) => l.event === 'placeholder')).toEqual([
        { level: 'warn', event: 'placeholder', endpoint: deployed.url, chittyId: id, errorCode: 'MINT_UNAVAILABLE' },
      ])
    } finally {
      await client.close()
      await deployed.close()
    }
  })

  test('bad logger options are TypeErrors at construction', () => {
    for (const [config, text] of [
      [{ logger: { info() {} } }, /no debug, warn, error methods/],
      [{ logger: 'pino' }, /must be a logger object/],
      [{ logger: console, loggerStyle: 'json' }, /loggerStyle/],
    ]) {
      expect(() => new ChittyIDClient(config)).toThrow(
        expect.objectContaining({
          name: 'TypeError',
          code: 'ERR_INVALID_ARG_VALUE',
          message: expect.stringMatching(text),
        }),
      )
    }
  })
})
