// The v1-era suites written for vitest (this folder): each runs unchanged against the v1-like
// fetch client (../v1-client.js, DROPIN_IMPL=v1) and against this package (DROPIN_IMPL=v2);
// only what '@chittyos/chittyid-client' resolves to differs. Driven by
// __test__/dropin-runners.test.mjs, as a user's vitest runs them: no CHITTYID_TRANSPORT, no
// setup of ours. Its root is this folder, so it never sees the jest suites (and jest's
// testMatch, `*.test.mjs`, never sees these `*.test.js` files).

import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const here = fileURLToPath(new URL('.', import.meta.url))
const targets = {
  v1: fileURLToPath(new URL('../v1-client.js', import.meta.url)),
  v2: fileURLToPath(new URL('../../../index.js', import.meta.url)),
}
const target = targets[process.env.DROPIN_IMPL ?? 'v2']
if (target === undefined) throw new Error(`DROPIN_IMPL must be v1 or v2, got ${process.env.DROPIN_IMPL}`)

export default defineConfig({
  root: here,
  // vite's cache under the repository's node_modules, not a node_modules/ of its own here.
  cacheDir: fileURLToPath(new URL('../../../node_modules/.vite/dropin-vitest', import.meta.url)),
  resolve: { alias: { '@chittyos/chittyid-client': target } },
  test: {
    include: ['*.test.js'],
    environment: 'node',
    testTimeout: 15_000,
    watch: false,
  },
})
