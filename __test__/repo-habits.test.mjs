// The checks `npm run lint` runs over the repository's habits: scripts/check-doc-refs.js (every doc
// section, link and path a comment or doc cites exists) and scripts/check-sizes.js (no source file outside
// the tests over 600 lines). Each runs as the lint runs it, on a small tree made here: clean, it
// passes; with one stale citation or one long file planted, it fails and names it.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const scripts = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts')

let dir
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'repo-habits-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

function write(file, text) {
  mkdirSync(dirname(join(dir, file)), { recursive: true })
  writeFileSync(join(dir, file), text)
}

function run(script, ...args) {
  const result = spawnSync(process.execPath, [join(scripts, script), '--root', dir, ...args], { encoding: 'utf8' })
  return { status: result.status, out: result.stdout + result.stderr }
}

const lines = (n, line = 'x') => Array.from({ length: n }, () => line).join('\n') + '\n'

// The planted citations and links are put together here, so that this file itself cites nothing.
/** `doc "heading"`, a citation as comments write it. */
const cite = (doc, heading) => `${doc} "${heading}"`
/** `[text](target)`, a markdown link. */
const link = (text, target) => `[${text}](${target})`

/** A tree whose citations all lead somewhere, in every form the repository uses. */
function cleanTree() {
  write(
    'README.md',
    `# Client\n\n## Errors\n\n### Runtimes\n\nSee ${link('fleet', 'docs/OPERATIONS.md#fleet-mode')}.\n`,
  )
  write(
    'docs/OPERATIONS.md',
    '# Operations\n\n## Fleet mode\n\n## Rate limit (the `rateLimit` option)\n\n```\n## Not a heading\n```\n\n' +
      `<a id="dot-ids"></a>Dots. Back to ${link('the README', '../README.md#errors')} and ` +
      `${link('itself', '#rate-limit-the-ratelimit-option')}.\n`,
  )
  write(
    'docs/ARCHITECTURE.md',
    '# Architecture\n\n## Retry safety\n\n## One mint, from JS to the socket and back\n\n' +
      'The pause: src/policy/pause.rs (`policy/pause.rs`, `pause.rs`), lib/client.js (`client.js`); lib/native/x.node.\n\n' +
      "```js\n// src/worker.js: the reader's own file\n```\n",
  )
  write(
    'src/policy/pause.rs',
    `//! The pause (${cite('docs/ARCHITECTURE.md,', 'Retry\n//! safety')}); see \`rate_limit.rs\`.\n`,
  )
  write(
    'src/policy/rate_limit.rs',
    `/// The rate limit (${cite('docs/OPERATIONS.md', 'Rate limit')}), ${cite('docs/ARCHITECTURE.md', 'One mint')}.\n`,
  )
  write(
    'lib/client.js',
    `// ${cite('README', 'Errors')}, ${cite('README,', 'Runtimes')}; src/policy/pause.rs and lib/native/binding.* and\n` +
      `// the addon npm/linux-x64-gnu/chittyid-client.linux-x64-gnu.node; ${link('dots', 'docs/OPERATIONS.md#dot-ids')}\n` +
      "const url = 'http://x/src/gone.rs'\nconst glob = 'lib/**/*.js'\nconst other = 'src/gone.rs'\n" +
      'module.exports = { url, glob, other }\n',
  )
  write('scripts/run.sh', `#!/bin/sh\n# Runs lib/client.js (${cite('README', 'Errors')}).\necho src/not-a-comment.rs\n`)
  write('.ci/run', `#!/usr/bin/env bash\n# Runs what ${cite('README', 'Errors')} says.\n`)
  write('LICENSE', `${cite('README', 'Gone')} is not a comment of a script.\n`)
}

describe('scripts/check-doc-refs.js', () => {
  test('passes when every cited heading, link and path exists', () => {
    cleanTree()
    expect(run('check-doc-refs.js')).toEqual({ status: 0, out: '' })
  })

  test('a heading that moved to another doc fails, naming where it is now', () => {
    cleanTree()
    write('lib/pause.js', `// The pause after a 429 (${cite('README', 'Fleet\n// mode')}).\n`)
    const { status, out } = run('check-doc-refs.js')
    expect(status).toBe(1)
    expect(out).toContain(
      `lib/pause.js:1: cites ${cite('README', 'Fleet mode')}: no such heading ` +
        `(did you mean ${cite('docs/OPERATIONS.md', 'Fleet mode')}?)`,
    )
  })

  test('a renamed heading, a missing doc, a dead anchor and a missing path each fail', () => {
    cleanTree()
    write(
      'src/policy/bulkhead.rs',
      [
        `//! ${cite('docs/ARCHITECTURE.md,', 'Rate limits')} and ${cite('docs/GONE.md', 'Errors')}.`,
        `//! ${link('link', 'docs/OPERATIONS.md#no-such-anchor')}, src/policy/retry.rs, \`budget/mod.rs\``,
        '',
      ].join('\n'),
    )
    const { status, out } = run('check-doc-refs.js')
    expect(status).toBe(1)
    expect(out.trim().split('\n')).toEqual([
      `src/policy/bulkhead.rs:1: cites ${cite('docs/ARCHITECTURE.md', 'Rate limits')}: no such heading ` +
        `(did you mean ${cite('docs/OPERATIONS.md', 'Rate limit (the rateLimit option)')}?)`,
      `src/policy/bulkhead.rs:1: cites ${cite('docs/GONE.md', 'Errors')}: no such file (did you mean ${cite('README', 'Errors')}?)`,
      'src/policy/bulkhead.rs:2: links docs/OPERATIONS.md#no-such-anchor: no such heading',
      'src/policy/bulkhead.rs:2: mentions src/policy/retry.rs: no such file',
      'src/policy/bulkhead.rs:2: mentions budget/mod.rs: no such file',
      '5 stale doc reference(s): cite a heading that exists (scripts/check-doc-refs.js)',
    ])
  })

  test('a path a markdown file names outside code blocks must exist, whole or as a tail', () => {
    cleanTree()
    write('docs/TESTING.md', '# Testing\n\nSee `src/policy/gone.rs`, `options.rs`, lib/gone.js and `gone.test.mjs`.\n')
    const { status, out } = run('check-doc-refs.js')
    expect(status).toBe(1)
    expect(out.trim().split('\n')).toEqual([
      'docs/TESTING.md:3: mentions src/policy/gone.rs: no such file',
      'docs/TESTING.md:3: mentions lib/gone.js: no such file',
      'docs/TESTING.md:3: mentions options.rs: no such file',
      'docs/TESTING.md:3: mentions gone.test.mjs: no such file',
      '4 stale doc reference(s): cite a heading that exists (scripts/check-doc-refs.js)',
    ])
  })

  test('an extensionless shell script is read too', () => {
    cleanTree()
    write('.ci/run', `#!/usr/bin/env bash\n# Runs what ${cite('README', 'Install')} says.\n`)
    expect(run('check-doc-refs.js').out).toMatch(/^\.ci\/run:2: cites README "Install": no such heading\n/)
  })

  test('a heading named by only the start of a word does not count', () => {
    cleanTree()
    write('lib/x.js', `// ${cite('docs/ARCHITECTURE.md', 'One')}\n`)
    expect(run('check-doc-refs.js').status).toBe(1)
  })
})

describe('scripts/check-sizes.js', () => {
  function sizedTree() {
    write('lib/ok.js', lines(600))
    write('__test__/long.test.mjs', lines(2000))
    write('src/emulator/tests/mod.rs', lines(2000))
    write('src/id/tests.rs', lines(2000))
    write('lib/native/binding.js', lines(2000))
    write('binding.d.ts', lines(2000))
    write('README.md', lines(2000))
    write(
      'src/cache/mod.rs',
      lines(590, 'fn f() {}') + '#[cfg(test)]\nmod tests {\n' + lines(500, '    // test') + '}\n',
    )
  }

  test('passes when no non-test source file is over 600 lines', () => {
    sizedTree()
    const { status, out } = run('check-sizes.js', '--report')
    expect(status).toBe(0)
    expect(out).toContain('   600  lib/ok.js')
    expect(out).toContain('   590  src/cache/mod.rs')
    expect(out).not.toMatch(/__test__|tests\/|tests\.rs|binding|README/)
  })

  test('a file one line over fails, and so does a Rust file whose code before its tests is long', () => {
    sizedTree()
    write('lib/ok.js', lines(601))
    write(
      'src/client/mod.rs',
      lines(550) + '#[cfg(test)]\nfn helper() {}\n' + lines(100) + '#[cfg(test)]\nmod tests {\n' + lines(900) + '}\n',
    )
    const { status, out } = run('check-sizes.js')
    expect(status).toBe(1)
    expect(out.trim().split('\n')).toEqual([
      'src/client/mod.rs: 652 lines, over the limit of 600',
      'lib/ok.js: 601 lines, over the limit of 600',
      '2 source file(s) over 600 lines: split them by concept (scripts/check-sizes.js)',
    ])
  })
})
