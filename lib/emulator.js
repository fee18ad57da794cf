'use strict'

// ChittyIDEmulator: the JS face of the embedded emulator (src/emulator/, src/bindings/emulator.rs).

const native = require('./native/index.js')
const { invalidArgument } = require('./errors.js')

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
    if (options === null || typeof options !== 'object') throw invalidArgument('emulator options must be an object')
    try {
      return new ChittyIDEmulator(new native.NativeEmulator(options))
    } catch (err) {
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
    try {
      this.#native.setFaults(faults)
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
