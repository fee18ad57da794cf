'use strict'

// setupFiles: the fetch polyfill, installed as users on Node 16 did.
global.fetch = require('./polyfill-fetch.js').fetch
