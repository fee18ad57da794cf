// ESM face of the portable entry (portable.js): its named exports (Node reads them from its
// `module.exports` literal), with the ChittyIDClient class as the default export, as index.mjs
// does for the native one.
import cjs from './portable.js'

export * from './portable.js'
export default cjs.ChittyIDClient
