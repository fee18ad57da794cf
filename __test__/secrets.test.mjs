import { execFile } from 'node:child_process'
import { createServer as createNetServer } from 'node:net'
import { inspect, promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { ChittyIDClient, ChittyIDEmulator } from '../index.mjs'

const SECRET = 'sk-live-SECRET-7f3a9c'
const root = fileURLToPath(new URL('..', import.meta.url))

const FAULTS = [
  {},
  { errorStatus: 500 },
  { errorStatus: 503 },
  { rateLimitRetryAfter: 0 },
  { resetConnection: true },
  { dropAfterCommit: true },
  { malformedJson: true },
  { oversizedBody: 4 * 1024 * 1024 },
  { down: true },
  { latencyMs: 300 },
]

/** Everything a caller can see of an error, including non-enumerable parts and the cause chain. */
function describeError(err) {
  const parts = []
  for (let e = err; e; e = e.cause)
    parts.push(e.message, e.stack, e.code, JSON.stringify(e), inspect(e, { showHidden: true, depth: 5 }))
  return parts.join('\n')
}

async function exercise(client) {
  const seen = []
  const ops = [
    () => client.mint({ entity: 'PEO', name: 'n' }),
    () => client.mintBatch([{ entity: 'PLACE' }, { entity: 'EVNT' }]),
    () => client.validate('CT-A-CHI-1234-I-24-A-0'),
    () => client.healthCheck(),
  ]
  for (const op of ops) {
    try {
      seen.push(JSON.stringify(await op()))
    } catch (err) {
      seen.push(describeError(err))
    }
  }
  return seen
}

test('the API key appears nowhere under any fault: errors, events, stats, metrics, inspect', async () => {
  const emulator = await ChittyIDEmulator.start({ port: 0, token: SECRET })
  const events = []
  const observed = []
  for (const [apiKey, label] of [
    [SECRET, 'right key'],
    [`${SECRET}-wrong`, 'wrong key'],
  ]) {
    const client = new ChittyIDClient({
      serviceUrl: `${emulator.url}/v1`,
      apiKey,
      timeout: 150,
      retry: { initialDelayMs: 1, maxDelayMs: 2 },
      circuitBreaker: { failureThreshold: 3, resetTimeout: 50 },
    })
    for (const name of [
      'retry',
      'circuitOpen',
      'circuitHalfOpen',
      'circuitClose',
      'error',
      'stateChange',
      'unhealthy',
    ]) {
      client.on(name, (payload) => events.push(`${name} ${inspect(payload, { showHidden: true, depth: 5 })}`))
    }
    for (const fault of FAULTS) {
      emulator.setFault(fault)
      observed.push(label, JSON.stringify(fault), ...(await exercise(client)))
    }
    observed.push(
      JSON.stringify(client.getStats()),
      client.metrics(),
      inspect(client, { showHidden: true, depth: 5 }),
      JSON.stringify(client),
    )
    await client.close()
  }
  await emulator.close()
  const everything = [...observed, ...events].join('\n')
  expect(events.length).toBeGreaterThan(0)
  expect(everything).toContain('ChittyID service') // the collection is not empty
  expect(everything).not.toContain(SECRET)
}, 60000)

test('debug logs at trace level never print the key', async () => {
  const emulator = await ChittyIDEmulator.start({ port: 0, token: SECRET })
  const script = `
    const { ChittyIDClient } = require(${JSON.stringify(root)});
    const client = new ChittyIDClient({ serviceUrl: process.argv[1], apiKey: process.argv[2], retry: { initialDelayMs: 1 } });
    (async () => {
      await client.mint({ entity: 'PEO' });
      await client.validate('CT-A-CHI-1234-I-24-A-0');
      await client.mint({ entity: 'NOPE' }).catch(() => {});
      await client.close();
    })();`
  const { stderr } = await promisify(execFile)(process.execPath, ['-e', script, `${emulator.url}/v1`, SECRET], {
    env: { ...process.env, CHITTYID_LOG: 'trace' },
    encoding: 'utf8',
    timeout: 20000,
  })
  await emulator.close()
  expect(stderr).toContain('chittyid_client') // logging was on
  expect(stderr).not.toContain(SECRET)
})

// A plain-http target through a proxy gets the proxy's 407 as an answer (EHTTP). A proxy that
// echoes `Proxy-Authorization` (`Basic base64(user:password)`) or the password in its reason
// phrase must not get the proxy URL's credentials into errors, events, stats or logs.
test('the proxy password never appears, even when the proxy echoes its Basic credentials', async () => {
  const password = 'pr0xy-Pa$$word!'
  const server = createNetServer((socket) => {
    socket.on('error', () => {})
    socket.on('data', (data) => {
      const echoed = /^proxy-authorization:[ \t]*(.*)$/im.exec(data.toString())?.[1] ?? 'none'
      const decoded = Buffer.from(echoed.replace(/^Basic /, ''), 'base64').toString()
      socket.end(`HTTP/1.1 407 Denied ${echoed} (${decoded})\r\nContent-Length: 0\r\n\r\n`)
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const logged = []
  const logger = Object.fromEntries(
    ['debug', 'info', 'warn', 'error'].map((level) => [level, (...args) => logged.push(inspect(args, { depth: 5 }))]),
  )
  const client = new ChittyIDClient({
    serviceUrl: 'http://127.0.0.1:9/v1',
    apiKey: SECRET,
    proxy: `http://proxy-user:${encodeURIComponent(password)}@127.0.0.1:${server.address().port}`,
    retry: false,
    transport: 'native',
    logger,
  })
  try {
    const err = await client.mint({ entity: 'PEO' }).then(
      () => null,
      (e) => e,
    )
    expect(err).toMatchObject({ code: 'EHTTP', status: 407 })
    const everything = [
      describeError(err),
      JSON.stringify(await client.validate('CT-A-CHI-1234-I-24-A-0')),
      JSON.stringify(client.getStats()),
      client.metrics(),
      inspect(client, { showHidden: true, depth: 5 }),
      ...logged,
    ].join('\n')
    expect(everything).toContain('407 Denied')
    expect(everything).not.toContain(password)
    expect(everything).not.toContain(encodeURIComponent(password))
    expect(everything).not.toContain(Buffer.from(`proxy-user:${password}`).toString('base64'))
  } finally {
    await client.close()
    await new Promise((resolve) => server.close(resolve))
  }
})
