'use strict'

// No source file outside the tests over 600 lines (issue 26): a file that long holds more than one
// concept. Tests are not counted: __test__/, `tests/` folders, `tests.rs`, fixtures, and a Rust
// file's own test module (the lines from its first `#[cfg(test)]` + `mod tests {`); nor are the
// generated `binding.js`/`binding.d.ts`, docs, JSON and lock files.
//
// `node scripts/check-sizes.js [--root dir] [--limit n] [--report]` prints each file over the
// limit and exits 1 if there is one; `--report` also prints the 15 longest files.

const fs = require('node:fs')
const path = require('node:path')
const { repoFiles } = require('./repo-files.js')

const LIMIT = 600
const SOURCE = /\.(rs|js|mjs|cjs|ts|mts|cts|sh|lua|py)$/

/** Whether a repo-relative path is a test, fixture or generated file (not held to the limit). */
function exempt(file) {
  const parts = file.split('/')
  const name = parts[parts.length - 1]
  if (parts.includes('__test__') || parts.includes('tests') || parts.includes('fixtures')) return true
  if (name === 'tests.rs' || name === 'binding.js' || name === 'binding.d.ts') return true
  return false
}

/** The lines that count: a Rust file's stop before its test module; a last empty line is no line. */
function countedLines(file, source) {
  const lines = source.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  if (!file.endsWith('.rs')) return lines.length
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*#\[cfg\(test\)\]\s*$/.test(lines[i])) continue
    let j = i + 1
    while (j < lines.length && /^\s*(#\[|\/\/|$)/.test(lines[j])) j++
    if (/^\s*(pub(\([^)]*\))?\s+)?mod\s+tests\s*\{/.test(lines[j] || '')) return i
  }
  return lines.length
}

/** `{ file, lines }` of every counted source file under `root`, longest first. */
function sizesOf(root) {
  return repoFiles(root)
    .filter((file) => SOURCE.test(file) && !exempt(file))
    .map((file) => ({ file, lines: countedLines(file, fs.readFileSync(path.join(root, file), 'utf8')) }))
    .sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file))
}

module.exports = { sizesOf, countedLines, exempt, LIMIT }

if (require.main === module) {
  const arg = (name) => {
    const at = process.argv.indexOf(name)
    return at > 0 ? process.argv[at + 1] : undefined
  }
  const root = path.resolve(arg('--root') || path.join(__dirname, '..'))
  const limit = Number(arg('--limit') || LIMIT)
  const sizes = sizesOf(root)
  if (process.argv.includes('--report')) {
    console.log(`The 15 longest source files (tests excluded; limit ${limit}):`)
    for (const { file, lines } of sizes.slice(0, 15)) console.log(`${String(lines).padStart(6)}  ${file}`)
  }
  const over = sizes.filter(({ lines }) => lines > limit)
  for (const { file, lines } of over) console.log(`${file}: ${lines} lines, over the limit of ${limit}`)
  if (over.length) {
    console.log(`${over.length} source file(s) over ${limit} lines: split them by concept (scripts/check-sizes.js)`)
    process.exit(1)
  }
}
