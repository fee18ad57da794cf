#!/usr/bin/env node
// Runs the local ChittyID emulator until SIGINT/SIGTERM.
'use strict'

const { parseArgs } = require('node:util')
const { ChittyIDEmulator } = require('..')

const usage = `usage: chittyid-emulator [--profile v1|deployed] [--port 8787] [--host 127.0.0.1]
                         [--token SECRET] [--ignore-idempotency-keys] [--rate-limit N]
                         [--placeholder CODE] [--tls [--ca-out FILE]] [--redirect 308] [--gzip]

Profile v1 (default) serves GET /health, POST /mint, POST /mint/batch and GET /validate/:id
under /, /v1 and /api/v1. Profile deployed serves the wire of the service deployed at
id.chitty.cc: POST /v1/mint (entityType), POST /api/validate ({ "id" }), GET /health; no batch
route, no auth check, Idempotency-Key ignored.

  --profile NAME             v1 (default) or deployed
  --placeholder CODE         deployed profile: every mint answers a placeholder id with this error
                             code (MINT_UNAVAILABLE, MINT_TIMEOUT, RATE_LIMITED, ...)

  --ignore-idempotency-keys  mint as if Idempotency-Key did not exist, as the public service does
  --rate-limit N             at most N requests/s (fractions allowed: 0.1667 is 10 a minute); the
                             rest get 429 {"error":"REQUEST_BLOCKED","reason":"RATE_LIMIT_EXCEEDED"}
                             without Retry-After, as the public service answers
  --tls                      HTTPS (HTTP/2 and HTTP/1.1) with a CA made at start; --ca-out writes its PEM
  --redirect N               answer /v1/... with status N (301, 302, 303, 307, 308) pointing at /api/v1/...
  --gzip                     gzip answers when the request accepts it`

async function main() {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string' },
      placeholder: { type: 'string' },
      port: { type: 'string', default: '8787' },
      host: { type: 'string' }, // absent: the emulator's own default
      token: { type: 'string' },
      'ignore-idempotency-keys': { type: 'boolean' },
      'rate-limit': { type: 'string' },
      tls: { type: 'boolean' },
      'ca-out': { type: 'string' },
      redirect: { type: 'string' },
      gzip: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    console.log(usage)
    return
  }
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be 0..65535, got ${values.port}`)
  const rateLimit = values['rate-limit'] === undefined ? undefined : Number(values['rate-limit'])
  if (rateLimit !== undefined && !(Number.isFinite(rateLimit) && rateLimit >= 0)) {
    throw new Error(`--rate-limit must be a number of requests per second >= 0, got ${values['rate-limit']}`)
  }
  const ignoreIdempotencyKeys = values['ignore-idempotency-keys'] === true
  const redirectStatus = values.redirect === undefined ? undefined : Number(values.redirect)
  const emulator = await ChittyIDEmulator.start({
    profile: values.profile,
    port,
    host: values.host,
    token: values.token,
    ignoreIdempotencyKeys,
    tls: values.tls,
    redirectStatus,
    compress: values.gzip,
  })
  if (values['ca-out']) require('node:fs').writeFileSync(values['ca-out'], emulator.ca)
  if (rateLimit !== undefined || values.placeholder !== undefined) {
    emulator.setFault({ rateLimitPerSecond: rateLimit, placeholder: values.placeholder })
  }
  const modes = [
    ignoreIdempotencyKeys && 'ignoring Idempotency-Key',
    rateLimit !== undefined && `at most ${rateLimit} requests/s`,
    values.placeholder !== undefined && `placeholders (${values.placeholder}) instead of mints`,
  ].filter(Boolean)
  const where =
    emulator.profile === 'deployed'
      ? ' (profile deployed: POST /mint, POST /api/validate, GET /health)'
      : ' (also /v1 and /api/v1)'
  console.log(`chittyid-emulator listening on ${emulator.url}${where}${modes.length ? `; ${modes.join(', ')}` : ''}`)
  // The server runs on a native thread; this timer is what keeps the process alive.
  const keepAlive = setInterval(() => {}, 1 << 30)
  const stop = async () => {
    clearInterval(keepAlive)
    await emulator.close()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch((err) => {
  console.error(`chittyid-emulator: ${err.message}`)
  process.exitCode = 1
})
