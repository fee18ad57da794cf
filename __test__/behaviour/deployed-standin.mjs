// A small stand-in for the deployed ChittyID service's wire (docs/OPERATIONS.md "Which service
// this talks to"), for the behaviour suite until the emulator's deployed profile lands: `POST /v1/mint`
// reading `entityType` and answering `{ success, chittyId, components }` with
// VV-G-LLL-SSSS-T-YYMM-C-XX ids (ISO 7064 MOD 97-10 check pair, computed here), 200
// placeholders under `fault`, `POST /api/validate`, `GET /health` and `GET /api/health` at the origin, no batch route,
// 404 `{ success: false, error: "NOT_FOUND" }` for anything else.
import http from 'node:http'

const TYPE_LETTER = {
  person: 'P',
  place: 'L',
  thing: 'T',
  event: 'E',
  authority: 'A',
  P: 'P',
  L: 'L',
  T: 'T',
  E: 'E',
  A: 'A',
}

/** ISO 7064 MOD 97-10 over the fields without dashes, letters as A=10 ... Z=35: two digits. */
export function checkPair(body) {
  const digits = [...body].map((ch) => (/[0-9]/.test(ch) ? ch : String(ch.charCodeAt(0) - 55))).join('')
  // As the service computes it (docs/OPERATIONS.md "Id grammars"): (98 - n mod 97) mod 97, n not
  // multiplied by 100 first.
  const remainder = BigInt(digits) % 97n
  return String((98n - remainder) % 97n).padStart(2, '0')
}

function readJson(req) {
  return new Promise((resolve) => {
    let text = ''
    req.on('data', (c) => (text += c))
    req.on('end', () => {
      try {
        resolve(JSON.parse(text))
      } catch {
        resolve(undefined)
      }
    })
  })
}

export async function startDeployedStandIn() {
  const state = {
    minted: 0,
    issued: new Set(),
    bodies: [],
    requests: { mint: 0, validate: 0, health: 0, batch: 0, notFound: 0 },
    /** `{ errorCode, remaining }`: the next `remaining` mints answer a placeholder with that code. */
    fault: undefined,
    /**
     * `{ remaining, body, mints }`: the next `remaining` mints answer 503 with `body` (an object
     * as JSON, a string as text/plain); with `mints`, after the minting backend minted (its
     * answer lost), as one revision of the service answers `SERVICE_UNAVAILABLE` with an
     * `errorCode` such as `MINT_TIMEOUT` when its backend and then its fallback failed.
     */
    unavailable: undefined,
  }
  const send = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }
  const server = http.createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname
    if (req.method === 'POST' && path === '/v1/mint') {
      state.requests.mint++
      const body = (await readJson(req)) ?? {}
      state.bodies.push(body)
      const down = state.unavailable
      if (down && down.remaining > 0) {
        down.remaining--
        if (down.mints) state.minted++
        if (typeof down.body === 'string') {
          res.writeHead(503, { 'content-type': 'text/plain' })
          return res.end(down.body)
        }
        return send(res, 503, down.body)
      }
      if (state.fault && state.fault.remaining > 0) {
        state.fault.remaining--
        const seq = String(state.requests.mint % 100).padStart(4, '0')
        const core = `03-0-ERR-${seq}-T-2612-0`
        return send(res, 200, {
          success: true,
          fallback: true,
          errorCode: state.fault.errorCode,
          chittyId: `${core}-${checkPair(core.replaceAll('-', ''))}`,
        })
      }
      const letter = TYPE_LETTER[body.entityType]
      if (!letter) return send(res, 400, { success: false, error: 'INVALID_ENTITY_TYPE' })
      state.minted++
      const fields = ['03', '1', 'USA', String(state.minted).padStart(4, '0'), letter, '2612', '3']
      const id = `${fields.join('-')}-${checkPair(fields.join(''))}`
      state.issued.add(id)
      return send(res, 200, { success: true, chittyId: id, components: { version: '03', entityType: letter } })
    }
    if (req.method === 'POST' && path === '/api/validate') {
      state.requests.validate++
      const body = (await readJson(req)) ?? {}
      return send(res, 200, { valid: state.issued.has(body.id) })
    }
    if (req.method === 'GET' && (path === '/health' || path === '/api/health')) {
      state.requests.health++
      return send(res, 200, { status: 'healthy' })
    }
    if (path.endsWith('/mint/batch')) state.requests.batch++
    state.requests.notFound++
    send(res, 404, { success: false, error: 'NOT_FOUND' })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${server.address().port}`
  return Object.assign(state, {
    url: origin,
    serviceUrl: `${origin}/v1`,
    close: () => new Promise((resolve) => server.close(resolve)),
  })
}
