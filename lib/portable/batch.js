'use strict'

// mintBatch() on a service without a batch route (as src/client/mint.rs does natively): single mints,
// at most BATCH_FALLBACK_CONCURRENCY at a time, ids in request order. After a failure no new
// mint starts; what was minted is reported with the positions that failed, so nothing minted
// is lost.

const { BATCH_FALLBACK_CONCURRENCY } = require('./defaults.js')

/**
 * Mints positions 0..count-1 with `mintAt(i)` (a promise of the id). Resolves
 * `{ mintedIds, failedPositions, failure }`: every id minted in request order (null where
 * none), the positions that failed, and the failure of the lowest of them (undefined if none).
 */
async function mintOneByOne(count, mintAt) {
  const results = Array.from({ length: count }, () => undefined)
  let next = 0
  let stopped = false
  const worker = async () => {
    while (next < count && !stopped) {
      const i = next++
      try {
        results[i] = { id: await mintAt(i) }
      } catch (f) {
        results[i] = { failure: f }
        stopped = true
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(BATCH_FALLBACK_CONCURRENCY, count) }, worker))
  const mintedIds = results.map((r) => (r && r.id !== undefined ? r.id : null))
  const failedPositions = results.flatMap((r, i) => (r && r.failure !== undefined ? [i] : []))
  const failure = failedPositions.length === 0 ? undefined : results[failedPositions[0]].failure
  return { mintedIds, failedPositions, failure }
}

module.exports = { mintOneByOne }
