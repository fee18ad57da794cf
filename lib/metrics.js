'use strict'

// Prometheus: `registerMetrics(registry, client)` serves a client's `metrics()` series from a
// prom-client Registry the service already exposes. (The `name` / `labels` options, constant
// labels on every series, are checked in lib/options.js.)

// ---------------------------------------------------------------------------------------
// Reading metrics() back (the format src/metrics.rs writes).

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
      if (line[2] === 'H') current.help = rest.slice(space + 1).replace(/\\n/g, '\n').replace(/\\\\/g, '\\')
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

// Per registry: the clients whose series it serves, and the families registered so far.
const collectors = new WeakMap()

/** The constant labels of a client's series: those of a family without labels of its own. */
function identityOf(families) {
  const rejections = families.get('chittyid_client_circuit_rejections_total')
  return JSON.stringify(rejections && rejections.samples[0] ? rejections.samples[0].labels : {})
}

function collectorFor(registry) {
  let collector = collectors.get(registry)
  if (collector === undefined) {
    collector = { clients: new Map(), families: new Set(), scrape: null }
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

/** A prom-client metric (the interface its Registry reads) serving one family of every client. */
function familyMetric(collector, name, help, type) {
  return {
    name,
    help,
    type,
    aggregator: 'sum',
    async get() {
      const values = []
      for (const families of scrape(collector)) {
        const family = families.get(name)
        if (family === undefined) continue
        for (const sample of family.samples) {
          // Counters are named by their family (prom-client renames them for OpenMetrics).
          const value = { value: sample.value, labels: sample.labels }
          if (sample.name !== name) value.metricName = sample.name
          values.push(value)
        }
      }
      return { name: this.name, help, type, aggregator: 'sum', values }
    },
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
    throw new TypeError('registerMetrics expects a prom-client Registry')
  }
  if (!client || typeof client.metrics !== 'function') throw new TypeError('registerMetrics expects a ChittyIDClient')
  const collector = collectorFor(registry)
  const families = parseExposition(client.metrics())
  const identity = identityOf(families)
  for (const [other, otherIdentity] of collector.clients) {
    if (other !== client && otherIdentity === identity) {
      throw new TypeError('registerMetrics: another client in this registry has the same series; give each client its own `name` (or `labels`)')
    }
  }
  for (const family of families.values()) {
    if (collector.families.has(family.name)) continue
    if (registry.getSingleMetric(family.name) !== undefined) {
      throw new TypeError(`registerMetrics: the registry already has a metric named ${family.name}`)
    }
    registry.registerMetric(familyMetric(collector, family.name, family.help, family.type))
    collector.families.add(family.name)
  }
  collector.clients.set(client, identity)
  return function unregister() {
    collector.clients.delete(client)
  }
}

module.exports = { parseExposition, registerMetrics }
