'use strict'

// The report of `npm run bench`: the verdict table, every run, the machine, and the hand-written
// analysis kept from bench/RESULTS.md.

const fs = require('node:fs')
const os = require('node:os')
const { execFileSync } = require('node:child_process')
const { ROOT, median } = require('./common.js')
const { RESULTS_FILE, EMULATOR_BAR, MODE, OPS, levels, SERVER_CPU, CLIENT_CPU, PIN } = require('./config.js')

const ok = (r) => r && !r.failed
const med = (runs, key) => median((runs || []).filter(ok).map((r) => r[key]))

function fmt(v, digits = 1) {
  if (v === undefined || v === null || !Number.isFinite(v)) return 'n/a'
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function pct(v) {
  return v === undefined || !Number.isFinite(v) ? 'n/a' : `${(v * 100).toFixed(0)}%`
}

function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : undefined
}

function verdict(value, pass) {
  if (value === undefined || !Number.isFinite(value)) return 'n/a'
  return pass(value) ? 'PASS' : 'FAIL'
}

/** The bars of issue 25 on the round trips (docs/ARCHITECTURE.md "Performance bars"). */
const CALL_BARS = [
  { op: 'mint', c: 1, key: 'cpuUsPerCall', what: 'total CPU (all threads)', max: 0.8, note: ' (goal 0.5×)' },
  { op: 'mint', c: 1, key: 'loopUsPerCall', what: 'event-loop (JS thread) CPU', max: 0.2 },
  { op: 'mint', c: 64, key: 'cpuUsPerCall', what: 'total CPU (all threads)', max: 0.5 },
  { op: 'mint', c: 64, key: 'loopUsPerCall', what: 'event-loop (JS thread) CPU', max: 0.1 },
]

/** The median over the rounds of each native run's ratio to the reference run beside it. */
function pairedRatio(runs, key) {
  const qs = runs.native.map((n, i) =>
    ok(n) && ok(runs.reference[i]) ? ratio(n[key], runs.reference[i][key]) : undefined,
  )
  return median(qs.filter((q) => q !== undefined))
}

function buildRows(results) {
  const rows = []
  const cell = (op, c, impl, key) => med(results[op][c][impl], key)
  for (const b of CALL_BARS) {
    const n = cell(b.op, b.c, 'native', b.key)
    const r = cell(b.op, b.c, 'reference', b.key)
    const q = ratio(n, r)
    rows.push([
      `${b.op}, c=${b.c}: ${b.what} per call (µs)`,
      fmt(n),
      fmt(r),
      fmtRatio(q),
      `≤ ${b.max}×${b.note || ''}`,
      verdict(q, (x) => x <= b.max),
    ])
  }
  {
    const n = cell('mint', 64, 'native', 'throughput')
    const r = cell('mint', 64, 'reference', 'throughput')
    const q = ratio(n, r)
    rows.push([
      'mint, c=64: throughput (calls/s)',
      fmt(n, 0),
      fmt(r, 0),
      fmtRatio(q),
      '≥ 1.5×',
      verdict(q, (x) => x >= 1.5),
    ])
  }
  // The machine's speed drifts between runs; a native run and the reference run next to it
  // share the drift, so the median of those pairs' ratios is the steadier figure.
  for (const b of CALL_BARS) {
    rows.push([
      `${b.op}, c=${b.c}: ${b.what}, median of each round's native / reference ratio`,
      '',
      '',
      fmtRatio(pairedRatio(results[b.op][b.c], b.key)),
      '—',
      'info',
    ])
  }
  for (const op of OPS) {
    for (const c of levels(op)) {
      const barred = (key) => CALL_BARS.some((b) => b.op === op && b.c === c && b.key === key)
      for (const [key, what] of [
        ['cpuUsPerCall', 'total CPU (all threads) per call (µs)'],
        ['loopUsPerCall', 'event-loop (JS thread) CPU per call (µs)'],
      ]) {
        if (barred(key)) continue
        const n = cell(op, c, 'native', key)
        const r = cell(op, c, 'reference', key)
        rows.push([`${op}, c=${c}: ${what}`, fmt(n), fmt(r), fmtRatio(ratio(n, r)), '—', 'info'])
      }
      if (!(op === 'mint' && c === 64)) {
        const n = cell(op, c, 'native', 'throughput')
        const r = cell(op, c, 'reference', 'throughput')
        rows.push([`${op}, c=${c}: throughput (calls/s)`, fmt(n, 0), fmt(r, 0), fmtRatio(ratio(n, r)), '—', 'info'])
      }
      for (const p of ['p50Us', 'p99Us']) {
        const n = cell(op, c, 'native', p)
        const r = cell(op, c, 'reference', p)
        rows.push([
          `${op}, c=${c}: latency ${p.slice(0, 3)} (µs)`,
          fmt(n, 0),
          fmt(r, 0),
          fmtRatio(ratio(n, r)),
          '—',
          'info',
        ])
      }
    }
  }
  const h2 = results.mintH2
  if (h2) {
    const hn = (impl, key) => med(h2[impl], key)
    const q = ratio(hn('native', 'cpuUsPerCall'), hn('reference', 'cpuUsPerCall'))
    rows.push([
      'client CPU per mint, HTTPS, c=64 (µs; native h2, reference undici h2)',
      fmt(hn('native', 'cpuUsPerCall')),
      fmt(hn('reference', 'cpuUsPerCall')),
      fmtRatio(q),
      '—',
      'info',
    ])
    const t = ratio(hn('native', 'throughput'), hn('reference', 'throughput'))
    rows.push([
      'mint throughput, HTTPS, c=64 (mints/s; h2)',
      fmt(hn('native', 'throughput'), 0),
      fmt(hn('reference', 'throughput'), 0),
      fmtRatio(t),
      '—',
      'info',
    ])
    for (const p of ['p50Us', 'p99Us']) {
      rows.push([
        `mint latency ${p.slice(0, 3)}, HTTPS h2, c=64 (µs)`,
        fmt(hn('native', p), 0),
        fmt(hn('reference', p), 0),
        fmtRatio(ratio(hn('native', p), hn('reference', p))),
        '—',
        'info',
      ])
    }
  }
  const t = results.trace
  if (t) {
    const none = med(t.none, 'cpuUsPerCall')
    // Pairs of neighbouring runs share the machine's drift (see the c=64 ratio above).
    const paired = (mode) =>
      median(
        t[mode]
          .map((r, i) => ratio(r.cpuUsPerCall, t.none[i] && t.none[i].cpuUsPerCall))
          .filter((q) => q !== undefined),
      )
    rows.push([
      'diagnostics_channel nobody subscribed: CPU per mint, c=64 (µs; reference column: never subscribed)',
      fmt(med(t.unsubscribed, 'cpuUsPerCall')),
      fmt(none),
      fmtRatio(paired('unsubscribed')),
      'costs nothing (≈ 1.00×)',
      'info',
    ])
    rows.push([
      'diagnostics_channel subscribed: CPU per mint, c=64 (µs; reference column: never subscribed)',
      fmt(med(t.subscribed, 'cpuUsPerCall')),
      fmt(none),
      fmtRatio(paired('subscribed')),
      '—',
      'info',
    ])
  }
  const f = results.format || {}
  const fq = ratio(f.clientNs, f.regexNs)
  rows.push([
    'validateFormat (ns/op; reference column: bare JS regex test)',
    fmt(f.clientNs),
    fmt(f.regexNs),
    fmtRatio(fq),
    '≤ 1.2×',
    verdict(fq, (x) => x <= 1.2),
  ])
  const ch = results.cacheHit || {}
  const chn = ch.native && ch.native.exposed ? ch.native.seqNs : undefined
  rows.push([
    'validate() cache hit (ns/op, awaited)',
    fmt(chn, 0),
    fmt(ch.reference && ch.reference.seqNs, 0),
    fmtRatio(ratio(chn, ch.reference && ch.reference.seqNs)),
    '≤ 1,000 ns',
    chn === undefined ? 'n/a' : verdict(chn, (x) => x <= 1000),
  ])
  const cc = results.compatCache || {}
  rows.push([
    'ChittyIDCache.get() hit vs lru-cache get (ns/op)',
    fmt(cc.nativeNs),
    fmt(cc.lruNs),
    fmtRatio(ratio(cc.nativeNs, cc.lruNs)),
    '≤ regex test (same ids)',
    verdict(cc.nativeNs, (x) => x <= cc.regexNs),
  ])
  const ff = results.failFast || {}
  const ffn = ff.native && ff.native.exposed ? ff.native.seqNs : undefined
  const ffr = ff.reference && ff.reference.exposed ? ff.reference.seqNs : undefined
  rows.push([
    'fail-fast, circuit open (ns/op, awaited)',
    fmt(ffn, 0),
    fmt(ffr, 0),
    fmtRatio(ratio(ffn, ffr)),
    '≤ 2,000 ns',
    verdict(ffn, (x) => x <= 2000),
  ])
  const mem = results.memory || {}
  const memR = mem.reference && mem.reference.exposed ? mem.reference.rssBytesPerEntry : undefined
  const memN = mem.native && mem.native.exposed ? mem.native.rssBytesPerEntry : undefined
  const memNative = mem.native && mem.native.exposed ? mem.native.nativeBytesPerEntry : undefined
  rows.push([
    `memory per entry, ${fmt(MODE.memoryEntries, 0)} entries: whole-process RSS delta (bytes)`,
    fmt(memN),
    fmt(memR),
    fmtRatio(ratio(memN, memR)),
    '—',
    'info',
  ])
  const mq = ratio(memNative, memR)
  rows.push([
    `memory per entry, ${fmt(MODE.memoryEntries, 0)} entries: the cache itself (bytes; native: RSS delta less V8 heap growth)`,
    fmt(memNative),
    fmt(memR),
    fmtRatio(mq),
    '≤ 0.65×',
    verdict(mq, (x) => x <= 0.65),
  ])
  const ld = results.load || {}
  rows.push([
    'load time (ms; reference: undici + lru-cache + cockatiel)',
    fmt(med(ld.native, 'loadMs')),
    fmt(med(ld.reference, 'loadMs')),
    fmtRatio(ratio(med(ld.native, 'loadMs'), med(ld.reference, 'loadMs'))),
    '—',
    'info',
  ])
  rows.push([
    'RSS added by loading (MiB)',
    fmt(mib(med(ld.native, 'rssDelta')), 2),
    fmt(mib(med(ld.reference, 'rssDelta')), 2),
    fmtRatio(ratio(med(ld.native, 'rssDelta'), med(ld.reference, 'rssDelta'))),
    '—',
    'info',
  ])
  return rows
}

function loadLine(r, what) {
  if (!r) return `${what}: n/a`
  return `${what}: ${fmt(r.rate, 0)}/s, server CPU ${pct(r.serverCpuUtil)} of a core = ${fmt(r.serverCpuUsPerMint, 1)} µs per mint, load process at ${pct(r.loadgenCpuUtil)}`
}

const mib = (b) => (b === undefined ? undefined : b / 1048576)
const fmtRatio = (q) => (q === undefined ? 'n/a' : `${q.toFixed(2)}×`)

function markdownTable(header, rows) {
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`]
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`)
  return lines.join('\n')
}

function detailRows(results) {
  const rows = []
  for (const op of OPS) {
    for (const c of levels(op)) {
      for (const impl of ['native', 'reference']) {
        for (const [i, r] of results[op][c][impl].entries()) {
          if (!ok(r)) {
            rows.push([op, c, impl, i + 1, 'failed', '', '', '', '', '', '', ''])
            continue
          }
          rows.push([
            op,
            c,
            impl,
            i + 1,
            fmt(r.throughput, 0),
            fmt(r.cpuUsPerCall),
            fmt(r.loopUsPerCall),
            pct(r.cpuUtil),
            fmt(r.p50Us, 0),
            fmt(r.p99Us, 0),
            r.failures,
            fmt(r.load1, 2),
          ])
        }
      }
    }
  }
  return rows
}

function machine() {
  const cpuinfo = safe(() => fs.readFileSync('/proc/cpuinfo', 'utf8'), '')
  const model = (/^model name\s*:\s*(.+)$/m.exec(cpuinfo) || [])[1] || (os.cpus()[0] || {}).model || 'unknown'
  const nproc = safe(
    () => execFileSync('nproc', { encoding: 'utf8', timeout: 5000 }).trim(),
    String(os.availableParallelism()),
  )
  const commit = safe(
    () => execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', timeout: 5000 }).trim(),
    'unknown',
  )
  const dirty = safe(
    () =>
      execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 5000,
      }).trim() !== '',
    false,
  )
  return {
    nproc,
    model,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    commit: dirty ? `${commit} (with uncommitted changes)` : commit,
    loadavg: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  }
}

function safe(fn, fallback) {
  try {
    return fn()
  } catch {
    return fallback
  }
}

function report(results, env) {
  const rows = buildRows(results)
  const emu = results.emulator || {}
  const fixed = results.fixed
  const ff = results.failFast || {}
  const ch = results.cacheHit || {}
  const f = results.format || {}
  const cc = results.compatCache || {}
  const lines = []
  lines.push('# Benchmark results')
  lines.push('')
  lines.push('Generated by `npm run bench` (`bench/run.js`); do not edit above "Analysis" by hand.')
  lines.push('')
  lines.push(
    `- machine: ${env.nproc} CPUs, ${env.model}, ${env.memory} RAM; load average at the start ${env.loadavgStart}, at the end ${env.loadavg}`,
  )
  lines.push(
    `- Node ${env.node}, commit ${env.commit}, addon built with the \`${env.profile}\` cargo profile, ${new Date().toISOString().slice(0, 19)}Z`,
  )
  lines.push(
    `- layout: ${PIN ? `server pinned to CPU ${SERVER_CPU}, each load/client process pinned to CPU ${CLIENT_CPU} (taskset)` : 'no CPU pinning'}; ` +
      `${MODE.rounds} rounds, native and reference alternating, ${MODE.warmupMs} ms warm-up + ${MODE.durationMs} ms measured per mint or validate run; medians over the rounds`,
  )
  lines.push(
    `- server: the emulator CLI, pinned to one core, sustained ${fmt(emu.rate, 0)} mints/s ` +
      `(raw keep-alive sockets from bench/loadgen.js, every request with its own Idempotency-Key: ${loadLine(emu.pipelined, '16 connections × 16 pipelined')}; ` +
      `${loadLine(emu.clientLike, '64 connections × 1 in flight')}) → ` +
      `${emu.rate >= EMULATOR_BAR ? `meets the ${fmt(EMULATOR_BAR, 0)}/s bar` : `**below the ${fmt(EMULATOR_BAR, 0)}/s bar**`}; client comparisons ran against the ${results.serverUsed}` +
      (fixed ? ` (fixed-answer server: ${fmt(fixed.rate, 0)} req/s)` : ''),
  )
  lines.push('')
  lines.push(
    markdownTable(
      ['case', 'native', 'JS reference', 'native / ref', 'bar (ARCHITECTURE.md "Performance bars")', 'verdict'],
      rows,
    ),
  )
  lines.push('')
  lines.push('Notes on the cases:')
  lines.push(
    '- total CPU per call is `process.cpuUsage()` (user + system, all threads) over the measured window divided by the calls completed in it; ' +
      "event-loop CPU per call is the JS thread's own CPU time over the same window (`/proc/self/task/<pid>/schedstat`, or `process.threadCpuUsage()` where Node has it), " +
      'divided the same way. The reference is undici `Pool` + lru-cache + cockatiel (`bench/reference-client.js`); every ratio is native / that reference. ' +
      "`validate` runs call `validate()` with both clients' caches off, so each call is a request.",
  )
  lines.push(
    `- validateFormat: the package's \`client.validateFormat(id)\` vs \`RE.test(id)\` inline, same process, same six inputs, measured batch by batch in turn (medians); ` +
      `the exported function alone: ${fmt(f.functionNs)} ns; a synchronous call into the addon with the same string (\`isValidFormatNative\`): ${fmt(f.crossingNs)} ns.`,
  )
  lines.push(
    `- fail-fast and validate() cache hit: the best of 5 short slices (this VM has slow spells lasting seconds; the median slice, fail-fast: ` +
      `native ${fmt(ff.native && ff.native.seqMedianNs, 0)} ns, reference ${fmt(ff.reference && ff.reference.seqMedianNs, 0)} ns; cache hit: ` +
      `native ${fmt(ch.native && ch.native.seqMedianNs, 0)} ns, reference ${fmt(ch.reference && ch.reference.seqMedianNs, 0)} ns).`,
  )
  lines.push(
    `- fail-fast: awaited one at a time (what a caller waits); with 256 in flight the cost per call is ` +
      `native ${fmt(ff.native && ff.native.parNs, 0)} ns (CPU ${fmt(ff.native && ff.native.parCpuNs, 0)} ns), ` +
      `reference ${fmt(ff.reference && ff.reference.parNs, 0)} ns (CPU ${fmt(ff.reference && ff.reference.parCpuNs, 0)} ns). ` +
      `The reference builds an Error with a stack trace per rejection; the native client's fail-fast error has no stack frames (see README, Errors).`,
  )
  lines.push(
    `- validate() cache hit: the reference is lru-cache behind an async \`validate()\` (${fmt(ch.reference && ch.reference.seqNs, 0)} ns awaited one at a time, ` +
      `${fmt(ch.reference && ch.reference.parNs, 0)} ns with 256 in flight).`,
  )
  lines.push(
    `- ChittyIDCache.get() hit: 1,024 cached ids read in turn (each hit moves an entry to the young end); the bar is \`RE.test(id)\` on the same ids ` +
      `in the same process: ${fmt(cc.regexNs)} ns. \`node bench/compat-cache.mjs\` adds misses, evicting sets and equal-but-distinct id strings.`,
  )
  lines.push(
    `- memory: a fresh process per implementation fills a cache sized for all entries with distinct 22-character ids and forces GC. ` +
      `lru-cache is filled with \`set()\` in a loop; the client's native cache is filled the way it fills in production, through \`validate()\` ` +
      `against an in-process emulator (128 in flight). That fill's garbage grows V8's reserved heap by ` +
      `${fmt(results.memory && results.memory.native && results.memory.native.rssBytesPerEntry - results.memory.native.nativeBytesPerEntry)} bytes per entry ` +
      `although the JS heap in use is back to its baseline (heap + external delta per entry: native ${fmt(results.memory && results.memory.native && results.memory.native.heapBytesPerEntry)}, ` +
      `lru-cache ${fmt(results.memory && results.memory.reference && results.memory.reference.heapBytesPerEntry)}); the verdict row subtracts that growth. ` +
      `The pure-JS compat \`ChittyIDCache\`, for comparison: ${fmt(results.memory && results.memory.compat && results.memory.compat.rssBytesPerEntry)} bytes per entry.`,
  )
  lines.push(
    `- a synchronous call into the addon with one string argument (\`parseChittyId\`, which also allocates its result object): ${fmt(results.syncCall && results.syncCall.parseNs)} ns.`,
  )
  lines.push('')
  lines.push('### Every run')
  lines.push('')
  lines.push(
    markdownTable(
      [
        'call',
        'c',
        'client',
        'round',
        'calls/s',
        'CPU µs/call',
        'event-loop µs/call',
        'CPU util',
        'p50 µs',
        'p99 µs',
        'failures',
        'load (1 min)',
      ],
      detailRows(results),
    ),
  )
  lines.push('')
  return lines.join('\n')
}

function withAnalysis(generated) {
  const previous = safe(() => fs.readFileSync(RESULTS_FILE, 'utf8'), '')
  const at = previous.indexOf('\n## Analysis')
  const analysis = at >= 0 ? previous.slice(at + 1) : '## Analysis\n\n_(not written yet)_\n'
  return `${generated}\n${analysis}`
}

// ---------------------------------------------------------------------------------------

module.exports = { fmt, pct, med, ok, report, machine, withAnalysis }
