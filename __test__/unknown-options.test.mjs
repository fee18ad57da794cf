// Unknown option names are refused (lib/option-names.js, README "Errors"): in the
// constructor's config, in every nested options object, and in a call's options, with a
// did-you-mean and, for other libraries' names, whose name it is.

import { ChittyIDClient } from '../index.mjs'

function refusal(config) {
  try {
    new ChittyIDClient(config).close()
  } catch (err) {
    return err
  }
  throw new Error(`accepted ${JSON.stringify(config)}`)
}

test.each([
  // [config, option, suggestion, words the message must hold]
  [{ retries: 3 }, 'retries', 'retry', ['axios-retry']],
  [{ retry: { maxAttemps: 3 } }, 'retry.maxAttemps', 'retry.maxAttempts', []],
  [{ retry: { retries: 3 } }, 'retry.retries', 'retry.maxAttempts', ['p-retry', 'retries + 1']],
  [{ retry: { budget: { ratoi: 0.1 } } }, 'retry.budget.ratoi', 'retry.budget.ratio', []],
  [{ cache: { max: 100 } }, 'cache.max', 'cache.maxSize', ['lru-cache']],
  [{ cache: { maxSize: 100, ttl: 1000 } }, 'cache.ttl', 'cache.ttlMs', ['lru-cache']],
  [
    { circuitBreaker: { errorThresholdPercentage: 50 } },
    'circuitBreaker.errorThresholdPercentage',
    'circuitBreaker.failureThreshold',
    ['opossum', 'not a percentage'],
  ],
  [{ circuitBreaker: { timeout: 3000 } }, 'circuitBreaker.timeout', undefined, ['opossum', "client's own timeout"]],
  [{ errorThresholdPercentage: 50 }, 'errorThresholdPercentage', 'circuitBreaker', ['opossum']],
  [{ max: 500 }, 'max', 'cache', ['lru-cache']],
  [
    { connection: { healthCheckIntervall: 10 } },
    'connection.healthCheckIntervall',
    'connection.healthCheckInterval',
    [],
  ],
  [
    { serviceUrl: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], failover: { probeInterval: 5 } },
    'failover.probeInterval',
    'failover.probeIntervalMs',
    [],
  ],
  [{ bulkhead: { maxConcurrent: 2, queue: 1 } }, 'bulkhead.queue', 'bulkhead.maxQueue', []],
  [{ rateLimit: { requestsPerSecond: 5, brust: 2 } }, 'rateLimit.brust', 'rateLimit.burst', []],
  [{ fleet: { redis: 'redis://127.0.0.1:6379', keyprefix: 'x' } }, 'fleet.keyprefix', 'fleet.keyPrefix', []],
  [{ servceUrl: 'http://127.0.0.1:1' }, 'servceUrl', 'serviceUrl', []],
  [{ baseURL: 'http://127.0.0.1:1' }, 'baseURL', 'serviceUrl', ['axios']],
  [{ timout: 5 }, 'timout', 'timeout', []],
  [{ zzzzzz: 1 }, 'zzzzzz', undefined, ['known: serviceUrl']],
  [{ retry: undefined, typo: undefined }, 'typo', undefined, []],
])('%j is refused', (config, option, suggestion, words) => {
  const err = refusal(config)
  expect(err).toBeInstanceOf(TypeError)
  expect({ code: err.code, option: err.option, suggestion: err.suggestion }).toEqual({
    code: 'ERR_CHITTYID_UNKNOWN_OPTION',
    option,
    suggestion,
  })
  expect(err.message).toContain(`"${option}"`)
  if (suggestion !== undefined) expect(err.message).toContain(`did you mean "${suggestion}"?`)
  for (const word of words) expect(err.message).toContain(word)
})

test('known names are accepted, with undefined values too', () => {
  const client = new ChittyIDClient({
    serviceUrl: 'http://127.0.0.1:1/v1',
    apiKey: undefined,
    retry: {
      maxAttempts: 2,
      initialDelayMs: 1,
      maxDelayMs: 2,
      backoffMultiplier: 2,
      jitter: 0,
      maxRetryAfterMs: 5,
      mint: 'safe',
      budget: { ratio: 0.1, windowMs: 1000, minPerSecond: 1 },
    },
    circuitBreaker: { failureThreshold: 2, resetTimeout: 10, monitorWindow: 10, halfOpenAttempts: 1 },
    cache: { maxSize: 5, ttlMs: 5, negativeTtlMs: 5, staleIfErrorMs: 5, negativeStaleIfErrorMs: 0 },
    connection: {
      healthCheckInterval: 100,
      reconnectDelay: 1,
      maxReconnectDelay: 2,
      reconnectMultiplier: 2,
      jitter: 0,
      maxReconnectAttempts: 1,
      autoConnect: false,
    },
    bulkhead: { maxConcurrent: 1, maxQueue: 0 },
    rateLimit: { requestsPerSecond: 100, burst: 1 },
    timeout: 100,
    name: 'svc',
  })
  return client.close()
})

test("a call's options: unknown names are refused too", async () => {
  const client = new ChittyIDClient({ serviceUrl: 'http://127.0.0.1:1/v1', retry: false })
  try {
    await expect(client.mint({ entity: 'PEO' }, { signall: AbortSignal.timeout(10) })).rejects.toMatchObject({
      name: 'TypeError',
      code: 'ERR_CHITTYID_UNKNOWN_OPTION',
      option: 'signall',
      suggestion: 'signal',
    })
    await expect(client.mint({ entity: 'PEO' }, { idempotency_key: 'k' })).rejects.toMatchObject({
      code: 'ERR_CHITTYID_UNKNOWN_OPTION',
      suggestion: 'idempotencyKey',
    })
    await expect(client.validate('x', { timeout: 5 })).rejects.toMatchObject({
      code: 'ERR_CHITTYID_UNKNOWN_OPTION',
      message: expect.stringContaining('AbortSignal.timeout'),
    })
    await expect(client.healthCheck({ headers: {}, signal: undefined })).resolves.toBe(false)
  } finally {
    await client.close()
  }
})
