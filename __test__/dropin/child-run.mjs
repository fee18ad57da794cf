// How __test__/dropin.test.mjs and __test__/dropin-runners.test.mjs start a user's test runner:
// a child node process in the environment of a user's shell, bounded in time.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const root = fileURLToPath(new URL('../..', import.meta.url))
export const RUN_LIMIT_MS = 90_000

/** The environment of a user's shell (plus `extra`): no runner's variables, no transport chosen. */
export function userEnv(extra = {}) {
  const env = { ...process.env, ...extra }
  for (const name of [
    'CHITTYID_TRANSPORT',
    'CHITTYID_TEST_RUNNER',
    'JEST_WORKER_ID',
    'VITEST',
    'VITEST_WORKER_ID',
    'VITEST_POOL_ID',
    'NODE_TEST_CONTEXT',
  ])
    delete env[name]
  return env
}

/** Runs node with `args`; resolves to { code, output }, rejects when it outlives RUN_LIMIT_MS. */
export function runNode(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (signal) reject(new Error(`${args.join(' ')} was killed (${signal}) after ${RUN_LIMIT_MS} ms:\n${output}`))
      else resolve({ code, output })
    })
  })
}
