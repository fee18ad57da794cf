import { createRequire } from 'node:module'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import DefaultClient, { ChittyIDClient, mintChittyID, validateChittyID } from '../index.mjs'

const require = createRequire(import.meta.url)
const root = fileURLToPath(new URL('..', import.meta.url))

test('ESM named and default imports are the same class', () => {
  expect(DefaultClient).toBe(ChittyIDClient)
  expect(typeof mintChittyID).toBe('function')
  expect(typeof validateChittyID).toBe('function')
})

test('require() gives the same class, also as .default', () => {
  const cjs = require('../index.js')
  expect(cjs.ChittyIDClient).toBe(ChittyIDClient)
  expect(cjs.default).toBe(ChittyIDClient)
})

test('the package name resolves through package.json exports in both module systems', () => {
  const script = `
    const cjs = require('@chittyos/chittyid-client');
    import('@chittyos/chittyid-client').then((esm) => {
      const ok = esm.default === cjs.ChittyIDClient && esm.ChittyIDClient === cjs.default;
      process.stdout.write(ok ? 'same' : 'different');
    });`
  const out = execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' })
  expect(out).toBe('same')
})

test('the client is an EventEmitter', async () => {
  const { EventEmitter } = await import('node:events')
  expect(new ChittyIDClient()).toBeInstanceOf(EventEmitter)
})

test('the portable entry exports the names of the native entry, but the two that need Node', () => {
  const native = Object.keys(require('../index.js')).sort()
  const portable = Object.keys(require('../portable.js')).sort()
  expect(native.filter((name) => !portable.includes(name))).toEqual(['RETRY_CONFIG', 'TRACING_CHANNEL'])
  expect(portable.filter((name) => !native.includes(name))).toEqual([])
  expect(require('../portable.js').ConnectionState).toBe(require('../index.js').ConnectionState)
})
