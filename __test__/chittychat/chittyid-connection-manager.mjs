// chittychat's src/lib/chittyid-connection-manager.js after the move to v2: a one-line re-export.
export {
  ChittyIDConnectionManager,
  ConnectionState,
  getSharedConnectionManager,
  resetSharedConnectionManager,
} from '@chittyos/chittyid-client'
