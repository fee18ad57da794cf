'use strict'

// validate() calls in flight, by id: concurrent callers of one id share one request (as the
// native client coalesces them). Where every I/O object belongs to the request that made it
// (Workers, docs/PORTABLE.md), a flight started by a request that has since ended never
// settles: the flight beats while it is pending, and a caller that finds it silent asks again.

/**
 * Workers: every I/O object and timer belongs to the request that made it (docs/PORTABLE.md).
 * Told by the global navigator's user agent, or, on compatibility dates before it (2022-03-21),
 * by `WebSocketPair`, which only workerd has.
 */
const REQUEST_SCOPED_IO =
  (typeof navigator === 'object' && navigator !== null && navigator.userAgent === 'Cloudflare-Workers') ||
  typeof WebSocketPair === 'function'
/** How often a shared validate() request shows it is alive there, and how long a silence means it is gone. */
const HEARTBEAT_MS = 250
const LEADER_SILENT_MS = 1000
/** From this many flights on, starting one first drops those whose request has ended (silent ones). */
const SWEEP_FROM = 64

class Flights {
  #inflight = new Map()
  #sweepAt = SWEEP_FROM

  /**
   * The answer for `id`: the flight in progress, else a new one that `ask(flight)` makes (a
   * promise; `flight.forgotten` turns true when `forget(id)` dropped it on its way).
   */
  join(id, ask) {
    const flight = this.#inflight.get(id)
    return flight === undefined ? this.#lead(id, ask) : this.#follow(id, ask, flight)
  }

  /** Drops the flight of `id`, marking it forgotten: its answer is not to be stored. */
  forget(id) {
    const flight = this.#inflight.get(id)
    if (flight !== undefined) {
      flight.forgotten = true
      this.#inflight.delete(id)
    }
  }

  clear() {
    this.#inflight.clear()
  }

  /** How many ids have a flight. */
  get size() {
    return this.#inflight.size
  }

  /**
   * Drops the flights left behind by requests that ended (in Workers their promise never
   * settles, so only a later call for the same id would drop them), when there are many; the
   * next sweep waits until the map has doubled, so a map of live flights costs little.
   */
  #sweep() {
    if (this.#inflight.size < this.#sweepAt) return
    const now = Date.now()
    for (const [id, flight] of this.#inflight) if (now - flight.beat > LEADER_SILENT_MS) this.#inflight.delete(id)
    this.#sweepAt = Math.max(SWEEP_FROM, 2 * this.#inflight.size)
  }

  /** Starts the one request for `id` that concurrent callers share, beating where I/O is request-scoped. */
  #lead(id, ask) {
    const flight = { beat: Date.now(), timer: undefined, promise: undefined }
    if (REQUEST_SCOPED_IO) {
      this.#sweep()
      const beat = () => {
        flight.beat = Date.now()
        flight.timer = setTimeout(beat, HEARTBEAT_MS)
      }
      flight.timer = setTimeout(beat, HEARTBEAT_MS)
    }
    flight.promise = ask(flight).finally(() => {
      clearTimeout(flight.timer)
      if (this.#inflight.get(id) === flight) this.#inflight.delete(id)
    })
    this.#inflight.set(id, flight)
    return flight.promise
  }

  /**
   * Joins a flight. In Workers a flight started by another request never settles once that
   * request has ended (workerd cancels its I/O and its continuations): when its beat stops, this
   * caller asks again, leading a new flight.
   */
  #follow(id, ask, flight) {
    if (!REQUEST_SCOPED_IO) return flight.promise
    if (Date.now() - flight.beat > LEADER_SILENT_MS) {
      // Left behind by a request that ended: start over at once.
      this.#inflight.delete(id)
      return this.#lead(id, ask)
    }
    return new Promise((resolve, reject) => {
      let watchdog
      const check = () => {
        if (Date.now() - flight.beat <= LEADER_SILENT_MS) {
          watchdog = setTimeout(check, HEARTBEAT_MS)
          return
        }
        if (this.#inflight.get(id) === flight) this.#inflight.delete(id)
        this.join(id, ask).then(resolve, reject)
      }
      watchdog = setTimeout(check, HEARTBEAT_MS)
      flight.promise.then(
        (value) => {
          clearTimeout(watchdog)
          resolve(value)
        },
        (err) => {
          clearTimeout(watchdog)
          reject(err)
        },
      )
    })
  }
}

module.exports = { Flights }
