// Per-client metric labels, metrics() through a real exposition parser, and the prom-client
// adapter with prom-client's own Registry.
import { createRequire } from 'node:module'
import client from 'prom-client'
import { ChittyIDClient, registerMetrics } from '../index.mjs'
import { startPair } from './helpers.mjs'

const require = createRequire(import.meta.url)
const parsePrometheusTextFormat = require('parse-prometheus-text-format')

/**
 * name -> family as parse-prometheus-text-format reads it. That parser is lenient (it takes
 * a line without a value) and folds the series of a labelled histogram into one, so the text
 * also goes through `strict` below, which checks the 0.0.4 grammar line by line.
 */
function parse(text) {
  strict(text)
  return new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]))
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"'
const SAMPLE = new RegExp(
  `^(${NAME})(?:\\{(${LABEL}(?:,${LABEL})*)\\})? ([-+]?(?:[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))$`,
)

/**
 * The text exposition format 0.0.4, strictly: HELP and TYPE once per family and before its
 * samples, samples well-formed and belonging to the family announced last, no series twice,
 * histogram buckets cumulative up to `+Inf` = `_count`. Returns family -> samples.
 */
function strict(text) {
  expect(text.endsWith('\n')).toBe(true)
  const families = new Map()
  const seen = new Set()
  let current
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue // allowed between families (prom-client writes them)
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (meta) {
      const [, kind, name, rest] = meta
      expect(name).toMatch(new RegExp(`^${NAME}$`))
      if (!families.has(name)) families.set(name, { samples: [] })
      const family = families.get(name)
      expect(family.samples).toHaveLength(0)
      expect(family[kind]).toBeUndefined()
      family[kind] = rest
      if (kind === 'TYPE') expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(rest)
      current = name
      continue
    }
    const m = SAMPLE.exec(line)
    expect({ line, wellFormed: m !== null }).toEqual({ line, wellFormed: true })
    const [, name, labelText = '', value] = m
    const family = families.get(current)
    const suffixes = family.TYPE === 'histogram' ? ['_bucket', '_sum', '_count'] : ['']
    expect(suffixes.map((x) => current + x)).toContain(name)
    const pairs = [...labelText.matchAll(new RegExp(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\]|\\\\.)*)"`, 'g'))].map(
      ([, k, v]) => [k, v.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c))],
    )
    // A label name twice on one sample makes Prometheus reject the whole scrape.
    expect({ line, labelNames: new Set(pairs.map(([k]) => k)).size }).toEqual({ line, labelNames: pairs.length })
    const labels = Object.fromEntries(pairs)
    const series = `${name}${JSON.stringify(Object.entries(labels).sort())}`
    expect(seen.has(series)).toBe(false)
    seen.add(series)
    family.samples.push({ name, labels, value: Number(value.replace('Inf', 'Infinity')) })
  }
  for (const [name, family] of families) {
    expect({ name, help: typeof family.HELP, type: typeof family.TYPE }).toEqual({
      name,
      help: 'string',
      type: 'string',
    })
    if (family.TYPE !== 'histogram') continue
    const byLabels = new Map()
    for (const s of family.samples) {
      const { le, ...rest } = s.labels
      const key = JSON.stringify(rest)
      if (!byLabels.has(key)) byLabels.set(key, { buckets: [] })
      if (s.name.endsWith('_bucket')) byLabels.get(key).buckets.push([Number(le.replace('Inf', 'Infinity')), s.value])
      else byLabels.get(key)[s.name.slice(name.length + 1)] = s.value
    }
    for (const h of byLabels.values()) {
      const bounds = h.buckets.map(([le]) => le)
      expect(bounds).toEqual([...bounds].sort((x, y) => x - y))
      expect(bounds[bounds.length - 1]).toBe(Infinity)
      const counts = h.buckets.map(([, n]) => n)
      expect(counts).toEqual([...counts].sort((x, y) => x - y))
      expect(counts[counts.length - 1]).toBe(h.count)
      expect(typeof h.sum).toBe('number')
    }
  }
  return families
}

describe('name and labels options', () => {
  test('every series of metrics() carries them, and the text parses as Prometheus exposition', async () => {
    const pair = await startPair({ client: { name: 'billing', labels: { region: 'eu-west', tier: 'gold "1"' } } })
    try {
      const id = await pair.client.mint({ entity: 'PEO' })
      await pair.client.validate(id)
      await pair.client.validate(id)
      const text = pair.client.metrics()
      const families = parse(text)
      expect(families.size).toBeGreaterThanOrEqual(12)
      const mint = families.get('chittyid_client_requests_total').metrics.find((m) => m.labels.operation === 'mint')
      expect(mint).toEqual({
        labels: { client: 'billing', region: 'eu-west', tier: 'gold "1"', operation: 'mint' },
        value: '1',
      })
      expect(families.get('chittyid_client_request_duration_seconds').type).toBe('HISTOGRAM')
      const histogram = strict(text).get('chittyid_client_request_duration_seconds').samples
      const mintCount = histogram.find((m) => m.name.endsWith('_count') && m.labels.operation === 'mint')
      expect(mintCount).toEqual({
        name: 'chittyid_client_request_duration_seconds_count',
        labels: { client: 'billing', region: 'eu-west', tier: 'gold "1"', operation: 'mint' },
        value: 1,
      })
      expect(families.get('chittyid_client_cache_hits_total').metrics[0]).toEqual({
        labels: { client: 'billing', region: 'eu-west', tier: 'gold "1"' },
        value: '1',
      })
      for (const family of strict(text).values()) {
        for (const m of family.samples)
          expect(m.labels).toMatchObject({ client: 'billing', region: 'eu-west', tier: 'gold "1"' })
      }
      expect(pair.client.name).toBe('billing')
    } finally {
      await pair.close()
    }
  })

  test('the strict check fails on text Prometheus would reject', () => {
    const head = '# HELP a_total x\n# TYPE a_total counter\n'
    for (const bad of [
      `${head}a_total{x="1} 3\n`,
      `${head}a_total{x="1"}\n`,
      `${head}a_total 1\na_total 2\n`,
      `a_total 1\n`,
      `${head}b_total 1\n`,
      `${head}a_total 1`,
    ]) {
      expect(() => strict(bad)).toThrow()
    }
    expect(() => strict(`${head}a_total{x="1",x="2"} 1\n`)).toThrow()
    expect(() => strict(`${head}a_total{x="q\\"uote"} 1\n`)).not.toThrow()
  })

  test('with several endpoints, the per-endpoint series still parse: no label twice', async () => {
    const a = await startPair()
    const b = await startPair()
    const client = new ChittyIDClient({
      serviceUrl: [`${a.emulator.url}/v1`, `${b.emulator.url}/v1`],
      name: 'multi',
      labels: { region: 'eu' },
    })
    try {
      await client.mint({ entity: 'PEO' })
      const families = strict(client.metrics())
      const healthy = families.get('chittyid_client_endpoint_healthy').samples
      expect(healthy.map((m) => Object.keys(m.labels))).toEqual([
        ['client', 'region', 'endpoint'],
        ['client', 'region', 'endpoint'],
      ])
      expect(parse(client.metrics()).get('chittyid_client_endpoint_requests_total').metrics).toHaveLength(2)
      // The label the per-endpoint series use cannot be added as a constant one.
      expect(
        () =>
          new ChittyIDClient({
            serviceUrl: [`${a.emulator.url}/v1`, `${b.emulator.url}/v1`],
            labels: { endpoint: 'primary' },
          }),
      ).toThrow(
        expect.objectContaining({
          name: 'TypeError',
          code: 'ERR_INVALID_ARG_VALUE',
          message: expect.stringContaining('"endpoint"'),
        }),
      )
    } finally {
      await client.close()
      await a.close()
      await b.close()
    }
  })

  test('without them the series are unchanged (no labels of their own)', () => {
    const c = new ChittyIDClient({ serviceUrl: 'http://127.0.0.1:9/v1' })
    expect(c.metrics()).toContain('\nchittyid_client_circuit_rejections_total 0\n')
    expect(c.name).toBeUndefined()
  })

  test('bad names and labels are TypeErrors', () => {
    for (const config of [
      { name: '' },
      { name: 'x'.repeat(300) },
      { labels: { operation: 'x' } },
      { labels: { le: '1' } },
      { labels: { endpoint: 'x' } },
      { labels: { __name__: 'x' } },
      { labels: { 'bad-name': 'x' } },
      { labels: { ok: '' } },
      { labels: 'x' },
      { name: 'a', labels: { client: 'b' } },
    ]) {
      expect(() => new ChittyIDClient(config)).toThrow(
        expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }),
      )
    }
    expect(() => new ChittyIDClient({ name: 42n })).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }),
    )
  })
})

describe('registerMetrics (prom-client)', () => {
  test('a service registry serves the series of two clients next to its own metrics', async () => {
    const a = await startPair({ client: { name: 'orders' } })
    const b = await startPair({ client: { name: 'people', cache: false } })
    const registry = new client.Registry()
    const own = new client.Counter({
      name: 'app_requests_total',
      help: "The service's own counter.",
      registers: [registry],
    })
    own.inc(3)
    try {
      registerMetrics(registry, a.client)
      const unregister = registerMetrics(registry, b.client)
      await a.client.mint({ entity: 'PEO' })
      await a.client.mint({ entity: 'PEO' })
      await b.client.mint({ entity: 'EVNT' })
      const families = parse(await registry.metrics())
      expect(families.get('app_requests_total').metrics[0].value).toBe('3')
      const minted = families.get('chittyid_client_requests_total').metrics.filter((m) => m.labels.operation === 'mint')
      expect(minted.map((m) => [m.labels.client, m.value]).sort()).toEqual([
        ['orders', '2'],
        ['people', '1'],
      ])
      const exposition = await registry.metrics()
      const durations = strict(exposition)
        .get('chittyid_client_request_duration_seconds')
        .samples.filter((m) => m.labels.operation === 'mint')
      const counts = durations.filter((m) => m.name.endsWith('_count'))
      expect(counts.map((m) => [m.labels.client, m.value]).sort()).toEqual([
        ['orders', 2],
        ['people', 1],
      ])
      expect(
        durations.filter((m) => m.name.endsWith('_bucket') && m.labels.client === 'orders').length,
      ).toBeGreaterThan(10)
      // Only one client has a cache: its series are there, once.
      expect(families.get('chittyid_client_cache_misses_total').metrics.map((m) => m.labels.client)).toEqual(['orders'])
      // The same series as metrics() itself, sample for sample.
      const direct = strict(a.client.metrics())
        .get('chittyid_client_request_duration_seconds')
        .samples.filter((m) => m.labels.operation === 'mint')
      expect(durations.filter((m) => m.labels.client === 'orders')).toEqual(direct)

      unregister()
      const after = parse(await registry.metrics())
      expect(after.get('chittyid_client_requests_total').metrics.every((m) => m.labels.client === 'orders')).toBe(true)
      // prom-client's JSON view works too.
      const json = await registry.getMetricsAsJSON()
      expect(json.find((m) => m.name === 'chittyid_client_retries_total').values.length).toBe(4)
    } finally {
      await a.close()
      await b.close()
    }
  })

  test('OpenMetrics registries get counters named their way', async () => {
    const pair = await startPair({ client: { name: 'om' } })
    const registry = new client.Registry(client.Registry.OPENMETRICS_CONTENT_TYPE)
    try {
      registerMetrics(registry, pair.client)
      await pair.client.mint({ entity: 'PEO' })
      const text = await registry.metrics()
      expect(text).toContain('# TYPE chittyid_client_requests counter')
      expect(text).toContain('chittyid_client_requests_total{client="om",operation="mint"} 1')
      expect(text.endsWith('# EOF\n')).toBe(true)
    } finally {
      await pair.close()
    }
  })

  test("resetMetrics() and getSingleMetric() behave as with prom-client's own metrics", async () => {
    const pair = await startPair({ client: { name: 'resettable' } })
    const registry = new client.Registry()
    const own = new client.Counter({ name: 'app_jobs_total', help: 'Jobs.', registers: [registry] })
    const ownHistogram = new client.Histogram({ name: 'app_job_seconds', help: 'Job time.', registers: [registry] })
    try {
      registerMetrics(registry, pair.client)
      own.inc(5)
      ownHistogram.observe(0.2)
      await pair.client.mint({ entity: 'PEO' })
      await pair.client.validate(await pair.client.mint({ entity: 'PEO' }))
      const metric = registry.getSingleMetric('chittyid_client_requests_total')
      // Like the registry's own metrics: an object of a class, with get() and reset().
      for (const m of [metric, registry.getSingleMetric('app_jobs_total')]) {
        expect(Object.getPrototypeOf(m)).not.toBe(Object.prototype)
        expect(typeof m.get).toBe('function')
        expect(typeof m.reset).toBe('function')
        expect(m).toMatchObject({ name: expect.any(String), help: expect.any(String), aggregator: 'sum' })
      }
      const mintOf = (family) => family.metrics.find((m) => m.labels.operation === 'mint')
      expect(mintOf(parse(await registry.metrics()).get('chittyid_client_requests_total')).value).toBe('2')
      expect((await metric.get()).values.find((v) => v.labels.operation === 'mint').value).toBe(2)

      registry.resetMetrics() // threw "reset is not a function" before
      let families = parse(await registry.metrics())
      expect(families.get('app_jobs_total').metrics[0].value).toBe('0')
      expect(mintOf(families.get('chittyid_client_requests_total')).value).toBe('0')
      let histogram = strict(await registry.metrics())
        .get('chittyid_client_request_duration_seconds')
        .samples.filter((m) => m.labels.operation === 'mint')
      expect(histogram.every((m) => m.value === 0)).toBe(true)
      // Gauges report the client's state as it is.
      expect(families.get('chittyid_client_cache_entries').metrics[0].value).toBe('1')

      // Counting goes on from zero, for the registry's own metrics and the client's alike.
      own.inc()
      await pair.client.mint({ entity: 'PEO' })
      families = parse(await registry.metrics())
      expect(families.get('app_jobs_total').metrics[0].value).toBe('1')
      expect(mintOf(families.get('chittyid_client_requests_total')).value).toBe('1')
      histogram = strict(await registry.metrics())
        .get('chittyid_client_request_duration_seconds')
        .samples.filter((m) => m.labels.operation === 'mint')
      expect(histogram.find((m) => m.name.endsWith('_count')).value).toBe(1)
      expect(histogram.find((m) => m.labels.le === '+Inf').value).toBe(1)
      // The client's own view is untouched.
      expect(
        strict(pair.client.metrics())
          .get('chittyid_client_requests_total')
          .samples.find((m) => m.labels.operation === 'mint').value,
      ).toBe(3)
      expect(await registry.getSingleMetricAsString('chittyid_client_requests_total')).toContain(
        'chittyid_client_requests_total{client="resettable",operation="mint"} 1',
      )

      // A family removed from the registry (or a cleared registry) is registered again.
      registry.removeSingleMetric('chittyid_client_requests_total')
      registerMetrics(registry, pair.client)
      expect(registry.getSingleMetric('chittyid_client_requests_total')).toBeDefined()
      registry.clear()
      registerMetrics(registry, pair.client)
      expect(mintOf(parse(await registry.metrics()).get('chittyid_client_requests_total')).value).toBe('3')
    } finally {
      await pair.close()
    }
  })

  test('two clients whose series would collide, or a taken name, are refused', () => {
    const registry = new client.Registry()
    const url = 'http://127.0.0.1:9/v1'
    registerMetrics(registry, new ChittyIDClient({ serviceUrl: url }))
    expect(() => registerMetrics(registry, new ChittyIDClient({ serviceUrl: url }))).toThrow(
      /give each client its own `name`/,
    )
    const taken = new client.Registry()
    new client.Gauge({ name: 'chittyid_client_circuit_state', help: 'x', registers: [taken] })
    expect(() => registerMetrics(taken, new ChittyIDClient({ serviceUrl: url }))).toThrow(
      /already has a metric named chittyid_client_circuit_state/,
    )
    expect(() => registerMetrics({}, new ChittyIDClient({ serviceUrl: url }))).toThrow(TypeError)
  })
})
