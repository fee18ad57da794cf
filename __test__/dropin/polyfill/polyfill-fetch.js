'use strict'

// A hand-written fetch in the shape suites on Node 16 installed where there was no global
// fetch (a node-fetch or cross-fetch stand-in, trimmed to what v1 used): it answers from a
// table the tests fill, records every call, honours `init.signal` as node-fetch did, and
// resolves to plain objects with only `ok`, `status`, `statusText` and `json()` (no
// `headers`, no `text()`, no `body`). Installed as `global.fetch` by ./setup.js.

const calls = []
let routes = []

/** Answers `url` (a string or RegExp) with `answer(url, init)`, the first route that matches. */
function route(url, answer) {
  routes.push({ url, answer })
}

function reset() {
  calls.length = 0
  routes = []
}

function response(status, body, statusText = '') {
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText,
    json: async () => (typeof body === 'string' ? JSON.parse(body) : body),
  }
}

function fetchError(url, reason, code) {
  return Object.assign(new Error(`request to ${url} failed, reason: ${reason}`), {
    name: 'FetchError',
    type: 'system',
    errno: code,
    code,
  })
}

function fetch(url, init = {}) {
  calls.push({ url, init })
  return new Promise((resolve, reject) => {
    const { signal } = init
    const aborted = () =>
      reject(Object.assign(new Error('The user aborted a request.'), { name: 'AbortError', type: 'aborted' }))
    if (signal && signal.aborted) return aborted()
    if (signal) signal.addEventListener('abort', aborted, { once: true })
    const found = routes.find((r) => (typeof r.url === 'string' ? r.url === url : r.url.test(url)))
    if (!found) return reject(fetchError(url, `getaddrinfo ENOTFOUND ${new URL(url).hostname}`, 'ENOTFOUND'))
    Promise.resolve()
      .then(() => found.answer(url, init))
      .then(resolve, reject)
  })
}

module.exports = { fetch, calls, route, reset, response, fetchError }
