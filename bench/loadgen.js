'use strict'

// Load process for measuring a server's mint capacity: raw keep-alive sockets, each with
// `depth` pipelined POST /mint requests in flight, every request with its own
// Idempotency-Key (as the clients send). Counts complete responses by reading status line,
// Content-Length and body; reads the server process' CPU from /proc over the same window.
//
//   node bench/loadgen.js --url http://127.0.0.1:PORT --conns 16 --depth 16 \
//        --warmup-ms 300 --duration-ms 2000 [--server-pid PID] [--path /v1/mint]

const net = require('node:net')
const { parseFlags, emitResult, watchdog, cpuMicros, processCpuMicros, splitHttpMessages } = require('./lib/common.js')

const flags = parseFlags(process.argv.slice(2))
const url = new URL(flags.url)
const conns = Number(flags.conns || 16)
const depth = Number(flags.depth || 16)
const warmupMs = Number(flags['warmup-ms'] || 300)
const durationMs = Number(flags['duration-ms'] || 2000)
const serverPid = flags['server-pid'] ? Number(flags['server-pid']) : undefined
const reqPath = flags.path || '/v1/mint'
watchdog(warmupMs + durationMs + 15000, 'loadgen')

const BODY = '{"entity":"PEO"}'
const HEAD = `POST ${reqPath} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: ${BODY.length}\r\nIdempotency-Key: lg${process.pid.toString(36)}-`
let keySeq = 0
function requests(n) {
  let s = ''
  for (let i = 0; i < n; i++) s += `${HEAD}${(keySeq++).toString(36)}\r\n\r\n${BODY}`
  return s
}

let phase = 'warmup' // → 'measure' → 'drain'
let okCount = 0
let badCount = 0
let measuredOk = 0
let errors = 0

function onResponse(ok) {
  if (ok) okCount++
  else badCount++
  if (phase === 'measure' && ok) measuredOk++
}

function connect() {
  return new Promise((resolve) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port), noDelay: true })
    let pending = Buffer.alloc(0)
    let inFlight = 0
    socket.on('connect', () => {
      inFlight = depth
      socket.write(requests(depth))
      resolve(socket)
    })
    socket.on('data', (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk
      let done = 0
      pending = splitHttpMessages(pending, (head) => {
        done++
        onResponse(head.charCodeAt(9) === 50) // status 2xx
      })
      inFlight -= done
      if (phase !== 'drain' && done > 0) {
        inFlight += done
        socket.write(requests(done))
      } else if (phase === 'drain' && inFlight === 0) {
        socket.end()
      }
    })
    socket.on('error', () => {
      errors++
      resolve(socket)
    })
  })
}

async function main() {
  const sockets = await Promise.all(Array.from({ length: conns }, connect))
  await new Promise((r) => setTimeout(r, warmupMs))
  phase = 'measure'
  const serverCpu0 = serverPid ? processCpuMicros(serverPid) : undefined
  const cpu0 = cpuMicros()
  const t0 = process.hrtime.bigint()
  await new Promise((r) => setTimeout(r, durationMs))
  const elapsedS = Number(process.hrtime.bigint() - t0) / 1e9
  const count = measuredOk
  const cpu1 = cpuMicros()
  const serverCpu1 = serverPid ? processCpuMicros(serverPid) : undefined
  phase = 'drain'
  await new Promise((r) => setTimeout(r, 200))
  for (const s of sockets) s.destroy()
  const serverCpuUs = serverCpu0 !== undefined && serverCpu1 !== undefined ? serverCpu1 - serverCpu0 : undefined
  emitResult({
    rate: count / elapsedS,
    count,
    elapsedS,
    bad: badCount,
    errors,
    loadgenCpuUtil: (cpu1 - cpu0) / 1e6 / elapsedS,
    serverCpuUtil: serverCpuUs === undefined ? undefined : serverCpuUs / 1e6 / elapsedS,
    serverCpuUsPerMint: serverCpuUs === undefined || count === 0 ? undefined : serverCpuUs / count,
    conns,
    depth,
    total: okCount,
  })
  process.exit(0)
}

main().catch((err) => {
  console.error(`loadgen: ${err.stack || err}`)
  process.exit(1)
})
