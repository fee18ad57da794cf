'use strict'

// The repository's own files, for the checks of `npm run lint` (check-doc-refs.js, check-sizes.js):
// what git tracks plus new files it does not ignore, or, outside a git checkout (a test's temporary
// tree), every file under `root` but node_modules/, target/ and .git/.

const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

/** Repo-relative paths with `/` separators, sorted, of the files that exist under `root`. */
function repoFiles(root) {
  const git = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  let files
  if (git.status === 0 && isGitTop(root)) {
    files = git.stdout.split('\0').filter(Boolean)
  } else {
    files = []
    const walk = (rel) => {
      for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
        const name = rel ? `${rel}/${entry.name}` : entry.name
        if (entry.isDirectory()) {
          if (entry.name === 'node_modules' || entry.name === 'target' || entry.name === '.git') continue
          walk(name)
        } else if (entry.isFile()) files.push(name)
      }
    }
    walk('')
  }
  return [...new Set(files)].filter((file) => fs.existsSync(path.join(root, file))).sort()
}

/** Whether `root` is the top of its git work tree (not a folder inside another checkout). */
function isGitTop(root) {
  const top = spawnSync('git', ['rev-parse', '--show-toplevel'], { cwd: root, encoding: 'utf8' })
  if (top.status !== 0) return false
  return fs.realpathSync(top.stdout.trim()) === fs.realpathSync(root)
}

/** Renames in git's history, old path → newest path (empty outside a git checkout). */
function renamesOf(root) {
  if (!isGitTop(root)) return new Map()
  const log = spawnSync('git', ['log', '--format=', '--name-status', '-M', '--diff-filter=R'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  const renames = new Map()
  if (log.status !== 0) return renames
  // Newest first: a path renamed twice keeps its newest destination.
  for (const line of log.stdout.split('\n')) {
    const [status, from, to] = line.split('\t')
    if (status && status.startsWith('R') && from && to && !renames.has(from)) renames.set(from, to)
  }
  const follow = (file) => {
    const seen = new Set()
    while (renames.has(file) && !seen.has(file)) {
      seen.add(file)
      file = renames.get(file)
    }
    return file
  }
  return new Map([...renames.keys()].map((from) => [from, follow(from)]))
}

module.exports = { repoFiles, renamesOf }
