import {
  ChittyIDClient,
  ChittyIDEmulator,
  ChittyIDConnectionManager,
  ConnectionState,
  getSharedConnectionManager,
  resetSharedConnectionManager,
} from '../index.mjs'
import { errorMonitor, once } from 'node:events'
import { closedPort } from './helpers.mjs'
import { heldStill, record, sleep, waitFor } from './wait.mjs'

const CONNECTION_EVENTS = [
  'stateChange',
  'connected',
  'disconnected',
  'reconnecting',
  'unhealthy',
  'maxReconnectAttemptsReached',
  'error',
]

/** Small intervals so state changes take milliseconds; exact backoff unless a test wants jitter. */
const fast = (overrides = {}) => ({
  healthCheckInterval: 50,
  reconnectDelay: 20,
  maxReconnectDelay: 80,
  reconnectMultiplier: 2,
  jitter: 0,
  ...overrides,
})

let emulator
const clients = []

beforeAll(async () => {
  emulator = await ChittyIDEmulator.start({ port: 0 })
})

afterEach(async () => {
  emulator.setFault({})
  await Promise.all(clients.splice(0).map((c) => c.close()))
})

afterAll(() => emulator.close())

function client(connection = fast(), extra = {}) {
  const c = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, connection, ...extra })
  clients.push(c)
  return c
}

const healthRequests = () => emulator.stats().requests.health

describe('client connection manager', () => {
  test('does nothing until connect(): no background traffic by default', async () => {
    const before = healthRequests()
    const c = client(fast({ healthCheckInterval: 5 }))
    await sleep(60)
    expect(healthRequests()).toBe(before)
    expect(c.getConnectionState()).toMatchObject({
      state: 'DISCONNECTED',
      lastHealthCheck: null,
      lastSuccessfulConnection: null,
      reconnectAttempts: 0,
      isHealthy: false,
      nextCheckIn: null,
      enabled: true,
    })
  })

  test('connect() resolves true, emits stateChange and connected, then checks every interval', async () => {
    const c = client()
    const seen = record(c, CONNECTION_EVENTS)
    const started = Date.now()
    expect(await c.connect()).toBe(true)
    await waitFor(() => seen.count('connected') === 1, 'connected')
    expect(seen.names()).toEqual(['stateChange', 'stateChange', 'connected'])
    expect(seen.of('stateChange').map(({ from, to }) => [from, to])).toEqual([
      ['DISCONNECTED', 'CONNECTING'],
      ['CONNECTING', 'CONNECTED'],
    ])
    const [change] = seen.of('stateChange')
    expect(change.timestamp).toBeGreaterThanOrEqual(started)
    expect(change.timestamp).toBeLessThanOrEqual(Date.now())
    expect(seen.of('connected')[0]).toEqual({ serviceUrl: c.serviceUrl })

    const state = c.getConnectionState()
    expect(state.state).toBe('CONNECTED')
    expect(state.isHealthy).toBe(true)
    expect(state.lastSuccessfulConnection).toBeGreaterThanOrEqual(started)
    expect(state.stats.totalConnections).toBe(1)
    expect(state.stats.successfulHealthChecks).toBeGreaterThanOrEqual(1)
    expect(state.stats.failedHealthChecks).toBe(0)

    await waitFor(() => c.getConnectionState().stats.totalHealthChecks >= 3, 'periodic health checks', 2000)
    expect(c.getConnectionState().state).toBe('CONNECTED')
    expect(await c.connect()).toBe(true)
    expect(seen.count('stateChange')).toBe(2)
  })

  test('CONNECTED → unhealthy → RECONNECTING → CONNECTED with the exact backoff delays', async () => {
    const c = client()
    const seen = record(c, CONNECTION_EVENTS)
    expect(await c.connect()).toBe(true)

    emulator.setFault({ down: true })
    await waitFor(() => seen.count('reconnecting') >= 5, 'five reconnect attempts')
    emulator.setFault({})
    await waitFor(() => seen.count('connected') === 2, 'reconnected')

    const names = seen.names()
    const lost = names.indexOf('unhealthy')
    expect(names.slice(lost, lost + 3)).toEqual(['unhealthy', 'stateChange', 'reconnecting'])
    expect(seen.of('unhealthy')).toEqual([{ serviceUrl: c.serviceUrl }])
    expect(seen.of('stateChange').map(({ from, to }) => `${from}>${to}`)).toEqual([
      'DISCONNECTED>CONNECTING',
      'CONNECTING>CONNECTED',
      'CONNECTED>RECONNECTING',
      'RECONNECTING>CONNECTED',
    ])
    const reconnecting = seen.of('reconnecting')
    reconnecting.forEach((e, i) => expect(e.attempt).toBe(i + 1))
    // min(20 × 2^attempts, 80)
    expect(reconnecting.slice(0, 5).map((e) => e.delay)).toEqual([20, 40, 80, 80, 80])

    // The attempts really waited their delays: 20 + 40 + 80 + 80 ms between the first and the
    // fifth event (seen on the JS thread, so allow for delivery latency at both ends).
    const times = seen.events.filter(([n]) => n === 'reconnecting').map(([, , t]) => t)
    expect(times[4] - times[0]).toBeGreaterThanOrEqual(220 - 30)
    expect(names[names.length - 1]).toBe('connected')
    const state = c.getConnectionState()
    expect(state.state).toBe('CONNECTED')
    expect(state.reconnectAttempts).toBe(0)
    expect(state.stats.totalConnections).toBe(2)
    expect(state.stats.totalReconnections).toBe(reconnecting.length)
    expect(state.stats.failedHealthChecks).toBeGreaterThanOrEqual(reconnecting.length)
  })

  test('jittered delays stay within ±jitter of the schedule', async () => {
    const c = client(fast({ reconnectDelay: 40, maxReconnectDelay: 160, jitter: 0.5, maxReconnectAttempts: 4 }))
    const seen = record(c, CONNECTION_EVENTS)
    await c.connect()
    emulator.setFault({ down: true })
    await waitFor(() => seen.count('maxReconnectAttemptsReached') === 1, 'giving up', 5000)
    const delays = seen.of('reconnecting').map((e) => e.delay)
    expect(delays).toHaveLength(4)
    delays.forEach((d, i) => {
      const base = Math.min(40 * 2 ** i, 160)
      expect(d).toBeGreaterThanOrEqual(Math.floor(base * 0.5))
      expect(d).toBeLessThanOrEqual(Math.min(Math.ceil(base * 1.5), 160))
    })
  })

  test('maxReconnectAttempts → FAILED and maxReconnectAttemptsReached; checks stop', async () => {
    const c = client(fast({ maxReconnectAttempts: 3 }))
    const seen = record(c, CONNECTION_EVENTS)
    await c.connect()
    emulator.setFault({ down: true })
    await waitFor(() => seen.count('maxReconnectAttemptsReached') === 1, 'maxReconnectAttemptsReached')
    expect(seen.of('maxReconnectAttemptsReached')).toEqual([{ attempts: 3 }])
    expect(seen.of('reconnecting').map((e) => e.attempt)).toEqual([1, 2, 3])
    const last = seen.of('stateChange').at(-1)
    expect([last.from, last.to]).toEqual(['RECONNECTING', 'FAILED'])
    const state = c.getConnectionState()
    expect(state).toMatchObject({ state: 'FAILED', reconnectAttempts: 3, nextCheckIn: null, isHealthy: false })

    const checks = healthRequests()
    emulator.setFault({})
    await sleep(150)
    expect(healthRequests()).toBe(checks)
    expect(c.getConnectionState().state).toBe('FAILED')

    // connect() starts over from FAILED.
    expect(await c.connect()).toBe(true)
    expect(c.getConnectionState()).toMatchObject({ state: 'CONNECTED', reconnectAttempts: 0 })
  })

  test('a failed first connect() resolves false, reports why on `error`, and keeps reconnecting', async () => {
    emulator.setFault({ down: true })
    const c = client()
    const seen = record(c, CONNECTION_EVENTS)
    expect(await c.connect()).toBe(false)
    await waitFor(() => seen.count('error') === 1, 'error event')
    const [err] = seen.of('error')
    expect(err).toBeInstanceOf(Error)
    expect(err.code).toBe('EHTTP')
    expect(err.message).toContain('503')
    expect(c.getConnectionState().state).toBe('RECONNECTING')
    emulator.setFault({})
    await waitFor(() => c.getConnectionState().state === 'CONNECTED', 'CONNECTED')
    // Events travel to JS asynchronously: wait for the CONNECTED one, not just the state.
    await waitFor(() => seen.of('stateChange').some(({ to }) => to === 'CONNECTED'), 'stateChange to CONNECTED')
    expect(seen.of('stateChange').map(({ to }) => to)).toEqual(['CONNECTING', 'RECONNECTING', 'CONNECTED'])
  })

  test('a failed connect() without an `error` listener does not crash', async () => {
    const port = await closedPort()
    const c = new ChittyIDClient({
      serviceUrl: `http://127.0.0.1:${port}/v1`,
      connection: fast({ maxReconnectAttempts: 1 }),
    })
    clients.push(c)
    const seen = record(c, ['stateChange', 'maxReconnectAttemptsReached'])
    expect(await c.connect()).toBe(false)
    await waitFor(() => seen.count('maxReconnectAttemptsReached') === 1, 'giving up')
    expect(c.getConnectionState().state).toBe('FAILED')
  })

  test('`error` reaches errorMonitor listeners, before the `error` listeners, and alone does not crash', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/v1`
    const slow = fast({ reconnectDelay: 60000, maxReconnectDelay: 60000 })
    const order = []
    const alone = client(slow, { serviceUrl: url })
    alone.on(errorMonitor, (err) => order.push(`monitor ${err.code}`))
    expect(await alone.connect()).toBe(false)
    expect(order).toEqual(['monitor ECONNREFUSED'])

    const both = client(slow, { serviceUrl: url })
    both.on('error', (err) => order.push(`error ${err.code}`))
    both.on(errorMonitor, (err) => order.push(`monitor ${err.code}`))
    expect(await both.connect()).toBe(false)
    expect(order.slice(1)).toEqual(['monitor ECONNREFUSED', 'error ECONNREFUSED'])

    const manager = new ChittyIDConnectionManager({ serviceUrl: url.slice(0, -3), reconnectDelay: 60000 })
    manager.on(errorMonitor, (err) => order.push(`compat monitor ${err.code}`))
    expect(await manager.connect()).toBe(false)
    await manager.reset()
    expect(order.slice(3)).toEqual(['compat monitor EUNHEALTHY'])
  })

  test('concurrent connect() calls share one health check', async () => {
    emulator.setFault({ latencyMs: 40 })
    const c = client(fast({ healthCheckInterval: 60000 }))
    const before = healthRequests()
    const results = await Promise.all([c.connect(), c.connect(), c.connect()])
    expect(results).toEqual([true, true, true])
    expect(healthRequests() - before).toBe(1)
  })

  test('disconnect() stops checks at once and emits disconnected', async () => {
    const c = client()
    const seen = record(c, CONNECTION_EVENTS)
    await c.connect()
    await c.disconnect()
    expect(c.getConnectionState()).toMatchObject({ state: 'DISCONNECTED', nextCheckIn: null })
    await waitFor(() => seen.count('disconnected') === 1, 'disconnected')
    expect(seen.of('disconnected')).toEqual([{ serviceUrl: c.serviceUrl }])
    // A check already on the wire (due while a loaded machine held this thread) may land
    // after the event; then nothing more, though checks were due every 50 ms.
    const checks = await heldStill(healthRequests, 'a check in flight to land')
    await sleep(150)
    expect(healthRequests()).toBe(checks)
    await c.disconnect()
    await sleep(20)
    expect(seen.count('disconnected')).toBe(1)
  })

  test('connect() and disconnect() settle after their events reached the listeners; close() right after loses none', async () => {
    const c = client(fast({ healthCheckInterval: 60000 }))
    const seen = record(c, CONNECTION_EVENTS)
    for (let i = 1; i <= 20; i++) {
      expect(await c.connect()).toBe(true)
      // No waiting: the events are there when the promise settles.
      expect(seen.count('connected')).toBe(i)
      expect(seen.of('stateChange').at(-1)).toMatchObject({ from: 'CONNECTING', to: 'CONNECTED' })
      await c.disconnect()
      expect(seen.count('disconnected')).toBe(i)
      expect(seen.of('stateChange').at(-1)).toMatchObject({ from: 'CONNECTED', to: 'DISCONNECTED' })
    }
    await c.connect()
    await c.disconnect()
    await c.close()
    expect(seen.count('disconnected')).toBe(21)

    const down = client(fast({ reconnectDelay: 60000, maxReconnectDelay: 60000 }), {
      serviceUrl: `http://127.0.0.1:${await closedPort()}`,
    })
    const failed = record(down, CONNECTION_EVENTS)
    for (let i = 1; i <= 10; i++) {
      expect(await down.connect()).toBe(false)
      expect(failed.count('error')).toBe(i)
      expect(failed.count('reconnecting')).toBe(i)
      await down.disconnect()
    }
  })

  test('disconnect() while the first check is in flight resolves that connect() with false', async () => {
    emulator.setFault({ latencyMs: 300 })
    const c = client()
    const pending = c.connect()
    await sleep(30)
    await c.disconnect()
    expect(await pending).toBe(false)
    expect(c.getConnectionState().state).toBe('DISCONNECTED')
  })

  test('a listener that throws neither stops the other listeners nor the process', async () => {
    // (The process-level part — exit code 0, a warning on stderr — is in lifecycle.test.mjs.)
    const c = client()
    const calls = []
    c.on('connected', () => {
      throw new Error('listener bug')
    })
    c.on('connected', () => calls.push('second'))
    c.on('stateChange', () => {
      throw new Error('another bug')
    })
    c.on('stateChange', ({ to }) => calls.push(to))
    expect(await c.connect()).toBe(true)
    await waitFor(() => calls.includes('second'), 'the second listener')
    expect(calls).toEqual(['CONNECTING', 'CONNECTED', 'second'])
    // Still working afterwards.
    expect(c.getConnectionState().state).toBe('CONNECTED')
    expect(await c.healthCheck()).toBe(true)
  })

  test('autoConnect: true starts monitoring after construction; listeners added right after hear it all', async () => {
    const c = client(fast({ autoConnect: true }))
    const seen = record(c, CONNECTION_EVENTS)
    await waitFor(() => seen.count('connected') === 1, 'connected')
    expect(seen.of('stateChange')[0]).toMatchObject({ from: 'DISCONNECTED', to: 'CONNECTING' })
  })

  test('native events reach listeners added with once() and events.once() too', async () => {
    const c = client(fast(), { retry: { initialDelayMs: 5, jitter: 0 }, circuitBreaker: false })
    const retried = once(c, 'retry')
    const payloads = []
    c.once('retry', (e) => payloads.push(e))
    emulator.setFault({ errorStatus: 503, remaining: 1, routes: ['mint'] })
    await c.mint({ entity: 'PEO' })
    const [event] = await retried
    expect(event).toMatchObject({ operation: 'mint', attempt: 1, delay: 5 })
    await waitFor(() => payloads.length === 1, 'the once() listener')
    expect(c.listenerCount('retry')).toBe(0)
  })

  test('connection: false disables the manager', async () => {
    const c = client(false)
    expect(c.getConnectionState()).toMatchObject({ state: 'DISCONNECTED', enabled: false })
    await expect(c.connect()).rejects.toMatchObject({
      code: 'ERR_INVALID_STATE',
      message: expect.stringMatching(/disabled/),
    })
    await c.disconnect()
  })

  test('unusable connection options are a TypeError', () => {
    for (const connection of [
      { healthCheckInterval: 0 },
      { reconnectMultiplier: 0.5 },
      { jitter: 2 },
      { reconnectDelay: -1 },
      { maxReconnectAttempts: -1 },
      { healthCheckInterval: 'often' },
      'yes',
    ]) {
      expect(() => new ChittyIDClient({ connection })).toThrow(TypeError)
    }
  })

  test('connect() honours an AbortSignal', async () => {
    emulator.setFault({ latencyMs: 300 })
    const c = client()
    const err = await c.connect({ signal: AbortSignal.timeout(20) }).catch((e) => e)
    expect(err.name).toBe('AbortError')
  })
})

describe('compat ChittyIDConnectionManager', () => {
  const managers = []
  afterEach(async () => {
    for (const m of managers.splice(0)) await m.reset()
    resetSharedConnectionManager()
    // As in v1, reset() does not wait for a health check already in flight (its answer is then
    // ignored); let it reach the emulator before the next test counts health requests.
    await healthTrafficSettled()
  })

  /** Resolves once the emulator has seen no health request for 50 ms (at most 2 s). */
  async function healthTrafficSettled() {
    const deadline = Date.now() + 2000
    let last = healthRequests()
    while (Date.now() < deadline) {
      await sleep(50)
      const now = healthRequests()
      if (now === last) return
      last = now
    }
    throw new Error('health requests still arriving 2 s after reset()')
  }

  function manager(options = {}) {
    const m = new ChittyIDConnectionManager({
      serviceUrl: emulator.url,
      healthCheckInterval: 40,
      reconnectDelay: 20,
      maxReconnectDelay: 100,
      ...options,
    })
    managers.push(m)
    return m
  }

  test('ConnectionState values equal their names', () => {
    expect(ConnectionState).toEqual({
      DISCONNECTED: 'DISCONNECTED',
      CONNECTING: 'CONNECTING',
      CONNECTED: 'CONNECTED',
      RECONNECTING: 'RECONNECTING',
      FAILED: 'FAILED',
    })
  })

  test('defaults and initial properties', () => {
    const m = new ChittyIDConnectionManager()
    expect(m).toMatchObject({
      serviceUrl: 'https://id.chitty.cc',
      healthCheckInterval: 30000,
      reconnectDelay: 1000,
      maxReconnectDelay: 60000,
      reconnectMultiplier: 2,
      maxReconnectAttempts: Infinity,
      state: 'DISCONNECTED',
      reconnectAttempts: 0,
      lastHealthCheck: null,
      lastSuccessfulConnection: null,
      healthCheckTimer: null,
      reconnectTimer: null,
      stats: {
        totalConnections: 0,
        totalReconnections: 0,
        totalFailures: 0,
        totalHealthChecks: 0,
        successfulHealthChecks: 0,
        failedHealthChecks: 0,
      },
    })
    expect(m.getStats()).toMatchObject({
      healthCheckSuccessRate: '0.00%',
      currentState: 'DISCONNECTED',
      isConnected: false,
    })
  })

  test('the apiKey is kept but not enumerable', () => {
    const m = new ChittyIDConnectionManager({ apiKey: 'secret-key-1' })
    expect(m.apiKey).toBe('secret-key-1')
    expect(Object.keys(m)).not.toContain('apiKey')
    expect(JSON.stringify(m.getState())).not.toContain('secret-key-1')
  })

  test("connect(): CONNECTED, monitoring (healthCheckTimer truthy, unref'd), connected event, stats", async () => {
    const m = manager({ healthCheckInterval: 60000 })
    const seen = record(m, CONNECTION_EVENTS)
    const before = healthRequests()
    expect(await m.connect()).toBe(true)
    expect(healthRequests() - before).toBe(1)
    expect(m.state).toBe(ConnectionState.CONNECTED)
    expect(m.healthCheckTimer).toBeTruthy()
    expect(m.healthCheckTimer.hasRef()).toBe(false)
    expect(m.reconnectTimer).toBeNull()
    expect(m.lastSuccessfulConnection).toEqual(expect.any(Number))
    expect(m.lastHealthCheck).toEqual(expect.any(Number))
    expect(seen.names()).toEqual(['stateChange', 'stateChange', 'connected'])
    expect(seen.of('connected')).toEqual([{ serviceUrl: emulator.url }])
    expect(m.getStats()).toMatchObject({
      totalConnections: 1,
      totalHealthChecks: 1,
      successfulHealthChecks: 1,
      healthCheckSuccessRate: '100.00%',
      currentState: 'CONNECTED',
      isConnected: true,
    })
    const state = m.getState()
    expect(state).toMatchObject({ state: 'CONNECTED', reconnectAttempts: 0, isHealthy: true })
    expect(state.uptime).toBeGreaterThanOrEqual(0)
    // Option values are live properties.
    m.healthCheckInterval = 20
    m.startHealthMonitoring()
    await waitFor(() => m.stats.totalHealthChecks >= 3, 'monitoring checks')
  })

  test('concurrent connect() calls share one attempt and resolve to the same value', async () => {
    emulator.setFault({ latencyMs: 30 })
    const m = manager({ healthCheckInterval: 60000 })
    const before = healthRequests()
    const a = m.connect()
    const b = m.connect()
    expect(b).toBe(a)
    expect(await Promise.all([a, b])).toEqual([true, true])
    expect(healthRequests() - before).toBe(1)
    expect(m.stats.totalConnections).toBe(1)

    emulator.setFault({ down: true, latencyMs: 30 })
    const down = manager({ reconnectDelay: 10000 })
    const c = down.connect()
    const d = down.connect()
    expect(d).toBe(c)
    expect(await Promise.all([c, d])).toEqual([false, false])
  })

  test('a failed connect() never rejects: FAILED, error only when heard, reconnect scheduled', async () => {
    emulator.setFault({ down: true })
    const quiet = manager({ reconnectDelay: 10000, maxReconnectDelay: 60000 })
    expect(await quiet.connect()).toBe(false)

    const m = manager({ reconnectDelay: 10000, maxReconnectDelay: 60000 })
    const seen = record(m, CONNECTION_EVENTS)
    expect(await m.connect()).toBe(false)
    expect(seen.of('stateChange').map(({ from, to }) => `${from}>${to}`)).toEqual([
      'DISCONNECTED>CONNECTING',
      'CONNECTING>FAILED',
      'FAILED>RECONNECTING',
    ])
    expect(seen.of('error')[0]).toBeInstanceOf(Error)
    expect(seen.of('reconnecting')).toEqual([{ attempt: 1, delay: 10000 }])
    expect(m.state).toBe('RECONNECTING')
    expect(m.reconnectTimer).toBeTruthy()
    expect(m.reconnectTimer.hasRef()).toBe(false)
    expect(m.healthCheckTimer).toBeNull()
    expect(m.stats).toMatchObject({ totalFailures: 1, failedHealthChecks: 1, totalReconnections: 1 })
    expect(m.getStats().healthCheckSuccessRate).toBe('0.00%')

    m.clearReconnectTimer()
    expect(m.reconnectTimer).toBeNull()
  })

  test('scheduleReconnect() uses min(reconnectDelay * multiplier^attempts, max) from writable reconnectAttempts', async () => {
    const m = manager({ reconnectDelay: 1000, reconnectMultiplier: 3, maxReconnectDelay: 20000 })
    const seen = record(m, ['reconnecting', 'stateChange'])
    const delays = []
    for (const attempts of [0, 1, 2, 3, 10]) {
      m.reconnectAttempts = attempts
      m.scheduleReconnect()
      expect(m.reconnectAttempts).toBe(attempts + 1)
      expect(m.reconnectTimer).toBeTruthy()
      delays.push(seen.of('reconnecting').at(-1))
    }
    expect(delays).toEqual([
      { attempt: 1, delay: 1000 },
      { attempt: 2, delay: 3000 },
      { attempt: 3, delay: 9000 },
      { attempt: 4, delay: 20000 },
      { attempt: 11, delay: 20000 },
    ])
    expect(seen.count('stateChange')).toBe(1)
    m.clearReconnectTimer()
    expect(m.reconnectTimer).toBeNull()
  })

  test('scheduleReconnect() at maxReconnectAttempts → FAILED and maxReconnectAttemptsReached', () => {
    const m = manager({ maxReconnectAttempts: 2 })
    const seen = record(m, CONNECTION_EVENTS)
    m.reconnectAttempts = 2
    m.scheduleReconnect()
    expect(m.state).toBe('FAILED')
    expect(m.reconnectTimer).toBeNull()
    expect(seen.of('maxReconnectAttemptsReached')).toEqual([{ attempts: 2 }])
  })

  test('monitoring: CONNECTED → unhealthy → RECONNECTING (exact backoff) → CONNECTED', async () => {
    const m = manager({ healthCheckInterval: 30, reconnectDelay: 15, reconnectMultiplier: 2, maxReconnectDelay: 60 })
    const seen = record(m, CONNECTION_EVENTS)
    expect(await m.connect()).toBe(true)
    emulator.setFault({ down: true })
    await waitFor(() => seen.count('reconnecting') >= 4, 'four reconnect attempts')
    expect(m.healthCheckTimer).toBeNull()
    emulator.setFault({})
    await waitFor(() => seen.count('connected') === 2, 'reconnected')
    expect(seen.count('unhealthy')).toBe(1)
    const names = seen.names()
    const lost = names.indexOf('unhealthy')
    expect(names.slice(lost, lost + 3)).toEqual(['unhealthy', 'stateChange', 'reconnecting'])
    expect(seen.of('reconnecting').slice(0, 4)).toEqual([
      { attempt: 1, delay: 15 },
      { attempt: 2, delay: 30 },
      { attempt: 3, delay: 60 },
      { attempt: 4, delay: 60 },
    ])
    expect(m.state).toBe('CONNECTED')
    expect(m.reconnectAttempts).toBe(0)
    expect(m.healthCheckTimer).toBeTruthy()
    expect(m.stats.totalConnections).toBe(2)
  })

  test('maxReconnectAttempts reached while monitoring → FAILED, timers null', async () => {
    const m = manager({ maxReconnectAttempts: 2, reconnectDelay: 10 })
    const seen = record(m, CONNECTION_EVENTS)
    await m.connect()
    emulator.setFault({ down: true })
    await waitFor(() => seen.count('maxReconnectAttemptsReached') === 1, 'maxReconnectAttemptsReached')
    expect(seen.of('maxReconnectAttemptsReached')).toEqual([{ attempts: 2 }])
    expect(m.state).toBe('FAILED')
    expect(m.healthCheckTimer).toBeNull()
    expect(m.reconnectTimer).toBeNull()
  })

  test('setState() emits stateChange only on a change', () => {
    const m = manager()
    const seen = record(m, ['stateChange'])
    m.setState(ConnectionState.DISCONNECTED)
    m.setState(ConnectionState.CONNECTING)
    m.setState(ConnectionState.CONNECTING)
    expect(seen.of('stateChange')).toEqual([{ from: 'DISCONNECTED', to: 'CONNECTING', timestamp: expect.any(Number) }])
  })

  test('disconnect() stops monitoring and reconnects, DISCONNECTED, disconnected', async () => {
    const m = manager()
    const seen = record(m, CONNECTION_EVENTS)
    await m.connect()
    m.disconnect()
    expect(m.state).toBe('DISCONNECTED')
    expect(m.healthCheckTimer).toBeNull()
    expect(m.reconnectTimer).toBeNull()
    expect(seen.of('disconnected')).toEqual([{ serviceUrl: emulator.url }])
    const checks = m.stats.totalHealthChecks
    await sleep(120)
    expect(m.stats.totalHealthChecks).toBe(checks)
  })

  test('disconnect() during connect(): the attempt resolves false and changes nothing', async () => {
    emulator.setFault({ latencyMs: 80 })
    const m = manager()
    const pending = m.connect()
    m.disconnect()
    expect(await pending).toBe(false)
    expect(m.state).toBe('DISCONNECTED')
    expect(m.healthCheckTimer).toBeNull()
    expect(m.reconnectTimer).toBeNull()
    expect(await m.connect()).toBe(true)
  })

  test('reset() disconnects and zeroes attempts and stats', async () => {
    const m = manager()
    await m.connect()
    m.reconnectAttempts = 4
    await m.performHealthCheck()
    m.reset()
    expect(m.state).toBe('DISCONNECTED')
    expect(m.reconnectAttempts).toBe(0)
    expect(m.healthCheckTimer).toBeNull()
    expect(m.stats).toEqual({
      totalConnections: 0,
      totalReconnections: 0,
      totalFailures: 0,
      totalHealthChecks: 0,
      successfulHealthChecks: 0,
      failedHealthChecks: 0,
    })
  })

  test('performHealthCheck() hits GET /health, updates stats, never rejects', async () => {
    const m = manager()
    const before = healthRequests()
    expect(await m.performHealthCheck()).toBe(true)
    emulator.setFault({ down: true })
    expect(await m.performHealthCheck()).toBe(false)
    expect(healthRequests() - before).toBe(2)
    expect(m.stats).toMatchObject({ totalHealthChecks: 2, successfulHealthChecks: 1, failedHealthChecks: 1 })
    expect(m.getStats().healthCheckSuccessRate).toBe('50.00%')
    const bad = manager({ serviceUrl: 'not a url' })
    expect(await bad.performHealthCheck()).toBe(false)
  })

  test('start/stopHealthMonitoring and handleConnectionLoss', () => {
    const m = manager({ reconnectDelay: 10000 })
    m.startHealthMonitoring()
    const first = m.healthCheckTimer
    expect(first).toBeTruthy()
    m.startHealthMonitoring()
    expect(m.healthCheckTimer).not.toBe(first)
    m.stopHealthMonitoring()
    expect(m.healthCheckTimer).toBeNull()
    m.startHealthMonitoring()
    m.handleConnectionLoss()
    expect(m.healthCheckTimer).toBeNull()
    expect(m.reconnectTimer).toBeTruthy()
    expect(m.state).toBe('RECONNECTING')
  })

  test('on/off as EventEmitter, listeners(event) as EventEmitter, listeners.get(event) as the old Map', () => {
    const m = manager()
    const a = () => {}
    const b = () => {}
    expect(m.listeners.get('connected')).toBeUndefined()
    m.on('connected', a)
    m.on('connected', b)
    expect(m.listeners.get('connected')).toEqual([a, b])
    expect(m.listeners('connected')).toEqual([a, b])
    expect(m.listeners.has('connected')).toBe(true)
    m.off('connected', a)
    expect(m.listeners.get('connected')).toEqual([b])
    expect(m.listenerCount('connected')).toBe(1)
    m.off('connected', b)
    // The old Map kept the event's emptied array.
    expect(m.listeners.get('connected')).toEqual([])
    expect(m.listeners.has('connected')).toBe(true)
    expect(m.listeners('connected')).toEqual([])
    m.once('reconnecting', a)
    m.emit('reconnecting', { attempt: 1, delay: 1 })
    expect(m.listeners.get('reconnecting')).toEqual([])
    m.removeAllListeners('connected')
    expect(m.listeners.get('connected')).toBeUndefined()
    m.removeAllListeners()
    expect(m.listeners.get('reconnecting')).toBeUndefined()
    expect(m.listeners.has('reconnecting')).toBe(false)
  })

  test('a throwing listener neither stops the others nor connect()', async () => {
    const m = manager()
    const calls = []
    m.on('stateChange', () => {
      throw new Error('bug')
    })
    m.on('stateChange', ({ to }) => calls.push(to))
    m.on('connected', () => {
      throw new Error('bug')
    })
    m.on('connected', () => calls.push('connected'))
    expect(await m.connect()).toBe(true)
    expect(calls).toEqual(['CONNECTING', 'CONNECTED', 'connected'])
  })

  test('getSharedConnectionManager(): one per process, connecting on the first call; reset forgets it', async () => {
    const shared = getSharedConnectionManager({ serviceUrl: emulator.url, healthCheckInterval: 40 })
    expect(shared).toBeInstanceOf(ChittyIDConnectionManager)
    expect(shared.state).toBe('CONNECTING')
    expect(getSharedConnectionManager({ serviceUrl: 'http://elsewhere.invalid' })).toBe(shared)
    await waitFor(() => shared.state === 'CONNECTED', 'shared manager connected')
    resetSharedConnectionManager()
    expect(shared.state).toBe('DISCONNECTED')
    expect(shared.healthCheckTimer).toBeNull()
    expect(shared.stats.totalConnections).toBe(0)
    const next = getSharedConnectionManager({ serviceUrl: emulator.url })
    expect(next).not.toBe(shared)
    await waitFor(() => next.state !== 'CONNECTING', 'second shared manager settled')
    resetSharedConnectionManager()
  })
})
