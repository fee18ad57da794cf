// Hostile values for __test__/hostile-arguments.test.mjs: each entry makes a fresh value (some
// are stateful, e.g. a getter that throws on its second read). Errors a hostile value throws
// itself carry HOSTILE, so the harness can tell "the caller's own exception came back" from a
// failure of the client.

export const HOSTILE = Symbol.for('chittyid-test:hostile')

export function hostileError(what) {
  const err = new Error(`hostile ${what}`)
  err[HOSTILE] = true
  return err
}

const TEN_MB = 'x'.repeat(10 * 1024 * 1024)

function nested(depth) {
  let o = { entity: 'PEO' }
  for (let i = 0; i < depth; i++) o = { a: o }
  return o
}

function cyclic() {
  const o = { entity: 'PEO' }
  o.self = o
  return o
}

/** An object with a getter per field of `fields`: `answer(name, value, reads)` says what a read gets. */
function withGetters(fields, answer) {
  const o = {}
  for (const [name, value] of Object.entries(fields)) {
    let reads = 0
    Object.defineProperty(o, name, {
      enumerable: true,
      get() {
        reads += 1
        return answer(name, value, reads)
      },
    })
  }
  return o
}

/** An object whose `name` getter answers normally once, then throws (time-of-check/time-of-use). */
function secondReadThrows(fields) {
  return withGetters(fields, (name, value, reads) => {
    if (reads > 1) throw hostileError(`getter "${name}" (read ${reads})`)
    return value
  })
}

/** An object whose `name` getter answers a good value once, then a bad one. */
function secondReadChanges(fields, later) {
  return withGetters(fields, (name, value, reads) => (reads > 1 ? later : value))
}

const throwingProxy = (target = {}) =>
  new Proxy(target, {
    get() {
      throw hostileError('proxy get')
    },
    has() {
      throw hostileError('proxy has')
    },
    ownKeys() {
      throw hostileError('proxy ownKeys')
    },
    getOwnPropertyDescriptor() {
      throw hostileError('proxy getOwnPropertyDescriptor')
    },
    getPrototypeOf() {
      throw hostileError('proxy getPrototypeOf')
    },
  })

class Custom {
  constructor() {
    this.entity = 'PEO'
  }
}

/** `[name, make]` pairs: every kind of value an argument or option field can be handed. */
export const VALUES = [
  ['undefined', () => undefined],
  ['null', () => null],
  ['true', () => true],
  ['false', () => false],
  ['NaN', () => NaN],
  ['Infinity', () => Infinity],
  ['-Infinity', () => -Infinity],
  ['-0', () => -0],
  ['0', () => 0],
  ['-1', () => -1],
  ['1.5', () => 1.5],
  ['2^53', () => 2 ** 53],
  ['1e308', () => 1e308],
  ['2^32', () => 2 ** 32],
  ['BigInt', () => 10n],
  ['Symbol', () => Symbol('hostile')],
  ['function', () => function hostile() {}],
  [
    'throwing function',
    () => () => {
      throw hostileError('function call')
    },
  ],
  ['class instance', () => new Custom()],
  ['empty string', () => ''],
  ['string', () => 'PEO'],
  ['lone surrogate', () => 'CT-A-CHI-1234-I-24-A-\uD800'],
  ['NUL byte', () => 'a\u0000b'],
  ['CR LF', () => 'a\r\nX-Injected: 1'],
  ['10 MB string', () => TEN_MB],
  ['array', () => [1, 2, 3]],
  ['sparse array', () => [, , 'x']], // eslint-disable-line no-sparse-arrays
  ['empty array', () => []],
  ['null-prototype object', () => Object.create(null)],
  ['frozen object', () => Object.freeze({ entity: 'PEO' })],
  ['sealed object', () => Object.seal({ entity: 'PEO' })],
  ['throwing proxy', () => throwingProxy()],
  ['throwing proxy array', () => throwingProxy([])],
  [
    'revoked proxy',
    () => {
      const { proxy, revoke } = Proxy.revocable({}, {})
      revoke()
      return proxy
    },
  ],
  [
    'throwing getter',
    () => ({
      get entity() {
        throw hostileError('getter')
      },
    }),
  ],
  ['getter throwing on 2nd read', () => secondReadThrows({ entity: 'PEO', maxSize: 10, signal: undefined })],
  ['getter changing on 2nd read', () => secondReadChanges({ entity: 'PEO', maxSize: 10 }, { evil: true })],
  [
    'throwing toString',
    () => ({
      toString() {
        throw hostileError('toString')
      },
    }),
  ],
  [
    'throwing valueOf',
    () => ({
      valueOf() {
        throw hostileError('valueOf')
      },
    }),
  ],
  [
    'throwing toPrimitive',
    () => ({
      [Symbol.toPrimitive]() {
        throw hostileError('toPrimitive')
      },
    }),
  ],
  [
    'toPrimitive returning an object',
    () => ({
      [Symbol.toPrimitive]() {
        return {}
      },
    }),
  ],
  [
    'toJSON throwing',
    () => ({
      entity: 'PEO',
      toJSON() {
        throw hostileError('toJSON')
      },
    }),
  ],
  ['deeply nested', () => nested(100000)],
  ['cyclic', () => cyclic()],
  ['Uint8Array', () => new Uint8Array([1, 2, 3])],
  ['Buffer', () => Buffer.from('PEO')],
  ['ArrayBuffer', () => new ArrayBuffer(8)],
  ['Date', () => new Date(0)],
  ['invalid Date', () => new Date(NaN)],
  ['RegExp', () => /x/g],
  ['Promise', () => Promise.resolve({ entity: 'PEO' })],
  [
    'rejected Promise',
    () => {
      const p = Promise.reject(hostileError('promise'))
      p.catch(() => {})
      return p
    },
  ],
  ['WeakRef', () => new WeakRef({})],
  ['Map', () => new Map([['x-a', 'b']])],
  ['Error', () => new Error('an error as an argument')],
  ['AbortSignal (aborted)', () => AbortSignal.abort()],
  ['fake signal', () => ({ aborted: false, addEventListener: 1 })],
  [
    'fake signal with throwing aborted',
    () => ({
      get aborted() {
        throw hostileError('aborted getter')
      },
      addEventListener() {},
    }),
  ],
]
