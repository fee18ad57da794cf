'use strict'

// Whether this process runs a test runner's tests: the one home of "under a test runner", where
// the fetch transport is chosen automatically and a client keeps v1's semantics
// (docs/MIGRATION.md "v1-era suites and fetch stubs"). Both builds ask here (lib/options.js,
// lib/portable/options.js). Only what a runner itself sets where test files run is read:
//
// - jest: `JEST_WORKER_ID` in each worker (`1` with --runInBand);
// - vitest: `VITEST_WORKER_ID` in each worker of every pool (forks, threads, vmForks,
//   vmThreads), set before a test file is imported; `VITEST` too, which vitest also sets in
//   its main process (globalSetup, the config);
// - node --test: `NODE_TEST_CONTEXT` in the child process it runs each test file in, and the
//   runner's own `--test` flag where the files run inside the runner (--test-isolation=none).
//
// Runners that set nothing (mocha, a test file run as `node file.test.mjs`) are not
// recognised on their own: there `CHITTYID_TEST_RUNNER=1` says so (v1's semantics, as under
// jest), or the `transport` option / `CHITTYID_TRANSPORT` picks a transport (v2's engine).
// No Node module here: the portable build bundles this file.

const { runtimeProcess } = require('./runtime-process.js')

/** The environment variables that mark a test runner's process (any value). */
const TEST_RUNNER_VARIABLES = ['JEST_WORKER_ID', 'VITEST_WORKER_ID', 'VITEST', 'NODE_TEST_CONTEXT']

/** Values of `CHITTYID_TEST_RUNNER` that declare a test runner's process (for runners that set nothing). */
const DECLARED = ['1', 'true']

/** Whether the process object `proc` shows a test runner (see above). */
function marksTestRunner(proc) {
  const env = proc.env !== null && typeof proc.env === 'object' ? proc.env : undefined
  if (env !== undefined && TEST_RUNNER_VARIABLES.some((name) => env[name] !== undefined)) return true
  if (env !== undefined && DECLARED.includes(env.CHITTYID_TEST_RUNNER)) return true
  return Array.isArray(proc.execArgv) && proc.execArgv.includes('--test')
}

/**
 * True where a test runner's tests run in this process (see above); false without a `process`.
 * `host`: the Node process's own `process` (lib/host-process.js), asked too where it is not the
 * runtime's: jest runs a test file in a VM context with a copy of `process`, and a v1-era suite
 * that gives that copy an `env` of its own (`process.env = { ... }`) still runs under jest.
 */
function underTestRunner(host) {
  const proc = runtimeProcess()
  if (proc !== undefined && marksTestRunner(proc)) return true
  return host !== undefined && host !== null && host !== proc && marksTestRunner(host)
}

module.exports = { underTestRunner }
