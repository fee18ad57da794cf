'use strict'
// JS lint, checked by `npm run lint`: eslint's recommended rules over the package, its tests,
// benches, scripts and examples. Formatting is prettier's (.prettierrc.json), not eslint's.
const js = require('@eslint/js')
const globals = require('globals')

module.exports = [
  {
    ignores: ['node_modules/', 'target/', 'npm/', 'lib/native/binding.*', '**/*.ts', '**/*.mts'],
  },
  js.configs.recommended,
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', ecmaVersion: 'latest', globals: { ...globals.node } },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module', ecmaVersion: 'latest', globals: { ...globals.node } },
  },
  {
    files: ['__test__/**', 'bench/**'],
    languageOptions: { globals: { ...globals.node, ...globals.jest } },
  },
  {
    // v1-era suites for vitest and node --test: ES modules named as their users name them
    // (`*.test.js`; jest's testMatch is `*.test.mjs`, so jest never runs them).
    files: ['__test__/dropin/vitest/**/*.js', '__test__/dropin/node-test/**/*.js'],
    languageOptions: { sourceType: 'module', globals: { ...globals.node } },
  },
  {
    rules: {
      'no-unused-vars': [
        'error',
        { args: 'none', caughtErrors: 'none', ignoreRestSiblings: true, varsIgnorePattern: '^_' },
      ],
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
]
