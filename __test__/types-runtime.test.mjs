// The declared types hold what the runtime really returns: real values (getStats() of the native
// and the portable client in several configurations, validate() answers, getConnectionState(),
// the emulator's stats(), event payloads and ChittyIDError fields) are written out as object
// literals annotated with their public types and compiled with `tsc --strict`. An object
// literal gets TypeScript's excess-property check, so a key present at runtime but not typed
// fails, as does a typed required key the runtime leaves out or a value of another type (a
// `code` outside ChittyIDErrorCode, a state name outside its union).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ChittyIDClient, ChittyIDEmulator } from '../index.js'
import { ChittyIDClient as PortableClient } from '../portable.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const typesDir = join(root, '__test__', 'types')
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const EVENTS = ['retry', 'rateLimited', 'circuitOpen', 'circuitHalfOpen', 'circuitClose', 'stateChange']
const EVENTS_MORE = ['connected', 'disconnected', 'failover', 'failback', 'placeholder']

/** A rejection's own fields (not `message`/`stack`/`cause`, which are not data). */
const fieldsOf = (err) =>
  Object.fromEntries(Object.entries(err).filter(([k]) => !['message', 'stack', 'cause', 'name'].includes(k)))
const rejection = (promise) =>
  promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (e) => e,
  )

/** Records the first payload of every event named; an `Error` in it is written back as one. */
function record(client, names, into) {
  for (const name of names) {
    client.on(name, (payload) => {
      if (into[name] === undefined) {
        into[name] =
          payload && payload.error instanceof Error ? { ...payload, error: { code: payload.error.code } } : payload
      }
    })
  }
}

let v1, deployed, work
const clients = []
const native = (config) => {
  const c = new ChittyIDClient({ transport: 'native', ...config })
  clients.push(c)
  return c
}
beforeAll(async () => {
  v1 = await ChittyIDEmulator.start({ token: 'types-runtime-key' })
  deployed = await ChittyIDEmulator.start({ profile: 'deployed' })
  work = mkdtempSync(join(typesDir, '.runtime-'))
})
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()))
  await v1?.close()
  await deployed?.close()
  if (work) rmSync(work, { recursive: true, force: true })
})

// Long enough that the call right after the circuit opens still finds it open on a loaded
// machine (20 ms was not: the call went half-open and resolved).
const BREAKER_RESET_MS = 500

test('runtime values compile against the declared types', async () => {
  const values = {} // name -> [type, value]
  const nativeEvents = {}
  const portableEvents = {}
  const apiKey = 'types-runtime-key'

  // Native: every optional part on, then off; two endpoints.
  const full = native({
    serviceUrl: `${v1.url}/v1`,
    apiKey,
    bulkhead: { maxConcurrent: 4, maxQueue: 1 },
    rateLimit: { requestsPerSecond: 1000 },
    retry: { initialDelayMs: 1, budget: false },
    circuitBreaker: { failureThreshold: 2, resetTimeout: BREAKER_RESET_MS, halfOpenAttempts: 1 },
    cache: { ttlMs: 30, staleIfErrorMs: 60000 },
    connection: { healthCheckInterval: 60000 },
  })
  record(full, EVENTS, nativeEvents)
  const id = await full.mint({ entity: 'PEO' })
  values.batch = ['string[]', await full.mintBatch([{ entity: 'PEO' }, { entity: 'PLACE' }])]
  values.valid = ['M.ValidationResult', await full.validate(id)]
  values.badFormat = ['M.ValidationResult', await full.validate('nope')]
  values.connected = ['boolean', await full.connect()]
  values.health = ['boolean', await full.healthCheck()]
  v1.setFault({ errorStatus: 503, remaining: 2 })
  values.mintUnknown = ['ErrorFields', fieldsOf(await rejection(full.mint({ entity: 'PEO' })))]
  values.breakerOpen = ['ErrorFields', fieldsOf(await rejection(full.mint({ entity: 'PEO' })))]
  await sleep(40)
  v1.setFault({ down: true })
  values.stale = ['M.ValidationResult', await full.validate(id)]
  v1.clearFaults()
  await sleep(BREAKER_RESET_MS + 50) // half-open: the next call closes the circuit
  await full.validate(values.batch[1][0])
  values.nativeStats = ['M.ClientStats', full.getStats()]
  values.connectionState = ['M.ClientConnectionState', full.getConnectionState()]
  values.invalidated = ['boolean', await full.invalidate(id)]

  const bare = native({ serviceUrl: `${v1.url}/v1`, circuitBreaker: false, cache: false, connection: false })
  values.eauth = ['M.ValidationResult', await bare.validate(id)]
  values.bareStats = ['M.ClientStats', bare.getStats()]

  const pair = native({
    serviceUrl: [`http://127.0.0.1:1/v1`, `${v1.url}/v1`],
    apiKey,
    retry: false,
    failover: { probeIntervalMs: 10, failbackSuccesses: 1 },
  })
  record(pair, EVENTS_MORE, nativeEvents)
  await pair.mint({ entity: 'PEO' })
  values.endpointsStats = ['M.ClientStats', pair.getStats()]

  // The deployed service: a placeholder accepted, then its replacement on validation.
  const dep = native({ serviceUrl: deployed.url, acceptPlaceholders: true, wire: 'deployed' })
  record(dep, ['placeholder'], nativeEvents)
  deployed.setFault({ placeholder: 'MINT_TIMEOUT', remaining: 1 })
  const placeholder = await dep.mint({ entity: 'PEO' })
  values.replaced = ['M.ValidationResult', await dep.validate(placeholder)]
  deployed.setFault({ placeholder: 'MINT_UNAVAILABLE', remaining: 1 })
  const strict = native({ serviceUrl: deployed.url, wire: 'deployed', retry: false })
  values.placeholderError = ['ErrorFields', fieldsOf(await rejection(strict.mint({ entity: 'PEO' })))]
  await strict.close()
  values.closedError = ['ErrorFields', fieldsOf(await rejection(strict.mint({ entity: 'PEO' })))]
  values.deployedEmulatorStats = ['M.EmulatorStats', deployed.stats()]
  values.emulatorStats = ['M.EmulatorStats', v1.stats()]

  // Portable.
  const portable = new PortableClient({
    serviceUrl: `${v1.url}/v1`,
    apiKey,
    retry: { initialDelayMs: 1 },
    circuitBreaker: { failureThreshold: 2, resetTimeout: BREAKER_RESET_MS, halfOpenAttempts: 1 },
  })
  clients.push(portable)
  record(
    portable,
    EVENTS.filter((e) => e !== 'stateChange'),
    portableEvents,
  )
  const pid = await portable.mint({ entity: 'PEO' })
  values.portableValid = ['P.ValidationResult', await portable.validate(pid)]
  v1.setFault({ errorStatus: 503, remaining: 2 })
  values.portableError = ['ErrorFields', fieldsOf(await rejection(portable.mint({ entity: 'PEO' })))]
  await rejection(portable.mint({ entity: 'PEO' }))
  await sleep(BREAKER_RESET_MS + 50) // half-open: the next call closes the circuit
  await portable.validate(values.batch[1][0])
  values.portableStats = ['P.PortableClientStats', portable.getStats()]
  values.portableConnection = ['P.ClientConnectionState', portable.getConnectionState()]
  const portableBare = new PortableClient({ serviceUrl: `${v1.url}/v1`, apiKey, circuitBreaker: false, cache: false })
  clients.push(portableBare)
  values.portableBareStats = ['P.PortableClientStats', portableBare.getStats()]

  for (const [name, payload] of Object.entries(nativeEvents))
    values[`event_${name}`] = [`NativeEvent<'${name}'>`, payload]
  for (const [name, payload] of Object.entries(portableEvents))
    values[`portableEvent_${name}`] = [`PortableEvent<'${name}'>`, payload]
  // The configurations above reach these events; a missing one means the probe went wrong.
  expect(Object.keys(nativeEvents).sort()).toEqual(
    ['circuitOpen', 'circuitHalfOpen', 'circuitClose', 'failover', 'placeholder', 'retry', 'stateChange'].sort(),
  )
  expect(Object.keys(portableEvents).sort()).toEqual(['circuitClose', 'circuitHalfOpen', 'circuitOpen', 'retry'].sort())
  expect(values.stale[1]).toMatchObject({ stale: true })
  expect(values.eauth[1]).toMatchObject({ errorCode: 'EAUTH' })
  expect(values.replaced[1]).toMatchObject({ errorCode: 'EPLACEHOLDER', replacedBy: expect.any(String) })

  const lines = [
    "import type * as M from '../../../index'",
    "import type * as P from '../../../portable'",
    '// The data fields of an error: every field optional, `code` and the rest as declared.',
    "type ErrorFields = { -readonly [K in Exclude<keyof M.ChittyIDError, 'message' | 'stack' | 'cause' | 'name'>]?: M.ChittyIDError[K] }",
    'type NativeEvent<E extends keyof M.ChittyIDClientEvents> = M.ChittyIDClientEvents[E][0]',
    'type PortableEvent<E extends keyof P.PortableClientEvents> = P.PortableClientEvents[E][0]',
    ...Object.entries(values).map(
      ([name, [type, value]]) =>
        // An event's `error` (recorded as `{ code }`) is an Error with that code again.
        `export const ${name}: ${type} = ${JSON.stringify(value).replace(/"error":(\{"code":"[A-Z_]*"\})/g, '"error":Object.assign(new Error(), $1)')}`,
    ),
  ]
  writeFileSync(join(work, 'values.ts'), lines.join('\n') + '\n')
  writeFileSync(join(work, 'tsconfig.json'), JSON.stringify({ extends: '../tsconfig.json', files: ['values.ts'] }))
  let output = ''
  try {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', work], {
      encoding: 'utf8',
      stdio: 'pipe',
    })
  } catch (err) {
    output = `${err.stdout}${err.stderr}`
  }
  expect(output).toBe('')
}, 120000)
