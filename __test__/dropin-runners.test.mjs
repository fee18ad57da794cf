// The v1-era suites written for other test runners run unchanged against a v1-like fetch client
// and against this package, each in a child process started as a user starts the runner (no
// CHITTYID_TRANSPORT, no jest variable, no setup of ours): vitest (__test__/dropin/vitest/:
// msw, vi.spyOn(globalThis, 'fetch'), vi.stubGlobal('fetch', vi.fn()), fake timers) and
// node --test (__test__/dropin/node-test/: node:test's mock.method, msw). There the fetch
// transport is chosen because the runner is recognised (lib/test-runner.js), with v1's
// semantics (docs/MIGRATION.md "v1-era suites and fetch stubs"). Clients are never closed
// there; each run must end on its own.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { root, RUN_LIMIT_MS, runNode, userEnv } from './dropin/child-run.mjs'

// Tests per file, as written there.
const VITEST_EXPECTED = { 'msw.test.js': 5, 'spy.test.js': 5, 'stub-global.test.js': 4 }
const NODE_TEST_EXPECTED = { pass: 4, fail: 0 }

/** vitest's run of __test__/dropin/vitest/ against `impl`: passed/failed per file. */
async function runVitest(impl) {
  const dir = mkdtempSync(join(tmpdir(), 'chittyid-vitest-'))
  const outputFile = join(dir, 'results.json')
  try {
    const args = [
      join(root, 'node_modules/vitest/vitest.mjs'),
      '--run',
      '--config',
      join(root, '__test__/dropin/vitest/vitest.config.mjs'),
      '--pool=forks',
      '--reporter=json',
      `--outputFile=${outputFile}`,
    ]
    const { code, output } = await runNode(args, userEnv({ DROPIN_IMPL: impl }))
    const results = JSON.parse(readFileSync(outputFile, 'utf8'))
    const counts = {}
    for (const file of results.testResults) {
      const passed = file.assertionResults.filter((a) => a.status === 'passed').length
      counts[basename(file.name)] = { passed, failed: file.assertionResults.length - passed }
    }
    return { code, counts, output }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** `node --test` of __test__/dropin/node-test/ against `impl`: the TAP summary's pass and fail. */
async function runNodeTest(impl) {
  const args = [
    '--test',
    '--import',
    './__test__/dropin/node-test/map-client.mjs',
    '--test-reporter=tap',
    '__test__/dropin/node-test/service.test.js',
  ]
  const { code, output } = await runNode(args, userEnv({ DROPIN_IMPL: impl }))
  const summary = (name) => Number(output.match(new RegExp(`^# ${name} (\\d+)$`, 'm'))?.[1])
  return { code, counts: { pass: summary('pass'), fail: summary('fail') }, output }
}

describe.each(['v1', 'v2'])('against %s', (impl) => {
  test(
    'the vitest suites pass unchanged',
    async () => {
      const { code, counts, output } = await runVitest(impl)
      if (code !== 0) console.log(output.slice(-6000))
      const expected = Object.fromEntries(
        Object.entries(VITEST_EXPECTED).map(([f, n]) => [f, { passed: n, failed: 0 }]),
      )
      expect(counts).toEqual(expected)
      expect(code).toBe(0)
    },
    RUN_LIMIT_MS + 10_000,
  )

  test(
    'the node --test suite passes unchanged',
    async () => {
      const { code, counts, output } = await runNodeTest(impl)
      if (code !== 0) console.log(output.slice(-6000))
      expect(counts).toEqual(NODE_TEST_EXPECTED)
      expect(code).toBe(0)
    },
    RUN_LIMIT_MS + 10_000,
  )
})
