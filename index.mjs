import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const cjs = require('./index.js')

export const {
  ChittyIDClient,
  mintChittyID,
  validateChittyID,
  ChittyIDEmulator,
  ChittyIDError,
  ChittyIDCache,
  getSharedCache,
  clearSharedCache,
} = cjs

export default cjs.ChittyIDClient
