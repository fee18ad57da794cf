// Types of the ESM entry (index.mjs). `index.d.ts` describes the CommonJS entry, whose default
// import from ESM would be the whole `module.exports` object; here the default export is the
// ChittyIDClient class itself, as index.mjs exports it.
import { ChittyIDClient } from './index.js'

export * from './index.js'
export default ChittyIDClient
