// The v1-era suites in __test__/dropin/ (fetch stubbed with jest.spyOn, jest-fetch-mock,
// msw, nock, undici's MockAgent, fetch-mock 12, a hand-written fetch polyfill; and jest's
// automock) run unchanged against a v1-like fetch client and against this package, each in a
// child jest process of its own, as a user's jest would run them (no CHITTYID_TRANSPORT, no
// setup of ours), with --detectOpenHandles: clients are never closed there (v1 had no
// close()), and must leave nothing open.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RUN_LIMIT_MS, root, runNode, userEnv } from './dropin/child-run.mjs'

// Tests per suite directory, as written there.
const EXPECTED = {
  spy: 7,
  'fetch-mock': 6,
  msw: 6,
  nock: 6,
  automock: 3,
  service: 21,
  habits: 22,
  wire: 5,
  undici: 14,
  'fetch-mock-12': 8,
  polyfill: 10,
  env: 4,
}

/** Runs the drop-in projects of one implementation; resolves to { code, results, output }. */
async function runDropin(impl) {
  const dir = mkdtempSync(join(tmpdir(), 'chittyid-dropin-'))
  const outputFile = join(dir, 'results.json')
  const projects = Object.keys(EXPECTED).map((suite) => `${suite}:${impl}`)
  const args = [
    join(root, 'node_modules/jest/bin/jest.js'),
    '--config',
    join(root, '__test__/dropin/jest.config.js'),
    '--selectProjects',
    ...projects,
    '--runInBand',
    '--ci',
    '--detectOpenHandles',
    '--json',
    '--outputFile',
    outputFile,
  ]
  try {
    const { code, output } = await runNode(args, userEnv())
    return { code, results: JSON.parse(readFileSync(outputFile, 'utf8')), output }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Passed/failed counts per suite directory (summed over its files). */
function countsBySuite(results) {
  const counts = {}
  for (const file of results.testResults) {
    const suite = file.name.split(/[\\/]/).at(-2)
    const passed = file.assertionResults.filter((a) => a.status === 'passed').length
    const count = (counts[suite] ??= { passed: 0, failed: 0, error: undefined })
    count.passed += passed
    count.failed += file.assertionResults.length - passed
    if (file.assertionResults.length === 0) count.error = file.message
  }
  return counts
}

const expected = Object.fromEntries(
  Object.entries(EXPECTED).map(([suite, n]) => [suite, { passed: n, failed: 0, error: undefined }]),
)

test.each(['v1', 'v2'])(
  'the v1-era suites pass unchanged against %s',
  async (impl) => {
    const { code, results, output } = await runDropin(impl)
    const counts = countsBySuite(results)
    if (code !== 0) console.log(output.slice(-6000))
    expect(counts).toEqual(expected)
    expect(results.openHandles).toEqual([])
    expect(code).toBe(0)
  },
  RUN_LIMIT_MS + 10_000,
)
