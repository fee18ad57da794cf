// The API key is kept out of free text by one rule (docs/ARCHITECTURE.md, "Redaction"), and
// data is never rewritten by it. The rule's home is src/redact.rs; JS with the addon runs it
// through lib/redact.js `redactionOf`, JS without it runs lib/redact.js's own implementation.
// All three are held to the shared vectors and to each other here. Then the whole client, with
// short keys, against a server that echoes the key everywhere it can.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { inspect } from 'node:util'
import { ChittyIDClient } from '../index.mjs'
import * as portable from '../portable.mjs'
import { rawServer, startPair } from './helpers.mjs'
import { record } from './wait.mjs'

const require = createRequire(import.meta.url)
const { REDACTED, redactSecret, revealsSecret, redactionOf, jsRedaction } = require('../lib/redact.js')
const binding = require('../lib/native/index.js')
const { redactSecretNative, revealsSecretNative } = binding
const viaAddon = redactionOf(binding)
const VECTORS = JSON.parse(readFileSync(new URL('./fixtures/redaction-vectors.json', import.meta.url), 'utf8'))

/** The `Authorization` header of a raw request head, as sent ('' without one). */
const authorizationOf = (head) => /^authorization:[ \t]*(.*)$/im.exec(head)?.[1] ?? ''

/** A client of the given kind: the native client on `transport` ('native', 'fetch'), or 'portable'. */
const clientOn = (transport, options) =>
  transport === 'portable' ? new portable.ChittyIDClient(options) : new ChittyIDClient({ ...options, transport })

describe('one rule, two engines', () => {
  test('the shared vectors, in JS and in Rust', () => {
    expect(VECTORS.redact.length).toBeGreaterThanOrEqual(20)
    for (const [text, secret, want] of VECTORS.redact) {
      expect([text, secret, redactSecret(text, secret)]).toEqual([text, secret, want])
      expect([text, secret, redactSecretNative(text, secret)]).toEqual([text, secret, want])
      expect([text, secret, viaAddon.redactSecret(text, secret)]).toEqual([text, secret, want])
    }
    for (const [field, secret, want] of VECTORS.reveals) {
      expect([field, secret, revealsSecret(field, secret)]).toEqual([field, secret, want])
      expect([field, secret, revealsSecretNative(field, secret)]).toEqual([field, secret, want])
      expect([field, secret, viaAddon.revealsSecret(field, secret)]).toEqual([field, secret, want])
    }
  })

  test('through the addon, JS keeps the JS contract for anything but two strings', () => {
    const odd = [undefined, null, 5, {}, ['k'], Symbol.for('k')]
    for (const value of odd) {
      for (const [a, b] of [
        [value, 'k'],
        ['Bearer k', value],
        [value, value],
      ]) {
        expect(viaAddon.redactSecret(a, b)).toBe(redactSecret(a, b))
        expect(viaAddon.revealsSecret(a, b)).toBe(revealsSecret(a, b))
        expect(revealsSecret(a, b)).toBe(false)
      }
    }
    expect(redactSecret(undefined, 'k')).toBeUndefined()
    expect(redactSecret('Bearer k', undefined)).toBe('Bearer k')
    expect(jsRedaction).toEqual({ redactSecret, revealsSecret })
  })

  test('through the addon, text with a lone surrogate comes back as it came, redacted', () => {
    const key = 'sk_live_0123456789'
    for (const lone of ['\uD800', '\uDFFF', 'a\uDC00b', '\uD83D']) {
      const text = `entity ${lone} refused for Bearer ${key} (${lone})`
      expect(viaAddon.redactSecret(text, key)).toBe(`entity ${lone} refused for Bearer ${REDACTED} (${lone})`)
      expect(viaAddon.redactSecret(text, 'absent-secret')).toBe(text)
      expect(viaAddon.revealsSecret(`${lone}${key}`, key)).toBe(true)
    }
    // Through UTF-8 the lone surrogate would become the secret itself.
    expect(viaAddon.revealsSecret('\uD800', '\uFFFD')).toBe(false)
    // A well-formed pair is not a lone surrogate: it still goes through the addon, unchanged.
    expect(viaAddon.redactSecret(`🔑 ${key}`, key)).toBe(`🔑 ${REDACTED}`)
  })

  test("lib/well-formed.js's fallback for runtimes without isWellFormed answers as isWellFormed", () => {
    const { isWellFormed, hasNoLoneSurrogate } = require('../lib/well-formed.js')
    const units = [0x41, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xd83d, 0xde00, 0xe000, 0xfffd]
    let seed = 0x0dd5
    const next = (n) => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0
      return seed % n
    }
    let lone = 0
    for (let i = 0; i < 5000; i++) {
      const text = String.fromCharCode(...Array.from({ length: next(6) }, () => units[next(units.length)]))
      expect([text, hasNoLoneSurrogate(text)]).toEqual([text, text.isWellFormed()])
      expect(isWellFormed(text)).toBe(text.isWellFormed())
      if (!text.isWellFormed()) lone++
    }
    // Both answers occur, so the comparison means something.
    expect(lone).toBeGreaterThan(500)
    expect(lone).toBeLessThan(4500)
  })

  test('both engines agree on 20,000 generated texts and secrets', () => {
    // Fixed seed: a failure names its case and reproduces.
    let seed = 0x5eed1234
    const next = (n) => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0
      return seed % n
    }
    const alphabet = [
      'a',
      'b',
      'k',
      'e',
      'K',
      '_',
      '-',
      '.',
      ' ',
      '\t',
      'é',
      '日',
      '🔑',
      'Bearer ',
      'bearer\n',
      '[redacted]',
    ]
    const pick = (len) => Array.from({ length: len }, () => alphabet[next(alphabet.length)]).join('')
    for (let i = 0; i < 20000; i++) {
      const text = pick(next(14))
      // Short secrets, around the 8-character threshold, and empty (whole code points: a key is
      // a header value, and napi turns a lone surrogate into U+FFFD).
      const secret = [
        pick(1),
        pick(2),
        'k',
        'ke',
        'a-b',
        Array.from(pick(3)).slice(0, 8).join(''),
        'kkkkkkk',
        'kkkkkkkk',
        '',
      ][next(9)]
      const js = [redactSecret(text, secret), revealsSecret(text, secret)]
      const rust = [redactSecretNative(text, secret), revealsSecretNative(text, secret)]
      if (js[0] !== rust[0] || js[1] !== rust[1]) expect({ text, secret, js }).toEqual({ text, secret, js: rust })
    }
  })

  test('both engines agree on 5,000 generated texts holding encoded echoes', () => {
    let seed = 0x0e5c0de5
    const next = (n) => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0
      return seed % n
    }
    const secrets = [
      'sk-live-SECRET-7f3a9c',
      'sk+Ab/cd=ef/GH+ij==',
      'kkkkkkkk',
      'a%2Fb%zzcdefg',
      'aébcdefghi',
      'sk\\live"7f/3a9c',
    ]
    const escape = (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`
    for (let i = 0; i < 5000; i++) {
      const secret = secrets[next(secrets.length)]
      // The secret with some characters percent-escaped (hex in either case), base64 of it
      // behind a few lead bytes, and noise around.
      const partly = Array.from(secret, (c) => {
        if (c.charCodeAt(0) > 0x7f || next(3) !== 0) return c
        return next(2) ? escape(c).toUpperCase() : escape(c)
      }).join('')
      const lead = ['', 'u:', 'us:', 'user:'][next(4)]
      const b64 = [...secret].every((c) => c.charCodeAt(0) < 0x80) ? btoa(lead + secret) : ''
      const noise = ['', '%', '%2', '%zz', ' ', 'é', '日', '🔑', 'Basic ', '[redacted]', 'sk']
      const json = JSON.stringify(secret).slice(1, -1)
      const parts = [
        partly,
        b64,
        b64.replace(/\+/g, '-').replace(/\//g, '_'),
        json,
        json.replace(/\//g, '\\/'),
        ...noise,
      ]
      const text = Array.from({ length: next(6) }, () => parts[next(parts.length)]).join('')
      const js = redactSecret(text, secret)
      const rust = redactSecretNative(text, secret)
      if (js !== rust) expect({ text, secret, js }).toEqual({ text, secret, js: rust })
    }
  })

  test('the placeholder is one string', () => {
    expect(REDACTED).toBe('[redacted]')
    expect(redactSecretNative('k', 'k')).toBe(REDACTED)
  })
})

// What a short-keyed client sees from a server that echoes `Authorization` into reason
// phrases, error bodies, JSON fields and headers. Ids and entities must come back intact, and
// the key must not appear (as a word: a 3-letter key is inside many words) in any error,
// event, log record, stats or metrics.
const ID = 'CT-A-CHI-1234-E-24-A-0'
const KEYS = ['k', 'ke', 'soc', 'E', 'CHI']

/** Everything a caller can see of an error, its cause chain included. */
function describeError(err) {
  const parts = []
  for (let e = err; e; e = e.cause)
    parts.push(e.message, e.stack, e.code, JSON.stringify(e), inspect(e, { showHidden: true, depth: 5 }))
  return parts.join('\n')
}

const wordOf = (key) => new RegExp(`(?<![A-Za-z0-9_\\u0080-\\uffff])${key}(?![A-Za-z0-9_\\u0080-\\uffff])`)

async function echoingRawServer() {
  return rawServer(({ socket, head, body, path }) => {
    const auth = authorizationOf(head)
    const send = (status, reason, obj, headers = '') => {
      const text = JSON.stringify(obj)
      socket.write(
        `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\n${headers}Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
      )
    }
    const echoHeaders = `WWW-Authenticate: ${auth}\r\nX-Echo: ${auth}\r\n`
    if (path.startsWith('/v1/validate/')) {
      const id = decodeURIComponent(path.slice('/v1/validate/'.length))
      if (id === 'ECHO')
        return send(
          200,
          'OK',
          { valid: false, chittyId: auth, entity: auth.replace(/^Bearer /, ''), error: `rejected ${auth}` },
          echoHeaders,
        )
      return send(200, 'OK', { valid: true, chittyId: id, entity: 'PEO' }, echoHeaders)
    }
    if (path === '/v1/mint') {
      const { entity } = JSON.parse(body)
      if (entity === 'PEO') return socket.destroy() // "socket hang up", "other side closed"
      if (entity === 'EVNT') return send(201, 'Created', { success: true, chittyId: ID }, echoHeaders)
      return send(
        503,
        `Unavailable (echo ${auth})`,
        { error: `echo ${auth}` },
        `${echoHeaders}Retry-After: ${auth}\r\n`,
      )
    }
    return send(503, `Down (echo ${auth})`, { error: auth }, echoHeaders)
  })
}

// 'portable': the portable build (docs/PORTABLE.md), which has no logger and no metrics().
describe.each(['native', 'fetch', 'portable'])('a short API key over the %s transport', (transport) => {
  const isPortable = transport === 'portable'
  let server
  beforeAll(async () => {
    server = await echoingRawServer()
  })
  afterAll(() => server.close())

  const client = (apiKey, logger) => {
    const common = {
      serviceUrl: server.url,
      apiKey,
      retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
      circuitBreaker: false,
      cache: false,
    }
    return isPortable ? new portable.ChittyIDClient(common) : new ChittyIDClient({ ...common, transport, logger })
  }

  /** What a keyless-looking client (a long, unrelated key) sees of a hang-up: the baseline. */
  async function hangUpText() {
    const c = client('baseline-key-with-no-overlap')
    try {
      return (
        await c.mint({ entity: 'PEO' }).then(
          () => null,
          (e) => e,
        )
      ).message
    } finally {
      await c.close()
    }
  }

  test.each(KEYS)(
    'key %j: data intact, free text redacted only where the key is a word, the key nowhere',
    async (key) => {
      const logged = []
      const logger = Object.fromEntries(
        ['debug', 'info', 'warn', 'error'].map((level) => [
          level,
          (...args) => logged.push(JSON.stringify([level, ...args])),
        ]),
      )
      const c = client(key, logger)
      const seen = record(c, ['retry', 'error', 'rateLimited', 'unhealthy'])
      c.on('error', () => {})
      try {
        // Data: ids and entities from the service are returned as sent, whatever the key.
        expect(await c.validate(ID)).toEqual({ valid: true, chittyId: ID, entity: 'PEO' })
        expect(await c.mint({ entity: 'EVNT' })).toBe(ID)
        // Free text without the key as a word is untouched: the same as any other client's.
        const hangUp = await c.mint({ entity: 'PEO' }).then(
          () => null,
          (e) => e,
        )
        expect(hangUp.code).toBe('EMINTUNKNOWN')
        expect(hangUp.message).toBe(await hangUpText())
        expect(hangUp.message).not.toContain(REDACTED)

        // A field that is the key, or `Bearer <key>`, is dropped, not rewritten; the service's
        // `error` is free text and is redacted.
        expect(await c.validate('ECHO')).toEqual({ valid: false, error: `rejected Bearer ${REDACTED}` })

        // The echoes are redacted.
        const refused = await c.mint({ entity: 'PLACE' }).then(
          () => null,
          (e) => e,
        )
        expect(refused.message).toBe(
          `ChittyID service unavailable - cannot mint PLACE ID: ChittyID service error: 503 Unavailable (echo Bearer ${REDACTED})`,
        )
        expect(await c.healthCheck()).toBe(false)

        const everything = [
          describeError(hangUp),
          describeError(refused),
          ...seen.events.map(([name, payload]) => `${name} ${inspect(payload, { showHidden: true, depth: 5 })}`),
          ...logged,
          JSON.stringify(c.getStats()),
          isPortable ? '' : c.metrics(),
        ].join('\n')
        expect(seen.count('retry')).toBeGreaterThanOrEqual(1) // the 503 was retried: events were seen
        // The logger saw the echoes, the health check's too (its record is written by the transport).
        if (!isPortable) {
          expect(
            logged.some((line) => line.includes('"operation":"healthCheck"') && line.includes(`Bearer ${REDACTED}`)),
          ).toBe(true)
          expect(
            logged.some((line) => line.includes('"operation":"mint"') && line.includes(`Bearer ${REDACTED}`)),
          ).toBe(true)
        }
        expect(everything).toContain(`Bearer ${REDACTED}`)
        expect(everything).not.toMatch(wordOf(key))
        expect(everything).not.toMatch(/\[REDACTED\]/) // one placeholder
      } finally {
        await c.close()
      }
    },
  )
})

describe('against the emulator, a key that is one of the words of its ids', () => {
  // Every minted id starts with `CT`; `P` is its type letter for PEO; `EO` is inside `PEO`.
  test.each(['CT', 'P', 'EO'])('key %j: minted ids validate with chittyId and entity intact', async (key) => {
    const pair = await startPair({ token: key, client: { cache: false } })
    try {
      const ids = await pair.client.mintBatch([{ entity: 'PEO' }, { entity: 'PEO' }])
      for (const id of [...ids, await pair.client.mint({ entity: 'PEO' })]) {
        expect(`${id} PEO`).toContain(key) // the key is in the data
        expect(await pair.client.validate(id)).toEqual({ valid: true, chittyId: id, entity: 'PEO' })
      }
      expect(pair.emulator.stats().requests.validate).toBe(3)
    } finally {
      await pair.close()
    }
  })
})

// A 2xx body that is not JSON but the echoed key: V8's JSON.parse message quotes the start of the
// text it failed on, so the portable build showed the key whole ("k3y" is not valid JSON) or its
// first ten characters ("sk-live-SE"...), past any redaction of the whole key.
describe.each(['native', 'fetch', 'portable'])('a non-JSON 2xx echoing the key (%s)', (transport) => {
  test.each(['k3y', 'sk-live-SECRET-7f3a9c'])('key %j: the invalid-JSON error shows none of it', async (key) => {
    const server = await rawServer(({ socket, head }) => {
      const echoed = authorizationOf(head).replace(/^Bearer /, '')
      socket.write(
        `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${echoed.length}\r\n\r\n${echoed}`,
      )
    })
    const options = { serviceUrl: server.url, apiKey: key, retry: false, circuitBreaker: false, cache: false }
    const c = clientOn(transport, options)
    try {
      const err = await c.mint({ entity: 'PEO' }).then(
        () => null,
        (e) => e,
      )
      expect(err.code).toBe('EMINTUNKNOWN')
      expect(err.cause.code).toBe('EBADRESPONSE')
      const shown = describeError(err)
      expect(shown).toContain('invalid JSON')
      expect(shown).not.toMatch(wordOf(key))
      expect(shown).not.toContain(key.slice(0, 6))
    } finally {
      await c.close()
      await server.close()
    }
  })
})

const lowerHex = (text) => text.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())

// Echoes of the key the plain rule misses: percent-encoded (a key with URL-special characters
// echoed in a query or a Location) and base64 (`Basic base64(user:key)`), in a reason phrase.
describe.each(['native', 'fetch', 'portable'])('encoded echoes of the key (%s)', (transport) => {
  test.each(['sk+Ab/cd=ef/GH+ij==', 'sk-live-SECRET-7f3a9c'])(
    'key %j: errors, events and logs show no form of it',
    async (key) => {
      const forms = [
        key,
        encodeURIComponent(key),
        lowerHex(encodeURIComponent(key)),
        btoa(key),
        btoa(`user:${key}`).slice(4, -4),
        btoa(`us:${key}`).slice(4, -4),
      ]
      const server = await rawServer(({ socket, head }) => {
        const echoed = authorizationOf(head).replace(/^Bearer /, '')
        const reason = `Err q=${encodeURIComponent(echoed)} l=${lowerHex(encodeURIComponent(echoed))} b=${btoa(echoed)} basic=${btoa(`user:${echoed}`)} ${btoa(`us:${echoed}`)}`
        socket.write(`HTTP/1.1 500 ${reason}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`)
      })
      const logged = []
      const logger = Object.fromEntries(
        ['debug', 'info', 'warn', 'error'].map((level) => [
          level,
          (...args) => logged.push(inspect(args, { depth: 5 })),
        ]),
      )
      const options = { serviceUrl: server.url, apiKey: key, retry: false, circuitBreaker: false, cache: false }
      const c =
        transport === 'portable'
          ? new portable.ChittyIDClient(options)
          : new ChittyIDClient({ ...options, transport, logger })
      try {
        const minted = await c.mint({ entity: 'PEO' }).then(
          () => null,
          (e) => e,
        )
        expect(minted.code).toBe('EMINTUNKNOWN')
        const checked = await c.validate('CT-A-CHI-1234-E-24-A-0')
        const everything = [describeError(minted), JSON.stringify(checked), ...logged].join('\n')
        expect(everything).toContain(`q=${REDACTED} l=${REDACTED} b=${REDACTED}`)
        for (const form of forms) expect(everything).not.toContain(form)
      } finally {
        await c.close()
        await server.close()
      }
    },
  )
})

// A batch answer is data like a mint's: an id that gives the key away (a service echoing
// `Authorization` into `chittyIds`) is refused, never returned, as `mint()` refuses it.
describe.each(['native', 'fetch', 'portable'])('a batch answer echoing the key (%s)', (transport) => {
  test.each(['k3y', 'sk-live-SECRET-7f3a9c'])('key %j: mintBatch refuses it and shows it nowhere', async (key) => {
    const server = await rawServer(({ socket, head }) => {
      const auth = authorizationOf(head)
      const body = JSON.stringify({ chittyIds: [auth.replace(/^Bearer /, ''), auth] })
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
    })
    const options = { serviceUrl: server.url, apiKey: key, retry: false, circuitBreaker: false, cache: false }
    const c = clientOn(transport, options)
    try {
      const outcome = await c.mintBatch([{ entity: 'PEO' }, { entity: 'PLACE' }]).then(
        (ids) => ({ ids }),
        (error) => ({ error }),
      )
      expect(outcome.ids).toBeUndefined()
      expect(outcome.error.code).toBe('EMINTUNKNOWN')
      expect(outcome.error.cause.code).toBe('EBADRESPONSE')
      expect(describeError(outcome.error)).not.toMatch(wordOf(key))
    } finally {
      await c.close()
      await server.close()
    }
  })
})

// A placeholder's errorCode is the service's text: redacted in the error (`serviceErrorCode`)
// and in the `placeholder` event, as a reason phrase is.
describe.each(['native', 'fetch', 'portable'])('a placeholder whose errorCode echoes the key (%s)', (transport) => {
  test.each(['k3y', 'sk-live-SECRET-7f3a9c'])('key %j: neither the error nor the event shows it', async (key) => {
    const server = await rawServer(({ socket, head }) => {
      const auth = authorizationOf(head)
      const body = JSON.stringify({
        success: true,
        fallback: true,
        errorCode: `MINT_FAILED ${auth}`,
        chittyId: '03-0-ERR-0001-T-2612-0-22',
      })
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
    })
    const seen = []
    for (const acceptPlaceholders of [false, true]) {
      const options = {
        serviceUrl: server.url,
        apiKey: key,
        retry: false,
        circuitBreaker: false,
        cache: false,
        acceptPlaceholders,
      }
      const c = clientOn(transport, options)
      c.on('placeholder', (payload) => seen.push(inspect(payload)))
      try {
        const outcome = await c.mint({ entity: 'PEO' }).then(
          (id) => id,
          (e) => e,
        )
        if (acceptPlaceholders) expect(outcome).toBe('03-0-ERR-0001-T-2612-0-22')
        else {
          expect(outcome.code).toBe('EPLACEHOLDER')
          expect(outcome.serviceErrorCode).toBe(`MINT_FAILED Bearer ${REDACTED}`)
          seen.push(describeError(outcome))
        }
      } finally {
        await c.close()
      }
    }
    await server.close()
    expect(seen.length).toBe(2)
    expect(seen.join('\n')).toContain(`MINT_FAILED Bearer ${REDACTED}`)
    expect(seen.join('\n')).not.toMatch(wordOf(key))
  })
})

// serde quotes a value of the wrong type in its message, escaped as JSON: a key holding `\` or
// `"` came out as `sk\\live\"...`, past the plain match.
describe.each(['native', 'fetch', 'portable'])('a parser quoting the key JSON-escaped (%s)', (transport) => {
  test('validate() of an answer with the key where a boolean belongs shows no form of it', async () => {
    const key = 'sk-live\\SECRET"7f/3a9c'
    const server = await rawServer(({ socket, head }) => {
      const echoed = authorizationOf(head).replace(/^Bearer /, '')
      const body = JSON.stringify({ valid: true, isError: echoed, replaced: echoed })
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
    })
    const options = { serviceUrl: server.url, apiKey: key, retry: false, circuitBreaker: false, cache: false }
    const c = clientOn(transport, options)
    try {
      const answer = JSON.stringify(await c.validate('CT-A-CHI-1234-E-24-A-0'))
      for (const form of [key, JSON.stringify(key).slice(1, -1), JSON.stringify(JSON.stringify(key)).slice(1, -1)])
        expect(answer).not.toContain(form)
    } finally {
      await c.close()
      await server.close()
    }
  })
})
