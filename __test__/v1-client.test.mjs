import { ChittyIDClient, ChittyIDEmulator, mintChittyID, validateChittyID } from '../index.mjs'
import { ID_PATTERN, closedPort, startPair } from './helpers.mjs'

const TOKEN = 'test-token-123'
const noRetry = { retry: false, circuitBreaker: false }

describe('mint against the emulator', () => {
  let pair
  beforeAll(async () => {
    pair = await startPair({ token: TOKEN })
  })
  afterAll(() => pair.close())

  test.each([
    ['PEO', 'P'],
    ['PLACE', 'L'],
    ['PROP', 'T'],
    ['EVNT', 'E'],
    ['AUTH', 'A'],
    ['INFO', 'I'],
    ['FACT', 'F'],
    ['CONTEXT', 'C'],
    ['ACTOR', 'R'],
  ])('mints a %s id with type letter %s', async (entity, letter) => {
    const id = await pair.client.mint({ entity, name: 'x', metadata: { a: [1, 2] } })
    expect(id).toMatch(ID_PATTERN)
    expect(id.split('-')[4]).toBe(letter)
    expect(pair.emulator.stats().mintedIds).toContain(id)
  })

  test('ids are unique across many mints', async () => {
    const ids = await Promise.all(Array.from({ length: 200 }, () => pair.client.mint({ entity: 'INFO' })))
    expect(new Set(ids).size).toBe(200)
  })

  test('an unknown entity is a 400 in v1 wording, sent once', async () => {
    const before = pair.emulator.stats().requests.mint
    const err = await pair.client.mint({ entity: 'NOPE' }).catch((e) => e)
    expect(err).toBeInstanceOf(Error)
    expect(err.message).toBe(
      'ChittyID service unavailable - cannot mint NOPE ID: ChittyID service error: 400 Bad Request',
    )
    expect(err.code).toBe('EHTTP')
    expect(err.status).toBe(400)
    expect(pair.emulator.stats().requests.mint - before).toBe(1)
  })

  test('mintBatch returns one id per request, in order', async () => {
    const ids = await pair.client.mintBatch([{ entity: 'PEO' }, { entity: 'PLACE' }, { entity: 'FACT' }])
    expect(ids).toHaveLength(3)
    expect(ids.map((id) => id.split('-')[4])).toEqual(['P', 'L', 'F'])
    ids.forEach((id) => expect(id).toMatch(ID_PATTERN))
  })

  test('mintBatch failure uses the batch wording', async () => {
    const err = await pair.client.mintBatch([{ entity: 'PEO' }, { entity: 'BAD' }]).catch((e) => e)
    expect(err.message).toBe(
      'ChittyID service unavailable - cannot batch mint IDs: ChittyID service error: 400 Bad Request',
    )
  })
})

describe('authentication', () => {
  let emulator
  beforeAll(async () => {
    emulator = await ChittyIDEmulator.start({ port: 0, token: TOKEN })
  })
  afterAll(() => emulator.close())

  test('without the key the service answers 401', async () => {
    const client = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, ...noRetry })
    const err = await client.mint({ entity: 'PEO' }).catch((e) => e)
    // v1's wording first (code that wraps v1 matches it), then what to do about it.
    expect(err.message).toMatch(
      /^ChittyID service unavailable - cannot mint PEO ID: ChittyID service error: 401 Unauthorized \(.*apiKey/,
    )
    expect(err.status).toBe(401)
    await client.close()
  })

  test('a wrong key is a 401 and never appears in the error', async () => {
    const client = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, apiKey: 'wrong-secret-key', ...noRetry })
    const err = await client.mint({ entity: 'PEO' }).catch((e) => e)
    expect(err.status).toBe(401)
    expect(JSON.stringify({ ...err, message: err.message, stack: err.stack })).not.toContain('wrong-secret-key')
    expect(JSON.stringify(client)).not.toContain('wrong-secret-key')
    await client.close()
  })
})

describe('server errors and transport failures', () => {
  test('a 5xx rejects with the status in v1 wording', async () => {
    const pair = await startPair({ client: noRetry })
    pair.emulator.setFault({ errorStatus: 500 })
    const err = await pair.client.mint({ entity: 'PEO' }).catch((e) => e)
    expect(err.message).toBe(
      'ChittyID service unavailable - cannot mint PEO ID: ChittyID service error: 500 Internal Server Error',
    )
    // v1's message; the code says a 500 after the request arrived leaves the mint's outcome unknown.
    expect(err.code).toBe('EMINTUNKNOWN')
    expect(err.status).toBe(500)
    expect(err.cause.code).toBe('EHTTP')
    pair.emulator.setFault({ errorStatus: 503 })
    const err503 = await pair.client.mint({ entity: 'PEO' }).catch((e) => e)
    expect(err503.message).toContain('503 Service Unavailable')
    await pair.close()
  })

  test('connection refused says fetch failed and carries ECONNREFUSED', async () => {
    const port = await closedPort()
    const client = new ChittyIDClient({ serviceUrl: `http://127.0.0.1:${port}/v1`, ...noRetry })
    const err = await client.mint({ entity: 'PEO' }).catch((e) => e)
    expect(err.message).toMatch(/^ChittyID service unavailable - cannot mint PEO ID: .*fetch failed/)
    expect(err.code).toBe('ECONNREFUSED')
    expect(err.cause).toBeInstanceOf(Error)
    expect(err.cause.message).toContain('ECONNREFUSED')
    await client.close()
  })

  test('a slow service times out with ETIMEDOUT', async () => {
    const pair = await startPair({ client: { timeout: 150, ...noRetry } })
    // The answer would take 20 s: the call ends at the 150 ms timeout, not when the answer
    // comes. The bound sits between the two, far from both on a loaded machine.
    pair.emulator.setFault({ latencyMs: 20_000 })
    const started = Date.now()
    const err = await pair.client.mint({ entity: 'PEO' }).catch((e) => e)
    expect(err.code).toBe('EMINTUNKNOWN') // the mint may have been processed: not retried
    expect(err.cause.code).toBe('ETIMEDOUT')
    expect(err.message).toContain('fetch failed')
    expect(Date.now() - started).toBeLessThan(5000)
    await pair.close()
  })

  test('a 2xx without a string chittyId is an error, never undefined', async () => {
    const pair = await startPair({ client: noRetry })
    pair.emulator.setFault({ malformedJson: true })
    const err = await pair.client.mint({ entity: 'PEO' }).catch((e) => e)
    expect(err).toBeInstanceOf(Error)
    expect(err.code).toBe('EMINTUNKNOWN')
    expect(err.cause.code).toBe('EBADRESPONSE')
    await pair.close()
  })

  test('response bodies are size-capped', async () => {
    const pair = await startPair({ client: { maxResponseBytes: 4096, ...noRetry } })
    pair.emulator.setFault({ oversizedBody: 64 * 1024 })
    const err = await pair.client.mint({ entity: 'PEO' }).catch((e) => e)
    expect(err.code).toBe('EMINTUNKNOWN')
    expect(err.cause.code).toBe('EBODYTOOLARGE')
    await pair.close()
  })
})

describe('serviceUrl handling', () => {
  test('a trailing slash does not produce //mint', async () => {
    const emulator = await ChittyIDEmulator.start({ port: 0 })
    const client = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1/`, ...noRetry })
    expect(client.serviceUrl).toBe(`${emulator.url}/v1`)
    expect(await client.mint({ entity: 'PEO' })).toMatch(ID_PATTERN)
    expect(emulator.stats().requests.other).toBe(0)
    await client.close()
    await emulator.close()
  })

  test('bare and /api/v1 prefixes work too', async () => {
    const emulator = await ChittyIDEmulator.start({ port: 0 })
    for (const prefix of ['', '/api/v1']) {
      const client = new ChittyIDClient({ serviceUrl: `${emulator.url}${prefix}` })
      expect(await client.mint({ entity: 'FACT' })).toMatch(ID_PATTERN)
      await client.close()
    }
    await emulator.close()
  })

  test('defaults follow v1', () => {
    const client = new ChittyIDClient()
    expect(client.serviceUrl).toBe('https://id.chitty.cc/v1')
    expect(client.timeout).toBe(10000)
    expect(new ChittyIDClient({ timeout: 0 }).timeout).toBe(10000)
  })

  test('unusable URLs are a TypeError', () => {
    for (const serviceUrl of ['not a url', 'ftp://example.com', '/relative/v1']) {
      expect(() => new ChittyIDClient({ serviceUrl })).toThrow(TypeError)
    }
  })
})

describe('validate', () => {
  let pair
  beforeAll(async () => {
    pair = await startPair({ token: TOKEN })
  })
  afterAll(() => pair.close())

  test('a minted id is valid, with its entity', async () => {
    const id = await pair.client.mint({ entity: 'EVNT' })
    expect(await pair.client.validate(id)).toEqual({ valid: true, chittyId: id, entity: 'EVNT' })
  })

  test('a well-formed id with a wrong check letter is invalid per the service', async () => {
    const id = await pair.client.mint({ entity: 'PEO' })
    const parts = id.split('-')
    parts[6] = parts[6] === 'A' ? 'B' : 'A'
    const result = await pair.client.validate(parts.join('-'))
    expect(result.valid).toBe(false)
  })

  test('ids are percent-encoded into the path', async () => {
    const result = await pair.client.validate('a/b?c#d')
    expect(result.valid).toBe(false)
    expect(result.chittyId).toBe('a/b?c#d')
  })

  test('a non-2xx answer is { valid: false, error: "Service error: <status>" }', async () => {
    const client = new ChittyIDClient({ serviceUrl: `${pair.emulator.url}/v1`, ...noRetry })
    // v1's answer, plus a code that says this is no verdict on the id.
    expect(await client.validate('CT-A-CHI-1234-I-24-A-0')).toEqual({
      valid: false,
      error: 'Service error: 401',
      errorCode: 'EAUTH',
    })
    await client.close()
  })

  test('a transport failure falls back to the format check and never rejects', async () => {
    const port = await closedPort()
    const client = new ChittyIDClient({ serviceUrl: `http://127.0.0.1:${port}`, ...noRetry })
    const good = await client.validate('CT-A-CHI-1234-I-24-A-0')
    expect(good.valid).toBe(true)
    expect(good.error).toContain('fetch failed')
    const bad = await client.validate('chitty_legacy')
    expect(bad.valid).toBe(false)
    expect(bad.error).toContain('fetch failed')
    await client.close()
  })
})

describe('validateFormat', () => {
  const client = new ChittyIDClient()
  test.each([
    ['CT-A-CHI-1234-I-24-A-0', true],
    ['ID-Z-ZZZ-0000-P-99-Z-Z', true],
    ['CHITTY-PEO-123456-ABC', false],
    ['chitty_peo_123', false],
    ['01-A-CHI-1234-I-2409-5-0', false],
    ['ct-a-chi-1234-i-24-a-0', false],
    ['CT-A-CHI-1234-I-24-A-0\n', false],
    [' CT-A-CHI-1234-I-24-A-0', false],
    ['', false],
  ])('%j -> %s', (id, expected) => {
    expect(client.validateFormat(id)).toBe(expected)
  })

  test('non-strings are false, never a throw', () => {
    for (const value of [null, undefined, 42, {}, [], Symbol('x'), 10n, () => 'CT-A-CHI-1234-I-24-A-0']) {
      expect(client.validateFormat(value)).toBe(false)
    }
  })
})

describe('healthCheck', () => {
  test('true when up, false when down or unreachable, never rejects', async () => {
    const pair = await startPair()
    expect(await pair.client.healthCheck()).toBe(true)
    pair.emulator.setFault({ down: true })
    expect(await pair.client.healthCheck()).toBe(false)
    pair.emulator.setFault({})
    expect(await pair.client.healthCheck()).toBe(true)
    await pair.close()
    const port = await closedPort()
    const client = new ChittyIDClient({ serviceUrl: `http://127.0.0.1:${port}` })
    expect(await client.healthCheck()).toBe(false)
    await client.close()
  })
})

describe('module functions', () => {
  test('mintChittyID and validateChittyID use a one-off client', async () => {
    const emulator = await ChittyIDEmulator.start({ port: 0, token: TOKEN })
    const config = { serviceUrl: `${emulator.url}/v1`, apiKey: TOKEN }
    const id = await mintChittyID({ entity: 'AUTH' }, config)
    expect(id).toMatch(ID_PATTERN)
    expect(await validateChittyID(id, config)).toMatchObject({ valid: true, chittyId: id })
    await emulator.close()
  })
})

describe('ChittyIDClient.parse', () => {
  test('splits a well-formed id and returns null otherwise', () => {
    expect(ChittyIDClient.parse('CT-A-CHI-1234-I-24-A-0')).toEqual({
      version: 'CT',
      generation: 'A',
      location: 'CHI',
      sequence: '1234',
      entityType: 'I',
      yearMonth: '24',
      check: 'A',
      extension: '0',
    })
    expect(ChittyIDClient.parse('nope')).toBeNull()
    expect(ChittyIDClient.parse(undefined)).toBeNull()
  })
})

describe('bad input', () => {
  const client = new ChittyIDClient({ serviceUrl: 'http://127.0.0.1:9' })
  test('mint rejects non-object requests and missing entity with TypeError', async () => {
    for (const request of [undefined, null, 'PEO', 42, [], {}, { entity: 5 }, { entity: '' }]) {
      await expect(client.mint(request)).rejects.toThrow(TypeError)
    }
  })
  test('circular or BigInt metadata is a TypeError, not a crash', async () => {
    const circular = { entity: 'PEO', metadata: {} }
    circular.metadata.self = circular
    await expect(client.mint(circular)).rejects.toThrow(TypeError)
    await expect(client.mint({ entity: 'PEO', metadata: { n: 10n } })).rejects.toThrow(TypeError)
  })
  test('option types are checked', () => {
    expect(() => new ChittyIDClient('http://x')).toThrow(TypeError)
    expect(() => new ChittyIDClient({ timeout: '10s' })).toThrow(TypeError)
    expect(() => new ChittyIDClient({ apiKey: 12 })).toThrow(TypeError)
  })
})

// v1's methods took one argument: code that hands them to array methods, and a timeout read
// from the environment, kept working (__test__/dropin/habits/ shows the same under jest).
describe('v1 call habits against the emulator', () => {
  let pair
  beforeAll(async () => {
    pair = await startPair({ token: TOKEN })
  })
  afterAll(() => pair.close())

  test('methods handed to array methods ignore the index they are given', async () => {
    const ids = await Promise.all([{ entity: 'PEO' }, { entity: 'PLACE' }].map(pair.client.mint, pair.client))
    expect(ids).toHaveLength(2)
    const answers = await Promise.all(ids.map(pair.client.validate.bind(pair.client)))
    expect(answers.map((a) => a.valid)).toEqual([true, true])
    const batches = await Promise.all(
      [[{ entity: 'PEO' }], [{ entity: 'PROP' }]].map(pair.client.mintBatch, pair.client),
    )
    expect(batches.flat()).toHaveLength(2)
    expect(pair.emulator.stats().mintedIds).toEqual(expect.arrayContaining([...ids, ...batches.flat()]))
  })

  test('a timeout given as a string of digits is that many ms', async () => {
    const client = new ChittyIDClient({ serviceUrl: `${pair.emulator.url}/v1`, apiKey: TOKEN, timeout: '1500' })
    try {
      expect(client.timeout).toBe(1500)
      await expect(client.mint({ entity: 'PEO' })).resolves.toMatch(ID_PATTERN)
    } finally {
      await client.close()
    }
  })
})
