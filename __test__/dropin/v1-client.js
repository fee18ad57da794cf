'use strict'

// A faithful reimplementation of the v1 pure-JS client (plain `fetch`, no retry, no cache),
// the baseline every drop-in suite here must also pass against. What it does follows the
// published v1 source: mint's timeout is a setTimeout + AbortController (so fake timers drive
// it), mintBatch and validate have no timeout, validate's init has no method, healthCheck sends
// no headers, a batch error names only the status, validate answers { valid, chittyId, entity }
// from the body. Two deliberate differences, shared with this package: trailing slashes of
// serviceUrl are dropped, and mint's timer is cleared when the fetch rejects too (v1 left it
// running, which would keep jest waiting).

const DEFAULT_SERVICE_URL = 'https://id.chitty.cc/v1'
const FORMAT = /^[A-Z]{2}-[A-Z]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{2}-[A-Z]-[0-9A-Z]$/

class ChittyIDClient {
  constructor(config = {}) {
    this.serviceUrl = (config.serviceUrl || DEFAULT_SERVICE_URL).replace(/\/+$/, '')
    this.apiKey = config.apiKey
    this.timeout = config.timeout || 10000
  }

  async mint(request) {
    try {
      const headers = { 'Content-Type': 'application/json' }
      if (this.apiKey) headers.Authorization = `Bearer ${this.apiKey}`
      const controller = new AbortController()
      const timer = setTimeout(() => controller.abort(), this.timeout)
      let response
      try {
        response = await fetch(`${this.serviceUrl}/mint`, {
          method: 'POST',
          headers,
          body: JSON.stringify(request),
          signal: controller.signal,
        })
      } finally {
        clearTimeout(timer)
      }
      if (!response.ok) throw new Error(`ChittyID service error: ${response.status} ${response.statusText}`)
      const data = await response.json()
      return data.chittyId
    } catch (error) {
      if (!(error instanceof Error)) throw error
      throw new Error(`ChittyID service unavailable - cannot mint ${request.entity} ID: ${error.message}`)
    }
  }

  async mintBatch(requests) {
    try {
      const headers = { 'Content-Type': 'application/json' }
      if (this.apiKey) headers.Authorization = `Bearer ${this.apiKey}`
      const response = await fetch(`${this.serviceUrl}/mint/batch`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ requests }),
      })
      if (!response.ok) throw new Error(`ChittyID service error: ${response.status}`)
      const data = await response.json()
      return data.chittyIds
    } catch (error) {
      throw new Error(
        `ChittyID service unavailable - cannot batch mint IDs: ${error instanceof Error ? error.message : 'Unknown error'}`,
      )
    }
  }

  async validate(id) {
    try {
      const response = await fetch(`${this.serviceUrl}/validate/${encodeURIComponent(id)}`, {
        headers: this.apiKey ? { Authorization: `Bearer ${this.apiKey}` } : {},
      })
      if (!response.ok) return { valid: false, error: `Service error: ${response.status}` }
      const data = await response.json()
      return { valid: data.valid === true, chittyId: data.chittyId, entity: data.entity }
    } catch (error) {
      return { valid: this.validateFormat(id), error: error instanceof Error ? error.message : 'Validation failed' }
    }
  }

  validateFormat(id) {
    return FORMAT.test(id)
  }

  async healthCheck() {
    try {
      const response = await fetch(`${this.serviceUrl}/health`, { method: 'GET', signal: AbortSignal.timeout(5000) })
      return response.ok
    } catch {
      return false
    }
  }
}

async function mintChittyID(request, config) {
  return new ChittyIDClient(config).mint(request)
}

async function validateChittyID(id, config) {
  return new ChittyIDClient(config).validate(id)
}

module.exports = { ChittyIDClient, mintChittyID, validateChittyID, default: ChittyIDClient }
