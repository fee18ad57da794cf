// Every event's payload is exactly the object `lib/types/events.d.ts` documents for it: its keys in order,
// their types and values. Each is made in the listener's own realm: jest runs this file in a VM
// context of its own, where an object or Error made with Node's main-realm constructors fails
// `instanceof Object` / `instanceof Error`. The native side builds each payload once
// (src/bindings/events.rs); the JS side only emits it.
import { once, on } from 'node:events'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { ChittyIDClient, ChittyIDEmulator } from '../index.mjs'
import { CLIENT_EVENTS, closedPort } from './helpers.mjs'
import { record, waitFor } from './wait.mjs'

const native = createRequire(import.meta.url)('../lib/native/index.js')

/** The event queue's bound (src/bindings/events.rs `QUEUE_CAPACITY`). */
const EVENT_QUEUE = 65536

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

function client(options) {
  const c = new ChittyIDClient(options)
  clients.push(c)
  return c
}

test('the events are the same list in the types, the README and CLIENT_EVENTS', () => {
  const text = (path) => readFileSync(new URL(path, import.meta.url), 'utf8')
  const types = /export interface ChittyIDClientEvents \{([\s\S]*?)\n\}/.exec(text('../lib/types/events.d.ts'))[1]
  const typed = [...types.matchAll(/^ {2}(\w+): \[/gm)].map((m) => m[1])
  const readme = text('../README.md')
  const table = readme.slice(readme.indexOf('| event | payload |')).split('\n\n')[0]
  const documented = table
    .split('\n')
    .slice(2)
    .flatMap((row) => [...row.split(' | ')[0].matchAll(/`(\w+)`/g)].map((m) => m[1]))
  expect([...CLIENT_EVENTS].sort()).toEqual([...documented].sort())
  expect([...typed].sort()).toEqual([...documented].sort())
})

/** Every payload heard is a plain object of this realm (`instanceof Object` holds). */
function expectOwnObjects(seen) {
  for (const [name, payload] of seen.events) {
    if (name === 'error') continue
    expect(Object.getPrototypeOf(payload) === Object.prototype ? name : `${name}: of another realm`).toBe(name)
  }
}

/** An Error of this realm with `message` and an own enumerable `code`, as `Object.assign` makes. */
function expectError(err, code, message) {
  expect(err).toBeInstanceOf(Error)
  expect(Object.getPrototypeOf(err)).toBe(Error.prototype)
  expect(err.message).toMatch(message)
  expect(Object.keys(err)).toEqual(['code'])
  expect(err.code).toBe(code)
}

test('retry, circuitOpen, circuitHalfOpen and circuitClose', async () => {
  const c = client({
    serviceUrl: `${emulator.url}/v1`,
    retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
    circuitBreaker: { failureThreshold: 2, resetTimeout: 40, halfOpenAttempts: 1 },
  })
  const seen = record(c, CLIENT_EVENTS)
  emulator.setFault({ errorStatus: 503, remaining: 2, routes: ['mint'] })
  await expect(c.mint({ entity: 'PEO' })).rejects.toThrow(/503/)
  expect(seen.names()).toEqual(['retry', 'circuitOpen'])
  const [retry] = seen.of('retry')
  expect(Object.keys(retry)).toEqual(['operation', 'attempt', 'delay', 'error'])
  expect(retry).toStrictEqual({ operation: 'mint', attempt: 1, delay: 1, error: retry.error })
  expectError(retry.error, 'EHTTP', /503/)
  expect(seen.of('circuitOpen')).toStrictEqual([{ failures: 2, resetTimeout: 40 }])

  await new Promise((resolve) => setTimeout(resolve, 60))
  await c.mint({ entity: 'PEO' })
  await waitFor(() => seen.count('circuitClose') === 1, 'circuitClose')
  expect(seen.names()).toEqual(['retry', 'circuitOpen', 'circuitHalfOpen', 'circuitClose'])
  expect(seen.of('circuitHalfOpen')).toStrictEqual([{}])
  expect(seen.of('circuitClose')).toStrictEqual([{}])
  expectOwnObjects(seen)
})

test('the connection events: stateChange, connected, disconnected, error, reconnecting, maxReconnectAttemptsReached', async () => {
  const up = client({ serviceUrl: `${emulator.url}/v1`, connection: { healthCheckInterval: 60000 } })
  const heard = record(up, CLIENT_EVENTS)
  const before = Date.now()
  expect(await up.connect()).toBe(true)
  up.disconnect()
  await waitFor(() => heard.count('disconnected') === 1, 'disconnected')
  const url = `${emulator.url}/v1`
  const changes = heard.of('stateChange')
  expect(changes.map(({ from, to }) => `${from}>${to}`)).toEqual([
    'DISCONNECTED>CONNECTING',
    'CONNECTING>CONNECTED',
    'CONNECTED>DISCONNECTED',
  ])
  for (const change of changes) {
    expect(Object.keys(change)).toEqual(['from', 'to', 'timestamp'])
    expect(change).toStrictEqual({ from: change.from, to: change.to, timestamp: change.timestamp })
    expect(change.timestamp).toBeGreaterThanOrEqual(before - 1000)
    expect(change.timestamp).toBeLessThanOrEqual(Date.now() + 1000)
  }
  expect(heard.of('connected')).toStrictEqual([{ serviceUrl: url }])
  expect(heard.of('disconnected')).toStrictEqual([{ serviceUrl: url }])

  const dead = `http://127.0.0.1:${await closedPort()}`
  const down = client({
    serviceUrl: dead,
    connection: { reconnectDelay: 5, maxReconnectDelay: 5, maxReconnectAttempts: 1, jitter: 0 },
  })
  const failed = record(down, CLIENT_EVENTS)
  expect(await down.connect()).toBe(false)
  await waitFor(() => failed.count('maxReconnectAttemptsReached') === 1, 'maxReconnectAttemptsReached')
  const [error] = failed.of('error')
  expectError(error, 'ECONNREFUSED', /cannot connect to the ChittyID service/)
  const [reconnecting] = failed.of('reconnecting')
  expect(Object.keys(reconnecting)).toEqual(['attempt', 'delay'])
  expect(reconnecting).toStrictEqual({ attempt: 1, delay: reconnecting.delay })
  expect(reconnecting.delay).toBeGreaterThan(0)
  expect(failed.of('maxReconnectAttemptsReached')).toStrictEqual([{ attempts: 1 }])
  expectOwnObjects(heard)
  expectOwnObjects(failed)
})

test('placeholder: the id and the service errorCode', async () => {
  const deployed = await ChittyIDEmulator.start({ port: 0, profile: 'deployed' })
  try {
    deployed.setFault({ placeholder: 'MINT_UNAVAILABLE', remaining: 1 })
    const c = client({ serviceUrl: deployed.url, acceptPlaceholders: true })
    const heard = record(c, CLIENT_EVENTS)
    const id = await c.mint({ entity: 'PEO' })
    expect(heard.of('placeholder')).toStrictEqual([{ chittyId: id, errorCode: 'MINT_UNAVAILABLE' }])
    expectOwnObjects(heard)
  } finally {
    await Promise.all(clients.splice(0).map((c) => c.close()))
    await deployed.close()
  }
})

test('failover and failback: from, to and the failure code', async () => {
  const second = await ChittyIDEmulator.start({ port: 0 })
  try {
    const first = `${emulator.url}/v1`
    const c = client({
      serviceUrl: [first, `${second.url}/v1`],
      retry: false,
      connection: { healthCheckInterval: 20 },
    })
    const heard = record(c, CLIENT_EVENTS)
    emulator.setFault({ errorStatus: 503 })
    await c.mint({ entity: 'PEO' }).catch(() => {})
    await waitFor(() => heard.count('failover') === 1, 'failover')
    const [failover] = heard.of('failover')
    expect(failover).toStrictEqual({ from: first, to: `${second.url}/v1`, code: failover.code })
    expect(Object.keys(failover)).toEqual(['from', 'to', 'code'])
    expect(typeof failover.code).toBe('string')
    emulator.setFault({})
    await c.connect()
    await waitFor(() => heard.count('failback') === 1, 'failback', 10000)
    expect(heard.of('failback')).toStrictEqual([{ from: `${second.url}/v1`, to: first }])
    expectOwnObjects(heard)
  } finally {
    await Promise.all(clients.splice(0).map((c) => c.close()))
    await second.close()
  }
})

test('a burst loses no event: 1,000 failing mints at once, 2,000 retry events, each heard', async () => {
  emulator.setFault({ errorStatus: 503 })
  const c = client({
    serviceUrl: `${emulator.url}/v1`,
    circuitBreaker: false,
    retry: { budget: false, maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2, jitter: 0 },
  })
  let heard = 0
  c.on('retry', () => {
    heard++
    // A listener that does a little work, as a logging one does.
    const until = performance.now() + 0.05
    while (performance.now() < until);
  })
  const outcomes = await Promise.allSettled(Array.from({ length: 1000 }, () => c.mint({ entity: 'PEO' })))
  expect(outcomes.every((o) => o.status === 'rejected')).toBe(true)
  expect(c.getStats().retries).toBe(2000)
  await waitFor(() => heard >= 2000, '2,000 retry events', 10000)
  expect(heard).toBe(2000)
  expect(c.getStats().eventsDropped).toBe(0)
  expect(c.metrics()).toMatch(/^chittyid_client_events_dropped_total 0$/m)
})

test("listeners as Node's EventEmitter calls them: once, events.once and events.on, removed or added during an emit, close() from a listener", async () => {
  const c = client({ serviceUrl: `${emulator.url}/v1` })
  const calls = []
  c.once('connected', () => calls.push('once'))
  const first = once(c, 'stateChange')
  const iterator = on(c, 'stateChange')
  const late = () => calls.push('late')
  const removed = () => calls.push('removed')
  c.on('stateChange', () => {
    calls.push('remover')
    // As with EventEmitter: the emit in progress still calls `removed`; `late` only hears the next.
    c.off('stateChange', removed)
    if (!c.listeners('stateChange').includes(late)) c.on('stateChange', late)
  })
  c.on('stateChange', removed)
  await c.connect()
  expect((await first)[0]).toMatchObject({ from: 'DISCONNECTED', to: 'CONNECTING' })
  expect((await iterator.next()).value[0]).toMatchObject({ from: 'DISCONNECTED', to: 'CONNECTING' })
  await iterator.return()
  await c.disconnect()
  await c.connect()
  expect(calls).toEqual([
    'remover',
    'removed',
    'remover',
    'late',
    'once',
    'remover',
    'late',
    'remover',
    'late',
    'remover',
    'late',
  ])
  // A listener that closes the client: the listeners after it hear nothing, nor any later event.
  const after = []
  c.on('disconnected', () => c.close())
  c.on('disconnected', () => after.push('disconnected'))
  c.on('stateChange', () => after.push('stateChange'))
  await c.disconnect()
  await new Promise((resolve) => setTimeout(resolve, 50))
  expect(after).toEqual(['stateChange'])
})

test('a burst above the event queue: every event turned away is counted, warned about once, logged once', async () => {
  // The native client behind `c`, caught as the client wires its events (the test hook
  // `emitTestEvents` emits a burst while this thread is busy in it, as a burst from the I/O
  // thread arrives while the JS thread is busy elsewhere).
  let nativeClient
  const attachEvents = native.NativeClient.prototype.attachEvents
  native.NativeClient.prototype.attachEvents = function (...args) {
    nativeClient = this
    return attachEvents.apply(this, args)
  }
  const warnings = []
  const emitWarning = process.emitWarning
  process.emitWarning = (message, options) => warnings.push({ message, ...options })
  const logged = []
  const logger = { debug() {}, info() {}, warn: (...args) => logged.push(args), error() {} }
  try {
    const c = client({ serviceUrl: `${emulator.url}/v1`, logger, loggerStyle: 'object-first' })
    let heard = 0
    c.on('circuitHalfOpen', () => heard++)
    expect(nativeClient).toBeDefined()
    expect(c.getStats().eventsDropped).toBe(0)

    nativeClient.emitTestEvents(EVENT_QUEUE + 1234)
    expect(c.getStats().eventsDropped).toBe(1234)
    expect(c.metrics()).toMatch(/^chittyid_client_events_dropped_total 1234$/m)
    await waitFor(() => heard === EVENT_QUEUE, 'the queued events', 20000)
    expect(warnings).toEqual([
      {
        message: expect.stringMatching(
          /^1234 events of this ChittyIDClient were dropped: .*getStats\(\)\.eventsDropped/,
        ),
        type: 'ChittyIDEventsDropped',
        code: 'CHITTYID_EVENTS_DROPPED',
      },
    ])
    expect(logged.filter(([record]) => record.event === 'eventsDropped')).toEqual([
      [{ event: 'eventsDropped', endpoint: emulator.url, dropped: 1234 }, 'chittyid eventsDropped'],
    ])

    // A second overflow counts on; the warning is not repeated.
    nativeClient.emitTestEvents(EVENT_QUEUE + 6)
    expect(c.getStats().eventsDropped).toBe(1240)
    await waitFor(() => heard === 2 * EVENT_QUEUE, 'the second burst', 20000)
    // Below the bound nothing is lost.
    nativeClient.emitTestEvents(10)
    await waitFor(() => heard === 2 * EVENT_QUEUE + 10, 'ten more', 5000)
    expect(c.getStats().eventsDropped).toBe(1240)
    expect(warnings).toHaveLength(1)
  } finally {
    native.NativeClient.prototype.attachEvents = attachEvents
    process.emitWarning = emitWarning
  }
}, 60000)
