import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const cjs = require('./index.js')

export const {
  ChittyIDClient,
  mintChittyID,
  validateChittyID,
  ChittyIDEmulator,
  ChittyIDError,
  ConnectionState,
  ChittyIDConnectionManager,
  getSharedConnectionManager,
  resetSharedConnectionManager,
} = cjs

export default cjs.ChittyIDClient
