// Hostile arguments: every public entry point of the three clients (native, fetch engine,
// portable) called with hostile values in every argument position and option field gets a
// clear, typed error and never crashes. The generator runs in a child process per batch
// (__test__/hostile/harness.mjs), so an abort (a Rust panic across napi, a napi fatal error, a
// V8 abort) shows as a signal or an exit code instead of killing jest; within a batch every
// error must be a TypeError, RangeError or ChittyIDError with a `code` (or the hostile value's
// own exception), never show the API key, and every promise must settle. Deterministic: the
// seed below (CHITTYID_HOSTILE_SEED overrides it); each position gets a seeded sample of the
// hostile values, CHITTYID_HOSTILE_FULL=1 gives it all of them (slower). The batches' transport is the suite's
// (CHITTYID_TRANSPORT, see __test__/setup-native-transport.cjs). The focused tests below pin
// each defect the harness found.
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import {
  ChittyIDClient,
  ChittyIDEmulator,
  ChittyIDCache,
  CircuitBreaker,
  registerMetrics,
  withRetry,
  withResilience,
} from '../index.mjs'
import * as portable from '../portable.mjs'
import { runNode } from './wait.mjs'

const HARNESS = fileURLToPath(new URL('./hostile/harness.mjs', import.meta.url))
const SEED = Number(process.env.CHITTYID_HOSTILE_SEED ?? 20261207)
const TRANSPORT = process.env.CHITTYID_TRANSPORT || 'native'

/** Runs one batch in a child; returns its report after checking that the child ended well. */
async function batch(name, env = {}) {
  const script = `import(require('node:url').pathToFileURL(${JSON.stringify(HARNESS)}).href).then((m) => m.run(${JSON.stringify(name)}, ${SEED}, ${JSON.stringify(TRANSPORT)}))`
  const { code, signal, stdout, stderr } = await runNode(script, [], 110000, { env })
  const last = stdout.trim().split('\n').pop()
  expect({ code, signal, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, signal: null, stderr: '' })
  const report = JSON.parse(last)
  expect(report.batch).toBe(name)
  expect(report.violations).toEqual([])
  return report
}

describe('hostile arguments, every entry point, in a child process per batch', () => {
  test('the constructor: every option and nested option field, and each read twice', async () => {
    const { cases, outcomes } = await batch('constructor')
    expect(cases).toBeGreaterThan(2500)
    expect(outcomes.typed).toBeGreaterThan(2000)
  }, 120000)

  test('the client methods, their call options, reentrant calls from listeners, after close()', async () => {
    const { cases, outcomes } = await batch('client')
    expect(cases).toBeGreaterThan(3000)
    expect(outcomes.typed).toBeGreaterThan(2000)
    expect(outcomes.resolved).toBeGreaterThan(1000) // valid-looking input reached the emulator
  }, 120000)

  test('v1 semantics (the transport chosen automatically under jest): nothing crashes', async () => {
    const { cases } = await batch('v1', { CHITTYID_TRANSPORT: undefined, JEST_WORKER_ID: '1' })
    expect(cases).toBeGreaterThan(3000)
  }, 120000)

  test('methods detached from their client, or on Object.create(ChittyIDClient.prototype)', async () => {
    const { outcomes } = await batch('receivers')
    expect(outcomes.typed).toBeGreaterThan(100)
  }, 120000)

  test('the module functions: mintChittyID, validateChittyID, validateFormat, parse, registerMetrics', async () => {
    const { cases } = await batch('module')
    expect(cases).toBeGreaterThan(700)
  }, 120000)

  test('ChittyIDEmulator.start() and its fault setters', async () => {
    const { cases, outcomes } = await batch('emulator')
    expect(cases).toBeGreaterThan(1000)
    expect(outcomes.typed).toBeGreaterThan(700)
  }, 120000)

  test('the compat layer: ChittyIDCache, withRetry, CircuitBreaker, withResilience, the connection manager', async () => {
    const { cases } = await batch('compat')
    expect(cases).toBeGreaterThan(2000)
  }, 120000)

  test('globalThis.fetch stand-ins that throw, reject with hostile values, answer oddly or never', async () => {
    const { cases, outcomes } = await batch('stubs')
    expect(cases).toBeGreaterThan(150)
    expect(outcomes.typed).toBeGreaterThan(40)
  }, 120000)

  test('the portable build: constructor, methods, module functions, receivers', async () => {
    const { cases, outcomes } = await batch('portable')
    expect(cases).toBeGreaterThan(5000)
    expect(outcomes.typed).toBeGreaterThan(3500)
  }, 120000)
})

/** An object whose `entity` answers "PEO" on its first read and `later` on every other read. */
function entityThen(later) {
  let reads = 0
  return {
    get entity() {
      return ++reads === 1 ? 'PEO' : later
    },
  }
}

describe('defects the harness found', () => {
  let emulator
  beforeAll(async () => {
    emulator = await ChittyIDEmulator.start({ port: 0 })
  })
  afterAll(() => emulator.close())

  const clients = {
    [TRANSPORT]: (o) => new ChittyIDClient({ ...o, transport: TRANSPORT }),
    portable: (o) => new portable.ChittyIDClient(o),
  }

  // Each field of a mint request is read once: a getter cannot pass the check with one value
  // and reach the body or the failure's wording with another. Before, the body and the wording
  // read it again (a Symbol there was "Cannot convert a Symbol value to a string", no code).
  test.each(Object.keys(clients))('%s: mint() sends the entity it checked', async (kind) => {
    const client = clients[kind]({ serviceUrl: `${emulator.url}/v1`, retry: false })
    try {
      await expect(client.mint(entityThen(Symbol('later')))).resolves.toMatch(/^[A-Z]{2}-/)
      await expect(client.mintBatch([entityThen(Object.create(null))])).resolves.toHaveLength(1)
    } finally {
      await client.close()
    }
  })

  // Each option is read once: the value checked is the value used. Before, `fleet.redis` was
  // read again after its check (a getter answering a number then: "value.redis.startsWith is
  // not a function", no code) and `name` twice (the metric label from one read, `client.name`
  // from another).
  test('the native constructor reads each option once', async () => {
    const reads = { redis: 0, name: 0 }
    const config = {
      serviceUrl: `${emulator.url}/v1`,
      transport: TRANSPORT,
      fleet: {
        get redis() {
          return ++reads.redis === 1 ? 'redis://127.0.0.1:1' : 42
        },
      },
      get name() {
        return ++reads.name === 1 ? 'checked' : Symbol('later')
      },
    }
    const client = new ChittyIDClient(config)
    try {
      expect(reads).toEqual({ redis: 1, name: 1 })
      expect(client.name).toBe('checked')
    } finally {
      await client.close()
    }
  })

  // The emulator's options and faults are checked for their types before napi converts them.
  // Before, napi wrapped numbers into a u32 (port -1 was refused as "got 4294967295", and a
  // fault `oversizedBody: -1` was taken as a 4 GiB body), refused `null` in Rust's words
  // ("Failed to convert ... into rust type `String`"), and every refusal of start() was a plain
  // Error with code EEMULATORSTART.
  test.each([
    [{ port: -1 }, /"port" must be an integer/],
    [{ port: 70000 }, /port must be 0\.\.65535, got 70000/],
    [{ redirectStatus: NaN }, /"redirectStatus" must be an integer/],
    [{ profile: 42 }, /"profile" must be a string, got 42/],
    [{ tls: 'yes' }, /"tls" must be a boolean/],
    [{ profile: 'v2' }, /profile must be one of/],
  ])('ChittyIDEmulator.start(%p) is a TypeError', async (options, message) => {
    const err = await ChittyIDEmulator.start(options).catch((e) => e)
    expect(err).toBeInstanceOf(TypeError)
    expect(err.code).toBe('ERR_INVALID_ARG_VALUE')
    expect(err.message).toMatch(message)
    expect(err.message).not.toMatch(/4294967295|rust type/)
  })

  test('ChittyIDEmulator.start() takes null as unset', async () => {
    const e = await ChittyIDEmulator.start({ port: 0, profile: null, token: null, tls: null })
    expect(e.profile).toBe('v1')
    await e.close()
  })

  test.each([[{ oversizedBody: -1 }], [{ remaining: 1.5 }], [{ errorStatus: -1 }], [{ routes: ['mint', 1] }], [null]])(
    'emulator.setFault(%p) is a TypeError',
    (faults) => {
      let err
      try {
        emulator.setFault(faults)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(TypeError)
      expect(err.code).toBe('ERR_INVALID_ARG_VALUE')
      expect(err.message).not.toMatch(/4294967295|rust type/)
      emulator.clearFaults()
    },
  )

  // The compat layer. Before: `new ChittyIDCache({ maxSize: Symbol() })` threw "Cannot convert a
  // Symbol value to a string" (and an object without toString "Cannot convert object to
  // primitive value") while wording its own refusal; a hole in `retryableErrors` passed the
  // check and reached napi ("StringExpected", not a TypeError); `withResilience(fn, null)`
  // threw "Cannot read properties of null".
  test.each([[Symbol('s')], [Object.create(null)], [10n]])('new ChittyIDCache({ maxSize: %p }) is a TypeError', (v) => {
    for (const field of ['maxSize', 'ttlMs']) {
      let err
      try {
        new ChittyIDCache({ [field]: v })
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(TypeError)
      expect(err.code).toBe('ERR_INVALID_ARG_VALUE')
    }
  })

  test('withRetry() refuses a hole in retryableErrors; withResilience() takes null as no options', async () => {
    const fails = () => Promise.reject(Object.assign(new Error('own'), { code: 'EOWN' }))
    // eslint-disable-next-line no-sparse-arrays
    const err = await withRetry(fails, { retryableErrors: ['ECONNRESET', , 'EPIPE'] }).catch((e) => e)
    expect(err).toBeInstanceOf(TypeError)
    expect(err.code).toBe('ERR_INVALID_ARG_VALUE')
    await expect(withResilience(() => 'done', null)).resolves.toBe('done')
  })

  // A method detached from its client, or called on Object.create(ChittyIDClient.prototype),
  // is Node's ERR_INVALID_THIS (a rejection for the methods that return a promise). Before: V8's
  // "Cannot read private member #v1 from an object whose class did not declare it" without a
  // code, thrown synchronously even by mint().
  test.each(Object.keys(clients))('%s: detached methods are ERR_INVALID_THIS', async (kind) => {
    const client = clients[kind]({ serviceUrl: `${emulator.url}/v1` })
    const Class = Object.getPrototypeOf(client).constructor
    const blank = Object.create(Class.prototype)
    try {
      for (const method of ['mint', 'mintBatch', 'validate', 'invalidate', 'healthCheck', 'connect', 'close']) {
        const { [method]: detached } = client
        let result
        expect(() => {
          result = detached({ entity: 'PEO' })
        }).not.toThrow()
        const err = await result.catch((e) => e)
        expect({ method, type: err.constructor.name, code: err.code }).toEqual({
          method,
          type: 'TypeError',
          code: 'ERR_INVALID_THIS',
        })
        await expect(blank[method]('x')).rejects.toMatchObject({ code: 'ERR_INVALID_THIS' })
      }
      for (const method of ['getStats', 'metrics', 'getConnectionState', 'validateFormat']) {
        expect(() => blank[method]('x')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_THIS' }))
      }
      expect(() => blank.apiKey).toThrow(expect.objectContaining({ code: 'ERR_INVALID_THIS' }))
    } finally {
      await client.close()
    }
  })

  // Before: TypeErrors without a code.
  test('registerMetrics() refusals carry ERR_INVALID_ARG_VALUE', async () => {
    const client = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, transport: TRANSPORT })
    try {
      for (const [registry, target] of [
        [{}, client],
        [{ registerMetric() {}, getSingleMetric() {} }, {}],
      ]) {
        expect(() => registerMetrics(registry, target)).toThrow(
          expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }),
        )
      }
    } finally {
      await client.close()
    }
  })

  // An async logger whose promise rejects is a broken logger like one that throws: one
  // warning, the calls go on. Before, the rejection was unhandled and Node ended the process.
  test('a logger whose methods return rejected promises does not end the process', async () => {
    const script = `
      const { ChittyIDClient } = require('./index.js')
      const fail = () => Promise.reject(new Error('log sink down'))
      const logger = { debug: fail, info: fail, warn: fail, error: fail }
      const client = new ChittyIDClient({ serviceUrl: process.argv[1], transport: ${JSON.stringify(TRANSPORT)}, logger })
      client.mint({ entity: 'PEO' })
        .then((id) => new Promise((resolve) => setTimeout(() => resolve(id), 50)))
        .then((id) => { console.log('minted', id); return client.close() })
    `
    const { code, signal, stdout, stderr } = await runNode(script, [`${emulator.url}/v1`])
    expect({ code, signal }).toEqual({ code: 0, signal: null })
    expect(stdout).toMatch(/^minted [A-Z]{2}-/)
    expect(stderr).toMatch(/CHITTYID_LOGGER_THREW.*log sink down/)
  })

  // A value of the wrong type is refused in the caller's words, not napi's. Before: "Failed to
  // convert napi value Boolean into rust type `f64` on BreakerOptions.failureThreshold" (and a
  // hole in `ca`: "... `Undefined` into rust type `String` on NativeClientOptions.ca").
  test("wrong types are refused in the caller's words: CircuitBreaker, withRetry, ca", async () => {
    const refusals = [
      () => new CircuitBreaker({ failureThreshold: true }),
      // eslint-disable-next-line no-sparse-arrays
      () => new ChittyIDClient({ transport: TRANSPORT, ca: [, 'PEM'] }),
    ]
    for (const refuse of refusals) {
      expect(refuse).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
      expect(refuse).not.toThrow(/rust type|napi/)
    }
    const err = await withRetry(() => 'never', { maxAttempts: 'three' }).catch((e) => e)
    expect(err).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
    expect(err.message).toMatch(/"maxAttempts" must be a number/)
    // null is unset, as undefined.
    expect(new CircuitBreaker({ failureThreshold: null }).getState().config.failureThreshold).toBe(5)
    await expect(withRetry(() => 'ok', { maxAttempts: null })).resolves.toBe('ok')
  })

  // The portable client over a `fetch` that ignores its AbortSignal: the call's timeout still
  // ends it (before, it waited for ever), and a rejection whose fields throw when read is still
  // reported as a failed fetch (before, the stub's own exception came out of mint()).
  describe('the portable client and a hostile fetch', () => {
    const realFetch = globalThis.fetch
    afterEach(() => {
      globalThis.fetch = realFetch
    })
    const thrower = () => {
      throw new Error('read me not')
    }
    const client = () =>
      new portable.ChittyIDClient({ serviceUrl: 'http://127.0.0.1:9/v1', timeout: 200, retry: false })

    test('a fetch that never settles times out', async () => {
      globalThis.fetch = () => new Promise(() => {})
      const c = client()
      const started = Date.now()
      const err = await c.mint({ entity: 'PEO' }).catch((e) => e)
      expect(err).toMatchObject({ name: 'ChittyIDError' })
      expect(['ETIMEDOUT', 'EMINTUNKNOWN']).toContain(err.code)
      expect(Date.now() - started).toBeLessThan(5000)
      await c.close()
    })

    test('a body that never ends times out', async () => {
      globalThis.fetch = async () => new Response(new ReadableStream({ pull: () => new Promise(() => {}) }))
      const c = client()
      await expect(c.validate('CT-A-CHI-1234-I-24-A-0')).resolves.toMatchObject({ error: expect.any(String) })
      await c.close()
    })

    test('a rejection whose fields throw is EFETCH', async () => {
      globalThis.fetch = () => Promise.reject(new Proxy({}, { get: thrower, getPrototypeOf: thrower }))
      const c = client()
      const err = await c.healthCheck().then(
        (healthy) => ({ healthy }),
        (e) => e,
      )
      expect(err).toEqual({ healthy: false })
      const mint = await c.mint({ entity: 'PEO' }).catch((e) => e)
      expect(mint).toMatchObject({ name: 'ChittyIDError' })
      expect(mint.message).not.toMatch(/read me not/)
      await c.close()
    })
  })

  // A Map's key can be anything: the refusal of a header name that is not a string used to
  // quote it with JSON.stringify, which threw for a BigInt ("Do not know how to serialize a
  // BigInt", no code) and overflowed the stack for a deeply nested object.
  test.each(Object.keys(clients))('%s: a header name that is no string is ERR_INVALID_ARG_VALUE', async (kind) => {
    const client = clients[kind]({ serviceUrl: `${emulator.url}/v1` })
    try {
      let deep = {}
      for (let i = 0; i < 100000; i++) deep = { deep }
      for (const name of [10n, deep, Symbol('h')]) {
        const err = await client.mint({ entity: 'PEO' }, { headers: new Map([[name, 'b']]) }).catch((e) => e)
        expect(err).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
      }
    } finally {
      await client.close()
    }
  })

  // The compat connection manager reads its live properties at every reconnect (as v1 did);
  // one that Number() refuses (a Symbol, an object whose valueOf throws) made connect() reject
  // (documented never to) and, from the reconnect timer, was an unhandled rejection that ended
  // the process. It now counts as NaN, as any other odd value does.
  test('ChittyIDConnectionManager survives live properties Number() refuses', async () => {
    const script = `
      const { ChittyIDConnectionManager } = require('./index.js')
      const m = new ChittyIDConnectionManager({ serviceUrl: 'http://127.0.0.1:9', reconnectDelay: 1, maxReconnectDelay: 5 })
      m.on('error', () => {})
      m.connect().then(async (first) => {
        m.reconnectDelay = Symbol('odd') // read by the reconnect timer set above
        m.maxReconnectAttempts = { valueOf() { throw new Error('odd') } }
        await new Promise((resolve) => setTimeout(resolve, 100))
        const again = await m.connect()
        console.log('connect', first, again)
        await m.reset()
      })
    `
    const { code, signal, stdout, stderr } = await runNode(script)
    expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' })
    expect(stdout).toMatch(/^connect false false/)
  })

  // "A listener that throws neither stops the others nor the process": before, one that threw
  // an object whose `message` is a Symbol, or a getter that throws, had its warning throw in
  // turn (out of the native event delivery: the process ended), and an async listener's
  // rejection was unhandled (the process ended too).
  test.each([
    ['a Symbol message', '() => { throw { message: Symbol("m") } }', /threw: Symbol\(m\)/],
    [
      'a message getter that throws',
      '() => { throw Object.defineProperty({}, "message", { get() { throw new Error("inner") } }) }',
      /threw: an exception that cannot be shown/,
    ],
    ['an async listener that rejects', '() => Promise.reject(new Error("async listener"))', /threw: async listener/],
  ])('a listener throwing %s warns, the process goes on', async (_, listener, warning) => {
    const script = `
      const { ChittyIDClient } = require('./index.js')
      const client = new ChittyIDClient({ serviceUrl: process.argv[1], transport: ${JSON.stringify(TRANSPORT)} })
      let heard = 0
      client.on('stateChange', ${listener})
      client.on('stateChange', () => heard++)
      client.connect()
        .then((connected) => new Promise((resolve) => setTimeout(() => resolve(connected), 50)))
        .then((connected) => { console.log('connected', connected, heard > 0); return client.close() })
    `
    const { code, signal, stdout, stderr } = await runNode(script, [`${emulator.url}/v1`])
    expect({ code, signal }).toEqual({ code: 0, signal: null })
    expect(stdout).toMatch(/^connected true true/)
    expect(stderr).toMatch(warning)
  })

  // The checked copy keeps what JSON.stringify sent before it: a request class's toJSON() (on
  // its prototype, which a copy of the own fields would lose) is what is checked and sent.
  test.each(Object.keys(clients))('%s: a request class with toJSON() sends what toJSON() answers', async (kind) => {
    const bodies = []
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (chunk) => (body += chunk))
      req.on('end', () => {
        bodies.push(body)
        res.writeHead(201, { 'content-type': 'application/json' })
        const id = 'CT-A-CHI-1234-I-24-A-0'
        res.end(JSON.stringify(req.url.includes('batch') ? { chittyIds: [id] } : { chittyId: id }))
      })
    })
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    class Request {
      constructor() {
        this.entity = 'PEO'
        this.internal = 'not sent'
      }
      toJSON() {
        return { entity: this.entity, name: 'from toJSON' }
      }
    }
    const client = clients[kind]({ serviceUrl: `http://127.0.0.1:${server.address().port}/v1`, wire: 'v1' })
    try {
      await client.mint(new Request())
      await client.mintBatch([new Request()])
      expect(bodies.map((b) => JSON.parse(b))).toEqual([
        { entity: 'PEO', name: 'from toJSON' },
        { requests: [{ entity: 'PEO', name: 'from toJSON' }] },
      ])
    } finally {
      await client.close()
      server.close()
    }
  })

  // A hole of a sparse array is no request: before, mintBatch skipped it in the check and sent
  // `null` in its place (the service answered 400).
  test.each(Object.keys(clients))('%s: mintBatch() refuses a sparse array before sending', async (kind) => {
    const client = clients[kind]({ serviceUrl: `${emulator.url}/v1`, retry: false })
    try {
      const before = emulator.stats().requests.batch
      // eslint-disable-next-line no-sparse-arrays
      const err = await client.mintBatch([, { entity: 'PEO' }]).catch((e) => e)
      expect(err).toBeInstanceOf(TypeError)
      expect(err.code).toBe('ERR_INVALID_ARG_VALUE')
      expect(emulator.stats().requests.batch).toBe(before)
    } finally {
      await client.close()
    }
  })
})
