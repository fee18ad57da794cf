// The Rust modules and the JS files form no cycle (docs/ARCHITECTURE.md "Layers"): scripts/module-cycles.js
// over src/, and over a fixture with a known cycle so the check itself is proven to see one.
import { createRequire } from 'node:module'
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const { edgesOf, jsEdgesOf, cyclesOf, JS_DIRS } = require('../scripts/module-cycles.js')
const root = join(dirname(fileURLToPath(import.meta.url)), '..')

test('src/ has no module cycle', () => {
  const edges = edgesOf(join(root, 'src'))
  expect(edges.size).toBeGreaterThan(30)
  expect(edges.get('bindings::client').has('client')).toBe(true)
  expect(cyclesOf(edges)).toEqual([])
})

test('a cycle through use, super:: and a use group is found; a child naming its parent is not one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cycles-'))
  try {
    mkdirSync(join(dir, 'emu'))
    writeFileSync(join(dir, 'lib.rs'), 'pub mod emu;\npub mod a;\n')
    writeFileSync(join(dir, 'a.rs'), 'use crate::emu::{routes, Thing};\n')
    writeFileSync(join(dir, 'emu', 'mod.rs'), 'mod routes;\nmod faults;\npub struct Thing;\n')
    writeFileSync(join(dir, 'emu', 'routes.rs'), 'use super::faults::Early;\nuse super::Thing;\n')
    writeFileSync(join(dir, 'emu', 'faults.rs'), 'fn f() -> super::routes::Kind { todo!() }\n')
    const edges = edgesOf(dir)
    expect([...edges.get('a')].sort()).toEqual(['emu', 'emu::routes'])
    expect(cyclesOf(edges)).toEqual([['emu::faults', 'emu::routes']])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the JS files (index, lib/, bin/) have no require cycle', () => {
  const edges = jsEdgesOf(root, JS_DIRS)
  expect(edges.size).toBeGreaterThan(15)
  expect(edges.get('lib/client.js').has('lib/bridge.js')).toBe(true)
  expect(edges.get('lib/compat/cache.js').has('lib/option-checks.js')).toBe(true)
  expect(cyclesOf(edges)).toEqual([])
})

test('a JS cycle through require and import is found', () => {
  const dir = mkdtempSync(join(tmpdir(), 'js-cycles-'))
  try {
    mkdirSync(join(dir, 'lib'))
    writeFileSync(join(dir, 'lib', 'a.js'), "const b = require('./b.js')\n")
    writeFileSync(join(dir, 'lib', 'b.js'), "const { x } = require('../lib/c.js')\n")
    writeFileSync(join(dir, 'lib', 'c.js'), "import a from './a.js'\nrequire('node:fs')\n")
    writeFileSync(join(dir, 'lib', 'd.js'), "require('./a.js')\n")
    const edges = jsEdgesOf(dir, ['lib'])
    expect(cyclesOf(edges)).toEqual([['lib/a.js', 'lib/b.js', 'lib/c.js']])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
