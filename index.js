'use strict'

const { ChittyIDClient, mintChittyID, validateChittyID } = require('./lib/client.js')
const { ChittyIDEmulator } = require('./lib/emulator.js')
const { ChittyIDError } = require('./lib/errors.js')

module.exports = {
  ChittyIDClient,
  mintChittyID,
  validateChittyID,
  ChittyIDEmulator,
  ChittyIDError,
  default: ChittyIDClient,
}
