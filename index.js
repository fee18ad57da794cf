'use strict'

const { ChittyIDClient, mintChittyID, validateChittyID } = require('./lib/client.js')
const { ChittyIDEmulator } = require('./lib/emulator.js')
const { ChittyIDError } = require('./lib/errors.js')
const {
  ConnectionState,
  ChittyIDConnectionManager,
  getSharedConnectionManager,
  resetSharedConnectionManager,
} = require('./lib/compat/connection-manager.js')

module.exports = {
  ChittyIDClient,
  mintChittyID,
  validateChittyID,
  ChittyIDEmulator,
  ChittyIDError,
  ConnectionState,
  ChittyIDConnectionManager,
  getSharedConnectionManager,
  resetSharedConnectionManager,
  default: ChittyIDClient,
}
