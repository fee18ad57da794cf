'use strict'

// The drop-in suites: each v1-era suite runs twice, unchanged, against a v1-like fetch client
// (./v1-client.js) and against this package; only what '@chittyos/chittyid-client' resolves to
// differs. Driven by __test__/dropin.test.mjs.

const path = require('node:path')

const implementations = {
  v1: path.join(__dirname, 'v1-client.js'),
  v2: path.join(__dirname, '..', '..', 'index.js'),
}

const suites = {
  spy: {},
  'fetch-mock': { setupFiles: ['<rootDir>/fetch-mock/setup.js'] },
  msw: {},
  nock: {},
  automock: {},
  service: {},
  habits: {},
  wire: {},
  undici: {},
  'fetch-mock-12': {},
  polyfill: { setupFiles: ['<rootDir>/polyfill/setup.js'] },
  env: {},
}

module.exports = {
  projects: Object.entries(suites).flatMap(([suite, extra]) =>
    Object.entries(implementations).map(([impl, target]) => ({
      displayName: `${suite}:${impl}`,
      rootDir: __dirname,
      testEnvironment: 'node',
      transform: {},
      testMatch: [`<rootDir>/${suite}/*.test.js`],
      moduleNameMapper: { '^@chittyos/chittyid-client$': target },
      ...extra,
    })),
  ),
}
