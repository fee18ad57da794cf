'use strict'

// Prometheus: `registerMetrics(registry, client)` serves a client's `metrics()` series from a
// prom-client Registry the service already exposes. (The `name` / `labels` options, constant
// labels on every series, are checked in lib/options.js.) A client's `close()` takes it out of
// every registry it serves (`forgetClient`), so a closed client is neither held nor scraped.

const { closedError, invalidArgument } = require('./errors.js')

// ---------------------------------------------------------------------------------------
// Reading metrics() back (the format src/client/metrics.rs writes).

function parseLabels(text, from) {
  const labels = {}
  let i = from
  while (text[i] !== '}') {
    const eq = text.indexOf('=', i)
    const name = text.slice(i, eq)
    let value = ''
    i = eq + 2 // past ="
    while (text[i] !== '"') {
      if (text[i] === '\\') {
        const next = text[i + 1]
        value += next === 'n' ? '\n' : next
        i += 2
      } else {
        value += text[i++]
      }
    }
    labels[name] = value
    i++ // past "
    if (text[i] === ',') i++
  }
  return { labels, end: i + 1 }
}

function parseValue(text) {
  if (text === '+Inf') return Infinity
  if (text === '-Inf') return -Infinity
  return Number(text)
}

/** The families of an exposition: name -> { name, help, type, samples: [{ name, labels, value }] }. */
function parseExposition(text) {
  const families = new Map()
  let current
  const family = (name) => {
    if (!families.has(name)) families.set(name, { name, help: '', type: 'untyped', samples: [] })
    return families.get(name)
  }
  for (const line of text.split('\n')) {
    if (line === '') continue
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
      const rest = line.slice(7)
      const space = rest.indexOf(' ')
      current = family(rest.slice(0, space))
      if (line[2] === 'H')
        current.help = rest
          .slice(space + 1)
          .replace(/\\n/g, '\n')
          .replace(/\\\\/g, '\\')
      else current.type = rest.slice(space + 1)
      continue
    }
    if (line.startsWith('#')) continue
    const brace = line.indexOf('{')
    const space = line.lastIndexOf(' ')
    let name
    let labels = {}
    if (brace >= 0 && brace < space) {
      name = line.slice(0, brace)
      labels = parseLabels(line, brace + 1).labels
    } else {
      name = line.slice(0, space)
    }
    const owner = current && name.startsWith(current.name) ? current : family(name)
    owner.samples.push({ name, labels, value: parseValue(line.slice(space + 1)) })
  }
  return families
}

// ---------------------------------------------------------------------------------------
// prom-client adapter.

// Per registry: the clients whose series it serves.
const collectors = new WeakMap()

/** Client -> the collectors that serve it; `forgetClient` empties them at its `close()`. */
const servedBy = new WeakMap()
/** Clients that closed: `registerMetrics` refuses them. */
const closed = new WeakSet()

/**
 * `client` closed (lib/client.js `close()`): every registry stops serving it and lets it go, so
 * a service that replaces its client (a config reload) holds one, and the new one may take the
 * closed one's `name`.
 */
function forgetClient(client) {
  closed.add(client)
  const collectors = servedBy.get(client)
  if (collectors === undefined) return
  servedBy.delete(client)
  for (const collector of collectors) collector.clients.delete(client)
}

/** The constant labels of a client's series: those of a family without labels of its own. */
function identityOf(families) {
  const rejections = families.get('chittyid_client_circuit_rejections_total')
  return JSON.stringify(rejections && rejections.samples[0] ? rejections.samples[0].labels : {})
}

function collectorFor(registry) {
  let collector = collectors.get(registry)
  if (collector === undefined) {
    collector = { clients: new Map(), scrape: null }
    collectors.set(registry, collector)
  }
  return collector
}

/** Every client's families, read once per scrape (prom-client asks each family in one turn). */
function scrape(collector) {
  if (collector.scrape === null) {
    collector.scrape = [...collector.clients.keys()].map((client) => parseExposition(client.metrics()))
    queueMicrotask(() => {
      collector.scrape = null
    })
  }
  return collector.scrape
}

const seriesKey = (sample) => `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`

/**
 * One family of every registered client, as a prom-client metric: what its Registry reads
 * (`name`, `help`, `type`, `aggregator`, `get()`) and what it calls on its own metrics
 * (`reset()` from `resetMetrics()`). The values live in the clients; `reset()` behaves like
 * resetting a prom-client Counter or Histogram: later scrapes count from zero, by remembering
 * the values at the reset and reporting the increase since. Gauges report the client's state
 * as it is (like a prom-client Gauge with a `collect` callback).
 */
class ChittyIDClientMetric {
  #collector
  /** The family's name in metrics() (an OpenMetrics registry renames a counter: no `_total`). */
  #family
  /** Series -> value at the last reset (monotonic families only). */
  #baseline = new Map()

  constructor(collector, name, help, type) {
    this.#collector = collector
    this.#family = name
    this.name = name
    this.help = help
    this.type = type
    this.aggregator = 'sum'
    this.labelNames = []
  }

  /** Whether this metric serves `collector`'s clients (registerMetrics reuses it then). */
  servesFor(collector) {
    return this.#collector === collector
  }

  #samples() {
    const samples = []
    for (const families of scrape(this.#collector)) {
      const family = families.get(this.#family)
      if (family !== undefined) samples.push(...family.samples)
    }
    return samples
  }

  reset() {
    this.#baseline.clear()
    if (this.type !== 'counter' && this.type !== 'histogram') return
    for (const sample of this.#samples()) {
      // A histogram's bucket bounds are not values.
      this.#baseline.set(seriesKey(sample), sample.value)
    }
  }

  async get() {
    const values = []
    for (const sample of this.#samples()) {
      let value = sample.value
      const base = this.#baseline.size === 0 ? undefined : this.#baseline.get(seriesKey(sample))
      // A client that zeroed its own counters since (e.g. its cache was cleared) counts from there.
      if (base !== undefined) value = value >= base ? value - base : value
      // Counters are named by their family (prom-client renames them for OpenMetrics).
      const entry = { value, labels: sample.labels }
      if (sample.name !== this.#family) entry.metricName = sample.name
      values.push(entry)
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }
}

/**
 * Serves `client.metrics()` from `registry` (a prom-client `Registry`, e.g. its default
 * `register`), so the service's own `/metrics` includes it. Several clients may share one
 * registry when their series differ by `name` or `labels`. Returns a function that removes
 * the client again.
 */
function registerMetrics(registry, client) {
  if (!registry || typeof registry.registerMetric !== 'function' || typeof registry.getSingleMetric !== 'function') {
    throw invalidArgument('registerMetrics expects a prom-client Registry')
  }
  if (!client || typeof client.metrics !== 'function') throw invalidArgument('registerMetrics expects a ChittyIDClient')
  if (closed.has(client)) throw closedError()
  const collector = collectorFor(registry)
  const families = parseExposition(client.metrics())
  const identity = identityOf(families)
  for (const [other, otherIdentity] of collector.clients) {
    if (other !== client && otherIdentity === identity) {
      throw invalidArgument(
        'registerMetrics: another client in this registry has the same series; give each client its own `name` (or `labels`)',
      )
    }
  }
  const missing = []
  for (const family of families.values()) {
    // An OpenMetrics registry keeps a counter under its name without `_total`.
    const openMetrics = typeof registry.contentType === 'string' && registry.contentType.includes('openmetrics')
    const present =
      registry.getSingleMetric(family.name) ??
      (openMetrics && family.type === 'counter'
        ? registry.getSingleMetric(family.name.replace(/_total$/, ''))
        : undefined)
    if (present instanceof ChittyIDClientMetric && present.servesFor(collector)) continue
    if (present !== undefined)
      throw invalidArgument(`registerMetrics: the registry already has a metric named ${family.name}`)
    missing.push(family)
  }
  // Registered after every check, so a refusal leaves the registry as it was (a family removed
  // with removeSingleMetric() or clear() is registered again).
  for (const family of missing)
    registry.registerMetric(new ChittyIDClientMetric(collector, family.name, family.help, family.type))
  collector.clients.set(client, identity)
  let collectorsOfClient = servedBy.get(client)
  if (collectorsOfClient === undefined) servedBy.set(client, (collectorsOfClient = new Set()))
  collectorsOfClient.add(collector)
  return function unregister() {
    collector.clients.delete(client)
    servedBy.get(client)?.delete(collector)
  }
}

module.exports = { parseExposition, registerMetrics, forgetClient }
