// ESM entry: the named exports are index.js's (Node reads them from its `module.exports`
// literal); the default export is the ChittyIDClient class, as in v1.
import cjs from './index.js'

export * from './index.js'
export default cjs.ChittyIDClient
