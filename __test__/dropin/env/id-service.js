'use strict'

// A service module of the v1 era: its client is made from the environment when it loads.

const { ChittyIDClient } = require('@chittyos/chittyid-client')

const client = new ChittyIDClient({
  serviceUrl: process.env.CHITTY_ID_URL,
  apiKey: process.env.CHITTY_ID_KEY,
})

async function newEventId(name) {
  return client.mint({ entity: 'EVNT', name })
}

module.exports = { newEventId }
