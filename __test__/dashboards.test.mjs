// The shipped Grafana dashboard and Prometheus alert rules query only series that metrics()
// really emits: every expression is parsed as PromQL and its metric names are checked against
// the live output of a client that did some work.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { parse as parseYaml } from 'yaml'
import { parser } from '@prometheus-io/lezer-promql'
import { ChittyIDClient, ChittyIDEmulator } from '../index.mjs'

const require = createRequire(import.meta.url)
const parsePrometheusTextFormat = require('parse-prometheus-text-format')
const pkg = require('../package.json')

const DASHBOARD = new URL('../dashboards/grafana-chittyid-client.json', import.meta.url)
const ALERTS = new URL('../dashboards/prometheus-alerts.yml', import.meta.url)

// Labels a query may group or match by: the client's own, and what Prometheus adds on scrape.
const KNOWN_LABELS = new Set(['operation', 'le', 'client', 'endpoint', 'wire', 'job', 'instance'])

/** Grafana's variables replaced by values, so the expression is plain PromQL. */
function plain(expr) {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$\{?(\w+)\}?/g, 'x')
}

/** Metric names and label names of one PromQL expression; fails on a syntax error. */
function analyse(expr) {
  const text = plain(expr)
  const tree = parser.parse(text)
  const metrics = []
  const labels = []
  const cursor = tree.cursor()
  do {
    if (cursor.type.isError) throw new Error(`PromQL syntax error at ${cursor.from} in: ${text}`)
    if (cursor.name === 'Identifier' && cursor.node.parent && cursor.node.parent.name === 'VectorSelector')
      metrics.push(text.slice(cursor.from, cursor.to))
    if (cursor.name === 'LabelName') labels.push(text.slice(cursor.from, cursor.to))
  } while (cursor.next())
  return { metrics, labels }
}

function dashboardQueries() {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'))
  const queries = []
  for (const panel of dashboard.panels) {
    for (const target of panel.targets || []) queries.push({ where: `panel "${panel.title}"`, expr: target.expr })
  }
  const variables = dashboard.templating.list.filter((v) => v.type === 'query')
  for (const v of variables) {
    const match = /^label_values\((.+),\s*(\w+)\)$/.exec(v.definition)
    queries.push({ where: `variable $${v.name}`, expr: match[1], label: match[2] })
  }
  return { dashboard, queries }
}

function alertQueries() {
  const rules = parseYaml(readFileSync(ALERTS, 'utf8'))
  return rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr, rule: r })))
}

/** Every sample name of a live client's metrics(): its families and their histogram parts. */
async function emittedNames() {
  // A fallback endpoint, so the per-endpoint series (docs/OPERATIONS.md "Endpoint failover") are emitted too.
  const primary = await ChittyIDEmulator.start({ port: 0 })
  const fallback = await ChittyIDEmulator.start({ port: 0 })
  const client = new ChittyIDClient({
    serviceUrl: [`${primary.url}/v1`, `${fallback.url}/v1`],
    name: 'dashboard',
    retry: { maxAttempts: 2, initialDelayMs: 1, jitter: 0 },
  })
  try {
    primary.setFault({ errorStatus: 503, remaining: 1 })
    const id = await client.mint({ entity: 'PEO' }) // one retry
    await client.mintBatch([{ entity: 'EVNT' }])
    await client.validate(id) // miss
    await client.validate(id) // hit
    await client.healthCheck()
    const text = client.metrics()
    const names = new Set()
    for (const family of parsePrometheusTextFormat(text)) {
      names.add(family.name)
      if (family.type === 'HISTOGRAM') for (const part of ['_bucket', '_sum', '_count']) names.add(family.name + part)
    }
    return { names, text }
  } finally {
    await client.close()
    await primary.close()
    await fallback.close()
  }
}

describe('dashboards/', () => {
  let emitted

  beforeAll(async () => {
    emitted = await emittedNames()
  })

  test('the dashboard has the panels the issue asks for', () => {
    const { dashboard } = dashboardQueries()
    const titles = dashboard.panels.map((p) => p.title.toLowerCase())
    for (const want of [
      'request rate',
      'errors',
      'latency',
      'circuit breaker state',
      'cache hit rate',
      'retries',
      'rate-limit pauses',
      'failovers',
    ]) {
      expect(titles.some((t) => t.includes(want))).toBe(true)
    }
  })

  test('the alert rules cover an open circuit, the error ratio and latency', () => {
    const alerts = alertQueries().map((q) => q.rule)
    const open = alerts.find((r) => r.alert === 'ChittyIDCircuitOpen')
    expect(open.for).toMatch(/^\d+m$/)
    expect(open.expr).toContain('chittyid_client_circuit_state')
    expect(alerts.some((r) => /error/i.test(r.alert) && r.expr.includes('chittyid_client_request_errors_total'))).toBe(
      true,
    )
    expect(alerts.some((r) => /latency/i.test(r.alert) && r.expr.includes('histogram_quantile'))).toBe(true)
  })

  test('the open-circuit alert needs calls failing fast: an idle client keeps showing OPEN', async () => {
    // The breaker moves on only when a call asks it: long after resetTimeout, an idle client's
    // gauge still says OPEN while nothing fails. The rule must not fire on that alone.
    const emulator = await ChittyIDEmulator.start({ port: 0 })
    const client = new ChittyIDClient({
      serviceUrl: `${emulator.url}/v1`,
      retry: false,
      cache: false,
      circuitBreaker: { failureThreshold: 1, resetTimeout: 50 },
    })
    try {
      emulator.setFault({ errorStatus: 500, remaining: 1 })
      await client.validate('CT-A-CHI-1234-P-24-A-0').catch(() => {})
      await new Promise((resolve) => setTimeout(resolve, 300))
      const families = parsePrometheusTextFormat(client.metrics())
      const value = (name) => Number(families.find((f) => f.name === name).metrics[0].value)
      expect(value('chittyid_client_circuit_state')).toBe(1)
      expect(value('chittyid_client_circuit_rejections_total')).toBe(0)
    } finally {
      await client.close()
      await emulator.close()
    }
    const open = alertQueries().find((q) => q.rule.alert === 'ChittyIDCircuitOpen')
    const { metrics } = analyse(open.expr)
    expect(metrics).toEqual(['chittyid_client_circuit_state', 'chittyid_client_circuit_rejections_total'])
    expect(open.expr).toMatch(/\band on\b/)
  })

  test('every query is valid PromQL over series metrics() emits, grouped by labels they have', () => {
    const queries = [...dashboardQueries().queries, ...alertQueries()]
    expect(queries.length).toBeGreaterThan(15)
    const used = new Set()
    for (const q of queries) {
      const { metrics, labels } = analyse(q.expr)
      expect({ where: q.where, metrics: metrics.length > 0 }).toEqual({ where: q.where, metrics: true })
      for (const name of metrics) {
        used.add(name)
        expect({ where: q.where, name, emitted: emitted.names.has(name) }).toEqual({
          where: q.where,
          name,
          emitted: true,
        })
      }
      for (const label of [...labels, ...(q.label ? [q.label] : [])]) {
        expect({ where: q.where, label, known: KNOWN_LABELS.has(label) }).toEqual({
          where: q.where,
          label,
          known: true,
        })
      }
    }
    // Every family the client emits is on the dashboard or in an alert.
    const families = parsePrometheusTextFormat(emitted.text).map((f) => f.name)
    const shown = (f) => used.has(f) || ['_bucket', '_sum', '_count'].some((part) => used.has(f + part))
    expect(families.filter((f) => !shown(f))).toEqual([])
  })

  test('the analysis catches a query on a series that does not exist', () => {
    const { metrics } = analyse('sum(rate(chittyid_client_requestz_total[$__rate_interval]))')
    expect(metrics).toEqual(['chittyid_client_requestz_total'])
    expect(emitted.names.has('chittyid_client_requestz_total')).toBe(false)
    expect(() => analyse('sum(rate(chittyid_client_requests_total[5m])')).toThrow(/syntax error/)
  })

  test('the package ships them', () => {
    expect(pkg.files).toContain('dashboards/')
  })
})
