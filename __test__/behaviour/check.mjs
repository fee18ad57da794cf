// The behaviour suite's assertions: plain JS, so the suite runs unchanged under jest (Node) and
// inside workerd, where jest's `expect` does not exist. A failed check throws an Error whose
// message says what was expected.

const show = (v) => {
  try {
    return JSON.stringify(v)
  } catch {
    return String(v)
  }
}

export function ok(condition, what) {
  if (!condition) throw new Error(`expected ${what}`)
}

export function eq(actual, expected, what) {
  if (show(actual) !== show(expected)) throw new Error(`${what}: expected ${show(expected)}, got ${show(actual)}`)
}

export function match(text, pattern, what) {
  if (typeof text !== 'string' || !pattern.test(text))
    throw new Error(`${what}: expected ${show(text)} to match ${pattern}`)
}

/** The rejection of `promise` (it must reject). */
export async function rejection(promise, what) {
  try {
    const value = await promise
    throw Object.assign(new Error(`${what}: expected a rejection, got ${show(value)}`), { notRejected: true })
  } catch (err) {
    if (err && err.notRejected) throw err
    return err
  }
}

/** The fields of an error that the suite compares, as plain data (it crosses HTTP from workerd). */
export function errorFields(err) {
  const out = { name: err && err.name, message: err && err.message, code: err && err.code }
  for (const k of [
    'status',
    'mayHaveMinted',
    'idempotencyKey',
    'retryInMs',
    'circuitBreakerState',
    'placeholderId',
    'serviceErrorCode',
    'retrySafe',
    'mintedIds',
    'failedPositions',
  ]) {
    if (err && err[k] !== undefined) out[k] = err[k]
  }
  if (err && err.cause) {
    out.cause = { message: err.cause.message, code: err.cause.code }
    if (err.cause.status !== undefined) out.cause.status = err.cause.status
  }
  out.isTypeError = err instanceof TypeError
  return out
}
