// Strict TypeScript use of the compat resilience helpers (docs/MIGRATION.md "The compat layer"). The lines marked
// as expected errors prove that wrong usage is rejected.
import {
  CircuitBreaker,
  RETRY_CONFIG,
  getCircuitBreaker,
  withResilience,
  withRetry,
  type CircuitBreakerState,
  type CircuitOpenError,
  type CircuitState,
  type RetryConfig,
} from '@chittyos/chittyid-client'

async function compat(): Promise<void> {
  const config: RetryConfig = { ...RETRY_CONFIG, initialDelayMs: 10 }
  const n: number = await withRetry(async () => 1, config)
  const s: string = await withRetry(() => 'sync is fine', { maxAttempts: 2 })

  const breaker = new CircuitBreaker({
    failureThreshold: 3,
    resetTimeout: 300,
    monitorWindow: 1000,
    halfOpenAttempts: 2,
  })
  const state: CircuitState = breaker.state
  const snapshot: CircuitBreakerState = breaker.getState()
  const last: number | null = snapshot.lastFailure
  console.log(n, s, state, last, snapshot.config.resetTimeout, snapshot.uptimeMs)
  try {
    const id: string = await breaker.execute(async () => 'id')
    console.log(id)
  } catch (err) {
    const open = err as CircuitOpenError
    if (open.code === 'ECIRCUITOPEN') console.log(open.circuitBreakerState)
  }
  breaker.reset()

  const shared: CircuitBreaker = getCircuitBreaker({ failureThreshold: 5 })
  const value: boolean = await withResilience(async () => true, {
    retryConfig: { maxAttempts: 2 },
    circuitBreakerConfig: { resetTimeout: 1000 },
  })
  console.log(shared.state, value)

  // @ts-expect-error retryableErrors is a string array
  await withRetry(async () => 1, { retryableErrors: 'ECONNREFUSED' })
  // @ts-expect-error the state is read-only
  breaker.state = 'OPEN'
  // @ts-expect-error unknown option
  new CircuitBreaker({ threshold: 3 })
  // @ts-expect-error getState().config has no halfOpenAttempts
  console.log(snapshot.config.halfOpenAttempts)
}

void compat()
