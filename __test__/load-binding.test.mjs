// Loading on a machine without a fitting addon: a copy of the package's JS files with no
// `.node` next to them and no platform package reachable, required by a child node process
// (its platform faked by a preload script where the case needs another one).
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const root = fileURLToPath(new URL('..', import.meta.url))
const require = createRequire(import.meta.url)
const { platformOfTarget } = require('../lib/native/no-addon.js')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

let work
let copy

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'chittyid-nobinding-'))
  copy = join(work, 'chittyid-client')
  // The JS only: no built addon (lib/native/*.node) comes along.
  for (const entry of ['index.js', 'index.mjs', 'package.json', 'lib']) {
    cpSync(join(root, entry), join(copy, entry), { recursive: true, filter: (from) => !from.endsWith('.node') })
  }
})

afterAll(() => rmSync(work, { recursive: true, force: true }))

/** Loads the copy (CommonJS entry) in a child node and returns what it threw. */
function loadFails({ preload, env = {} } = {}) {
  const report = `(e) => process.stdout.write(JSON.stringify({ message: e.message, code: e.code, platform: e.platform, supported: e.supportedPlatforms, cause: e.cause && e.cause.message }))`
  const out = execFileSync(
    process.execPath,
    [
      ...preloadArgs(preload),
      '-e',
      `try { require(${JSON.stringify(copy)}); process.stdout.write('loaded') } catch (e) { (${report})(e) }`,
    ],
    { cwd: work, encoding: 'utf8', env: { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: '', ...env }, timeout: 30000 },
  )
  expect(out).not.toBe('loaded')
  return JSON.parse(out)
}

function preloadArgs(preload) {
  if (!preload) return []
  const file = join(work, `preload-${Math.random().toString(36).slice(2)}.cjs`)
  writeFileSync(file, preload)
  return ['-r', file]
}

/** Imports the copy's ESM entry statically in a child node; returns its exit status and stderr. */
function importFails({ preload } = {}) {
  const entry = join(work, `entry-${Math.random().toString(36).slice(2)}.mjs`)
  writeFileSync(
    entry,
    `import ChittyIDClient from ${JSON.stringify(join(copy, 'index.mjs'))}\nprocess.stdout.write(typeof ChittyIDClient)\n`,
  )
  try {
    execFileSync(process.execPath, [...preloadArgs(preload), entry], {
      cwd: work,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: '' },
      timeout: 30000,
    })
  } catch (err) {
    return { status: err.status, stderr: err.stderr }
  }
  throw new Error('the ESM entry loaded without an addon')
}

test('target triples map to napi-rs platform names', () => {
  expect(pkg.napi.targets.map(platformOfTarget)).toEqual([
    'linux-x64-gnu',
    'linux-x64-musl',
    'linux-arm64-gnu',
    'linux-arm64-musl',
    'darwin-x64',
    'darwin-arm64',
    'win32-x64-msvc',
  ])
  expect(platformOfTarget('x86_64-unknown-freebsd')).toBe('freebsd-x64')
})

const onLinuxGlibc = process.platform === 'linux' && Boolean(process.report.getReport().header.glibcVersionRuntime)

;(onLinuxGlibc && process.arch === 'x64' ? test : test.skip)(
  'a supported platform whose optional package is missing: names it and the package to install',
  () => {
    const err = loadFails()
    expect(err.code).toBe('ERR_CHITTYID_NO_NATIVE_ADDON')
    expect(err.platform).toEqual({ os: 'linux', arch: 'x64', libc: 'glibc', target: 'linux-x64-gnu' })
    expect(err.supported).toEqual(pkg.napi.targets.map(platformOfTarget))
    expect(err.message).toContain('linux x64 (glibc)')
    expect(err.message).toContain(`Prebuilt addons exist for: ${err.supported.join(', ')}.`)
    expect(err.message).toContain(`npm install @chittyos/chittyid-client-linux-x64-gnu@${pkg.version}`)
    expect(err.message).toContain("Cannot find module '@chittyos/chittyid-client-linux-x64-gnu'")
    expect(err.message).toContain('mark @chittyos/chittyid-client as external')
    expect(err.message).not.toContain('npm has a bug')
    // The generic loader error stays reachable.
    expect(err.cause).toMatch(/^Cannot find native binding/)
  },
)

test('an unsupported OS (FreeBSD): says so and how to build from source', () => {
  const err = loadFails({ preload: "Object.defineProperty(process, 'platform', { value: 'freebsd' })" })
  expect(err.code).toBe('ERR_CHITTYID_NO_NATIVE_ADDON')
  expect(err.platform).toEqual({ os: 'freebsd', arch: process.arch, libc: null, target: `freebsd-${process.arch}` })
  expect(err.message).toContain(`freebsd ${process.arch}`)
  expect(err.message).toContain(`No prebuilt addon fits this platform (freebsd-${process.arch})`)
  expect(err.message).toMatch(/Rust stable/)
  expect(err.message).toContain(`chittyid-client.freebsd-${process.arch}.node`)
  expect(err.message).not.toContain('npm install @chittyos/chittyid-client-freebsd')
})

;(process.platform === 'linux' ? test : test.skip)('an unsupported arch on Linux, loaded through the ESM entry', () => {
  const { status, stderr } = importFails({ preload: "Object.defineProperty(process, 'arch', { value: 's390x' })" })
  expect(status).not.toBe(0)
  expect(stderr).toContain("code: 'ERR_CHITTYID_NO_NATIVE_ADDON'")
  expect(stderr).toMatch(/no native addon could be loaded on this machine: linux s390x \((glibc|musl)\)/)
  expect(stderr).toMatch(/No prebuilt addon fits this platform \(linux-s390x-(gnu|musl)\)/)
  expect(stderr).toContain(`Prebuilt addons exist for: ${pkg.napi.targets.map(platformOfTarget).join(', ')}.`)
})

test('a NAPI_RS_NATIVE_LIBRARY_PATH that does not load is named', () => {
  const missing = join(work, 'nowhere', 'chittyid-client.node')
  const err = loadFails({ env: { NAPI_RS_NATIVE_LIBRARY_PATH: missing } })
  expect(err.code).toBe('ERR_CHITTYID_NO_NATIVE_ADDON')
  expect(err.message).toContain(`NAPI_RS_NATIVE_LIBRARY_PATH is set (${missing})`)
})

test('every module reaches the addon through lib/native/index.js, never the generated loader', () => {
  const offenders = []
  const walk = (dir) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const rel = join(dir, entry.name)
      if (entry.isDirectory()) walk(rel)
      else if (/\.(c|m)?js$/.test(entry.name) && rel !== join('lib', 'native', 'index.js')) {
        if (
          /require\([^)]*binding\.js['"]\)|from ['"][^'"]*binding\.js['"]/.test(readFileSync(join(root, rel), 'utf8'))
        )
          offenders.push(rel)
      }
    }
  }
  for (const dir of ['lib', 'bench', 'scripts', 'bin', 'examples']) walk(dir)
  for (const file of ['index.js', 'index.mjs', 'portable.js', 'portable.mjs'])
    if (/binding\.js/.test(readFileSync(join(root, file), 'utf8'))) offenders.push(file)
  expect(offenders).toEqual([])
})
