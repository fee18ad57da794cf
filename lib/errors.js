'use strict'

// The JS side of the one error mapping (src/bindings/errors.rs): `ChittyIDError`, the error a
// native outcome becomes (`fromInfo`), and the errors JS raises itself.

/** Error raised by the client; `code` is stable, `cause` holds the lower-level failure. */
class ChittyIDError extends Error {
  constructor(
    message,
    {
      code,
      status,
      cause,
      idempotencyKey,
      retryInMs,
      mayHaveMinted,
      circuitBreakerState,
      placeholderId,
      serviceErrorCode,
      retrySafe,
      mintedIds,
      failedPositions,
    } = {},
  ) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = code === 'ABORT_ERR' ? 'AbortError' : 'ChittyIDError'
    this.code = code
    if (status !== undefined && status !== null) this.status = status
    // 'OPEN', or 'HALF_OPEN' when its trial calls are all in flight.
    if (code === 'ECIRCUITOPEN') this.circuitBreakerState = circuitBreakerState ?? 'OPEN'
    // true: the request may have reached the service, which may have minted an id nobody got
    // (EMINTUNKNOWN, and a mint aborted or closed after its request was sent); false: a mint
    // stopped before anything was sent.
    if (code === 'EMINTUNKNOWN') mayHaveMinted = true
    if (mayHaveMinted !== undefined) this.mayHaveMinted = mayHaveMinted
    if (mayHaveMinted === true) this.idempotencyKey = idempotencyKey
    if (retryInMs !== undefined && retryInMs !== null) this.retryInMs = retryInMs
    if (placeholderId !== undefined && placeholderId !== null) {
      // The service answered with a placeholder, not a minted id (docs/OPERATIONS.md "Placeholders").
      this.placeholderId = placeholderId
      this.serviceErrorCode = serviceErrorCode ?? null
      this.retrySafe = retrySafe === true
    }
    if (mintedIds !== undefined && mintedIds !== null) {
      // mintBatch minted one by one: every id minted, in position (null where none was).
      this.mintedIds = mintedIds.map((id) => id ?? null)
      this.failedPositions = failedPositions ?? []
    }
  }
}

// Failures of the caller or of the client itself, which v1's "service unavailable" wording
// would misdescribe.
const LOCAL_CODES = new Set(['ERR_INVALID_ARG_VALUE', 'ABORT_ERR', 'ECLIENTCLOSED'])

/** v1's wording of a failed mint / batch mint; the reason follows it. */
const mintFailure = (entity) => `ChittyID service unavailable - cannot mint ${entity} ID: `
const BATCH_FAILURE = 'ChittyID service unavailable - cannot batch mint IDs: '

/**
 * Builds the JS error from the native ErrorInfo (src/bindings/errors.rs): `prefix` is the
 * operation's v1 wording, `info.message` the reason.
 */
function fromInfo(info, prefix = '') {
  let cause
  if (info.cause) {
    cause = Object.assign(new Error(info.cause), { code: info.causeCode ?? info.code })
    if (info.causeCode === 'EHTTP' && info.status != null) cause.status = info.status
  }
  const message = LOCAL_CODES.has(info.code) ? info.message : `${prefix}${info.message}`
  return new ChittyIDError(message, {
    code: info.code,
    status: info.status,
    cause,
    idempotencyKey: info.idempotencyKey,
    retryInMs: info.retryInMs,
    placeholderId: info.placeholderId,
    serviceErrorCode: info.serviceErrorCode,
    retrySafe: info.retrySafe,
    mintedIds: info.mintedIds,
    failedPositions: info.failedPositions,
    circuitBreakerState: info.circuitBreakerState,
  })
}

/**
 * The rejection of a call made after close(), or in flight when close() was called. `stopped`:
 * for a mint, what stopping it found (`{ mayHaveMinted, idempotencyKey }`).
 */
function closedError(stopped) {
  return new ChittyIDError('the client is closed', { code: 'ECLIENTCLOSED', ...stopped })
}

function invalidArgument(message, cause) {
  const err = new TypeError(message, cause === undefined ? undefined : { cause })
  err.code = 'ERR_INVALID_ARG_VALUE'
  return err
}

/**
 * A method or getter of `type` called on something that is not one (a detached method,
 * `Object.create(ChittyIDClient.prototype)`): Node's `ERR_INVALID_THIS`.
 */
function invalidThis(type, member) {
  const err = new TypeError(
    `Value of "this" must be of type ${type}: ${member} was called on another object (a method detached from its client?)`,
  )
  err.code = 'ERR_INVALID_THIS'
  return err
}

/**
 * An option name the client does not know (lib/option-names.js): `option` is its path
 * (`cache.max`), `suggestion` the known name it probably meant, if any.
 */
function unknownOption(message, { option, suggestion }) {
  const err = new TypeError(message)
  err.code = 'ERR_CHITTYID_UNKNOWN_OPTION'
  err.option = option
  if (suggestion !== undefined) err.suggestion = suggestion
  return err
}

/** `stopped`: for a mint, what stopping it found (`{ mayHaveMinted, idempotencyKey }`). */
function abortError(signal, stopped) {
  return new ChittyIDError('The operation was aborted', {
    code: 'ABORT_ERR',
    cause: signal && signal.reason,
    ...stopped,
  })
}

/**
 * A fail-fast rejection of an open circuit, worded like the native one
 * (`ClientError::CircuitOpen` in src/error.rs); `prefix` is the operation's v1 wording. A
 * negative `retryInMs` is a HALF_OPEN circuit with all its trial calls in flight, minus their
 * number (`ClientError::TrialsInFlight`).
 * It carries no stack frames: V8 spends ~0.7 µs plus ~0.4 µs per frame capturing them (up to
 * ~5 µs at the default depth of 10), several times the rest of the fail-fast path
 * (bench/fail-fast.mjs), and the message and code already say all there is to say.
 */
function circuitOpenError(retryInMs, prefix = '') {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    if (retryInMs < 0) {
      return new ChittyIDError(`${prefix}circuit breaker is HALF_OPEN (${-retryInMs} trial calls in flight)`, {
        code: 'ECIRCUITOPEN',
        circuitBreakerState: 'HALF_OPEN',
      })
    }
    return new ChittyIDError(`${prefix}circuit breaker is OPEN (next trial in ${retryInMs} ms)`, {
      code: 'ECIRCUITOPEN',
    })
  } finally {
    Error.stackTraceLimit = limit
  }
}

const settled = Promise.resolve()

/**
 * A promise rejected with `err` a microtask from now. A promise rejected before anyone handles
 * it makes V8 report it to Node as unhandled and then as handled (~0.6 µs, most of a fail-fast
 * rejection); rejected after the caller's `await` or `.catch` is attached, it costs neither.
 * A caller that never handles it still gets Node's unhandled-rejection report. The microtask is
 * a promise reaction, not `queueMicrotask`, which jest's fake timers replace: under
 * `jest.useFakeTimers()` the rejection would otherwise never come.
 */
function rejectLater(err) {
  return new Promise((resolve, reject) => {
    settled.then(() => reject(err))
  })
}

module.exports = {
  ChittyIDError,
  fromInfo,
  closedError,
  invalidArgument,
  invalidThis,
  unknownOption,
  abortError,
  circuitOpenError,
  mintFailure,
  BATCH_FAILURE,
  rejectLater,
}
