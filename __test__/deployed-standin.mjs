// A stand-in for the ChittyID service as deployed, written from the facts of its public source
// (docs/OPERATIONS.md "Which service this talks to"), independently of the embedded emulator: a second
// reading of the same facts, so the client is not only checked against our own emulator's
// assumptions. Plain node:http; every answer is JSON.
//
// Routes: POST /v1/mint (reads entityType: a word or P/L/T/E/A, default thing), POST
// /api/validate { id }, GET /health and GET /api/health at the origin; everything else is
// 404 { success: false, error: "NOT_FOUND" }. No batch route. It checks no credentials itself
// (`requireKey` puts a check in front, like a gateway would) and ignores Idempotency-Key.
import http from 'node:http'

const WORDS = { person: 'P', place: 'L', thing: 'T', event: 'E', authority: 'A' }
const CODES = { p: 'person', l: 'place', t: 'thing', e: 'event', a: 'authority' }
// The SSSS of each placeholder kind.
export const PLACEHOLDER_SEQ = {
  MINT_UNAVAILABLE: '0001',
  MINT_TIMEOUT: '0002',
  MINT_REJECTED: '0003',
  RATE_LIMITED: '0007',
  INVALID_REQUEST: '0008',
  INTERNAL_ERROR: '0099',
}

/** The service's check pair over the fields without dashes: digits as digits, letters A=10..Z=35. */
export function checkPair(fields) {
  let rem = 0
  for (const ch of fields) {
    if (ch >= '0' && ch <= '9') rem = (rem * 10 + Number(ch)) % 97
    else rem = (rem * 100 + (ch.charCodeAt(0) - 55)) % 97
  }
  return String((98 - rem) % 97).padStart(2, '0')
}

function idOf(g, lll, ssss, t, trust) {
  const yymm = '2612'
  const fields = `03${g}${lll}${ssss}${t}${yymm}${trust}`
  return `03-${g}-${lll}-${ssss}-${t}-${yymm}-${trust}-${checkPair(fields)}`
}

const DEPLOYED = /^(\d{2})-([1-9])-([A-Z]{3})-(\d{4})-([PLTEA])-(\d{4})-([0-5])-(\d{2})$/

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
  })
}

/**
 * Starts the stand-in on 127.0.0.1 (`port`, else any). Settable at any time on the returned
 * object: `fault` (a placeholder errorCode: mints answer 200 with that placeholder), `faultFor`
 * (a function of the mint's body returning such a code or null, instead of `fault`), `requireKey`
 * (401 without `Bearer <key>`, 403 with another key), `echoAuthorization` (mints answer the
 * request's Authorization header as the chittyId). `requests` records method, path and body.
 */
export async function startDeployedStandIn({ port = 0 } = {}) {
  let sequence = 1000
  const state = { fault: null, faultFor: null, requireKey: null, echoAuthorization: false, requests: [] }
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x')
    const raw = await readBody(req)
    state.requests.push({ method: req.method, path: url.pathname, body: raw })
    if (state.requireKey !== null) {
      const auth = req.headers.authorization
      if (auth === undefined) return send(res, 401, { error: 'unauthorized' })
      if (auth !== `Bearer ${state.requireKey}`) return send(res, 403, { error: 'forbidden' })
    }
    if (req.method === 'GET' && (url.pathname === '/health' || url.pathname === '/api/health')) {
      return send(res, 200, { status: 'ok', service: 'stand-in' })
    }
    if (req.method === 'POST' && url.pathname === '/v1/mint') {
      let body = {}
      try {
        body = JSON.parse(raw)
      } catch {}
      const asked = String(body.entityType || body.entity_type || url.searchParams.get('type') || 'thing').toLowerCase()
      const word = CODES[asked] || asked
      const letter = WORDS[word] || 'T'
      if (state.echoAuthorization) return send(res, 200, { success: true, chittyId: req.headers.authorization ?? '' })
      const fault = state.faultFor ? state.faultFor(body) : state.fault
      if (fault) {
        const chittyId = idOf('0', 'ERR', PLACEHOLDER_SEQ[fault] ?? '0099', letter, '0')
        return send(res, 200, { success: true, fallback: true, errorCode: fault, chittyId, mintedBy: 'fallback' })
      }
      sequence += 1
      const chittyId = idOf('1', 'USA', String(sequence).padStart(4, '0'), letter, '3')
      return send(res, 200, {
        success: true,
        chittyId,
        components: { entityType: letter },
        service: 'stand-in',
        mintedBy: 'mint',
      })
    }
    if (req.method === 'POST' && url.pathname === '/api/validate') {
      let id
      try {
        id = JSON.parse(raw).id
      } catch {
        return send(res, 503, { success: false, error: 'SECURITY_ERROR' })
      }
      const parts = typeof id === 'string' ? id.split('-') : []
      if (parts.length === 8 && parts[1] === '0' && parts[2] === 'ERR' && Number(parts[3]) <= 99) {
        return send(res, 200, { success: true, valid: false, isError: true, errorCode: parts[3], canReplace: true })
      }
      const m = typeof id === 'string' ? DEPLOYED.exec(id) : null
      if (!m) return send(res, 200, { success: true, valid: false, error: 'Invalid format' })
      const expected = checkPair(m.slice(1, 8).join(''))
      if (expected !== m[8])
        return send(res, 200, {
          success: true,
          valid: false,
          error: `Invalid checksum: expected ${expected}, got ${m[8]}`,
        })
      return send(res, 200, { success: true, valid: true })
    }
    return send(res, 404, { success: false, error: 'NOT_FOUND', message: `Route not found: ${url.pathname}` })
  })
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${server.address().port}`
  return Object.assign(state, {
    origin,
    /** What a caller configures: v1's default path below the origin. */
    serviceUrl: `${origin}/v1`,
    paths: () => state.requests.map((r) => `${r.method} ${r.path}`),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(resolve)
      }),
  })
}

// ---------------------------------------------------------------------------------------------
// A raw-socket stand-in for the newest public revision of the service's worker (docs/DEPLOYED.md,
// revision bf07a1f5): HTTP/1.1 written by hand over node:net, so nothing of node:http (nor of
// our emulator) shapes the answers. Minting moved to `POST /mint` at the origin; `POST /v1/mint`,
// `GET /generate` and `GET /api/get-chittyid` answer 308 with an absolute `Location` (the source
// names its production origin; this names its own), deprecation headers, no `Content-Type` set
// by the service (its runtime sends a string as text/plain) and a `_deprecation` body. Every JSON
// answer carries `Access-Control-Allow-Origin: *` but the catch-all 503; OPTIONS is the CORS
// preflight. `requests` records method, path, headers (lower-cased names) and body.
import net from 'node:net'

const REASONS = { 200: 'OK', 308: 'Permanent Redirect', 404: 'Not Found', 503: 'Service Unavailable' }

function rawAnswer(socket, status, headers, body = '') {
  const bytes = Buffer.from(body)
  const lines = [`HTTP/1.1 ${status} ${REASONS[status]}`, `content-length: ${bytes.length}`]
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
  socket.write(`${lines.join('\r\n')}\r\n\r\n`)
  socket.write(bytes)
}

/** Splits complete requests off the front of `buffer`: [requests, rest]. Content-Length bodies only. */
function takeRequests(buffer) {
  const requests = []
  for (;;) {
    const end = buffer.indexOf('\r\n\r\n')
    if (end < 0) break
    const [start, ...fields] = buffer.subarray(0, end).toString('latin1').split('\r\n')
    const headers = {}
    for (const field of fields) {
      const colon = field.indexOf(':')
      headers[field.slice(0, colon).trim().toLowerCase()] = field.slice(colon + 1).trim()
    }
    const length = Number(headers['content-length'] ?? 0)
    if (buffer.length < end + 4 + length) break
    const [method, target] = start.split(' ')
    requests.push({ method, target, headers, body: buffer.subarray(end + 4, end + 4 + length).toString('utf8') })
    buffer = buffer.subarray(end + 4 + length)
  }
  return [requests, buffer]
}

/** `POST /api/validate` as every revision answers it (`json` sends the revision's JSON answer). */
function validateAnswer(socket, body, json) {
  let id
  try {
    id = JSON.parse(body).id
  } catch {
    return rawAnswer(
      socket,
      503,
      { 'content-type': 'application/json', 'x-security-error': 'true' },
      '{"success":false,"error":"SECURITY_ERROR"}',
    )
  }
  const m = typeof id === 'string' ? DEPLOYED.exec(id) : null
  if (!m) return json(socket, 200, { success: true, valid: false, error: 'Invalid format' })
  return json(socket, 200, { success: true, valid: checkPair(m.slice(1, 8).join('')) === m[8] })
}

export async function startNewestRevisionStandIn() {
  const state = { requests: [], minted: [] }
  return listenRaw(state, newestRevision(state))
}

/** The newest revision's answers, recorded in `state` (`requests`, `minted`). */
function newestRevision(state) {
  let sequence = 2000
  const cors = { 'access-control-allow-origin': '*' }
  const json = (socket, status, body) =>
    rawAnswer(socket, status, { 'content-type': 'application/json', ...cors }, JSON.stringify(body))
  return recordedUntilMoved(state, (socket, req, url, origin) => {
    const route = `${req.method} ${url.pathname}`
    if (req.method === 'OPTIONS') {
      return rawAnswer(socket, 200, {
        ...cors,
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': 'Content-Type, Authorization',
      })
    }
    if (route === 'GET /health') return json(socket, 200, { status: 'ok', service: 'chittyid', version: '2.0.0' })
    if (route === 'GET /api/health')
      return json(socket, 200, { status: 'healthy', service: 'chittyid', version: '2.0.0' })
    if (route === 'POST /mint') {
      let body = {}
      try {
        body = JSON.parse(req.body)
      } catch {}
      const explicit = body.entityType || body.entity_type || url.searchParams.get('entity_type')
      const asked = String(explicit || url.searchParams.get('type') || url.searchParams.get('for') || 'thing')
      const word = CODES[asked.toLowerCase()] || asked.toLowerCase()
      sequence += 1
      const chittyId = idOf('1', 'USA', String(sequence).padStart(4, '0'), WORDS[word] || 'T', '3')
      state.minted.push(chittyId)
      return json(socket, 200, { success: true, chittyId, service: 'id.chitty.cc', mintedBy: 'mint.chitty.cc' })
    }
    if (['POST /v1/mint', 'GET /generate', 'GET /api/get-chittyid'].includes(route)) {
      const canonical = `${origin}/mint`
      return rawAnswer(
        socket,
        308,
        {
          location: canonical,
          deprecation: 'true',
          sunset: '2027-05-27',
          link: `<${canonical}>; rel="successor-version"`,
          warning: '299 - "Deprecated endpoint"',
          'content-type': 'text/plain;charset=UTF-8',
          ...cors,
        },
        JSON.stringify({ _deprecation: { canonical, sunset: '2027-05-27' } }),
      )
    }
    if (route === 'POST /api/validate') return validateAnswer(socket, req.body, json)
    return json(socket, 404, { success: false, error: 'NOT_FOUND', message: `Route not found: ${url.pathname}` })
  })
}

/**
 * A revision's `answer(socket, req, url, origin)` with every request recorded in
 * `state.requests`, until `state.moveToNewest()` redeploys the origin as the newest revision.
 */
function recordedUntilMoved(state, answer) {
  let newest
  state.moveToNewest = () => {
    newest = newestRevision(state)
  }
  return (socket, req, origin) => {
    if (newest) return newest(socket, req, origin)
    const url = new URL(req.target, origin)
    const { method, headers, body } = req
    state.requests.push({ method, path: url.pathname, query: url.search, headers, body })
    return answer(socket, req, url, origin)
  }
}

/** Serves `serve(socket, req, origin)` on a raw socket server at 127.0.0.1; `state` gains origin, serviceUrl, paths, close. */
async function listenRaw(state, serve) {
  const sockets = new Set()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let pending = Buffer.alloc(0)
    socket.on('data', (chunk) => {
      const [requests, rest] = takeRequests(Buffer.concat([pending, chunk]))
      pending = rest
      for (const req of requests) serve(socket, req, origin)
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${server.address().port}`
  return Object.assign(state, {
    origin,
    serviceUrl: `${origin}/v1`,
    paths: () => state.requests.map((r) => `${r.method} ${r.path}`),
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(resolve)
      }),
  })
}

// ---------------------------------------------------------------------------------------------
// Raw-socket stand-ins for the older public revisions of the worker (docs/DEPLOYED.md "Revisions
// read"), route table and mint handler as each revision's source has them:
//
// - R1, R2, R4: `GET /api/get-chittyid` is the only mint route; `GET /api/health`, `POST
//   /api/validate`, `GET /api/spec`; no `/v1/mint`, `/mint`, `/health`, `/generate`, no preflight.
// - R3: adds `POST /v1/mint`, `GET /generate`, `GET /health` and the `OPTIONS` preflight.
//
// Every one reads the type from the query only (`type`, else `for`, else thing: F18) and a
// request body never; region, jurisdiction and trust from the query too (F21). What the minting
// backend answers is set on the returned object: `backend` 'ok' (mints), a status number (its
// refusal) or 'throws' (unreachable, or a 2xx whose body did not parse: `backendMints` says it
// minted first). R1 passes the backend's status and JSON through and answers a throw with 503
// `MINT_SERVICE_ERROR` (F44); R2 and R3 answer with a 200 placeholder (F23, F24); R4 asks a
// fallback service for the placeholder and, with `fallbackDown`, answers 503
// `SERVICE_UNAVAILABLE` (F26). `requests` records method, path, query, headers and body;
// `minted` every id the backend minted. `moveToNewest()` redeploys it as the newest revision
// on the same origin (its answers recorded in the same `requests` and `minted`).
const MINT_ROUTES = {
  R1: ['GET /api/get-chittyid'],
  R2: ['GET /api/get-chittyid'],
  R3: ['GET /api/get-chittyid', 'POST /v1/mint', 'GET /generate'],
  R4: ['GET /api/get-chittyid'],
}

export async function startOlderRevisionStandIn(revision) {
  if (!MINT_ROUTES[revision]) throw new Error(`no stand-in for ${revision}`)
  let sequence = 3000
  const state = { revision, backend: 'ok', backendMints: false, fallbackDown: false, requests: [], minted: [] }
  const cors = { 'access-control-allow-origin': '*' }
  const json = (socket, status, body) =>
    rawAnswer(socket, status, { 'content-type': 'application/json', ...cors }, JSON.stringify(body))
  const service = 'chittyid-mothership'
  const placeholder = (socket, errorCode, word) => {
    if (revision === 'R4' && state.fallbackDown)
      return json(socket, 503, {
        success: false,
        error: 'SERVICE_UNAVAILABLE',
        message: 'Both ChittyMint and fallback service unavailable',
        errorCode,
        service: 'id.chitty.cc',
      })
    const chittyId = idOf('0', 'ERR', PLACEHOLDER_SEQ[errorCode] ?? '0099', WORDS[word] || 'T', '0')
    return json(socket, 200, { success: true, chittyId, fallback: true, errorCode, mintedBy: 'fallback' })
  }
  const mint = (socket, url) => {
    const word = String(url.searchParams.get('type') || url.searchParams.get('for') || 'thing').toLowerCase()
    const minted = () => {
      sequence += 1
      const chittyId = idOf('1', 'USA', String(sequence).padStart(4, '0'), WORDS[word] || 'T', '3')
      state.minted.push(chittyId)
      return chittyId
    }
    if (state.backend === 'throws') {
      if (state.backendMints) minted()
      if (revision === 'R1')
        return json(socket, 503, {
          success: false,
          error: 'MINT_SERVICE_ERROR',
          message: 'Failed to reach ChittyMint: Unexpected token',
          fallback: 'ChittyMint service unavailable',
        })
      return placeholder(socket, 'MINT_UNAVAILABLE', word)
    }
    if (typeof state.backend === 'number') {
      if (revision === 'R1') return json(socket, state.backend, { success: false, error: 'refused by the backend' })
      const code = state.backend === 429 ? 'RATE_LIMITED' : state.backend === 400 ? 'INVALID_REQUEST' : 'MINT_REJECTED'
      return placeholder(socket, code, word)
    }
    return json(socket, 200, { success: true, chittyId: minted(), service: 'id.chitty.cc', mintedBy: 'mint.chitty.cc' })
  }
  const serve = recordedUntilMoved(state, (socket, req, url) => {
    const route = `${req.method} ${url.pathname}`
    if (revision === 'R3' && req.method === 'OPTIONS')
      return rawAnswer(socket, 200, {
        ...cors,
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': 'Content-Type, Authorization',
      })
    if (MINT_ROUTES[revision].includes(route)) return mint(socket, url)
    if (route === 'GET /api/health') return json(socket, 200, { status: 'healthy', version: '2.0.0', service })
    if (revision === 'R3' && route === 'GET /health')
      return json(socket, 200, { status: 'ok', service, version: '2.0.0' })
    if (route === 'POST /api/validate') return validateAnswer(socket, req.body, json)
    return json(socket, 404, {
      success: false,
      error: 'NOT_FOUND',
      message: `Route not found: ${url.pathname}`,
      service,
    })
  })
  return listenRaw(state, serve)
}
