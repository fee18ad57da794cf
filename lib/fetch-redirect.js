'use strict'

// Redirects over `fetch`, followed by the client itself with the native transport's rules
// (src/transport/redirect.rs; docs/ARCHITECTURE.md "Fetch transport"), for the native client's
// fetch transport (lib/fetch-transport.js) and the portable build (lib/portable/transport.js).
// `fetch`'s own redirect mode would follow https → http, sending a mint's body in clear text
// (it drops only Authorization); here every request goes out with `redirect: "manual"` and a
// 3xx is followed, or refused, before anything is sent to its target. Pure JS; its one import is
// the options table (plain data).

/**
 * At most this many redirects are followed: `fixed.maxRedirects` of the options table, which
 * the native transport reads too (src/transport/redirect.rs `MAX_REDIRECTS`).
 */
const MAX_REDIRECTS = require('./options.json').fixed.maxRedirects
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])
/** Headers that describe a body, dropped with it when a redirect turns the request into a GET. */
const BODY_HEADERS = ['content-type', 'content-encoding', 'content-language', 'content-location']
/**
 * Credentials, dropped on a hop to another origin: the ones the native transport's HTTP client
 * drops on a hop to another host (a `cookie` from the `headers` option included).
 */
const SENSITIVE_HEADERS = ['authorization', 'cookie', 'cookie2', 'proxy-authorization', 'www-authenticate']

/** A loopback host, as src/transport/config.rs `is_loopback_host` reads one (`URL#hostname`). */
function isLoopbackHost(hostname) {
  const host = String(hostname).toLowerCase()
  if (host === 'localhost' || host.endsWith('.localhost') || host === '[::1]') return true
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

function refused(code, message) {
  return Object.assign(new Error(message), { code })
}

/**
 * Why a redirect from `from` to `to` (URLs) is not followed, as an Error with the native code,
 * or undefined when it may be followed.
 */
function refusalOf(from, to, allowInsecure) {
  if (to.protocol === 'https:') return undefined
  if (to.protocol !== 'http:')
    return refused('ERR_INSECURE_REDIRECT', `refused a redirect to a ${to.protocol.slice(0, -1)}: URL`)
  if (from.protocol === 'https:')
    return refused('ERR_INSECURE_REDIRECT', `refused a redirect from https to plain http (${to.origin})`)
  if (!allowInsecure && !isLoopbackHost(to.hostname))
    return refused('ERR_INSECURE_REDIRECT', `refused a redirect to plain http on a non-loopback host (${to.origin})`)
  return undefined
}

function locationOf(response) {
  const { headers } = response
  if (!headers || typeof headers.get !== 'function') return null
  const value = headers.get('location')
  return typeof value === 'string' ? value : null
}

function withoutHeaders(headers, names) {
  const out = {}
  for (const [name, value] of Object.entries(headers ?? {})) if (!names.includes(name.toLowerCase())) out[name] = value
  return out
}

/**
 * `fetchFn(url, init)` with redirects followed here: each request has `redirect: "manual"`; a
 * 301/302/303/307/308 with a `Location` is followed up to MAX_REDIRECTS times (307/308 keep the
 * method and body; 301/302 on a POST and 303 become a GET without a body); `Authorization` (and the
 * other SENSITIVE_HEADERS) goes only to the origin it was meant for; https → http, another scheme, and plain http off loopback
 * (unless `allowInsecure`) are refused with `ERR_INSECURE_REDIRECT`, too many hops with
 * `ERR_TOO_MANY_REDIRECTS`, before anything is sent there. `init.headers` is a plain object.
 * `discard(response)` lets go of a redirect's body. Resolves the first answer that is not
 * followed (a 3xx without `Location` included, as `fetch` returns it).
 */
async function fetchFollowingRedirects(fetchFn, url, init, { allowInsecure = false, discard } = {}) {
  let current = url
  let request = { ...init, redirect: 'manual' }
  for (let hops = 0; ; hops++) {
    const response = await fetchFn(current, request)
    // A browser hides a manual redirect's target: it cannot be checked, so it is not followed.
    if (response !== null && typeof response === 'object' && response.type === 'opaqueredirect')
      throw refused('ERR_INSECURE_REDIRECT', 'refused a redirect whose target the runtime hides (opaque redirect)')
    if (response === null || typeof response !== 'object' || !REDIRECT_STATUSES.has(response.status)) return response
    const location = locationOf(response)
    if (location === null) return response
    if (discard) discard(response)
    if (hops >= MAX_REDIRECTS) throw refused('ERR_TOO_MANY_REDIRECTS', `more than ${MAX_REDIRECTS} redirects`)
    const from = new URL(current)
    let to
    try {
      to = new URL(location, from)
    } catch {
      throw refused('ERR_INSECURE_REDIRECT', 'refused a redirect to a URL that does not parse')
    }
    // Credentials in a Location are not sent, as natively (`fetch` would refuse the URL, naming
    // it with its password in the error).
    to.username = ''
    to.password = ''
    const refusal = refusalOf(from, to, allowInsecure)
    if (refusal) throw refusal
    const { status } = response
    const method = String(request.method ?? 'GET').toUpperCase()
    let headers = request.headers
    const next = { ...request }
    if (((status === 301 || status === 302) && method === 'POST') || (status === 303 && method !== 'HEAD')) {
      next.method = 'GET'
      delete next.body
      headers = withoutHeaders(headers, BODY_HEADERS)
    }
    if (to.origin !== from.origin) headers = withoutHeaders(headers, SENSITIVE_HEADERS)
    next.headers = headers
    request = next
    current = to.href
  }
}

module.exports = { fetchFollowingRedirects, isLoopbackHost }
