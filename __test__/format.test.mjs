// The id grammar lives twice: `validateFormat` is a JS regex (lib/format.js), and the native side
// (src/format.rs: `parse`, the emulator) uses the `regex` crate. These property tests generate
// strings from a seeded PRNG and require both to agree on every one of them.
//
// A failure names its seed and input; rerun just that seed with FORMAT_TEST_SEED=<n>.
import { createRequire } from 'node:module'
import { ChittyIDClient } from '../index.mjs'

const require = createRequire(import.meta.url)
const native = require('../binding.js')
const { validateFormat, parse, entityForId, CHITTY_ID } = require('../lib/format.js')

const SEEDS = process.env.FORMAT_TEST_SEED ? [Number(process.env.FORMAT_TEST_SEED)] : [1, 2, 3]
const RANDOM_STRINGS_PER_SEED = 3000
const VALID_IDS_PER_SEED = 500
const MUTATED_IDS_PER_SEED = 40
const FIELDS = ['version', 'generation', 'location', 'sequence', 'entityType', 'yearMonth', 'check', 'extension']

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
  '-', '_', ' ', '\t', '\n', '\r', '\0', '.', '/', '+',
  'K', 'ſ', 'İ', 'ı', 'Ａ', 'Ｚ', '０', '９', '٣', '²', 'É', 'ß',
  '‐', '–', '−', '\u00a0', '\u2028', '\ud800', '🦀',
]
const ALPHABET = [...UPPER, ...DIGIT, ...LOWER, ...TRAPS]

/** Each position's class in `VV-G-LLL-SSSS-T-YM-C-X`. */
const SHAPE = 'UU-U-UUU-DDDD-U-DD-U-X'

function classChar(c, r) {
  if (c === 'U') return r.pick(UPPER)
  if (c === 'D') return r.pick(DIGIT)
  if (c === 'X') return r.pick(UPPER + DIGIT)
  return '-'
}

function validId(r) {
  return [...SHAPE].map((c) => classChar(c, r)).join('')
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
  return out
}

function randomString(r) {
  const len = r.pick([0, 1, 21, 22, 22, 22, 23, r.int(40)])
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
  }
  return cases
}

/** Inputs on which `jsGrammar` and the native grammar disagree, as printable strings. */
function disagreements(cases, jsGrammar) {
  const found = []
  for (const id of cases) {
    if (jsGrammar(id) !== native.isValidFormatNative(id)) found.push(JSON.stringify(id))
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
    expect({ seed, disagreements: disagreements(cases, (id) => client.validateFormat(id)) }).toEqual({ seed, disagreements: [] })
  })

  test.each(SEEDS)('seed %i: the native parse accepts exactly the valid ids and splits them into their fields', (seed) => {
    const wrong = []
    for (const id of corpus(seed)) {
      const parsed = native.parseChittyId(id)
      if ((parsed !== null) !== validateFormat(id)) {
        wrong.push(`${JSON.stringify(id)}: parsed ${JSON.stringify(parsed)}`)
        continue
      }
      if (parsed === null) {
        if (ChittyIDClient.parse(id) !== null) wrong.push(`${JSON.stringify(id)}: ChittyIDClient.parse is not null`)
        continue
      }
      const fields = FIELDS.map((name) => parsed[name])
      if (fields.join('-') !== id) wrong.push(`${JSON.stringify(id)}: fields ${fields.join('|')}`)
      if (JSON.stringify(ChittyIDClient.parse(id)) !== JSON.stringify(parsed)) wrong.push(`${JSON.stringify(id)}: ChittyIDClient.parse differs`)
    }
    expect({ seed, wrong }).toEqual({ seed, wrong: [] })
  })

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
  ])('the corpus catches a grammar with %s', (_, wrongGrammar) => {
    const cases = corpus(SEEDS[0])
    expect(disagreements(cases, (id) => wrongGrammar.test(id)).length).toBeGreaterThan(0)
  })
})

// lib/format.js loads without the addon (the portable build imports it), so its entity table
// and parse() are JS; they must say what src/format.rs says.
describe('lib/format.js without the addon agrees with src/format.rs', () => {
  test('the entity table: every type letter names the entity the native table names', () => {
    for (const { entity, letter } of native.entityTypeLetters()) {
      expect({ letter, entity: entityForId(`AB-C-DEF-1234-${letter}-26-A-1`) }).toEqual({ letter, entity })
    }
  })

  test.each(SEEDS)('seed %i: parse() gives the native fields for every generated string', (seed) => {
    const wrong = []
    for (const id of corpus(seed)) {
      if (JSON.stringify(parse(id)) !== JSON.stringify(native.parseChittyId(id))) wrong.push(JSON.stringify(id))
    }
    expect({ seed, wrong }).toEqual({ seed, wrong: [] })
  })
})
