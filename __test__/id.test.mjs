// The id grammars (v1's and the deployed service's) live twice: `validateFormat` is a JS regex plus
// the check-pair arithmetic (lib/id.js), and the native side (src/id/mod.rs: validate()'s
// fallback, the emulator) uses the `regex` crate. These property tests generate strings from a
// seeded PRNG and require both to agree on every one of them; both also check the vectors that
// scripts/id-vectors.py computed independently (__test__/fixtures/id-vectors.json).
//
// A failure names its seed and input; rerun just that seed with FORMAT_TEST_SEED=<n>.
import { createRequire } from 'node:module'
import { execFileSync } from 'node:child_process'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ChittyIDClient } from '../index.mjs'

const require = createRequire(import.meta.url)
const native = require('../lib/native/index.js')
const format = require('../lib/id.js')
const { validateFormat, CHITTY_ID, DEPLOYED_ID } = format
const { vectors: VECTORS } = require('./fixtures/id-vectors.json')
const root = join(dirname(fileURLToPath(import.meta.url)), '..')

const SEEDS = process.env.FORMAT_TEST_SEED ? [Number(process.env.FORMAT_TEST_SEED)] : [1, 2, 3]
const RANDOM_STRINGS_PER_SEED = 3000
const VALID_IDS_PER_SEED = 500
const MUTATED_IDS_PER_SEED = 40
const FIELDS = ['version', 'generation', 'location', 'sequence', 'entityType', 'yearMonth', 'check', 'extension']
const DEPLOYED_FIELDS = [
  'version',
  'region',
  'jurisdiction',
  'sequential',
  'entityType',
  'yearMonth',
  'trustLevel',
  'checksum',
]

/** mulberry32: a small seeded PRNG, so a failing case can be replayed. */
function prng(seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n) => Math.floor(next() * n)
  return { int, pick: (xs) => xs[int(xs.length)] }
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
const DIGIT = '0123456789'
const LOWER = 'abcdefghijklmnopqrstuvwxyz'
// Characters a sloppy grammar could let through: lookalikes and case-folding traps (Kelvin sign,
// long s, dotted I, fullwidth letters and digits, Arabic-Indic and superscript digits), dashes
// that are not U+002D, whitespace and line ends (`$` must not match before a final newline),
// NUL, a lone surrogate and an astral character.
const TRAPS = [
  '-',
  '_',
  ' ',
  '\t',
  '\n',
  '\r',
  '\0',
  '.',
  '/',
  '+',
  'K',
  'ſ',
  'İ',
  'ı',
  'Ａ',
  'Ｚ',
  '０',
  '９',
  '٣',
  '²',
  'É',
  'ß',
  '‐',
  '–',
  '−',
  '\u00a0',
  '\u2028',
  '\ud800',
  '🦀',
]
const ALPHABET = [...UPPER, ...DIGIT, ...LOWER, ...TRAPS]

/** Each position's class in `VV-G-LLL-SSSS-T-YM-C-X`. */
const SHAPE = 'UU-U-UUU-DDDD-U-DD-U-X'
/** ... and in the deployed `VV-G-LLL-SSSS-T-YYMM-C-XX` (its pair computed apart). */
const DEPLOYED_SHAPE = 'DD-G-UUU-DDDD-T-DDDD-C'

function classChar(c, r) {
  if (c === 'U') return r.pick(UPPER)
  if (c === 'D') return r.pick(DIGIT)
  if (c === 'X') return r.pick(UPPER + DIGIT)
  if (c === 'G') return r.pick('123456789')
  if (c === 'T') return r.pick('PLTEA')
  if (c === 'C') return r.pick('012345')
  return '-'
}

/**
 * The deployed check pair done the plain way, with a BigInt of the whole number (not
 * lib/id.js's arithmetic): digits as digits, letters as 10..35.
 */
function referencePair(fields) {
  const digits = [...fields.replaceAll('-', '')].map((c) => String(parseInt(c, 36))).join('')
  return String((98n - (BigInt(digits) % 97n)) % 97n).padStart(2, '0')
}

function validV1Id(r) {
  return [...SHAPE].map((c) => classChar(c, r)).join('')
}

function validDeployedId(r) {
  const fields = [...DEPLOYED_SHAPE].map((c) => classChar(c, r)).join('')
  return `${fields}-${referencePair(fields)}`
}

/** Half v1 ids, half deployed ones. */
function validId(r) {
  return r.int(2) === 0 ? validV1Id(r) : validDeployedId(r)
}

/** Every single-edit neighbour of a valid id, and some whole-id distortions. */
function nearMisses(id, r) {
  const out = []
  const chars = [...id]
  const replace = (i, s) => chars.slice(0, i).join('') + s + chars.slice(i + 1).join('')
  for (let i = 0; i <= chars.length; i++) {
    if (i < chars.length) {
      // Position flipped to each other class (and to a character of its own class).
      for (const s of [r.pick(UPPER), r.pick(DIGIT), r.pick(LOWER), ...TRAPS]) out.push(replace(i, s))
      out.push(replace(i, '')) // one shorter
      out.push(replace(i, chars[i] + chars[i])) // one longer, by doubling
      out.push(replace(i, chars[i].toLowerCase()))
    }
    out.push(chars.slice(0, i).join('') + r.pick(ALPHABET) + chars.slice(i).join('')) // one inserted
  }
  out.push(id.toLowerCase(), ` ${id}`, `${id} `, `${id}\n`, `\n${id}`, `${id}\r\n`, `${id}-`, `-${id}`)
  out.push(id + id, id.replaceAll('-', '_'), id.replaceAll('-', ''), id.normalize('NFKD'))
  out.push(`CHITTY-${r.pick(['PEO', 'PLACE', 'PROP', 'EVNT'])}-${id.slice(9, 13)}${id.slice(16, 18)}-${id.slice(5, 8)}`)
  if (id.length === 25) {
    // The check pair: every other pair, and the placeholder space (G = 0, ERR, 00NN).
    for (let p = 0; p < 100; p += 1 + r.int(3)) out.push(id.slice(0, 23) + String(p).padStart(2, '0'))
    const placeholder = `${id.slice(0, 3)}0-ERR-00${id.slice(11, 22)}`
    out.push(`${placeholder}-${referencePair(placeholder)}`)
    // ... and its single-character neighbours (G, ERR, the 00 of SSSS, T, C, the pair).
    for (let i = 0; i < 25; i++) {
      if (id[i] === '-') continue
      for (const s of [r.pick(UPPER), r.pick(DIGIT)])
        out.push(`${placeholder}-00`.slice(0, i) + s + `${placeholder}-00`.slice(i + 1))
    }
    // One field character changed to another letter or digit, with the pair that fits the
    // change: only the grammar can tell these apart.
    const fields = id.slice(0, 22)
    for (let i = 0; i < fields.length; i++) {
      if (fields[i] === '-') continue
      for (const s of [r.pick(UPPER), r.pick(DIGIT)]) {
        const changed = fields.slice(0, i) + s + fields.slice(i + 1)
        out.push(`${changed}-${referencePair(changed)}`)
      }
    }
  }
  return out
}

function randomString(r) {
  const len = r.pick([0, 1, 21, 22, 22, 22, 23, 24, 25, 25, 26, r.int(40)])
  let s = ''
  for (let i = 0; i < len; i++) {
    const roll = r.int(10)
    if (roll < 8) s += r.pick(ALPHABET)
    else if (roll < 9) s += String.fromCodePoint(r.int(0x2fff))
    else s += String.fromCodePoint(0x10000 + r.int(0xfffff))
  }
  return s
}

function corpus(seed) {
  const r = prng(seed)
  const cases = []
  for (let i = 0; i < VALID_IDS_PER_SEED; i++) cases.push(validId(r))
  for (let i = 0; i < MUTATED_IDS_PER_SEED; i++) cases.push(...nearMisses(validId(r), r))
  for (let i = 0; i < RANDOM_STRINGS_PER_SEED; i++) cases.push(randomString(r))
  // Id-length strings over the id's own characters, each position usually of its own class.
  for (let i = 0; i < RANDOM_STRINGS_PER_SEED; i++) {
    cases.push([...SHAPE].map((c) => (r.int(10) > 0 ? classChar(c, r) : r.pick([...UPPER, ...DIGIT, '-']))).join(''))
    // Deployed-shaped, with a random pair (right about once in 97) or the right one.
    const fields = [...DEPLOYED_SHAPE]
      .map((c) => (r.int(10) > 0 ? classChar(c, r) : r.pick([...UPPER, ...DIGIT, '-'])))
      .join('')
    cases.push(
      `${fields}-${r.int(3) === 0 ? referencePair(fields.replace(/[^0-9A-Z-]/g, '0')) : String(r.int(100)).padStart(2, '0')}`,
    )
  }
  return cases
}

/** Inputs on which `jsGrammar` and the native grammar disagree, as printable strings. */
function disagreements(cases, jsGrammar, grammar) {
  const found = []
  for (const id of cases) {
    if (jsGrammar(id) !== native.isValidFormatNative(id, grammar)) found.push(JSON.stringify(id))
  }
  return found
}

describe('the JS and Rust id grammars agree', () => {
  const client = new ChittyIDClient()
  afterAll(() => client.close())

  test.each(SEEDS)('seed %i: validateFormat and the native grammar agree on every generated string', (seed) => {
    const cases = corpus(seed)
    expect(cases.length).toBeGreaterThan(10_000)
    const valid = cases.filter((id) => validateFormat(id)).length
    // Neither side of the grammar is starved: both verdicts are common.
    expect(valid).toBeGreaterThan(1_000)
    expect(cases.length - valid).toBeGreaterThan(5_000)
    expect({ seed, disagreements: disagreements(cases, validateFormat) }).toEqual({ seed, disagreements: [] })
    // The client's method is the package's public face of the same function.
    expect({ seed, disagreements: disagreements(cases, (id) => client.validateFormat(id)) }).toEqual({
      seed,
      disagreements: [],
    })
    // Both grammars are well represented among the valid ids.
    expect(cases.filter((id) => format.idGrammarOf(id) === 'deployed').length).toBeGreaterThan(500)
    expect(cases.filter((id) => format.idGrammarOf(id) === 'v1').length).toBeGreaterThan(500)
    for (const grammar of ['v1', 'deployed']) {
      const narrowed = new ChittyIDClient({ idGrammar: grammar })
      try {
        expect({
          seed,
          grammar,
          disagreements: disagreements(cases, (id) => validateFormat(id, { grammar }), grammar),
        }).toEqual({ seed, grammar, disagreements: [] })
        expect({
          seed,
          grammar,
          disagreements: disagreements(cases, (id) => narrowed.validateFormat(id), grammar),
        }).toEqual({ seed, grammar, disagreements: [] })
      } finally {
        narrowed.close()
      }
    }
  })

  test.each(SEEDS)('seed %i: placeholder detection agrees on every generated string', (seed) => {
    const cases = corpus(seed)
    const wrong = cases
      .filter((id) => format.isPlaceholderId(id) !== native.isPlaceholderNative(id))
      .map((id) => JSON.stringify(id))
    expect(cases.filter((id) => format.isPlaceholderId(id)).length).toBeGreaterThan(20)
    expect({ seed, wrong }).toEqual({ seed, wrong: [] })
  })

  test.each(SEEDS)(
    'seed %i: the native and JS parse accept exactly the valid ids and split them into the same fields',
    (seed) => {
      const wrong = []
      for (const id of corpus(seed)) {
        const parsed = native.parseChittyId(id)
        if ((parsed !== null) !== validateFormat(id)) {
          wrong.push(`${JSON.stringify(id)}: parsed ${JSON.stringify(parsed)}`)
          continue
        }
        const js = ChittyIDClient.parse(id)
        if (parsed === null) {
          if (js !== null) wrong.push(`${JSON.stringify(id)}: ChittyIDClient.parse is not null`)
          continue
        }
        if (parsed.fields.join('-') !== id) wrong.push(`${JSON.stringify(id)}: fields ${parsed.fields.join('|')}`)
        const names = parsed.grammar === 'v1' ? FIELDS : DEPLOYED_FIELDS
        if (
          js === null ||
          js.grammar !== parsed.grammar ||
          JSON.stringify(names.map((n) => js[n])) !== JSON.stringify(parsed.fields)
        ) {
          wrong.push(`${JSON.stringify(id)}: ChittyIDClient.parse differs: ${JSON.stringify(js)}`)
        }
        // v1's result keeps v1's shape exactly: eight enumerable fields.
        if (parsed.grammar === 'v1' && JSON.stringify(Object.keys(js)) !== JSON.stringify(FIELDS))
          wrong.push(`${JSON.stringify(id)}: v1 keys ${Object.keys(js)}`)
      }
      expect({ seed, wrong }).toEqual({ seed, wrong: [] })
    },
  )

  // The generated strings must be able to tell grammars apart: each of these slightly wrong
  // grammars has to disagree with the native one somewhere in the first seed's corpus.
  test.each([
    ['a final newline allowed', /^[A-Z]{2}-[A-Z]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{2}-[A-Z]-[0-9A-Z]$/m],
    ['case-insensitive', new RegExp(CHITTY_ID.source, 'i')],
    ['Unicode case folding', new RegExp(CHITTY_ID.source, 'iu')],
    ['extension letters only', /^[A-Z]{2}-[A-Z]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{2}-[A-Z]-[A-Z]$/],
    ['check letter may be a digit', /^[A-Z]{2}-[A-Z]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{2}-[0-9A-Z]-[0-9A-Z]$/],
    ['unanchored end', /^[A-Z]{2}-[A-Z]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{2}-[A-Z]-[0-9A-Z]/],
    ['unanchored start', /[A-Z]{2}-[A-Z]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{2}-[A-Z]-[0-9A-Z]$/],
    ['any dash-like separator', /^[A-Z]{2}[-‐–−][A-Z]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{2}-[A-Z]-[0-9A-Z]$/],
    ['Unicode digits', /^[A-Z]{2}-[A-Z]-[A-Z]{3}-\p{Nd}{4}-[A-Z]-[0-9]{2}-[A-Z]-[0-9A-Z]$/u],
    ['sequence of 3 to 5 digits', /^[A-Z]{2}-[A-Z]-[A-Z]{3}-[0-9]{3,5}-[A-Z]-[0-9]{2}-[A-Z]-[0-9A-Z]$/],
  ])('the corpus catches a v1 grammar with %s', (_, wrongGrammar) => {
    const cases = corpus(SEEDS[0])
    expect(disagreements(cases, (id) => wrongGrammar.test(id), 'v1').length).toBeGreaterThan(0)
  })

  // ... and deployed grammars that are slightly wrong, or skip or botch the check pair.
  const textbookPair = (id) => {
    const digits = [...id.slice(0, 22).replaceAll('-', '')].map((c) => String(parseInt(c, 36))).join('')
    return String(98n - ((BigInt(digits) * 100n) % 97n)).padStart(2, '0') === id.slice(23)
  }
  test.each([
    ['no check pair', (id) => DEPLOYED_ID.test(id)],
    ['the textbook ISO 7064 pair (n × 100)', (id) => DEPLOYED_ID.test(id) && textbookPair(id)],
    [
      'G may be 0',
      (id) =>
        /^[0-9]{2}-[0-9]-[A-Z]{3}-[0-9]{4}-[PLTEA]-[0-9]{4}-[0-5]-[0-9]{2}$/.test(id) &&
        format.deployedCheckPair(id) === Number(id.slice(23)),
    ],
    [
      'any type letter',
      (id) =>
        /^[0-9]{2}-[1-9]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{4}-[0-5]-[0-9]{2}$/.test(id) &&
        format.deployedCheckPair(id) === Number(id.slice(23)),
    ],
    [
      'trust 0-9',
      (id) =>
        /^[0-9]{2}-[1-9]-[A-Z]{3}-[0-9]{4}-[PLTEA]-[0-9]{4}-[0-9]-[0-9]{2}$/.test(id) &&
        format.deployedCheckPair(id) === Number(id.slice(23)),
    ],
    [
      'a final newline allowed',
      (id) =>
        /^[0-9]{2}-[1-9]-[A-Z]{3}-[0-9]{4}-[PLTEA]-[0-9]{4}-[0-5]-[0-9]{2}$/m.test(id) &&
        format.deployedCheckPair(id) === Number(id.slice(23, 25)),
    ],
  ])('the corpus catches a deployed grammar with %s', (_, wrongGrammar) => {
    const cases = corpus(SEEDS[0])
    expect(disagreements(cases, wrongGrammar, 'deployed').length).toBeGreaterThan(0)
  })
})

describe('the vectors computed apart (scripts/id-vectors.py)', () => {
  test('lib/id.js and the native grammar give every vector its expected verdict and fields', () => {
    expect(VECTORS.length).toBeGreaterThan(300)
    const wrong = []
    for (const v of VECTORS) {
      const got = {
        grammar: format.idGrammarOf(v.id),
        valid: validateFormat(v.id),
        v1: validateFormat(v.id, { grammar: 'v1' }),
        deployed: validateFormat(v.id, { grammar: 'deployed' }),
        native: native.isValidFormatNative(v.id),
        placeholder: format.isPlaceholderId(v.id),
        nativePlaceholder: native.isPlaceholderNative(v.id),
        placeholderError: format.placeholderErrorNumber(v.id),
        fields:
          ChittyIDClient.parse(v.id) &&
          Object.values({ ...ChittyIDClient.parse(v.id), grammar: undefined }).filter((f) => f !== undefined),
        nativeFields: native.parseChittyId(v.id)?.fields ?? null,
      }
      const expected = {
        grammar: v.grammar,
        valid: v.grammar !== null,
        v1: v.grammar === 'v1',
        deployed: v.grammar === 'deployed',
        native: v.grammar !== null,
        placeholder: v.placeholder,
        nativePlaceholder: v.placeholder,
        placeholderError: v.placeholder ? v.placeholderError : undefined,
        fields: v.fields ?? null,
        nativeFields: v.fields ?? null,
      }
      if (JSON.stringify(got) !== JSON.stringify(expected)) wrong.push({ id: v.id, note: v.note, got, expected })
    }
    expect(wrong).toEqual([])
  })

  test("the service's sample placeholder is one, and is not a well-formed id", () => {
    const id = '03-0-ERR-0001-T-2612-0-22'
    expect([
      format.isPlaceholderId(id),
      format.placeholderErrorNumber(id),
      validateFormat(id),
      ChittyIDClient.parse(id),
    ]).toEqual([true, 1, false, null])
    expect(format.deployedCheckPair(id)).toBe(22)
  })
})

describe('grammar options', () => {
  const v1Id = 'CT-A-CHI-1234-I-24-A-0'
  const deployedId = VECTORS.find((v) => v.grammar === 'deployed').id

  test('validateFormat and parse narrow to one grammar; a bad grammar is a TypeError', () => {
    expect([validateFormat(v1Id), validateFormat(deployedId)]).toEqual([true, true])
    expect([validateFormat(v1Id, { grammar: 'v1' }), validateFormat(deployedId, { grammar: 'v1' })]).toEqual([
      true,
      false,
    ])
    expect([
      validateFormat(v1Id, { grammar: 'deployed' }),
      validateFormat(deployedId, { grammar: 'deployed' }),
    ]).toEqual([false, true])
    expect([validateFormat(v1Id, {}), validateFormat(deployedId, { grammar: 'any' })]).toEqual([true, true])
    expect(ChittyIDClient.parse(deployedId, { grammar: 'v1' })).toBeNull()
    expect(ChittyIDClient.parse(v1Id, { grammar: 'deployed' })).toBeNull()
    expect(ChittyIDClient.parse(deployedId, { grammar: 'deployed' })).toMatchObject({
      grammar: 'deployed',
      entityType: deployedId[14],
    })
    const v1 = ChittyIDClient.parse(v1Id)
    expect(v1).toEqual({
      version: 'CT',
      generation: 'A',
      location: 'CHI',
      sequence: '1234',
      entityType: 'I',
      yearMonth: '24',
      check: 'A',
      extension: '0',
    })
    expect(v1.grammar).toBe('v1')
    for (const bad of [{ grammar: 'V1' }, { grammar: 1 }, 'v1']) {
      expect(() => validateFormat(v1Id, bad)).toThrow(
        expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }),
      )
      expect(() => ChittyIDClient.parse(v1Id, bad)).toThrow(TypeError)
    }
  })

  test('the client option idGrammar narrows validateFormat; a bad value is refused', () => {
    const clients = ['any', 'v1', 'deployed'].map((idGrammar) => new ChittyIDClient({ idGrammar }))
    try {
      expect(clients.map((c) => [c.validateFormat(v1Id), c.validateFormat(deployedId)])).toEqual([
        [true, true],
        [true, false],
        [false, true],
      ])
      const byDefault = new ChittyIDClient()
      expect([byDefault.validateFormat(v1Id), byDefault.validateFormat(deployedId)]).toEqual([true, true])
      byDefault.close()
    } finally {
      for (const c of clients) c.close()
    }
    expect(() => new ChittyIDClient({ idGrammar: 'deployed-only' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining('idGrammar') }),
    )
  })

  test('validate() falls back to the format check of the grammars idGrammar names when the service cannot be reached', async () => {
    const answers = {}
    for (const idGrammar of ['any', 'v1', 'deployed']) {
      // Port 9 (discard) is closed on loopback: every attempt is refused at once.
      const client = new ChittyIDClient({ serviceUrl: 'http://127.0.0.1:9/v1', idGrammar, retry: false, cache: false })
      try {
        answers[idGrammar] = [
          (await client.validate(v1Id)).valid,
          (await client.validate(deployedId)).valid,
          (await client.validate(with97(deployedId))).valid,
        ]
      } finally {
        await client.close()
      }
    }
    expect(answers).toEqual({ any: [true, true, false], v1: [true, false, false], deployed: [false, true, false] })
  })
})

/** `id` with a check pair that never fits (97). */
function with97(id) {
  return `${id.slice(0, 23)}97`
}

describe('lib/id.js stands alone', () => {
  test('its entity table is the native one', () => {
    const nativeTable = Object.fromEntries(native.entityTypeLetters().map(({ entity, letter }) => [entity, letter]))
    expect(format.ENTITY_TYPE_LETTERS).toEqual(nativeTable)
    expect(Object.keys(format.ENTITY_TYPE_LETTERS)).toEqual(Object.keys(nativeTable))
  })

  test('it loads and works without the native addon', () => {
    // A preload makes loading any native addon (or binding.js) throw, as where none exists.
    const script = `
      const Module = require('node:module')
      const load = Module._load
      Module._load = function (request, ...rest) {
        if (/binding\\.js$|\\.node$/.test(request)) throw new Error('no native addon here: ' + request)
        return load.call(this, request, ...rest)
      }
      process.dlopen = () => { throw new Error('no dlopen here') }
      const f = require(${JSON.stringify(join(root, 'lib', 'id.js'))})
      console.log(JSON.stringify([f.validateFormat(${JSON.stringify(deployedIdForChild())}), f.validateFormat('CT-A-CHI-1234-I-24-A-0'), f.isPlaceholderId('03-0-ERR-0001-T-2612-0-22'), f.entityForId('CT-A-CHI-1234-P-24-A-0')]))
    `
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })
    expect(JSON.parse(out)).toEqual([true, true, true, 'PEO'])
  })
})

function deployedIdForChild() {
  return VECTORS.find((v) => v.grammar === 'deployed').id
}
