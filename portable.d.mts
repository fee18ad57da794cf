// Types of the portable ESM entry (portable.mjs), whose default export is the ChittyIDClient
// class, as index.d.mts does for the native one.
import { ChittyIDClient } from './portable.js'

export * from './portable.js'
export default ChittyIDClient
