'use strict'

// The portable client's circuit breaker: the state machine of src/policy/breaker.rs (docs/OPERATIONS.md
// "Circuit breaker"): CLOSED -> OPEN after `failureThreshold` counted failures within
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
  /** The trials in flight (HALF_OPEN), oldest first: `{ at }`, each its own token. */
  #trials = []
  /** The token of the trial `admit()` let out last, until `admittedTrial()` takes it. */
  #admitted
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
      while (this.#trials.length > 0 && now - this.#trials[0].at >= this.#trialLimitMs) this.#trials.shift()
      if (this.#trials.length >= this.#config.halfOpenAttempts) {
        this.rejected++
        return -Math.max(this.#trials.length, 1)
      }
      this.#admitted = { at: now }
      this.#trials.push(this.#admitted)
    }
    return 0
  }

  /**
   * The token of the trial call `admit()` just let out (undefined outside HALF_OPEN), to hand to
   * `success`, `failure` or `release`: a trial frees its own slot only, never another's (one
   * that outlived `trialLimitMs` has none left, and one from before a transition neither).
   */
  admittedTrial() {
    const trial = this.#admitted
    this.#admitted = undefined
    return trial
  }

  #end(trial) {
    const at = trial === undefined ? -1 : this.#trials.indexOf(trial)
    if (at >= 0) this.#trials.splice(at, 1)
  }

  /** The service answered (a success, or a refusal that is the caller's fault). */
  success(trial) {
    this.#end(trial)
    if (this.state !== 'HALF_OPEN') return
    if (++this.#halfOpenSuccesses >= this.#config.halfOpenAttempts) this.#move('CLOSED')
  }

  /**
   * A counted failure; true when it opened the circuit. Counted in every state, as natively: the
   * stats' `failures` are the counted failures within `monitorWindow`, whatever the state.
   */
  failure(trial) {
    this.#end(trial)
    const now = this.#now()
    this.#prune(now)
    // At most `failureThreshold` kept: a huge threshold must not hold every failure.
    if (this.#failures.length >= this.#config.failureThreshold) this.#failures.shift()
    this.#failures.push(now)
    if (this.state === 'HALF_OPEN') {
      this.#open(now)
      return true
    }
    if (this.state === 'OPEN') return false
    if (this.#failures.length >= this.#config.failureThreshold) {
      this.#open(now)
      return true
    }
    return false
  }

  /** A trial call that ended neither way (aborted): its slot is free again. */
  release(trial) {
    this.#end(trial)
  }

  /** The counted failures within `monitorWindow` (src/policy/breaker.rs `failures_in_window`). */
  get failures() {
    this.#prune(this.#now())
    return this.#failures.length
  }

  #prune(now) {
    const since = now - this.#config.monitorWindow
    while (this.#failures.length > 0 && this.#failures[0] <= since) this.#failures.shift()
  }

  get halfOpenSuccesses() {
    return this.#halfOpenSuccesses
  }

  #open(now) {
    const failures = Math.max(this.failures, 1)
    this.#openedAt = now
    this.timesOpened++
    this.#move('OPEN', failures)
  }

  #move(state, failures = 0) {
    if (this.state === state) return
    this.state = state
    this.#trials = []
    this.#admitted = undefined
    this.#halfOpenSuccesses = 0
    if (state === 'CLOSED') this.#failures = []
    this.#onTransition(state, failures)
  }
}

module.exports = { Breaker }
