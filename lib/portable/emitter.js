'use strict'

// The portable client's base class (docs/PORTABLE.md "How the portable client is built"). Where the runtime has
// `node:events` (Node, Bun, Deno, Workers with `nodejs_compat`), it is Node's EventEmitter,
// reached through `process.getBuiltinModule` so that no bundler has to resolve a `node:`
// import: a worker without `nodejs_compat` still bundles and loads. Elsewhere it is the small
// emitter below, with the same methods the client's users call.

const { runtimeProcess } = require('../runtime-process.js')

function nodeEventEmitter() {
  const proc = runtimeProcess()
  if (!proc || typeof proc.getBuiltinModule !== 'function') return undefined
  try {
    const events = proc.getBuiltinModule('node:events')
    return events && typeof events.EventEmitter === 'function' ? events.EventEmitter : undefined
  } catch {
    return undefined
  }
}

/** EventEmitter's listener methods, without its domain, capture and max-listener machinery. */
class MiniEmitter {
  #listeners = new Map()

  #list(event) {
    let list = this.#listeners.get(event)
    if (list === undefined) this.#listeners.set(event, (list = []))
    return list
  }

  #check(listener) {
    if (typeof listener !== 'function') {
      const err = new TypeError(`The "listener" argument must be of type function. Received ${typeof listener}`)
      err.code = 'ERR_INVALID_ARG_TYPE'
      throw err
    }
  }

  on(event, listener) {
    this.#check(listener)
    this.#list(event).push(listener)
    return this
  }

  addListener(event, listener) {
    return this.on(event, listener)
  }

  prependListener(event, listener) {
    this.#check(listener)
    this.#list(event).unshift(listener)
    return this
  }

  once(event, listener) {
    this.#check(listener)
    const self = this
    function wrapper(...args) {
      self.removeListener(event, wrapper)
      return listener.apply(this, args)
    }
    wrapper.listener = listener
    return this.on(event, wrapper)
  }

  removeListener(event, listener) {
    const list = this.#listeners.get(event)
    if (list === undefined) return this
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i] === listener || list[i].listener === listener) {
        list.splice(i, 1)
        break
      }
    }
    if (list.length === 0) this.#listeners.delete(event)
    return this
  }

  off(event, listener) {
    return this.removeListener(event, listener)
  }

  removeAllListeners(event) {
    if (event === undefined) this.#listeners.clear()
    else this.#listeners.delete(event)
    return this
  }

  /** Calls the listeners in order; `error` without listeners throws, as EventEmitter does. */
  emit(event, ...args) {
    const list = this.#listeners.get(event)
    if (list === undefined || list.length === 0) {
      if (event === 'error')
        throw args[0] instanceof Error ? args[0] : new Error(`Unhandled error. (${String(args[0])})`)
      return false
    }
    for (const listener of [...list]) listener.apply(this, args)
    return true
  }

  listenerCount(event) {
    const list = this.#listeners.get(event)
    return list === undefined ? 0 : list.length
  }

  listeners(event) {
    const list = this.#listeners.get(event)
    return list === undefined ? [] : list.map((l) => l.listener ?? l)
  }

  rawListeners(event) {
    const list = this.#listeners.get(event)
    return list === undefined ? [] : [...list]
  }

  eventNames() {
    return [...this.#listeners.keys()]
  }

  setMaxListeners() {
    return this
  }

  getMaxListeners() {
    return Infinity
  }
}

const NodeEventEmitter = nodeEventEmitter()
const Emitter = NodeEventEmitter ?? MiniEmitter

module.exports = { Emitter, MiniEmitter }
