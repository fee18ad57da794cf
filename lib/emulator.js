'use strict'

// ChittyIDEmulator: the JS face of the embedded emulator (src/emulator/, src/bindings/emulator.rs).

const native = require('./native/index.js')
const { invalidArgument } = require('./errors.js')

// The types of the fields of `start()`'s options and of a fault set (src/bindings/emulator.rs
// `NativeEmulatorOptions`, `FaultOptions`), checked here before napi converts them: napi would
// wrap a number into a u32 (-1 as 4294967295, NaN as 0, 1.5 as 1) and word a wrong type in
// Rust's terms. The Rust side checks the ranges.
const START_FIELDS = {
  profile: 'string',
  host: 'string',
  port: 'u32',
  token: 'string',
  maxRequestBytes: 'u32',
  tls: 'boolean',
  redirectStatus: 'u32',
  compress: 'boolean',
  ignoreIdempotencyKeys: 'boolean',
}
const FAULT_FIELDS = {
  latencyMs: 'number',
  errorStatus: 'u32',
  rateLimitRetryAfter: 'number',
  rateLimitPerSecond: 'number',
  resetConnection: 'boolean',
  dropAfterCommit: 'boolean',
  malformedJson: 'boolean',
  oversizedBody: 'u32',
  down: 'boolean',
  placeholder: 'string',
  routes: 'strings',
  probability: 'number',
  remaining: 'u32',
}
const TYPE_WORDS = {
  string: 'a string',
  boolean: 'a boolean',
  number: 'a number',
  u32: 'an integer from 0 to 2^32-1',
  strings: 'an array of strings',
}

function fits(type, value) {
  if (type === 'u32') return Number.isInteger(value) && value >= 0 && value <= 0xffffffff
  if (type === 'number') return typeof value === 'number' && !Number.isNaN(value)
  if (type === 'strings') {
    if (!Array.isArray(value)) return false
    for (let i = 0; i < value.length; i++) if (typeof value[i] !== 'string') return false
    return true
  }
  return typeof value === type
}

/**
 * The fields of `fields` given in `options`, each read once and checked for its type, as a
 * plain object (`null` and `undefined` mean unset); a TypeError (`ERR_INVALID_ARG_VALUE`) names
 * the first bad one.
 */
function checked(options, fields, what) {
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw invalidArgument(`${what} must be an object`)
  const out = {}
  for (const [name, type] of Object.entries(fields)) {
    const value = options[name]
    if (value === undefined || value === null) continue
    if (!fits(type, value)) {
      const got = typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value
      throw invalidArgument(`${what}: "${name}" must be ${TYPE_WORDS[type]}, got ${got}`)
    }
    out[name] = type === 'strings' ? [...value] : value
  }
  // A field this list does not know yet goes to napi as it came.
  for (const name of Object.keys(options)) if (!Object.hasOwn(fields, name)) out[name] = options[name]
  return out
}

/** A local ChittyID service for tests, demos and benchmarks; see README "Emulator". */
class ChittyIDEmulator {
  #native

  constructor(handle) {
    this.#native = handle
  }

  /**
   * Starts serving on `host` (127.0.0.1) and `port` (0 = any free port), speaking the wire of
   * `profile`: `"v1"` (default) or `"deployed"` (README "Emulator").
   */
  static async start(options = {}) {
    const checkedOptions = checked(options ?? {}, START_FIELDS, 'emulator options')
    try {
      return new ChittyIDEmulator(new native.NativeEmulator(checkedOptions))
    } catch (err) {
      // A value out of range (src/bindings/emulator.rs, `InvalidArg`) is the caller's; any other
      // failure is the start's (the address is taken, the host unknown).
      if (err.code === 'InvalidArg') throw invalidArgument(`emulator options: ${err.message}`)
      throw Object.assign(new Error(err.message), { code: 'EEMULATORSTART' })
    }
  }

  /** Base URL without a path; profile v1 answers under `/`, `/v1` and `/api/v1`. */
  get url() {
    return this.#native.url
  }

  /** PEM of the CA that signed the emulator's certificate when started with `tls: true`; pass it as the client's `ca`. */
  get ca() {
    return this.#native.ca ?? undefined
  }

  /** Requests that arrived over HTTP/2 (only with `tls: true`). */
  get h2Requests() {
    return this.#native.h2Requests
  }

  get port() {
    return this.#native.port
  }

  /** `"v1"` or `"deployed"`. */
  get profile() {
    return this.#native.profile
  }

  /** Replaces the active faults; `setFault({})` clears them. */
  setFault(faults = {}) {
    const checkedFaults = checked(faults, FAULT_FIELDS, 'emulator faults')
    try {
      this.#native.setFaults(checkedFaults)
    } catch (err) {
      throw invalidArgument(err.message)
    }
  }

  setFaults(faults) {
    this.setFault(faults)
  }

  clearFaults() {
    this.#native.setFaults({})
  }

  /**
   * `true`: mint as if `Idempotency-Key` did not exist, as the public ChittyID service does, so
   * a mint retried after its request arrived mints a second id; `false` (the default) honours
   * keys. Also a start option (`ignoreIdempotencyKeys`).
   */
  setIgnoreIdempotencyKeys(ignore) {
    if (typeof ignore !== 'boolean') throw invalidArgument('setIgnoreIdempotencyKeys expects a boolean')
    this.#native.setIgnoreIdempotencyKeys(ignore)
  }

  get ignoresIdempotencyKeys() {
    return this.#native.ignoresIdempotencyKeys
  }

  /** The ledger: what was minted, replayed and requested. */
  stats() {
    return this.#native.stats()
  }

  resetLedger() {
    this.#native.resetLedger()
  }

  close() {
    return this.#native.close()
  }

  async [Symbol.asyncDispose]() {
    await this.close()
  }
}

module.exports = { ChittyIDEmulator }
