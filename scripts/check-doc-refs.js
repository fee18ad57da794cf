'use strict'

// Doc citations that still lead somewhere, checked by `npm run lint`. Code cites doc sections as
// `README "Errors"`, `README, "Events"`, `(docs/ARCHITECTURE.md, "Rate limit")` or
// `docs/OPERATIONS.md "Fleet mode"` (the quoted text may wrap onto the next comment line), and links
// as `[text](docs/OPERATIONS.md#fleet-mode)`. Each cited file must exist and have a heading with
// that text (case aside; a heading may go on after it with `(`, `:`, `,` or a dash: "Verdict"
// names "Verdict (issue 25)"), and each link's file and anchor must exist. Repo paths in comments
// (`src/policy/pause.rs`, `lib/id.js`) must exist too, and so must those the markdown files name
// outside code blocks (there a path may also be a tail of one: `policy/pause.rs`, and a source file
// in backticks is checked by its name alone: `cache.test.mjs`). A stale one prints as
// `<file>:<line>: cites <doc> "<heading>": no such heading (did you mean <doc> "<heading>"?)`,
// naming where a heading of that text is now.
//
// `node scripts/check-doc-refs.js [--root dir]` exits 1 when anything is stale.

const fs = require('node:fs')
const path = require('node:path')
const { repoFiles, renamesOf } = require('./repo-files.js')

/** The files whose citations, links and path mentions are checked (and scripts without extension: `.ci/run`). */
const SOURCE = /\.(rs|js|mjs|cjs|ts|mts|cts|sh|toml|ya?ml)$/
const HASH_COMMENTS = /\.(sh|toml|ya?ml)$/
const SHELL_SCRIPT = /^#!.*\b(ba|da|z)?sh\b/
const MARKDOWN = /\.md$/

/** Files named in comments that need not exist in a checkout: built, not committed. */
const MAY_BE_ABSENT = [/\.node$/]

const DOC_NAMES = 'README|ARCHITECTURE|OPERATIONS|MIGRATION|TESTING|PORTABLE|RESULTS|CHANGELOG'
// <doc> "<heading>", <doc>'s "<heading>", <doc>, "<heading>", <doc> ("<heading>"), where <doc> is
// `README`, `docs/TESTING.md`, `ARCHITECTURE.md`...
const CITATION = new RegExp(
  String.raw`(?<![\w/.-])((?:[\w.-]+/)*(?:[\w-]+\.md|(?:${DOC_NAMES})(?:\.md)?))(?:'s)?(?:,\s*|\s+)\(?"([^"]{1,160})"`,
  'g',
)
const LINK = /\[[^\]\n]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g
const TOP_DIRS = 'src|lib|__test__|bench|scripts|examples|docs|bin|dashboards|npm|types|proptest-seeds|\\.ci|\\.github'
const REPO_PATH = new RegExp(String.raw`(?<![\w./@$-])((?:${TOP_DIRS})/[\w./-]*)`, 'g')
// In Rust comments, a module file named from where it sits: `bridge/mod.rs`, `routes/deployed.rs`.
const RUST_PATH = /(?<![\w./@$-])([a-z_][a-z0-9_]*(?:\/[a-z0-9_]+)*\.rs)\b/g

// ---------------------------------------------------------------------------------------------
// Headings

/** Heading text as it reads: no backticks, emphasis or link targets, one space, lower case. */
function normalise(text) {
  return text
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase()
}

/** The anchor GitHub gives a heading (before the `-1`, `-2` of repeated ones). */
function slugOf(text) {
  return text
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

/** `[line, index]` of each markdown line outside code fences (fence lines excluded). */
function* linesOutsideFences(lines) {
  let fence = null
  for (const [i, line] of lines.entries()) {
    const opens = /^\s{0,3}(`{3,}|~{3,})/.exec(line)
    if (opens) {
      if (!fence) fence = opens[1][0]
      else if (opens[1][0] === fence) fence = null
      continue
    }
    if (!fence) yield [line, i]
  }
}

/** `{ text, norm }` of each ATX heading outside code fences, and the set of its anchors. */
function headingsOf(source) {
  const headings = []
  const anchors = new Set()
  const seen = new Map()
  for (const [line] of linesOutsideFences(source.split('\n'))) {
    for (const html of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(html[1].toLowerCase())
    const heading = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)
    if (!heading) continue
    const text = heading[1]
    headings.push({ text: text.replace(/`/g, ''), norm: normalise(text) })
    const slug = slugOf(text)
    const n = seen.get(slug) || 0
    seen.set(slug, n + 1)
    anchors.add(n === 0 ? slug : `${slug}-${n}`)
  }
  return { headings, anchors }
}

/** Whether the cited (normalised) text names this heading: all of it, or its start up to a `(`, `:`, `,` or dash. */
function names(cited, heading) {
  if (heading.norm === cited) return true
  return heading.norm.startsWith(cited) && /^(\s*[(:,]|\s+[-–—]\s)/.test(heading.norm.slice(cited.length))
}

const STOP = new Set(['a', 'an', 'and', 'the', 'of', 'to', 'in', 'on', 'for', 'with', 'this', 'its', 'from', 'after'])
const wordsOf = (text) =>
  new Set(
    text
      .split(/[^\p{L}\p{N}]+/u)
      .filter((word) => word.length > 1 && !STOP.has(word))
      .map((word) => word.replace(/s$/, '')),
  )

/** How near a heading is to the cited text: 1 when every word of it is there, less otherwise. */
function nearness(cited, heading) {
  const want = wordsOf(cited)
  const have = wordsOf(heading.norm)
  if (want.size === 0 || have.size === 0) return 0
  let common = 0
  for (const word of want) if (have.has(word)) common++
  return 0.7 * (common / want.size) + 0.3 * ((2 * common) / (want.size + have.size))
}

// ---------------------------------------------------------------------------------------------
// The repository

class Repo {
  constructor(root) {
    this.root = root
    this.files = repoFiles(root)
    this.docs = new Map()
    this.renames = null
  }

  exists(rel) {
    return fs.existsSync(path.join(this.root, rel))
  }

  /** Headings and anchors of a markdown file (repo-relative), read once. */
  doc(rel) {
    if (!this.docs.has(rel)) this.docs.set(rel, headingsOf(fs.readFileSync(path.join(this.root, rel), 'utf8')))
    return this.docs.get(rel)
  }

  /** The markdown files a citation may point to, README first, then docs/, then the others. */
  docFiles() {
    const rank = (file) => (file === 'README.md' ? 0 : file.startsWith('docs/') ? 1 : file === 'CHANGELOG.md' ? 3 : 2)
    return this.files
      .filter((file) => MARKDOWN.test(file) && !file.startsWith('npm/'))
      .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
  }

  /** Where a citation's file name leads, from the file citing it: the repo-relative path, or null. */
  resolveDoc(name, from) {
    const file = name.endsWith('.md') ? name : `${name}.md`
    const dir = path.posix.dirname(from)
    const candidates = [file, path.posix.join(dir, file)]
    if (!file.includes('/')) candidates.push(`docs/${file}`)
    return candidates.map((c) => path.posix.normalize(c)).find((c) => !c.startsWith('..') && this.exists(c)) || null
  }

  /** How a doc file is cited in suggestions: `README` for the README, else its path. */
  static citeName(file) {
    return file === 'README.md' ? 'README' : file
  }

  /** Up to two `file "Heading"` that the cited text names now, or the nearest headings by words. */
  suggest(cited) {
    const exact = []
    const near = []
    for (const file of this.docFiles()) {
      for (const heading of this.doc(file).headings) {
        if (names(cited, heading)) exact.push(`${Repo.citeName(file)} "${heading.text}"`)
        else {
          const score = nearness(cited, heading)
          if (score >= 0.55) near.push({ score, text: `${Repo.citeName(file)} "${heading.text}"` })
        }
      }
    }
    if (exact.length) return exact.slice(0, 2)
    return near
      .sort((a, b) => b.score - a.score)
      .slice(0, 2)
      .map((n) => n.text)
  }

  /** Where a missing path went: git's renames, else files with its name. */
  movedTo(rel) {
    if (!this.renames) this.renames = renamesOf(this.root)
    const renamed = this.renames.get(rel)
    if (renamed && this.exists(renamed)) return [renamed]
    const base = path.posix.basename(rel)
    if (base === 'mod.rs' || base === 'index.js') return []
    return this.files.filter((file) => path.posix.basename(file) === base).slice(0, 3)
  }
}

// ---------------------------------------------------------------------------------------------
// Reading a file

/**
 * The file's lines joined into one text without line breaks and leading comment markers, so a
 * citation wrapped onto the next comment line reads whole; `lineAt(offset)` maps back.
 */
function joined(lines) {
  const starts = []
  let text = ''
  for (const line of lines) {
    starts.push(text.length)
    text += line.replace(/^\s*(?:\/\/[/!]?|\/\*+|\*(?!\/)|#!?|<!--)?\s*/, '') + ' '
  }
  const lineAt = (offset) => {
    let lo = 0
    let hi = starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (starts[mid] <= offset) lo = mid
      else hi = mid - 1
    }
    return lo + 1
  }
  return { text, lineAt }
}

/** The comment part of each line (empty for code): `//`, `/* … *\/` and `#` comments. */
function commentsOf(file, lines) {
  const hash = HASH_COMMENTS.test(file) || !path.posix.basename(file).includes('.')
  // String literals blanked (same length), so a `//` or `/*` inside one (a URL, a glob) starts no
  // comment; in Rust a `'` is as often a lifetime as a char, so only double quotes there.
  const strings = file.endsWith('.rs') ? /"(?:[^"\\]|\\.)*"/g : /'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`/g
  let inBlock = false
  return lines.map((line) => {
    if (hash) {
      const at = line.search(/(^|\s)#/)
      return at < 0 ? '' : line.slice(at)
    }
    let comment = ''
    let code = line
    if (inBlock || /^\s*(\/\*|\*)/.test(line)) comment = line
    else {
      code = line.replace(strings, (literal) => literal[0] + '_'.repeat(literal.length - 2) + literal[0])
      const at = code.search(/\/[/*]/)
      if (at >= 0) comment = line.slice(at)
    }
    const open = code.lastIndexOf('/*')
    const close = code.lastIndexOf('*/')
    if (open >= 0 && open > close) inBlock = true
    else if (close >= 0) inBlock = false
    return comment
  })
}

// ---------------------------------------------------------------------------------------------
// The checks

function checkCitations(repo, file, lines, problems) {
  const { text, lineAt } = joined(lines)
  for (const m of text.matchAll(CITATION)) {
    const [, name, quoted] = m
    const cited = normalise(quoted)
    const where = `${file}:${lineAt(m.index)}`
    const doc = repo.resolveDoc(name, file)
    const shown = `cites ${name} "${quoted.replace(/\s+/g, ' ')}"`
    if (!doc) {
      problems.push(`${where}: ${shown}: no such file${hint(repo.suggest(cited))}`)
      continue
    }
    if (repo.doc(doc).headings.some((heading) => names(cited, heading))) continue
    problems.push(`${where}: ${shown}: no such heading${hint(repo.suggest(cited))}`)
  }
}

function checkLinks(repo, file, lines, problems) {
  const markdown = MARKDOWN.test(file)
  lines.forEach((line, i) => {
    for (const m of line.matchAll(LINK)) {
      const target = m[1]
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('/')) continue
      const [pathPart, anchor] = target.split('#')
      if (!markdown && !/\.md$/.test(pathPart)) continue
      if (!pathPart && !markdown) continue
      let doc = file
      if (pathPart) {
        const rel = decodeURIComponent(pathPart)
        const candidates = [path.posix.join(path.posix.dirname(file), rel)]
        if (!markdown) candidates.push(path.posix.normalize(rel))
        doc = candidates.find((c) => !c.startsWith('..') && repo.exists(c))
        if (!doc) {
          problems.push(`${file}:${i + 1}: links ${target}: no such file${hint(repo.movedTo(candidates[0]))}`)
          continue
        }
      }
      if (anchor === undefined || !MARKDOWN.test(doc)) continue
      if (repo.doc(doc).anchors.has(decodeURIComponent(anchor).toLowerCase())) continue
      const wanted = anchor.replace(/-/g, ' ')
      const suggestions = repo.suggest(normalise(wanted))
      problems.push(`${file}:${i + 1}: links ${target}: no such heading${hint(suggestions)}`)
    }
  })
}

function checkPaths(repo, file, lines, problems) {
  const comments = commentsOf(file, lines)
  const dir = path.posix.dirname(file)
  const rust = file.endsWith('.rs')
  // A path as written may be relative to the repo, to the file's folder or to one above it.
  const bases = ['']
  for (let d = dir; d !== '.' && d !== ''; d = path.posix.dirname(d)) bases.push(d)
  if (rust) bases.push(file.slice(0, -3), 'src')
  const found = (rel) => bases.some((base) => repo.exists(path.posix.join(base, rel)))
  comments.forEach((comment, i) => {
    if (!comment) return
    const mentions = []
    for (const m of comment.matchAll(REPO_PATH)) mentions.push(m)
    if (rust) for (const m of comment.matchAll(RUST_PATH)) if (!/^src\//.test(m[1])) mentions.push(m)
    for (const m of mentions) {
      let rel = m[1].replace(/[.-]+$/, '')
      const after = comment[m.index + m[0].length] || ''
      if (/[*<{$[]/.test(after) || rel.includes('...') || rel.includes('//')) continue
      // Another project's path ("chittychat's src/lib/x.js") is not ours to check.
      if (/\w's\s+$/.test(comment.slice(0, m.index))) continue
      if (rel.endsWith('/')) rel = rel.slice(0, -1)
      if (!rel.includes('/') && !m.tail) continue
      if (MAY_BE_ABSENT.some((pattern) => pattern.test(rel)) || found(rel)) continue
      problems.push(`${file}:${i + 1}: mentions ${rel}: no such file${hint(repo.movedTo(rel))}`)
    }
  })
}

/** A repo-relative path a markdown file names, or a tail of one (`fleet/scripts/state.lua`). */
function checkDocPaths(repo, file, lines, problems) {
  const dir = path.posix.dirname(file)
  const found = (rel) =>
    repo.exists(rel) || repo.exists(path.posix.join(dir, rel)) || repo.files.some((f) => f.endsWith(`/${rel}`))
  for (const [line, i] of linesOutsideFences(lines)) {
    const mentions = [...line.matchAll(REPO_PATH)]
    // A file named in backticks by its tail alone: `options.rs`, `bridge/mod.rs`, `cache.test.mjs`.
    const at = new Set(mentions.map((m) => m.index))
    for (const m of line.matchAll(/`([\w/.-]+\.(?:rs|js|mjs|cjs|ts|mts|lua|json))`/g))
      if (!at.has(m.index + 1)) mentions.push({ 1: m[1], index: m.index + 1, tail: true })
    for (const m of mentions) {
      let rel = m[1].replace(/[.-]+$/, '')
      const after = line[m.index + m[1].length] || ''
      if (/[*<{$[]/.test(after) || rel.includes('...') || rel.includes('//')) continue
      if (/\w's\s+$/.test(line.slice(0, m.index))) continue
      if (rel.endsWith('/')) rel = rel.slice(0, -1)
      if (!rel.includes('/') && !m.tail) continue
      if (MAY_BE_ABSENT.some((pattern) => pattern.test(rel)) || found(rel)) continue
      problems.push(`${file}:${i + 1}: mentions ${rel}: no such file${hint(repo.movedTo(rel))}`)
    }
  }
}

const hint = (suggestions) => (suggestions.length ? ` (did you mean ${suggestions.join(' or ')}?)` : '')

/** Every stale citation, link and path under `root`, as `file:line: …` lines. */
function checkDocRefs(root) {
  const repo = new Repo(root)
  const problems = []
  for (const file of repo.files) {
    const markdown = MARKDOWN.test(file)
    const script = !path.posix.basename(file).includes('.')
    if (!SOURCE.test(file) && !markdown && !script) continue
    if (file.startsWith('npm/') || file.includes('/fixtures/')) continue
    const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n')
    if (script && !SHELL_SCRIPT.test(lines[0])) continue
    const source = !markdown
    const own = []
    checkCitations(repo, file, lines, own)
    checkLinks(repo, file, lines, own)
    if (source) checkPaths(repo, file, lines, own)
    else checkDocPaths(repo, file, lines, own)
    const lineOf = (problem) => Number(problem.slice(file.length + 1).split(':')[0])
    // A missing doc cited with a heading is reported once, as the citation.
    const cited = new Set(
      own
        .map((p) => /^([^:]+:\d+): cites (\S+) "/.exec(p))
        .filter(Boolean)
        .map((m) => `${m[1]} ${m[2]}`),
    )
    const once = own.filter((p) => {
      const m = /^([^:]+:\d+): mentions (\S+): no such file/.exec(p)
      return !m || !cited.has(`${m[1]} ${m[2]}`)
    })
    problems.push(...once.sort((a, b) => lineOf(a) - lineOf(b)))
  }
  return problems
}

module.exports = { checkDocRefs, headingsOf, slugOf, names, normalise }

if (require.main === module) {
  const at = process.argv.indexOf('--root')
  const root = path.resolve(at > 0 ? process.argv[at + 1] : path.join(__dirname, '..'))
  const problems = checkDocRefs(root)
  for (const problem of problems) console.log(problem)
  if (problems.length) {
    console.log(`${problems.length} stale doc reference(s): cite a heading that exists (scripts/check-doc-refs.js)`)
    process.exit(1)
  }
}
