// close(): every call in flight settles with ECLIENTCLOSED (within milliseconds), its retries stop, the
// process can exit right away; later calls reject the same way; close() inside a listener
// stops delivery to the listeners after it.

import { createServer } from 'node:net'

import { ChittyIDClient, ChittyIDEmulator, ChittyIDError } from '../index.mjs'
import { INDEX, listenCounting, runNode, sleep, waitFor } from './wait.mjs'

/** A TCP server that accepts connections and never answers; counts the connections. */
function hangingServer() {
  const server = createServer((socket) => {
    socket.resume() // read (and drop) the request, so the client's close is seen
    socket.on('error', () => {})
  })
  return listenCounting(server)
}

function expectClosed(err) {
  expect(err).toBeInstanceOf(ChittyIDError)
  expect(err.code).toBe('ECLIENTCLOSED')
  expect(err.message).toBe('the client is closed')
}

describe('close() with calls in flight', () => {
  let server
  beforeAll(async () => {
    server = await hangingServer()
  })
  afterAll(() => server.close())

  test.each(['native', 'fetch'])(
    '%s: every kind of call rejects with ECLIENTCLOSED within milliseconds, with or without a signal',
    async (transport) => {
      // Every fetch the fetch transport starts, with its signal: close() must abort each.
      const realFetch = globalThis.fetch
      const signals = []
      globalThis.fetch = (url, init) => {
        signals.push(init.signal)
        return realFetch(url, init)
      }
      try {
        const client = new ChittyIDClient({
          serviceUrl: server.url,
          timeout: 30000,
          connection: { healthCheckInterval: 60000 },
          transport,
        })
        const connectionsBefore = server.connections()
        const controller = new AbortController()
        const calls = [
          client.mint({ entity: 'PEO' }),
          client.mint({ entity: 'PEO' }, { signal: controller.signal, idempotencyKey: 'k-1' }),
          client.mintBatch([{ entity: 'PEO' }, { entity: 'EVNT' }]),
          client.validate('CT-A-CHI-1234-I-24-A-0'),
          client.validate('CT-A-CHI-1234-I-24-A-0', { signal: controller.signal }),
          client.healthCheck(),
          client.connect(),
        ].map((p) =>
          p.then(
            () => null,
            (e) => e,
          ),
        )
        await waitFor(() => server.connections() >= connectionsBefore + 4, 'requests on the wire')
        const started = performance.now()
        await client.close()
        const errors = await Promise.all(calls)
        const ms = performance.now() - started
        errors.forEach(expectClosed)
        // The server never answers and the timeout is 30 s: without close() the calls would hang
        // that long. The bound sits between the two, far from both on a loaded machine.
        expect(ms).toBeLessThan(5000)
        if (transport === 'native') {
          expect(signals).toEqual([])
          // The native side dropped the requests: their sockets close.
          await waitFor(() => server.open() === 0, 'sockets closed by the client', 2000)
        } else {
          // Each fetch is aborted (what happens to its socket then is the platform's: Node's
          // fetch may keep it to read the answer out).
          expect(signals.length).toBeGreaterThanOrEqual(4)
          await waitFor(() => signals.every((signal) => signal.aborted), 'every fetch aborted', 2000)
        }
      } finally {
        globalThis.fetch = realFetch
      }
    },
  )

  test('retries stop: no attempt leaves after close()', async () => {
    const emulator = await ChittyIDEmulator.start({ port: 0 })
    try {
      emulator.setFault({ errorStatus: 503 })
      const client = new ChittyIDClient({
        serviceUrl: `${emulator.url}/v1`,
        retry: { maxAttempts: 10, initialDelayMs: 150, maxDelayMs: 150, jitter: 0 },
        circuitBreaker: false,
      })
      const retried = new Promise((resolve) => client.once('retry', resolve))
      const mint = client.mint({ entity: 'PEO' }).then(
        () => null,
        (e) => e,
      )
      const validate = client.validate('CT-A-CHI-1234-I-24-A-0').then(
        () => null,
        (e) => e,
      )
      await retried
      await client.close()
      expectClosed(await mint)
      expectClosed(await validate)
      const requests = emulator.stats().requests
      await sleep(400)
      expect(emulator.stats().requests).toEqual(requests)
    } finally {
      await emulator.close()
    }
  })

  test('a child process with calls hanging on a silent server exits right after close()', async () => {
    const script = `
      const { ChittyIDClient } = require(process.argv[1])
      const client = new ChittyIDClient({ serviceUrl: process.argv[2], timeout: 60000, retry: { maxAttempts: 5 } })
      const calls = []
      for (let i = 0; i < 20; i++) calls.push(client.mint({ entity: 'PEO' }).catch((e) => e.code))
      calls.push(client.validate('CT-A-CHI-1234-I-24-A-0').catch((e) => e.code))
      calls.push(client.healthCheck().catch((e) => e.code))
      setTimeout(() => {
        const closedAt = Date.now()
        client.close()
        Promise.all(calls).then((codes) => {
          console.log(JSON.stringify({ codes: [...new Set(codes)] }))
          process.on('exit', () => console.log(JSON.stringify({ exitAfterCloseMs: Date.now() - closedAt })))
        })
      }, 300)
    `
    const run = await runNode(script, [INDEX, server.url], 40000)
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const [codes, exit] = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(codes).toEqual({ codes: ['ECLIENTCLOSED'] })
    // Held alive, the process would wait out the 60 s timeouts (and their retries); the bounds
    // sit well below that and well above the start-up and exit of a loaded machine.
    expect(exit.exitAfterCloseMs).toBeLessThan(10000)
    expect(run.ms).toBeLessThan(30000)
  }, 60000)
})

describe('close() inside an event listener', () => {
  test('the listeners after it hear nothing, and the call rejects with ECLIENTCLOSED', async () => {
    const emulator = await ChittyIDEmulator.start({ port: 0 })
    try {
      emulator.setFault({ errorStatus: 503 })
      const client = new ChittyIDClient({
        serviceUrl: `${emulator.url}/v1`,
        retry: { maxAttempts: 3, initialDelayMs: 200, jitter: 0 },
        circuitBreaker: false,
      })
      const heard = []
      client.on('retry', () => {
        heard.push('first')
        client.close()
      })
      client.on('retry', () => heard.push('second'))
      client.on('rateLimited', () => heard.push('other event'))
      const err = await client.mint({ entity: 'PEO' }).then(
        () => null,
        (e) => e,
      )
      expectClosed(err)
      await sleep(300)
      expect(heard).toEqual(['first'])
    } finally {
      await emulator.close()
    }
  })
})
