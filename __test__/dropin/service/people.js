'use strict'

// A service module written the way services used v1: one client for the whole module,
// created when the module loads, used by every function.

const { ChittyIDClient } = require('@chittyos/chittyid-client')

const client = new ChittyIDClient({
  serviceUrl: process.env.CHITTYID_SERVICE_URL || 'https://id.chitty.cc/v1',
  apiKey: process.env.CHITTY_ID_TOKEN || 'test-key',
  timeout: 2000,
})

async function registerPerson(name, metadata) {
  const chittyId = await client.mint({ entity: 'PEO', name, metadata })
  return { chittyId, name }
}

async function registerPlace(name) {
  return client.mint({ entity: 'PLACE', name })
}

async function registerHousehold(names) {
  return client.mintBatch(names.map((name) => ({ entity: 'PEO', name })))
}

async function checkId(chittyId) {
  const result = await client.validate(chittyId)
  return result.valid
}

async function lookup(chittyId) {
  return client.validate(chittyId)
}

async function isServiceUp() {
  return client.healthCheck()
}

// A caller that passes a request through without checking it (the service decides).
async function registerRaw(request) {
  return client.mint(request)
}

module.exports = { client, registerPerson, registerPlace, registerHousehold, checkId, lookup, isServiceUp, registerRaw }
