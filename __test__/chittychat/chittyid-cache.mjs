// chittychat's src/lib/chittyid-cache.js after the move to v2: a one-line re-export.
export { ChittyIDCache, getSharedCache, clearSharedCache } from '@chittyos/chittyid-client'
