// getStats() and metrics(): the counters a running client reports, read back over real requests
// to the emulator.
import { startPair } from './helpers.mjs'
import { waitFor } from './wait.mjs'

describe('getStats() and metrics()', () => {
  test('getStats counts requests, errors and latency per operation', async () => {
    const pair = await startPair({ client: { retry: { initialDelayMs: 1 } } })
    await pair.client.mint({ entity: 'PEO' })
    pair.emulator.setFault({ errorStatus: 503, remaining: 1 })
    await pair.client.mint({ entity: 'PEO' })
    await pair.client.healthCheck()
    const stats = pair.client.getStats()
    expect(stats.requests.mint).toMatchObject({ requests: 3, errors: 1, retries: 1 })
    expect(stats.requests.mint.p50Ms).toBeGreaterThan(0)
    expect(stats.requests.mint.p99Ms).toBeGreaterThanOrEqual(stats.requests.mint.p50Ms)
    expect(stats.requests.healthCheck.requests).toBe(1)
    expect(stats.retries).toBe(1)
    expect(stats.breaker).toMatchObject({ state: 'CLOSED', timesOpened: 0 })
    await pair.close()
  })

  test('an attempt the service received counts even when its call was aborted or the client closed', async () => {
    const pair = await startPair()
    try {
      pair.emulator.setFault({ latencyMs: 3000, remaining: 2 })
      const controller = new AbortController()
      const aborted = pair.client.mint({ entity: 'PEO' }, { signal: controller.signal }).catch((err) => err.code)
      await waitFor(() => pair.emulator.stats().requests.mint === 1, 'the first request at the service')
      controller.abort()
      expect(await aborted).toBe('ABORT_ERR')
      const closed = pair.client.validate('CT-A-CHI-1234-P-24-A-0').catch((err) => err.code)
      await waitFor(() => pair.emulator.stats().requests.validate === 1, 'the second request at the service')
      await pair.client.close()
      expect(await closed).toBe('ECLIENTCLOSED')
      // The ledger of the service and the client's counters agree: both requests were sent. The
      // closed call's attempt is counted when the I/O thread drops it, which close() waits for.
      const stats = pair.client.getStats()
      expect(stats.requests.mint).toMatchObject({ requests: 1, errors: 1 })
      expect(stats.requests.validate).toMatchObject({ requests: 1, errors: 1 })
      expect(pair.client.metrics()).toContain('chittyid_client_request_duration_seconds_count{operation="mint"} 1\n')
    } finally {
      await pair.close()
    }
  })

  test('metrics() is valid Prometheus text exposition', async () => {
    const pair = await startPair({ token: 'metrics-secret-key' })
    const id = await pair.client.mint({ entity: 'PEO' })
    await pair.client.validate(id)
    await pair.client.validate(id)
    const text = pair.client.metrics()
    expect(text).not.toContain('metrics-secret-key')
    const families = parseExposition(text)
    expect(families.get('chittyid_client_requests_total').samples).toContainEqual({
      name: 'chittyid_client_requests_total',
      labels: { operation: 'mint' },
      value: 1,
    })
    expect(families.get('chittyid_client_cache_hits_total').samples[0].value).toBe(1)
    const histogram = families.get('chittyid_client_request_duration_seconds')
    expect(histogram.type).toBe('histogram')
    const mintBuckets = histogram.samples.filter((s) => s.name.endsWith('_bucket') && s.labels.operation === 'mint')
    for (let i = 1; i < mintBuckets.length; i++)
      expect(mintBuckets[i].value).toBeGreaterThanOrEqual(mintBuckets[i - 1].value)
    expect(mintBuckets.at(-1).labels.le).toBe('+Inf')
    await pair.close()
  })
})

/** A strict reader of the text exposition format: every line must parse, HELP/TYPE precede samples. */
function parseExposition(text) {
  expect(text.endsWith('\n')).toBe(true)
  const families = new Map()
  const sampleLine =
    /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*",?)*)\})? (-?(?:[0-9.]+(?:e[+-]?[0-9]+)?|\+Inf|-Inf|NaN))$/
  let current = null
  for (const line of text.slice(0, -1).split('\n')) {
    let m
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line))) {
      expect(families.has(m[1])).toBe(false)
      current = { name: m[1], type: undefined, samples: [] }
      families.set(m[1], current)
    } else if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      expect(current && current.name).toBe(m[1])
      current.type = m[2]
    } else {
      m = sampleLine.exec(line)
      if (!m) throw new Error(`not an exposition line: ${JSON.stringify(line)}`)
      expect(current && current.type).toBeDefined()
      expect(
        m[1] === current.name ||
          (current.type === 'histogram' && /_(bucket|sum|count)$/.test(m[1]) && m[1].startsWith(current.name)),
      ).toBe(true)
      const labels = Object.fromEntries(
        [...(m[2] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]),
      )
      current.samples.push({ name: m[1], labels, value: Number(m[3].replace('+Inf', 'Infinity')) })
    }
  }
  return families
}
