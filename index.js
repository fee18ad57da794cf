'use strict'

const { ChittyIDClient, mintChittyID, validateChittyID } = require('./lib/client.js')
const { ChittyIDEmulator } = require('./lib/emulator.js')
const { ChittyIDError } = require('./lib/errors.js')
const { ChittyIDCache, getSharedCache, clearSharedCache } = require('./lib/compat/cache.js')

module.exports = {
  ChittyIDClient,
  mintChittyID,
  validateChittyID,
  ChittyIDEmulator,
  ChittyIDError,
  ChittyIDCache,
  getSharedCache,
  clearSharedCache,
  default: ChittyIDClient,
}
