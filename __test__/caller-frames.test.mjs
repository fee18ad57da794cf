// Rejections carry the caller's frames (V8 async stack traces): `at async registerPerson`
// shows which call failed. Checked in a child node process, whose stacks are V8's own (jest
// rewrites the stacks of errors thrown inside its tests), for the native transport, the fetch
// transport and v1 semantics, and for HTTP errors, transport failures, aborts and local errors.

import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ChittyIDEmulator } from '../index.mjs'
import { closedPort } from './helpers.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))

// Each case: an async `registerPerson` awaiting one client call that rejects; prints the stack.
const SCRIPT = `
const { ChittyIDClient } = require('./index.js')
const [emulatorUrl, deadPort] = process.argv.slice(1)
const unavailable = async () => new Response('', { status: 503, statusText: 'Service Unavailable' })
const cases = {
  'native, HTTP 503': () => new ChittyIDClient({ serviceUrl: emulatorUrl + '/v1', retry: false }),
  'native, refused': () => new ChittyIDClient({ serviceUrl: 'http://127.0.0.1:' + deadPort + '/v1', retry: false }),
  'fetch, HTTP 503': () => { globalThis.fetch = unavailable; return new ChittyIDClient({ serviceUrl: emulatorUrl + '/v1', transport: 'fetch', retry: false }) },
  'v1 semantics, HTTP 503': () => { globalThis.fetch = unavailable; process.env.JEST_WORKER_ID = '1'; try { return new ChittyIDClient({ serviceUrl: emulatorUrl + '/v1' }) } finally { delete process.env.JEST_WORKER_ID } },
}
async function registerPerson(client, options) {
  return await client.mint({ entity: 'PEO' }, options)
}
async function registerHousehold(client) {
  return await client.mintBatch([{ entity: 'PEO' }])
}
async function main() {
  const out = {}
  for (const [name, make] of Object.entries(cases)) {
    const client = make()
    out[name] = (await registerPerson(client).catch((e) => e)).stack
    out[name + ', batch'] = (await registerHousehold(client).catch((e) => e)).stack
    const controller = new AbortController()
    const pending = registerPerson(client, { signal: controller.signal }).catch((e) => e)
    controller.abort()
    out[name + ', aborted'] = (await pending).stack
    await client.close()
    out[name + ', closed'] = (await registerPerson(client).catch((e) => e)).stack
  }
  process.stdout.write(JSON.stringify(out))
}
main()
`

let emulator
beforeAll(async () => {
  emulator = await ChittyIDEmulator.start({ port: 0 })
  emulator.setFault({ errorStatus: 503 })
})
afterAll(() => emulator.close())

test('every rejection shows the caller', async () => {
  const env = { ...process.env }
  delete env.JEST_WORKER_ID
  delete env.CHITTYID_TRANSPORT
  const stacks = JSON.parse(
    execFileSync(process.execPath, ['-e', SCRIPT, emulator.url, String(await closedPort())], {
      cwd: root,
      env,
      encoding: 'utf8',
    }),
  )
  expect(Object.keys(stacks)).toHaveLength(16)
  const missing = Object.entries(stacks)
    .filter(
      ([name, stack]) =>
        !(name.endsWith('batch')
          ? /\n\s+at (async )?registerHousehold /.test(stack)
          : /\n\s+at (async )?registerPerson /.test(stack)),
    )
    .map(([name, stack]) => `${name}:\n${stack}`)
  expect(missing).toEqual([])
  // The failure itself, not a generic wrapper, heads the stack.
  expect(stacks['native, refused'].split('\n')[0]).toMatch(/ECONNREFUSED/)
  expect(stacks['fetch, HTTP 503, aborted'].split('\n')[0]).toBe('AbortError: The operation was aborted')
})
