'use strict'

const { EventEmitter } = require('node:events')
const native = require('../binding.js')
const { fromInfo, invalidArgument, abortError, circuitOpenError } = require('./errors.js')
const { validateFormat } = require('./format.js')
const { toPayload } = require('./events.js')

const DEFAULT_SERVICE_URL = 'https://id.chitty.cc/v1'
const DEFAULT_TIMEOUT_MS = 10000

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function optional(config, name, type) {
  const value = config[name]
  if (value === undefined || value === null || value === false || value === '' || value === 0) return undefined
  if (typeof value !== type) {
    throw invalidArgument(`ChittyIDClient option "${name}" must be a ${type}, got ${typeof value}`)
  }
  return value
}

function policyOption(config, name) {
  const value = config[name]
  if (value === undefined || value === true) return { enabled: true, options: undefined }
  if (value === false) return { enabled: false, options: undefined }
  if (!isPlainObject(value)) throw invalidArgument(`ChittyIDClient option "${name}" must be an object or false`)
  return { enabled: true, options: value }
}

function toNativeOptions(config) {
  if (config === undefined || config === null) config = {}
  if (!isPlainObject(config)) throw invalidArgument('ChittyIDClient config must be an object')
  const retry = policyOption(config, 'retry')
  const breaker = policyOption(config, 'circuitBreaker')
  return {
    serviceUrl: optional(config, 'serviceUrl', 'string'),
    apiKey: optional(config, 'apiKey', 'string'),
    timeout: optional(config, 'timeout', 'number'),
    maxResponseBytes: optional(config, 'maxResponseBytes', 'number'),
    retry: retry.options,
    retryEnabled: retry.enabled,
    circuitBreaker: breaker.options,
    circuitBreakerEnabled: breaker.enabled,
  }
}

function serializeMintRequest(request) {
  if (!isPlainObject(request)) throw invalidArgument('mint request must be an object like { entity: "PEO" }')
  if (typeof request.entity !== 'string' || request.entity === '') {
    throw invalidArgument('mint request needs a non-empty string "entity"')
  }
  if (request.name !== undefined && typeof request.name !== 'string') {
    throw invalidArgument('mint request "name" must be a string')
  }
  try {
    return JSON.stringify(request)
  } catch (err) {
    throw invalidArgument(`mint request cannot be serialized as JSON: ${err.message}`, err)
  }
}

function signalOf(options) {
  if (options === undefined || options === null) return undefined
  if (!isPlainObject(options)) throw invalidArgument('options must be an object like { signal }')
  const { signal } = options
  if (signal === undefined || signal === null) return undefined
  if (typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function') {
    throw invalidArgument('options.signal must be an AbortSignal')
  }
  return signal
}

/** Settles with `promise`, or rejects with an AbortError as soon as `signal` aborts. */
function abortable(promise, signal) {
  if (!signal) return promise
  if (signal.aborted) return Promise.reject(abortError(signal))
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortError(signal))
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (err) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}

function reportListenerError(event, err) {
  process.emitWarning(`a listener for "${event}" threw: ${err && err.message}`, {
    type: 'ChittyIDListenerError',
    code: 'CHITTYID_LISTENER_THREW',
  })
}

class ChittyIDClient extends EventEmitter {
  #native
  #apiKey
  #closed = false

  constructor(config = {}) {
    super()
    const options = toNativeOptions(config)
    const self = new WeakRef(this)
    try {
      this.#native = new native.NativeClient(options, (event) => {
        const client = self.deref()
        if (client) client.#deliver(event)
      })
    } catch (err) {
      throw invalidArgument(err.message)
    }
    this.serviceUrl = this.#native.serviceUrl
    this.timeout = options.timeout || DEFAULT_TIMEOUT_MS
    this.#apiKey = options.apiKey
  }

  /** The configured key (not enumerable, so it never shows up in logs of the client). */
  get apiKey() {
    return this.#apiKey
  }

  /** Emits a native event; a throwing listener neither stops the others nor the process. */
  #deliver(event) {
    if (this.#closed) return
    const name = event.name
    if (name === 'error' && this.listenerCount('error') === 0) return
    const payload = toPayload(event)
    for (const listener of this.rawListeners(name)) {
      try {
        listener.call(this, payload)
      } catch (err) {
        reportListenerError(name, err)
      }
    }
  }

  #checkOpen() {
    if (this.#closed) {
      const err = new Error('the client is closed')
      err.code = 'ECLIENTCLOSED'
      throw err
    }
  }

  /**
   * Asks the breaker synchronously, so an open circuit rejects before any native promise exists
   * (a native async call costs ~10 µs, this check ~0.25 µs): 0 to go ahead, else ms until the next
   * trial. Same admission, counting and wording as the native path, which then admits again
   * harmlessly. With an aborted signal it defers to the native path, which reports the abort.
   */
  #openCircuitWait(signal) {
    return signal && signal.aborted ? 0 : this.#native.breakerAdmit()
  }

  async mint(request, options) {
    const signal = signalOf(options)
    const body = serializeMintRequest(request)
    this.#checkOpen()
    const retryInMs = this.#openCircuitWait(signal)
    if (retryInMs > 0) throw circuitOpenError(retryInMs, `ChittyID service unavailable - cannot mint ${request.entity} ID: `)
    const outcome = await abortable(this.#native.mint(request.entity, body), signal)
    if (outcome.error) throw fromInfo(outcome.error)
    return outcome.id
  }

  async mintBatch(requests, options) {
    const signal = signalOf(options)
    if (!Array.isArray(requests)) throw invalidArgument('mintBatch expects an array of mint requests')
    requests.forEach(serializeMintRequest)
    this.#checkOpen()
    const retryInMs = this.#openCircuitWait(signal)
    if (retryInMs > 0) throw circuitOpenError(retryInMs, 'ChittyID service unavailable - cannot batch mint IDs: ')
    // Each request serialized above; the body is built only for a call that goes out.
    const body = JSON.stringify({ requests })
    const outcome = await abortable(this.#native.mintBatch(body), signal)
    if (outcome.error) throw fromInfo(outcome.error)
    return outcome.ids
  }

  async validate(id, options) {
    const signal = signalOf(options)
    if (typeof id !== 'string') return { valid: false, error: 'ChittyID must be a string' }
    if (this.#closed) return { valid: validateFormat(id), error: 'the client is closed' }
    return compact(await abortable(this.#native.validate(id), signal))
  }

  validateFormat(id) {
    return validateFormat(id)
  }

  async healthCheck(options) {
    const signal = signalOf(options)
    if (this.#closed) return false
    return abortable(this.#native.healthCheck(), signal)
  }

  /** Stops every task of this client; later calls reject with ECLIENTCLOSED. */
  async close() {
    this.#closed = true
  }

  async [Symbol.asyncDispose]() {
    await this.close()
  }

  /** Splits a well-formed id into its fields, or returns null. */
  static parse(id) {
    if (!validateFormat(id)) return null
    return native.parseChittyId(id)
  }
}

/** Drops absent fields so results compare like v1's plain JSON objects. */
function compact(result) {
  const out = { valid: result.valid }
  if (result.chittyId != null) out.chittyId = result.chittyId
  if (result.entity != null) out.entity = result.entity
  if (result.error != null) out.error = result.error
  return out
}

async function mintChittyID(request, config) {
  const client = new ChittyIDClient(config)
  try {
    return await client.mint(request)
  } finally {
    await client.close()
  }
}

async function validateChittyID(id, config) {
  const client = new ChittyIDClient(config)
  try {
    return await client.validate(id)
  } finally {
    await client.close()
  }
}

module.exports = { ChittyIDClient, mintChittyID, validateChittyID, DEFAULT_SERVICE_URL }
