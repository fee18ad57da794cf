// Bundling a worker the way wrangler does, and a consumer project to bundle it in. Used by
// __test__/workers.test.mjs and bench/portable.mjs.
import { build } from 'esbuild'
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = fileURLToPath(new URL('../..', import.meta.url))

/**
 * A throwaway project whose node_modules/@chittyos/chittyid-client is this repository (a link,
 * as `npm link` makes it), with `files` (name -> source) written into it. Returns its path.
 */
export function consumerProject(files) {
  const dir = mkdtempSync(join(tmpdir(), 'chittyid-worker-'))
  mkdirSync(join(dir, 'node_modules', '@chittyos'), { recursive: true })
  symlinkSync(root, join(dir, 'node_modules', '@chittyos', 'chittyid-client'), 'dir')
  for (const [name, source] of Object.entries(files)) writeFileSync(join(dir, name), source)
  return dir
}

/**
 * esbuild as wrangler runs it for a Worker: one ESM file, the `workerd`, `worker` and
 * `browser` export conditions, browser-first main fields, and, under `nodejs_compat`, the
 * `node:` builtins left to the runtime. No `--external` of any package.
 */
export async function bundleLikeWrangler(
  entry,
  { nodejsCompat = true, minify = false, platform = 'neutral', format = 'esm' } = {},
) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format,
    platform,
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    external: nodejsCompat ? ['node:*'] : [],
    minify,
    write: false,
    logLevel: 'silent',
  })
  return result.outputFiles[0].text
}

/** Options for `new Miniflare()` running `script` as an ES module worker. */
export function workerOptions(script, { nodejsCompat = true, bindings = {} } = {}) {
  return {
    modules: true,
    script,
    compatibilityDate: '2025-09-01',
    compatibilityFlags: nodejsCompat ? ['nodejs_compat'] : [],
    bindings,
  }
}
