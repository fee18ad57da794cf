'use strict'

// Small helpers shared by the bench processes: arguments, timing, summary statistics and
// the child-process plumbing. Nothing here loops without a bound.

const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.resolve(__dirname, '..', '..')

/** A well-formed ChittyID for tests (`VV-G-LLL-SSSS-T-YM-C-X`), distinct per `n` < 10^8. */
function sampleId(n) {
  const seq = String(n % 10000).padStart(4, '0')
  const hi = Math.floor(n / 10000)
  const letter = (k) => String.fromCharCode(65 + (Math.floor(k) % 26))
  return `C${letter(hi)}-${letter(hi / 26)}-${letter(hi / 676)}HI-${seq}-P-24-A-${letter(hi / 17576)}`
}

function median(values) {
  const xs = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b)
  if (xs.length === 0) return undefined
  const mid = xs.length >> 1
  return xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2
}

/** Nearest-rank percentile of the first `count` values of a typed array (sorted in place). */
function percentileSorted(sorted, count, p) {
  if (count === 0) return undefined
  const rank = Math.min(count - 1, Math.max(0, Math.ceil((p / 100) * count) - 1))
  return sorted[rank]
}

function cpuMicros() {
  const u = process.cpuUsage()
  return u.user + u.system
}

/**
 * CPU time of the calling JS thread alone (the event loop), in microseconds: Node's own
 * `process.threadCpuUsage()` where it exists, else the thread's entry in /proc
 * (`/proc/self/task/<tid>/schedstat`, nanoseconds; `.../stat`, clock ticks, where schedstat is
 * absent; the main thread's tid is the pid). Undefined where neither exists.
 */
function threadCpuMicros() {
  if (typeof process.threadCpuUsage === 'function') {
    const u = process.threadCpuUsage()
    return u.user + u.system
  }
  if (threadStatSource === undefined) threadStatSource = pickThreadStatSource()
  return threadStatSource ? threadStatSource() : undefined
}

/**
 * Context switches of every thread of this process so far (voluntary + involuntary, from
 * `/proc/self/task/<tid>/status`); undefined where that file does not exist. Threads that ended
 * are not counted, so read it while the threads measured are alive.
 */
function contextSwitches() {
  try {
    let total = 0
    for (const tid of fs.readdirSync('/proc/self/task')) {
      const status = fs.readFileSync(`/proc/self/task/${tid}/status`, 'latin1')
      for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)) total += Number(m[1])
    }
    return total
  } catch {
    return undefined
  }
}

let threadStatSource
function pickThreadStatSource() {
  const { threadId } = require('node:worker_threads')
  if (threadId !== 0) return null // a worker thread's tid is not the pid
  const base = `/proc/self/task/${process.pid}`
  const fromSchedstat = () => Number(fs.readFileSync(`${base}/schedstat`, 'latin1').split(' ')[0]) / 1000
  const fromStat = () => {
    const stat = fs.readFileSync(`${base}/stat`, 'latin1')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicksPerSecond()
  }
  for (const source of [fromSchedstat, fromStat]) {
    try {
      if (Number.isFinite(source())) return source
    } catch {}
  }
  return null
}

function nowNs() {
  return process.hrtime.bigint()
}

/** Writes one JSON line to stdout synchronously, so it survives a following process.exit. */
function emitResult(result) {
  fs.writeSync(1, JSON.stringify(result) + '\n')
}

/** Kills this process if it is still running after `ms` (the timer does not keep it alive). */
function watchdog(ms, what) {
  setTimeout(() => {
    fs.writeSync(2, `${what}: watchdog fired after ${ms} ms\n`)
    process.exit(3)
  }, ms).unref()
}

function hasTaskset() {
  try {
    return spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore', timeout: 5000 }).status === 0
  } catch {
    return false
  }
}

/** `[cmd, args]` to run `node ...flags script ...args`, pinned to `cpu` when asked. */
function nodeCommand(script, args, cpu, pin, nodeFlags = []) {
  const nodeArgs = [...nodeFlags, script, ...args]
  if (pin && cpu !== undefined && cpu !== null) return ['taskset', ['-c', String(cpu), process.execPath, ...nodeArgs]]
  return [process.execPath, nodeArgs]
}

/**
 * Runs a node script in a child process and resolves with its last JSON stdout line.
 * The child is killed after `timeoutMs`; stderr is passed through.
 */
function runJsonChild(script, args, { cpu, pin, timeoutMs, nodeFlags = [] }) {
  const [cmd, cmdArgs] = nodeCommand(script, args, cpu, pin, nodeFlags)
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, cmdArgs, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk) => {
      if (out.length < 1 << 20) out += chunk
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const lines = out.trim().split('\n').filter(Boolean)
      const last = lines[lines.length - 1]
      if (code !== 0 || !last) {
        reject(new Error(`${path.basename(script)} ${args.join(' ')} exited with ${signal || code}`))
        return
      }
      try {
        resolve(JSON.parse(last))
      } catch (err) {
        reject(new Error(`${path.basename(script)} printed no JSON result: ${last.slice(0, 200)}`))
      }
    })
  })
}

/**
 * Starts a long-running server child that prints a line containing `http://HOST:PORT`.
 * Resolves with { url, pid, stop() }.
 */
function startServer(script, args, { cpu, pin, startTimeoutMs = 15000 }) {
  const [cmd, cmdArgs] = nodeCommand(script, args, cpu, pin)
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, cmdArgs, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    let settled = false
    const fail = (err) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(err)
    }
    const timer = setTimeout(
      () => fail(new Error(`${path.basename(script)} did not start in ${startTimeoutMs} ms`)),
      startTimeoutMs,
    )
    child.on('error', fail)
    child.on('exit', (code, signal) => fail(new Error(`${path.basename(script)} exited early with ${signal || code}`)))
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk) => {
      if (settled) return
      out += chunk
      const m = /https?:\/\/[0-9.]+:\d+/.exec(out)
      if (!m) return
      settled = true
      clearTimeout(timer)
      child.removeAllListeners('exit')
      const stop = () =>
        new Promise((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done()
          const killer = setTimeout(() => child.kill('SIGKILL'), 3000)
          child.once('exit', () => {
            clearTimeout(killer)
            done()
          })
          child.kill('SIGTERM')
        })
      resolve({ url: m[0], pid: child.pid, stop })
    })
  })
}

/** utime+stime of a process in microseconds, from /proc (undefined where there is no /proc). */
function processCpuMicros(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    return (ticks * 1e6) / clockTicksPerSecond()
  } catch {
    return undefined
  }
}

let ticksCache
function clockTicksPerSecond() {
  if (ticksCache === undefined) {
    try {
      ticksCache = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 }).stdout.trim()) || 100
    } catch {
      ticksCache = 100
    }
  }
  return ticksCache
}

function parseFlags(argv) {
  const flags = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith('--')) continue
    const eq = a.indexOf('=')
    if (eq > 0) flags[a.slice(2, eq)] = a.slice(eq + 1)
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) flags[a.slice(2)] = argv[++i]
    else flags[a.slice(2)] = true
  }
  return flags
}

const CRLFCRLF = Buffer.from('\r\n\r\n')

/**
 * Calls `onMessage(head)` for every complete HTTP/1.1 message at the start of `buf` (head up to
 * the blank line, latin1; body by Content-Length) and returns what is left after them.
 */
function splitHttpMessages(buf, onMessage) {
  let offset = 0
  for (let guard = 0; guard < 100000; guard++) {
    const end = buf.indexOf(CRLFCRLF, offset)
    if (end < 0) break
    const head = buf.latin1Slice(offset, end)
    const m = /content-length:\s*(\d+)/i.exec(head)
    const total = end + 4 + (m ? Number(m[1]) : 0)
    if (total > buf.length) break
    onMessage(head)
    offset = total
  }
  return offset === 0 ? buf : buf.subarray(offset)
}

module.exports = {
  ROOT,
  splitHttpMessages,
  sampleId,
  median,
  percentileSorted,
  cpuMicros,
  threadCpuMicros,
  contextSwitches,
  nowNs,
  emitResult,
  watchdog,
  hasTaskset,
  runJsonChild,
  startServer,
  processCpuMicros,
  clockTicksPerSecond,
  parseFlags,
}
