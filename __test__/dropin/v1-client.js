'use strict'

// A faithful reimplementation of the v1 pure-JS client (plain `fetch`, no retry, no cache),
// the baseline every drop-in suite here must also pass against.

const DEFAULT_SERVICE_URL = 'https://id.chitty.cc/v1'
const FORMAT = /^[A-Z]{2}-[A-Z]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{2}-[A-Z]-[0-9A-Z]$/

class ChittyIDClient {
  constructor(config = {}) {
    this.serviceUrl = (config.serviceUrl || DEFAULT_SERVICE_URL).replace(/\/+$/, '')
    this.apiKey = config.apiKey
    this.timeout = config.timeout || 10000
  }

  headers(json) {
    const headers = {}
    if (json) headers['Content-Type'] = 'application/json'
    if (this.apiKey) headers.Authorization = `Bearer ${this.apiKey}`
    return headers
  }

  async mint(request) {
    try {
      const response = await fetch(`${this.serviceUrl}/mint`, {
        method: 'POST',
        headers: this.headers(true),
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(this.timeout),
      })
      if (!response.ok) throw new Error(`ChittyID service error: ${response.status} ${response.statusText}`)
      const data = await response.json()
      return data.chittyId
    } catch (error) {
      throw new Error(`ChittyID service unavailable - cannot mint ${request.entity} ID: ${error.message}`)
    }
  }

  async mintBatch(requests) {
    try {
      const response = await fetch(`${this.serviceUrl}/mint/batch`, {
        method: 'POST',
        headers: this.headers(true),
        body: JSON.stringify({ requests }),
        signal: AbortSignal.timeout(this.timeout),
      })
      if (!response.ok) throw new Error(`ChittyID service error: ${response.status} ${response.statusText}`)
      const data = await response.json()
      return data.chittyIds
    } catch (error) {
      throw new Error(`ChittyID service unavailable - cannot batch mint IDs: ${error.message}`)
    }
  }

  async validate(id) {
    try {
      const response = await fetch(`${this.serviceUrl}/validate/${encodeURIComponent(id)}`, {
        method: 'GET',
        headers: this.headers(false),
        signal: AbortSignal.timeout(this.timeout),
      })
      if (!response.ok) return { valid: false, error: `Service error: ${response.status}` }
      return await response.json()
    } catch (error) {
      return { valid: this.validateFormat(id), error: error.message }
    }
  }

  validateFormat(id) {
    return typeof id === 'string' && FORMAT.test(id)
  }

  async healthCheck() {
    try {
      const response = await fetch(`${this.serviceUrl}/health`, {
        method: 'GET',
        headers: this.headers(false),
        signal: AbortSignal.timeout(5000),
      })
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
