'use strict'

// The 429 pause of the portable client (docs/OPERATIONS.md "Pause after a 429", src/policy/pause.rs): a 429 pauses
// every call of the client, for `Retry-After` when given (at most 60 s), else for an adaptive
// pause (1 s ±20 %, doubling while 429s continue, at most 60 s; back to 1 s after a success).
// Attempts are stamped with the pause epoch when sent: a 429 for a request sent before the
// current pause began neither extends nor grows it. The native gate's pacing after a pause
// (one caller at a time at the accepted rate) is not reproduced here (docs/PORTABLE.md).

const { PAUSE } = require('./defaults.js')

class Pause {
  #now
  #random
  until = 0
  epoch = 0
  #nextAdaptiveMs = PAUSE.initialMs
  rateLimited = 0
  pauses = 0
  waits = 0
  rejected = 0

  constructor(now, random = Math.random) {
    this.#now = now
    this.#random = random
  }

  /** ms left of the current pause (0 when none). */
  remaining() {
    const left = this.until - this.#now()
    return left > 0 ? left : 0
  }

  /**
   * A 429 for a request sent in `sentEpoch`. Returns the pause it started (ms, and whether the
   * service named it), or undefined when it belongs to a pause already under way.
   */
  onRateLimited(sentEpoch, retryAfterMs) {
    this.rateLimited++
    if (sentEpoch !== this.epoch && this.remaining() > 0) return undefined
    let ms
    const named = retryAfterMs !== undefined
    if (named) {
      ms = Math.min(retryAfterMs, PAUSE.maxMs)
    } else {
      const base = this.#nextAdaptiveMs
      ms = Math.round(base * (1 + PAUSE.jitter * (2 * this.#random() - 1)))
      this.#nextAdaptiveMs = Math.min(base * 2, PAUSE.maxMs)
    }
    this.until = Math.max(this.until, this.#now() + ms)
    this.epoch++
    this.pauses++
    return { ms, retryAfter: named }
  }

  onSuccess() {
    this.#nextAdaptiveMs = PAUSE.initialMs
  }
}

module.exports = { Pause }
