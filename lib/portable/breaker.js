'use strict'

// The portable client's circuit breaker: the state machine of src/policy/breaker.rs (README
// "circuitBreaker"): CLOSED -> OPEN after `failureThreshold` counted failures within
// `monitorWindow`; OPEN fails fast for `resetTimeout`; then HALF_OPEN admits up to
// `halfOpenAttempts` trial calls at a time, `halfOpenAttempts` successes close it and a failure
// opens it again. `onTransition(state, failures)` hears every change. A trial that has not
// reported back within `trialLimitMs` no longer holds its slot: in Workers the request that
// made it may have ended, and its call with it.

class Breaker {
  #config
  #now
  #onTransition
  state = 'CLOSED'
  #failures = [] // times of the counted failures in the window
  #openedAt = 0
  /** Start times of the trials in flight (HALF_OPEN), oldest first. */
  #trials = []
  #trialLimitMs
  #halfOpenSuccesses = 0
  timesOpened = 0
  rejected = 0

  constructor(config, now, onTransition, trialLimitMs = Infinity) {
    this.#config = config
    this.#now = now
    this.#onTransition = onTransition
    this.#trialLimitMs = trialLimitMs
  }

  /**
   * 0 when a call may go; else the ms until the next trial, or, while HALF_OPEN with every trial
   * slot taken, minus the number of trials in flight (the call fails fast; lib/errors.js
   * `circuitOpenError` words both as the native client does).
   */
  admit() {
    if (this.state === 'OPEN') {
      const left = this.#openedAt + this.#config.resetTimeout - this.#now()
      if (left > 0) {
        this.rejected++
        return left
      }
      this.#move('HALF_OPEN')
    }
    if (this.state === 'HALF_OPEN') {
      const now = this.#now()
      while (this.#trials.length > 0 && now - this.#trials[0] >= this.#trialLimitMs) this.#trials.shift()
      if (this.#trials.length >= this.#config.halfOpenAttempts) {
        this.rejected++
        return -Math.max(this.#trials.length, 1)
      }
      this.#trials.push(now)
    }
    return 0
  }

  /** The service answered (a success, or a refusal that is the caller's fault). */
  success(wasTrial) {
    if (wasTrial) this.#trials.shift()
    if (this.state !== 'HALF_OPEN') return
    if (++this.#halfOpenSuccesses >= this.#config.halfOpenAttempts) this.#move('CLOSED')
  }

  /** A counted failure; true when it opened the circuit. */
  failure(wasTrial) {
    if (wasTrial) this.#trials.shift()
    const now = this.#now()
    if (this.state === 'HALF_OPEN') {
      this.#open(now)
      return true
    }
    if (this.state === 'OPEN') return false
    this.#failures.push(now)
    const since = now - this.#config.monitorWindow
    while (this.#failures.length > 0 && this.#failures[0] <= since) this.#failures.shift()
    if (this.#failures.length >= this.#config.failureThreshold) {
      this.#open(now)
      return true
    }
    return false
  }

  /** A trial call that ended neither way (aborted): its slot is free again. */
  release(wasTrial) {
    if (wasTrial) this.#trials.shift()
  }

  get failures() {
    return this.#failures.length
  }

  get halfOpenSuccesses() {
    return this.#halfOpenSuccesses
  }

  #open(now) {
    const failures = Math.max(this.#failures.length, 1)
    this.#openedAt = now
    this.timesOpened++
    this.#move('OPEN', failures)
  }

  #move(state, failures = 0) {
    if (this.state === state) return
    this.state = state
    this.#trials = []
    this.#halfOpenSuccesses = 0
    if (state !== 'OPEN') this.#failures = []
    this.#onTransition(state, failures)
  }
}

module.exports = { Breaker }
