// Every default is defined once, in the options table lib/options.json, which JS reads
// (lib/options.js `DEFAULTS`) and native code is built from (`clientDefaults()` shows what it was
// built with). README's option tables and index.d.ts's doc comments must state the same values:
// both are parsed here and compared with what the code uses, so a changed default fails this
// test until its docs follow, and so does a new option the list below leaves out.
import { createRequire } from 'node:module'
import { readdirSync, readFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ChittyIDClient, RETRY_CONFIG, ChittyIDConnectionManager, ChittyIDCache, ChittyIDEmulator } from '../index.mjs'

const require = createRequire(import.meta.url)
const native = require('../lib/native/index.js')
const { DEFAULTS } = require('../lib/options.js')
const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** A documented default (`10000`, `"client"`, `{ maxSize: 10000, ... }`, `Infinity`) as a value. */
function valueOf(text) {
  return Function(`"use strict"; return (${text})`)()
}

/** The code's default of each client option with one, shaped as the docs show them. */
function clientDefaults() {
  return {
    serviceUrl: DEFAULTS.serviceUrl,
    failover: DEFAULTS.failover,
    timeout: DEFAULTS.timeout,
    retry: DEFAULTS.retry,
    circuitBreaker: DEFAULTS.circuitBreaker,
    cache: DEFAULTS.cache,
    scope: DEFAULTS.scope,
    connection: DEFAULTS.connection,
    maxResponseBytes: DEFAULTS.maxResponseBytes,
    allowInsecure: DEFAULTS.allowInsecure,
    maxConnections: DEFAULTS.maxConnections,
    wire: DEFAULTS.wire,
    acceptPlaceholders: DEFAULTS.acceptPlaceholders,
    idGrammar: DEFAULTS.idGrammar,
    transport: DEFAULTS.transport,
  }
}

/** Options whose documented default is a rule, not a value: checked one by one below. */
const DEFAULT_BY_RULE = ['transport']

/** `option → default text` of the README table that starts with `header`. */
function readmeTable(header) {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const at = readme.indexOf(header)
  expect(at).toBeGreaterThan(0)
  const rows = new Map()
  for (const line of readme.slice(at).split('\n').slice(2)) {
    if (!line.startsWith('|')) break
    const [option, value] = line.split(' | ').map((cell) => cell.replace(/^\| /, ''))
    rows.set(option.replace(/`/g, ''), value.replace(/`/g, ''))
  }
  return rows
}

/** The text of the native entry's types: index.d.ts and the modules of lib/types/ it re-exports. */
function publicTypes() {
  const dir = join(root, 'lib', 'types')
  const modules = readdirSync(dir).filter((f) => f.endsWith('.d.ts'))
  return [join(root, 'index.d.ts'), ...modules.map((f) => join(dir, f))].map((f) => readFileSync(f, 'utf8')).join('\n')
}

/** `Interface.field → default text` from the doc comments of the types ("Default N"). */
function typeDefaults() {
  const dts = publicTypes()
  const found = new Map()
  for (const iface of dts.matchAll(/export interface (\w+) \{([\s\S]*?)\n\}/g)) {
    for (const field of iface[2].matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*(\w+)\??:/g)) {
      const comment = field[1].replace(/\n\s*\* ?/g, ' ')
      const m = /\bDefault:? (`[^`]+`|\d[\d.]*(?: MiB)?|true|false|Infinity)/.exec(comment)
      if (!m) continue
      let text = m[1].replace(/`/g, '').replace(/\.$/, '')
      if (text.endsWith(' MiB')) text = String(Number(text.slice(0, -4)) * 1024 * 1024)
      found.set(`${iface[1]}.${field[2]}`, text)
    }
  }
  return found
}

test('every option the table gives a default is compared here, and shown by the native side', () => {
  // A new option's default joins `DEFAULTS`, `clientDefaults()` (src/bindings/options/defaults.rs)
  // and the list above, so the tests below hold README and the types to it.
  const TABLE = require('../lib/options.json')
  const withDefault = Object.keys(TABLE.options).filter((name) => TABLE.options[name].default !== undefined)
  expect(withDefault.filter((name) => !(name in clientDefaults()))).toEqual([])
  expect(withDefault.filter((name) => !(name in native.clientDefaults()))).toEqual([])
})

test('the README options table states the defaults the code uses', () => {
  const documented = readmeTable('| option | default | meaning |')
  for (const [option, value] of Object.entries(clientDefaults())) {
    if (DEFAULT_BY_RULE.includes(option)) continue
    expect({ option, documented: valueOf(documented.get(option)) }).toEqual({ option, documented: value })
  }
  // Off by default, with the default of the field that has one in the meaning column.
  for (const option of ['bulkhead', 'rateLimit', 'fleet'])
    expect({ option, documented: documented.get(option) }).toEqual({ option, documented: 'off' })
  expect(documented.get('bulkhead')).toBeDefined()
  expect(readmeTable('| option | default | meaning |').size).toBeGreaterThan(20)
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  expect(readme).toContain(`{ maxConcurrent, maxQueue: ${DEFAULTS.bulkhead.maxQueue} }`)
  expect(documented.get('apiKey')).toBe('none')
  expect(documented.get('transport').startsWith(`${JSON.stringify(DEFAULTS.transport)};`)).toBe(true)
})

test('the README fleet table states the fleet defaults the code uses', () => {
  const documented = readmeTable('| option | default | |')
  for (const [option, value] of Object.entries(DEFAULTS.fleet)) {
    expect({ option, documented: valueOf(documented.get(option)) }).toEqual({ option, documented: value })
  }
})

test('the types (index.d.ts, lib/types/) state the defaults the code uses', () => {
  const documented = typeDefaults()
  const groups = {
    RetryOptions: DEFAULTS.retry,
    RetryBudgetOptions: DEFAULTS.retry.budget,
    BulkheadOptions: DEFAULTS.bulkhead,
    FailoverOptions: DEFAULTS.failover,
    CircuitBreakerOptions: DEFAULTS.circuitBreaker,
    CacheOptions: DEFAULTS.cache,
    ConnectionOptions: DEFAULTS.connection,
    ChittyIDClientConfig: clientDefaults(),
    FleetOptions: DEFAULTS.fleet,
    RetryConfig: RETRY_CONFIG,
  }
  const seen = new Set()
  for (const [key, text] of documented) {
    const [iface, field] = key.split('.')
    if (!(iface in groups)) continue
    const value = /^[\d.]+$|^Infinity$|^true$|^false$|^"|^\{/.test(text) ? valueOf(text) : text
    expect({ key, documented: value }).toEqual({ key, documented: groups[iface][field] })
    seen.add(key)
  }
  // Every field with a fixed default is documented with it (object-valued options are
  // documented field by field in their own interface).
  const undocumented = []
  for (const [iface, fields] of Object.entries(groups)) {
    for (const [field, value] of Object.entries(fields)) {
      if (typeof value === 'object' || seen.has(`${iface}.${field}`)) continue
      if (iface === 'ChittyIDClientConfig' && DEFAULT_BY_RULE.includes(field)) continue
      undocumented.push(`${iface}.${field}`)
    }
  }
  expect(undocumented).toEqual([])
  // `transport`'s comment states its rule, ending in the table's default.
  expect(publicTypes()).toContain(`else \`${JSON.stringify(DEFAULTS.transport)}\``)
  // RETRY_CONFIG's own comment lists the retryable errors.
  const dts = publicTypes()
  const comment = dts.slice(0, dts.indexOf('export declare const RETRY_CONFIG')).split('/**').pop()
  expect(DEFAULTS.retryableErrors.filter((e) => !comment.includes(e))).toEqual([])
})

test('JS applies the native defaults it shows: timeout, compat RETRY_CONFIG, cache and connection manager', async () => {
  expect(native.clientDefaults()).toEqual(DEFAULTS)
  expect(Object.isFrozen(DEFAULTS.retry)).toBe(true)
  expect(new ChittyIDClient().timeout).toBe(DEFAULTS.timeout)
  expect(new ChittyIDClient({ timeout: 0 }).timeout).toBe(DEFAULTS.timeout)
  expect(RETRY_CONFIG).toEqual({
    maxAttempts: DEFAULTS.retry.maxAttempts,
    initialDelayMs: DEFAULTS.retry.initialDelayMs,
    maxDelayMs: DEFAULTS.retry.maxDelayMs,
    backoffMultiplier: DEFAULTS.retry.backoffMultiplier,
    retryableErrors: DEFAULTS.retryableErrors,
  })
  expect(new ChittyIDCache().getConfig()).toMatchObject({
    maxSize: DEFAULTS.cache.maxSize,
    ttlMs: DEFAULTS.cache.ttlMs,
  })
  const manager = new ChittyIDConnectionManager()
  expect(manager.healthCheckInterval).toBe(DEFAULTS.connection.healthCheckInterval)
  expect(manager.maxReconnectAttempts).toBe(DEFAULTS.connection.maxReconnectAttempts)

  // And the native side runs on them: a client with no options reports them.
  const emulator = await ChittyIDEmulator.start()
  const client = new ChittyIDClient({ serviceUrl: emulator.url })
  try {
    await client.validate('not-an-id')
    const stats = client.getStats()
    expect(stats.cache).toMatchObject({ maxSize: DEFAULTS.cache.maxSize, ttlMs: DEFAULTS.cache.ttlMs })
    expect(stats.breaker).toMatchObject({ state: 'CLOSED' })
  } finally {
    await client.close()
    await emulator.close()
  }
})
