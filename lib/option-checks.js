'use strict'

// The option checks the native client (lib/options.js) and the portable one
// (lib/portable/options.js) share: every numeric option against the options table
// (lib/options.json, the one home of each option's default and range; docs/ARCHITECTURE.md
// "Options"), the defaults it holds, v1's `timeout` and its optional strings and booleans, a
// call's options (`{ signal, idempotencyKey, headers }`) and the client's `headers` option.
// Pure JS, no addon: each caller passes the header names the client sets itself
// (`reservedHeaderNames()` natively; the portable build's copy is held equal to it by
// __test__/portable.test.mjs).

const { invalidArgument } = require('./errors.js')
const { refuseUnknown } = require('./option-names.js')
const { isWellFormed } = require('./well-formed.js')
const TABLE = require('./options.json')

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/**
 * The options of `config` that `known` names, each read once, in a plain object (an inherited
 * option counts, as v1 read it). The checks and everything after them read this copy, so an
 * option (a getter, a proxy) cannot pass its check with one value and be used with another.
 */
function optionsSnapshot(config, known) {
  const copy = {}
  for (const name of known) {
    const value = config[name]
    if (value !== undefined) copy[name] = value
  }
  return copy
}

/** A value as an error message shows it. */
function shown(value) {
  return typeof value === 'number' ? String(value) : typeof value === 'string' ? JSON.stringify(value) : typeof value
}

const MAX_U32 = 2 ** 32 - 1

/** The longest value of a metric label, the `name` option's included (the `client` label). */
const MAX_LABEL_VALUE_LENGTH = 256

/**
 * The `name` option, in both builds: a non-empty well-formed string of at most
 * MAX_LABEL_VALUE_LENGTH characters (the `client` label of the metrics natively; `client.name`
 * in both), or undefined when absent (null means unset). Another type is ERR_INVALID_ARG_TYPE.
 */
function nameOption(value) {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') {
    const err = new TypeError(`ChittyIDClient option "name" must be a string, got ${shown(value)}`)
    err.code = 'ERR_INVALID_ARG_TYPE'
    throw err
  }
  if (value === '' || value.length > MAX_LABEL_VALUE_LENGTH || !isWellFormed(value))
    throw invalidArgument(
      `ChittyIDClient option "name" must be a non-empty string of at most ${MAX_LABEL_VALUE_LENGTH} characters`,
    )
  return value
}

/** The table's entry of the option at `path` (`"retry.budget.ratio"`), or undefined. */
function spec(path) {
  let node = TABLE.options
  for (const key of path.split('.')) node = node === undefined ? undefined : node[key]
  return node
}

/** The numeric options of the group at `path` (`"retry"`): their names. */
function numericFields(path) {
  return Object.entries(spec(path))
    .filter(([, node]) => node.kind !== undefined)
    .map(([field]) => field)
}

/** The defaults of the group at `path`, numeric leaves only (`Infinity` as a number). */
function numericDefaults(path) {
  const out = {}
  for (const field of numericFields(path)) {
    const d = spec(path)[field].default
    if (d !== undefined) out[field] = d === 'Infinity' ? Infinity : d
  }
  return out
}

/** The default of the option at `path`. */
const defaultOf = (path) => spec(path).default

/**
 * Why `v` is not a valid value of the numeric option `path`, or undefined when it is: a count
 * is an integer, an `attempts` a count or Infinity, ms and number a finite number; each from
 * the table's `min` (default 0) to its `max` (default 2^32-1 for counts, 2^53-1 otherwise).
 */
function numberProblem(path, v) {
  const { kind, min = 0 } = spec(path)
  const integral = kind === 'count' || kind === 'attempts'
  const max = spec(path).max ?? (integral ? MAX_U32 : Number.MAX_SAFE_INTEGER)
  if (typeof v !== 'number' || Number.isNaN(v)) return 'a number'
  if (kind === 'attempts' && v === Infinity) return undefined
  if (!integral) return v >= min && v <= max ? undefined : `a finite number from ${min} to ${max}`
  if (Number.isInteger(v) && v >= min && v <= max) return undefined
  return kind === 'attempts' ? `an integer from ${min} to ${max}, or Infinity` : `an integer from ${min} to ${max}`
}

/** `v` when the numeric option `path` may take it, else a TypeError naming the option. */
function checkedNumber(path, v) {
  const problem = numberProblem(path, v)
  if (problem !== undefined)
    throw invalidArgument(`ChittyIDClient option "${path}" must be ${problem}, got ${shown(v)}`)
  return v
}

/**
 * The numeric fields of the object option `name` given in `value`, each checked against the
 * table; `known`: every field name the caller accepts (others are refused, did-you-mean
 * included); `skip`: fields the caller checks itself.
 */
function checkedFields(value, name, known, skip = []) {
  if (!isPlainObject(value)) throw invalidArgument(`ChittyIDClient option "${name}" must be an object or false`)
  refuseUnknown(value, name, known, 'ChittyIDClient')
  const options = {}
  for (const field of numericFields(name)) {
    if (value[field] === undefined || skip.includes(field)) continue
    options[field] = checkedNumber(`${name}.${field}`, value[field])
  }
  return options
}

/** `"a" or "b"`, `one of "a", "b", "c"`: the values a refusal offers. */
function alternatives(values) {
  const quoted = values.map((v) => JSON.stringify(v))
  return quoted.length === 2 ? quoted.join(' or ') : `one of ${quoted.join(', ')}`
}

/**
 * The option at `path` that picks one of the table's `oneOf` values (`wire`, `idGrammar`,
 * `retry.mint`), or undefined when absent; any other value, null included, is refused.
 */
function oneOfOption(path, value) {
  if (value === undefined) return undefined
  const { oneOf } = spec(path)
  if (!oneOf.includes(value))
    throw invalidArgument(`ChittyIDClient option "${path}" must be ${alternatives(oneOf)}, got ${shown(value)}`)
  return value
}

/** A boolean option, or undefined when absent (null too). */
function booleanOption(value, name) {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'boolean')
    throw invalidArgument(`ChittyIDClient option "${name}" must be a boolean, got ${shown(value)}`)
  return value
}

/** The largest `timeout`. */
const MAX_TIMEOUT_MS = spec('timeout').max

/** v1's `timeout`: a falsy value (0, NaN) means the default (undefined here); otherwise 1 ms to 2^31-1 ms. */
function timeoutOption(value) {
  // A string of digits (a timeout read from the environment) counts as its number, as v1, which
  // handed the value to setTimeout, took it.
  if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) value = Number(value)
  if (value === undefined || value === null || value === false || value === 0 || Number.isNaN(value)) return undefined
  if (typeof value !== 'number' || numberProblem('timeout', value) !== undefined) {
    throw invalidArgument(
      `ChittyIDClient option "timeout" must be a number of ms from 1 to ${MAX_TIMEOUT_MS} (or falsy for the default), got ${shown(value)}`,
    )
  }
  return value
}

/** v1's optional string and boolean options: a falsy value means unset. */
function optional(config, name, type) {
  const value = config[name]
  if (value === undefined || value === null || value === false || value === '' || value === 0) return undefined
  if (typeof value !== type)
    throw invalidArgument(`ChittyIDClient option "${name}" must be a ${type}, got ${typeof value}`)
  return value
}

/** What an `Authorization` header value can carry: visible ASCII, space and tab (src/transport/mod.rs). */
const HEADER_SAFE = /^[\t\x20-\x7e]*$/

/**
 * The `apiKey` option (v1's optional string), refused when no HTTP header can carry it, by every
 * client alike and before any call: a failed send would otherwise echo it in its error. The
 * message never shows the key.
 */
function apiKeyOption(config) {
  const apiKey = optional(config, 'apiKey', 'string')
  if (apiKey !== undefined && !HEADER_SAFE.test(apiKey))
    throw invalidArgument('apiKey contains characters not allowed in an HTTP header')
  return apiKey
}

/** What a call's options may hold. */
const CALL_OPTIONS = ['signal', 'headers', 'idempotencyKey']

/**
 * A call's options argument, or undefined when there is none. A number there is the index an
 * array method passes (`ids.map(client.validate.bind(client))`): v1's methods took one argument
 * and ignored it, so it means no options.
 */
function callOptionsArg(options) {
  return options === null || typeof options === 'number' ? undefined : options
}

/** The call's AbortSignal, or undefined; refuses options objects with unknown names. */
function callSignal(options) {
  options = callOptionsArg(options)
  if (options === undefined) return undefined
  if (!isPlainObject(options)) throw invalidArgument('options must be an object like { signal }')
  refuseUnknown(options, 'call', CALL_OPTIONS, 'a call')
  const { signal } = options
  if (signal === undefined || signal === null) return undefined
  if (typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function') {
    throw invalidArgument('options.signal must be an AbortSignal')
  }
  return signal
}

/** The longest idempotency key (the table's `fixed`; src/client/idempotency.rs checks it natively). */
const MAX_IDEMPOTENCY_KEY_LENGTH = TABLE.fixed.maxIdempotencyKeyLength
const IDEMPOTENCY_KEY = new RegExp(`^[\\x21-\\x7e]{1,${MAX_IDEMPOTENCY_KEY_LENGTH}}$`)

/** The caller's idempotency key of a mint, or undefined; checked here for a clear error. */
function callIdempotencyKey(options) {
  options = callOptionsArg(options)
  const key = options === undefined ? undefined : options.idempotencyKey
  if (key === undefined) return undefined
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
    throw invalidArgument(
      `options.idempotencyKey must be a string of 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters (no spaces)`,
    )
  }
  return key
}

// Extra request headers: the client's `headers` option (an object, or a function called per
// call) and a call's `{ headers }`.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const HEADER_VALUE = /^[\t\x20-\x7e]*$/
const MAX_HEADERS = 64
const MAX_HEADER_VALUE_LENGTH = 8192

function headerEntries(headers, where) {
  if (headers === null || typeof headers !== 'object')
    throw invalidArgument(`${where} must be an object of header names and values`)
  if (typeof headers.forEach === 'function' && typeof headers.get === 'function') {
    // Headers, Map
    const out = []
    headers.forEach((value, name) => out.push([name, value]))
    return out
  }
  return Object.entries(headers)
}

/**
 * A header name as a refusal shows it: a string quoted (its start, if long), anything else by
 * its type (a Map's key can be a BigInt, which JSON.stringify refuses, or a cyclic object).
 */
function shownName(name) {
  if (typeof name !== 'string') return `a ${typeof name}`
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}...` : name)
}

/** Adds `headers` to `into` (lower-case name -> value); later sources win. */
function addHeaders(into, headers, where, reserved) {
  if (headers === undefined || headers === null) return
  for (const [name, raw] of headerEntries(headers, where)) {
    if (raw === undefined || raw === null) continue
    const value = typeof raw === 'number' ? String(raw) : raw
    if (typeof name !== 'string' || !HEADER_NAME.test(name))
      throw invalidArgument(`${where}: ${shownName(name)} is not a valid header name`)
    const lower = name.toLowerCase()
    if (reserved.has(lower)) throw invalidArgument(`${where}: "${name}" is set by the client and cannot be overridden`)
    if (typeof value !== 'string' || value.length > MAX_HEADER_VALUE_LENGTH || !HEADER_VALUE.test(value)) {
      throw invalidArgument(
        `${where}: the value of "${name}" must be a string of visible ASCII characters, spaces or tabs (at most ${MAX_HEADER_VALUE_LENGTH})`,
      )
    }
    into.set(lower, value)
  }
  if (into.size > MAX_HEADERS) throw invalidArgument(`${where}: at most ${MAX_HEADERS} extra headers`)
}

/** The client's `headers` option, checked: an object, a function returning one, or undefined. */
function headersOption(value, reserved) {
  if (value === undefined || value === null) return undefined
  if (typeof value === 'function') return value
  const checked = new Map()
  addHeaders(checked, value, 'ChittyIDClient option "headers"', reserved)
  return checked.size === 0 ? undefined : value
}

/**
 * The extra headers of one call (lower-case name -> value), or undefined: the client's option
 * (called with `{ operation }` when it is a function), then the call's own `headers`.
 */
function callHeaderMap(option, callOptions, operation, reserved) {
  callOptions = callOptionsArg(callOptions)
  const own = callOptions === undefined ? undefined : callOptions.headers
  if (option === undefined && (own === undefined || own === null)) return undefined
  const merged = new Map()
  if (option !== undefined) {
    const fromOption = typeof option === 'function' ? option({ operation }) : option
    addHeaders(merged, fromOption, 'the headers returned by the "headers" option', reserved)
  }
  addHeaders(merged, own, 'options.headers', reserved)
  return merged.size === 0 ? undefined : merged
}

module.exports = {
  TABLE,
  spec,
  numericFields,
  numericDefaults,
  defaultOf,
  checkedNumber,
  checkedFields,
  oneOfOption,
  alternatives,
  booleanOption,
  isPlainObject,
  optionsSnapshot,
  shown,
  nameOption,
  MAX_LABEL_VALUE_LENGTH,
  timeoutOption,
  optional,
  apiKeyOption,
  callOptionsArg,
  callSignal,
  callIdempotencyKey,
  headersOption,
  callHeaderMap,
}
