import { inspect } from 'node:util'
import { ChittyIDClient, ChittyIDEmulator } from '../index.mjs'
import * as portable from '../portable.mjs'
import { startPair } from './helpers.mjs'

const TEN_MB = 'x'.repeat(10 * 1024 * 1024)
const LONE_SURROGATE = 'CT-A-CHI-1234-I-24-A-\uD800'

function expectTypeError(fn) {
  let thrown
  try {
    fn()
  } catch (err) {
    thrown = err
  }
  expect(thrown).toBeInstanceOf(TypeError)
  expect(thrown.code).toBe('ERR_INVALID_ARG_VALUE')
  expect(typeof thrown.message).toBe('string')
}

describe('constructor', () => {
  test.each([
    ['a number config', 42],
    ['a string config', 'https://id.chitty.cc'],
    ['an array config', []],
    ['a numeric serviceUrl', { serviceUrl: 8080 }],
    ['a relative serviceUrl', { serviceUrl: '/v1' }],
    ['a scheme-less serviceUrl', { serviceUrl: 'id.chitty.cc/v1' }],
    ['an ftp serviceUrl', { serviceUrl: 'ftp://id.chitty.cc/v1' }],
    ['a javascript: serviceUrl', { serviceUrl: 'javascript:alert(1)' }],
    ['a file: serviceUrl', { serviceUrl: 'file:///etc/passwd' }],
    ['a serviceUrl with a NUL byte', { serviceUrl: 'http://127.0.0.1\u0000:1/v1' }],
    ['a 10 MB serviceUrl', { serviceUrl: `http://${TEN_MB}` }],
    ['credentials in serviceUrl', { serviceUrl: 'https://user:pass@id.chitty.cc/v1' }],
    ['a negative timeout', { timeout: -5 }],
    ['an infinite timeout', { timeout: Infinity }],
    ['a huge timeout', { timeout: 1e15 }],
    ['a string timeout that is not a number', { timeout: '100ms' }],
    ['an object apiKey', { apiKey: { key: 'x' } }],
    ['an apiKey with a newline', { apiKey: 'abc\r\nX-Injected: 1' }],
    ['an apiKey with a NUL byte', { apiKey: 'abc\u0000def' }],
    ['a string retry', { retry: 'yes' }],
    ['zero retry attempts', { retry: { maxAttempts: 0 } }],
    ['a negative retry attempt count', { retry: { maxAttempts: -1 } }],
    ['a NaN backoff multiplier', { retry: { backoffMultiplier: NaN } }],
    ['a jitter above 1', { retry: { jitter: 2 } }],
    ['a zero failure threshold', { circuitBreaker: { failureThreshold: 0 } }],
    ['a zero cache size', { cache: { maxSize: 0 } }],
    ['a fractional cache size', { cache: { maxSize: 1.5 } }],
    ['a string ca', { ca: 42 }],
  ])('%s is a TypeError', (_, config) => {
    expectTypeError(() => new ChittyIDClient(config))
  })

  // An API key no HTTP header can carry is refused by every client before any call, and the
  // refusal never shows it (a failed send used to echo it back: "Headers.append: \"Bearer ...\"").
  test.each([
    ['native', (o) => new ChittyIDClient({ ...o, transport: 'native' })],
    ['fetch', (o) => new ChittyIDClient({ ...o, transport: 'fetch' })],
    ['portable', (o) => new portable.ChittyIDClient(o)],
  ])('%s: an apiKey no header can carry is a TypeError that does not show it', (_, make) => {
    for (const apiKey of [
      'sk-live-abc\r\nX-Injected: 1',
      'sk-live-abc\u0000def',
      'sk-live-\u043a\u043b\u044e\u0447',
      'sk-live-\u00e9t\u00e9',
    ]) {
      let thrown
      try {
        make({ serviceUrl: 'http://127.0.0.1:1/v1', apiKey })
      } catch (err) {
        thrown = err
      }
      expect(thrown).toBeInstanceOf(TypeError)
      expect(thrown.code).toBe('ERR_INVALID_ARG_VALUE')
      const shown = `${thrown.message}\n${thrown.stack}\n${inspect(thrown, { showHidden: true })}`
      expect(shown).not.toContain('sk-live-')
    }
  })

  test('unknown fields are refused (v1 ignored them, and typos with them)', () => {
    expect(() => new ChittyIDClient({ serviceUrl: 'http://127.0.0.1:1', whatever: 1, nested: { a: 1 } })).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_CHITTYID_UNKNOWN_OPTION', option: 'whatever' }),
    )
  })
})

describe('methods against a live emulator', () => {
  let pair
  beforeAll(async () => {
    pair = await startPair({ client: { retry: false } })
  })
  afterAll(() => pair.close())

  test('mint rejects wrong shapes with TypeError before any request', async () => {
    const before = pair.emulator.stats().requests.mint
    const circular = { entity: 'PEO' }
    circular.self = circular
    for (const request of [
      undefined,
      null,
      0,
      'PEO',
      [],
      {},
      { entity: null },
      { entity: 7 },
      { entity: '' },
      { entity: TEN_MB },
      { entity: 'PEO', name: 5 },
      circular,
      { entity: 'PEO', metadata: { big: 10n } },
    ]) {
      const err = await pair.client.mint(request).catch((e) => e)
      expect(err).toBeInstanceOf(TypeError)
    }
    expect(pair.emulator.stats().requests.mint).toBe(before)
  })

  test('awkward but valid strings travel intact', async () => {
    for (const name of ['nul\u0000byte', 'lone \uD800 surrogate', 'emoji 🧪', '"quotes" and \\backslashes\\']) {
      await expect(pair.client.mint({ entity: 'PEO', name })).resolves.toMatch(/^[A-Z]{2}-/)
    }
  })

  test('a 10 MB name is refused by the service, not by a crash', async () => {
    const err = await pair.client.mint({ entity: 'PEO', name: TEN_MB }).catch((e) => e)
    expect(err.code).toBe('EHTTP')
    expect(err.status).toBe(413)
  })

  test('mintBatch rejects non-arrays and bad elements with TypeError', async () => {
    for (const requests of [undefined, null, 'PEO', { entity: 'PEO' }, [null], [{ entity: 'PEO' }, 5]]) {
      await expect(pair.client.mintBatch(requests)).rejects.toThrow(TypeError)
    }
    const err = await pair.client.mintBatch(Array.from({ length: 5000 }, () => ({ entity: 'PEO' }))).catch((e) => e)
    expect(err.status).toBe(400)
  })

  test('validate never rejects, whatever it is given', async () => {
    for (const id of [
      undefined,
      null,
      0,
      10n,
      {},
      [],
      Symbol('s'),
      TEN_MB,
      LONE_SURROGATE,
      'nul\u0000',
      '../../etc/passwd',
      '%00',
      '?a=b#c',
    ]) {
      const result = await pair.client.validate(id)
      expect(result.valid).toBe(false)
      expect(typeof result.error === 'string' || 'chittyId' in result).toBe(true)
    }
  })

  test('options must be an object with an AbortSignal', async () => {
    await expect(pair.client.mint({ entity: 'PEO' }, { signal: 'nope' })).rejects.toThrow(TypeError)
    await expect(pair.client.validate('x', 'five')).rejects.toThrow(TypeError)
    await expect(pair.client.healthCheck({ signal: {} })).rejects.toThrow(TypeError)
  })

  test('an already-aborted signal rejects with AbortError and sends nothing', async () => {
    const before = pair.emulator.stats().requests.mint
    const err = await pair.client.mint({ entity: 'PEO' }, { signal: AbortSignal.abort() }).catch((e) => e)
    expect(err.name).toBe('AbortError')
    expect(err.code).toBe('ABORT_ERR')
    expect(pair.emulator.stats().requests.mint).toBe(before)
  })
})

describe('emulator', () => {
  test('bad options and fault values are errors, not crashes', async () => {
    await expect(ChittyIDEmulator.start({ port: 70000 })).rejects.toThrow()
    await expect(ChittyIDEmulator.start({ host: 'not a host' })).rejects.toThrow()
    await expect(ChittyIDEmulator.start(5)).rejects.toThrow(TypeError)
    const emulator = await ChittyIDEmulator.start({ port: 0 })
    expect(() => emulator.setFault({ errorStatus: 9999 })).toThrow(TypeError)
    expect(() => emulator.setFault({ probability: 2 })).toThrow(TypeError)
    expect(() => emulator.setFault({ routes: ['everything'] })).toThrow(TypeError)
    expect(() => emulator.setFault({ latencyMs: 'slow' })).toThrow(TypeError)
    await emulator.close()
    await emulator.close()
  })
})
