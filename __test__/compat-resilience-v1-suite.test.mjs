// A port of the resilience suite chittychat kept next to v1 (retry with backoff, circuit
// breaker, both combined), run against this package through chittychat's one-line re-export
// module. Backoff is checked on jest's fake timers as the original did; the breaker's
// resetTimeout and monitorWindow on short real timers, because the breaker's clock is native
// and fake timers do not move it (docs/MIGRATION.md "What v2 changes").
import { jest } from '@jest/globals'
import {
  RETRY_CONFIG,
  withRetry,
  CircuitBreaker,
  getCircuitBreaker,
  withResilience,
} from './chittychat/chittyid-resilience.mjs'

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const networkError = (code = 'ECONNREFUSED') => Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code })

afterEach(() => {
  jest.useRealTimers()
  getCircuitBreaker().reset()
})

describe('RETRY_CONFIG', () => {
  test('should have the documented defaults', () => {
    expect(RETRY_CONFIG).toEqual({
      maxAttempts: 3,
      initialDelayMs: 100,
      maxDelayMs: 5000,
      backoffMultiplier: 2,
      retryableErrors: [
        'ECONNREFUSED',
        'ETIMEDOUT',
        'ENOTFOUND',
        'EAI_AGAIN',
        'ECONNRESET',
        'EPIPE',
        'fetch failed',
        'network error',
      ],
    })
  })
})

describe('withRetry', () => {
  test('should return the result of a first successful call', async () => {
    const fn = jest.fn().mockResolvedValue('CT-A-CHI-1234-I-24-A-0')
    await expect(withRetry(fn)).resolves.toBe('CT-A-CHI-1234-I-24-A-0')
    expect(fn).toHaveBeenCalledTimes(1)
  })

  test('should retry retryable error codes until success', async () => {
    const fn = jest
      .fn()
      .mockRejectedValueOnce(networkError())
      .mockRejectedValueOnce(networkError('ECONNRESET'))
      .mockResolvedValue('ok')
    await expect(withRetry(fn, { ...RETRY_CONFIG, initialDelayMs: 1 })).resolves.toBe('ok')
    expect(fn).toHaveBeenCalledTimes(3)
  })

  test('should retry errors whose message says "fetch failed"', async () => {
    const fn = jest.fn().mockRejectedValueOnce(new TypeError('fetch failed')).mockResolvedValue('ok')
    await expect(withRetry(fn, { ...RETRY_CONFIG, initialDelayMs: 1 })).resolves.toBe('ok')
    expect(fn).toHaveBeenCalledTimes(2)
  })

  test('should throw the last error after maxAttempts', async () => {
    const errors = [networkError(), networkError('ETIMEDOUT'), networkError('EPIPE')]
    const fn = jest.fn()
    for (const err of errors) fn.mockRejectedValueOnce(err)
    await expect(withRetry(fn, { ...RETRY_CONFIG, initialDelayMs: 1 })).rejects.toBe(errors[2])
    expect(fn).toHaveBeenCalledTimes(3)
  })

  test('should not retry non-retryable errors', async () => {
    const fn = jest.fn().mockRejectedValue(new Error('ChittyID service error: 400 Bad Request'))
    await expect(withRetry(fn)).rejects.toThrow('400 Bad Request')
    expect(fn).toHaveBeenCalledTimes(1)
  })

  test('should wait with exponential backoff between attempts', async () => {
    jest.useFakeTimers()
    const fn = jest.fn().mockRejectedValue(networkError())
    const done = withRetry(fn, { ...RETRY_CONFIG, maxAttempts: 4 }).catch((err) => err)
    await jest.advanceTimersByTimeAsync(0)
    expect(fn).toHaveBeenCalledTimes(1)
    await jest.advanceTimersByTimeAsync(99)
    expect(fn).toHaveBeenCalledTimes(1)
    await jest.advanceTimersByTimeAsync(1) // 100 ms
    expect(fn).toHaveBeenCalledTimes(2)
    await jest.advanceTimersByTimeAsync(199)
    expect(fn).toHaveBeenCalledTimes(2)
    await jest.advanceTimersByTimeAsync(1) // 200 ms
    expect(fn).toHaveBeenCalledTimes(3)
    await jest.advanceTimersByTimeAsync(400)
    expect(fn).toHaveBeenCalledTimes(4)
    expect((await done).code).toBe('ECONNREFUSED')
  })

  test('should cap the delay at maxDelayMs', async () => {
    jest.useFakeTimers()
    const fn = jest.fn().mockRejectedValue(networkError())
    const done = withRetry(fn, {
      ...RETRY_CONFIG,
      maxAttempts: 3,
      initialDelayMs: 1000,
      backoffMultiplier: 10,
      maxDelayMs: 1500,
    }).catch((err) => err)
    await jest.advanceTimersByTimeAsync(1000)
    expect(fn).toHaveBeenCalledTimes(2)
    await jest.advanceTimersByTimeAsync(1499)
    expect(fn).toHaveBeenCalledTimes(2)
    await jest.advanceTimersByTimeAsync(1)
    expect(fn).toHaveBeenCalledTimes(3)
    await done
  })
})

describe('CircuitBreaker', () => {
  test('should start CLOSED with the default configuration', () => {
    const breaker = new CircuitBreaker()
    expect(breaker.state).toBe('CLOSED')
    expect(breaker.getState()).toEqual({
      state: 'CLOSED',
      failures: 0,
      lastFailure: null,
      lastStateChange: expect.any(Number),
      uptimeMs: expect.any(Number),
      halfOpenSuccesses: 0,
      config: { failureThreshold: 5, resetTimeout: 60000, monitorWindow: 10000 },
    })
  })

  test('should pass results and errors through while CLOSED', async () => {
    const breaker = new CircuitBreaker()
    await expect(breaker.execute(async () => 42)).resolves.toBe(42)
    await expect(breaker.execute(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect(breaker.getState().failures).toBe(1)
    expect(breaker.state).toBe('CLOSED')
  })

  test('should open after failureThreshold failures', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3 })
    for (let i = 0; i < 3; i++) await breaker.execute(() => Promise.reject(networkError())).catch(() => {})
    expect(breaker.state).toBe('OPEN')
    expect(breaker.getState().lastFailure).toEqual(expect.any(Number))
  })

  test('should reject at once while OPEN without calling fn, also under fake timers', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 })
    await breaker.execute(() => Promise.reject(networkError())).catch(() => {})
    jest.useFakeTimers()
    const fn = jest.fn()
    const err = await breaker.execute(fn).catch((e) => e)
    expect(err.message).toContain('circuit breaker is OPEN')
    expect(err.circuitBreakerState).toBe('OPEN')
    expect(err.code).toBe('ECIRCUITOPEN')
    expect(fn).not.toHaveBeenCalled()
  })

  test('should go HALF_OPEN after resetTimeout and close after halfOpenAttempts successes', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeout: 40, halfOpenAttempts: 2 })
    await breaker.execute(() => Promise.reject(networkError())).catch(() => {})
    expect(breaker.state).toBe('OPEN')
    await sleep(60)
    await expect(breaker.execute(async () => 'trial')).resolves.toBe('trial')
    expect(breaker.state).toBe('HALF_OPEN')
    expect(breaker.getState().halfOpenSuccesses).toBe(1)
    await breaker.execute(async () => 'trial')
    expect(breaker.state).toBe('CLOSED')
  })

  test('should re-open on a failure in HALF_OPEN', async () => {
    // Long enough that a loaded machine still asks again inside it: a stall past a 40 ms
    // resetTimeout would let the last call in as a trial.
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeout: 500 })
    await breaker.execute(() => Promise.reject(networkError())).catch(() => {})
    await sleep(550)
    await breaker.execute(() => Promise.reject(networkError())).catch(() => {})
    expect(breaker.state).toBe('OPEN')
    await expect(breaker.execute(async () => 'x')).rejects.toThrow('circuit breaker is OPEN')
  })

  test('should only count failures inside monitorWindow', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, monitorWindow: 40 })
    await breaker.execute(() => Promise.reject(networkError())).catch(() => {})
    await sleep(60)
    await breaker.execute(() => Promise.reject(networkError())).catch(() => {})
    expect(breaker.state).toBe('CLOSED')
    expect(breaker.getState().failures).toBe(1)
  })

  test('reset should close the circuit and clear counters', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 })
    await breaker.execute(() => Promise.reject(networkError())).catch(() => {})
    breaker.reset()
    expect(breaker.getState()).toEqual(expect.objectContaining({ state: 'CLOSED', failures: 0, lastFailure: null }))
    await expect(breaker.execute(async () => 'ok')).resolves.toBe('ok')
  })
})

describe('getCircuitBreaker', () => {
  test('should return one shared instance', () => {
    const a = getCircuitBreaker({ failureThreshold: 2 })
    expect(getCircuitBreaker()).toBe(a)
    expect(a).toBeInstanceOf(CircuitBreaker)
  })
})

describe('withResilience', () => {
  test('should retry inside the shared breaker; exhausted retries count as one failure', async () => {
    const fn = jest.fn().mockRejectedValue(networkError())
    await expect(withResilience(fn, { retryConfig: { maxAttempts: 2, initialDelayMs: 1 } })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    })
    expect(fn).toHaveBeenCalledTimes(2)
    expect(getCircuitBreaker().getState().failures).toBe(1)
    const ok = jest.fn().mockRejectedValueOnce(networkError()).mockResolvedValue('id')
    await expect(withResilience(ok, { retryConfig: { initialDelayMs: 1 } })).resolves.toBe('id')
  })

  test('should fail fast once the shared breaker is open', async () => {
    const shared = getCircuitBreaker()
    const threshold = shared.getState().config.failureThreshold
    for (let i = 0; i < threshold; i++) {
      await withResilience(() => Promise.reject(new Error('bad request')), { retryConfig: { maxAttempts: 1 } }).catch(
        () => {},
      )
    }
    const fn = jest.fn()
    await expect(withResilience(fn)).rejects.toThrow('circuit breaker is OPEN')
    expect(fn).not.toHaveBeenCalled()
  })
})
