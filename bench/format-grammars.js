'use strict'

// A standalone micro-benchmark of lib/id.js's validateFormat against a bare regex test of
// the same grammar, for each grammar's ids (docs/ARCHITECTURE.md "Id grammars"):
//   node bench/format-grammars.js
// It needs no addon. Medians of 7 batches, each contender in turn; numbers are ns per call.

const path = require('node:path')
const { validateFormat, CHITTY_ID, DEPLOYED_ID } = require(path.join(__dirname, '..', 'lib', 'id.js'))
const { vectors } = require(path.join(__dirname, '..', '__test__', 'fixtures', 'id-vectors.json'))

const N = 3e6
let sink = 0

function nsPerCall(inputs, fn) {
  const m = inputs.length
  for (let i = 0; i < 2e5; i++) if (fn(inputs[i % m])) sink++
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < N; i++) if (fn(inputs[i % m])) sink++
  return Number(process.hrtime.bigint() - t0) / N
}

const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1]

const cases = [
  // The inputs of bench/worker.js's validateFormat case: v1 ids, a legacy id, lower case, junk.
  [
    'v1 (bench inputs)',
    [
      'CT-A-CHI-1234-I-24-A-0',
      'AB-C-DEF-9876-E-01-Q-9',
      'CHITTY-PEO-123-ABC',
      'ID-Z-ZZZ-0000-P-99-Z-Z',
      'ct-a-chi-1234-p-24-a-0',
      'x',
    ],
    CHITTY_ID,
  ],
  [
    'deployed ids',
    vectors
      .filter((v) => v.grammar === 'deployed')
      .slice(0, 8)
      .map((v) => v.id),
    DEPLOYED_ID,
  ],
]
for (const [name, inputs, re] of cases) {
  const bare = []
  const fn = []
  for (let r = 0; r < 7; r++) {
    bare.push(nsPerCall(inputs, (id) => re.test(id)))
    fn.push(nsPerCall(inputs, validateFormat))
  }
  const [b, f] = [median(bare), median(fn)]
  console.log(`${name}: bare regex ${b.toFixed(1)} ns, validateFormat ${f.toFixed(1)} ns, ${(f / b).toFixed(2)}x`)
}
if (sink < 0) console.log(sink)
