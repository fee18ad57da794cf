'use strict'

// The option checks the native client (lib/options.js) and the portable one
// (lib/portable/options.js) share: v1's `timeout` and its optional strings and booleans, a
// call's options (`{ signal, idempotencyKey, headers }`) and the client's `headers` option.
// Pure JS, no addon: each caller passes the header names the client sets itself
// (`reservedHeaderNames()` natively; the portable build's copy is held equal to it by
// __test__/portable.test.mjs).

const { invalidArgument } = require('./errors.js')
const { refuseUnknown } = require('./option-names.js')

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** A value as an error message shows it. */
function shown(value) {
  return typeof value === 'number' ? String(value) : typeof value === 'string' ? JSON.stringify(value) : typeof value
}

const MAX_TIMEOUT_MS = 2 ** 31 - 1

/** v1's `timeout`: a falsy value (0, NaN) means the default (undefined here); otherwise 1 ms to 2^31-1 ms. */
function timeoutOption(value) {
  if (value === undefined || value === null || value === false || value === 0 || Number.isNaN(value)) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1 || value > MAX_TIMEOUT_MS) {
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

/** What a call's options may hold. */
const CALL_OPTIONS = ['signal', 'headers', 'idempotencyKey']

/** The call's AbortSignal, or undefined; refuses options objects with unknown names. */
function callSignal(options) {
  if (options === undefined || options === null) return undefined
  if (!isPlainObject(options)) throw invalidArgument('options must be an object like { signal }')
  refuseUnknown(options, 'call', CALL_OPTIONS, 'a call')
  const { signal } = options
  if (signal === undefined || signal === null) return undefined
  if (typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function') {
    throw invalidArgument('options.signal must be an AbortSignal')
  }
  return signal
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/

/** The caller's idempotency key of a mint, or undefined; checked here for a clear error. */
function callIdempotencyKey(options) {
  const key = options === undefined || options === null ? undefined : options.idempotencyKey
  if (key === undefined) return undefined
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
    throw invalidArgument('options.idempotencyKey must be a string of 1 to 255 visible ASCII characters (no spaces)')
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

/** Adds `headers` to `into` (lower-case name -> value); later sources win. */
function addHeaders(into, headers, where, reserved) {
  if (headers === undefined || headers === null) return
  for (const [name, raw] of headerEntries(headers, where)) {
    if (raw === undefined || raw === null) continue
    const value = typeof raw === 'number' ? String(raw) : raw
    if (typeof name !== 'string' || !HEADER_NAME.test(name))
      throw invalidArgument(`${where}: ${JSON.stringify(name)} is not a valid header name`)
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
  const own = callOptions === undefined || callOptions === null ? undefined : callOptions.headers
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
  isPlainObject,
  shown,
  MAX_TIMEOUT_MS,
  timeoutOption,
  optional,
  CALL_OPTIONS,
  callSignal,
  callIdempotencyKey,
  headersOption,
  callHeaderMap,
}
