// Size and cold-start cost of the portable build (bench/RESULTS.md, "Portable build"):
//   node bench/portable.mjs [--rounds N]
// - bundle size: a worker that imports ChittyIDClient, bundled as wrangler does (esbuild,
//   workerd/worker/browser conditions), plain and minified, raw and gzipped; the same for an
//   empty worker, so the package's own share shows;
// - cold start in workerd (miniflare): from `new Miniflare()` to the first answer, for that
//   worker and for the empty one, in alternating rounds (the difference is the package's cost,
//   inside the noise of starting a workerd process);
// - parse, compile and evaluation of the minified bundle in V8 (Node's vm module, a fresh
//   context per sample), as CPU time, against the empty bundle.
import { Miniflare } from 'miniflare'
import vm from 'node:vm'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { consumerProject, bundleLikeWrangler, workerOptions } from '../__test__/workers/bundle.mjs'

const args = process.argv.slice(2)
const ROUNDS = Number(args[args.indexOf('--rounds') + 1]) || 9

const WITH_CLIENT = `
import { ChittyIDClient } from '@chittyos/chittyid-client'
const client = new ChittyIDClient({ serviceUrl: 'https://id.chitty.cc/v1' })
export default { async fetch() { return new Response(client.validateFormat('AB-C-DEF-1234-P-26-A-1') ? 'ok' : 'no') } }
`
const EMPTY = `export default { async fetch() { return new Response('ok') } }\n`

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`

const project = consumerProject({ 'client.mjs': WITH_CLIENT, 'empty.mjs': EMPTY })
try {
  const bundles = {}
  for (const name of ['client', 'empty']) {
    const plain = await bundleLikeWrangler(join(project, `${name}.mjs`), { nodejsCompat: false })
    const minified = await bundleLikeWrangler(join(project, `${name}.mjs`), { nodejsCompat: false, minify: true })
    bundles[name] = { plain, minified }
  }
  const size = (name, kind) => Buffer.byteLength(bundles[name][kind])
  const gz = (name, kind) => gzipSync(bundles[name][kind]).length

  // Cold start in workerd: alternating rounds.
  const cold = { client: [], empty: [] }
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of round % 2 === 0 ? ['client', 'empty'] : ['empty', 'client']) {
      const started = performance.now()
      const mf = new Miniflare(workerOptions(bundles[name].minified, { nodejsCompat: false }))
      const res = await mf.dispatchFetch('http://worker/')
      await res.text()
      cold[name].push(performance.now() - started)
      await mf.dispose()
    }
  }

  // Parse, compile and evaluation of the bundle in V8 (Node's vm, a fresh context per sample,
  // the source made unique so V8's compilation cache cannot serve it), as CPU time of this
  // process: on a loaded machine wall time mostly measures the wait for a core.
  const evaluate = { client: [], empty: [] }
  for (const name of ['client', 'empty']) {
    const iife = await bundleLikeWrangler(join(project, `${name}.mjs`), {
      nodejsCompat: false,
      minify: true,
      format: 'iife',
    })
    for (let i = 0; i < ROUNDS * 3; i++) {
      const source = `/* ${name} ${i} */${iife}`
      const sandbox = vm.createContext({
        URL,
        AbortController,
        TextDecoder,
        TextEncoder,
        Response,
        setTimeout,
        clearTimeout,
        console,
      })
      const before = process.cpuUsage()
      new vm.Script(source).runInContext(sandbox)
      const used = process.cpuUsage(before)
      evaluate[name].push((used.user + used.system) / 1000)
    }
  }

  const lines = [
    `| | worker importing ChittyIDClient | empty worker | the package's share |`,
    `|---|---|---|---|`,
    `| bundle, plain | ${kib(size('client', 'plain'))} | ${kib(size('empty', 'plain'))} | ${kib(size('client', 'plain') - size('empty', 'plain'))} |`,
    `| bundle, minified | ${kib(size('client', 'minified'))} | ${kib(size('empty', 'minified'))} | ${kib(size('client', 'minified') - size('empty', 'minified'))} |`,
    `| bundle, minified + gzip | ${kib(gz('client', 'minified'))} | ${kib(gz('empty', 'minified'))} | ${kib(gz('client', 'minified') - gz('empty', 'minified'))} |`,
    `| workerd cold start to first answer (median of ${ROUNDS}) | ${median(cold.client).toFixed(0)} ms | ${median(cold.empty).toFixed(0)} ms | ${(median(cold.client) - median(cold.empty)).toFixed(0)} ms |`,
    `| workerd cold start, min–max | ${Math.min(...cold.client).toFixed(0)}–${Math.max(...cold.client).toFixed(0)} ms | ${Math.min(...cold.empty).toFixed(0)}–${Math.max(...cold.empty).toFixed(0)} ms | |`,
    `| V8 parse + compile + evaluation of the minified bundle, CPU (Node vm, median of ${ROUNDS * 3}) | ${median(evaluate.client).toFixed(2)} ms | ${median(evaluate.empty).toFixed(2)} ms | ${(median(evaluate.client) - median(evaluate.empty)).toFixed(2)} ms |`,
  ]
  console.log(lines.join('\n'))
} finally {
  rmSync(project, { recursive: true, force: true })
}
