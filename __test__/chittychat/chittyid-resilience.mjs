// chittychat's src/lib/chittyid-resilience.js after the move to v2: a one-line re-export.
export { RETRY_CONFIG, withRetry, CircuitBreaker, getCircuitBreaker, withResilience } from '@chittyos/chittyid-client'
