// The public option types (lib/types/options.d.ts, config.d.ts) keep their own words (defaults,
// units, ranges) instead of reusing the generated ones, so each is held here to the type napi-rs
// generates from the Rust (lib/native/binding.d.ts): a public option the native side would not
// accept, or a field whose type drifted, fails `npm run test:types`. The stats types reuse the
// generated ones directly (lib/types/stats.d.ts).
import type * as Native from '../../lib/native/binding'
import type {
  BulkheadOptions,
  CacheOptions,
  ChittyIDClientConfig,
  CircuitBreakerOptions,
  ClientRateLimitOptions,
  ConnectionOptions,
  FailoverOptions,
  FleetOptions,
  RetryBudgetOptions,
  RetryOptions,
} from '../../index'

/** `true` when every `A` is a `B`; the tuple below fails to compile where one is not. */
type Fits<A, B> = [A] extends [B] ? true : false
type Option<K extends keyof ChittyIDClientConfig> = Exclude<ChittyIDClientConfig[K], false | undefined>

export const fits: true[] = [
  {} as Fits<RetryOptions, Native.RetryOptions>,
  {} as Fits<RetryBudgetOptions, Native.RetryBudgetOptions>,
  {} as Fits<CircuitBreakerOptions, Native.BreakerOptions>,
  {} as Fits<CacheOptions, Native.CacheOptions>,
  {} as Fits<ConnectionOptions, Native.ConnectionOptions>,
  {} as Fits<FailoverOptions, Native.FailoverOptions>,
  {} as Fits<BulkheadOptions, Native.BulkheadOptions>,
  {} as Fits<ClientRateLimitOptions, Native.ClientRateLimitOptions>,
  {} as Fits<FleetOptions, Native.FleetOptions>,
  // The config's option of each name is the type above, as the native options name it.
  {} as Fits<Option<'retry'>, NonNullable<Native.NativeClientOptions['retry']>>,
  {} as Fits<Option<'circuitBreaker'>, NonNullable<Native.NativeClientOptions['circuitBreaker']>>,
  {} as Fits<Option<'cache'>, NonNullable<Native.NativeClientOptions['cache']>>,
  {} as Fits<Option<'connection'>, NonNullable<Native.NativeClientOptions['connection']>>,
  {} as Fits<Option<'failover'>, NonNullable<Native.NativeClientOptions['failover']>>,
  {} as Fits<Option<'bulkhead'>, NonNullable<Native.NativeClientOptions['bulkhead']>>,
  {} as Fits<Option<'rateLimit'>, NonNullable<Native.NativeClientOptions['rateLimit']>>,
  {} as Fits<Option<'fleet'>, NonNullable<Native.NativeClientOptions['fleet']>>,
  // JS turns a string of digits into its number before the native side sees it.
  {} as Fits<Exclude<ChittyIDClientConfig['timeout'], string>, Native.NativeClientOptions['timeout']>,
  {} as Fits<ChittyIDClientConfig['maxResponseBytes'], Native.NativeClientOptions['maxResponseBytes']>,
  {} as Fits<ChittyIDClientConfig['apiKey'], Native.NativeClientOptions['apiKey']>,
]
