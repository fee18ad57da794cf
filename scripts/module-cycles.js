'use strict'

// Lists the `crate::…` / `super::…` edges between the Rust modules of src/ and the cycles among
// them (docs/ARCHITECTURE.md "Layers"). A module naming its own parent (`super::Item` from a
// child) is not an edge: the parent declares the child. `node scripts/module-cycles.js [--edges]`
// exits 1 when there is a cycle.

const fs = require('node:fs')
const path = require('node:path')

/** Module path (`emulator::routes`, `''` for the crate root) → file, for every .rs under `root`. */
function modulesOf(root) {
  const modules = new Map()
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(file)
      else if (entry.name.endsWith('.rs')) {
        const parts = path.relative(root, file).slice(0, -3).split(path.sep)
        if (parts[parts.length - 1] === 'mod' || parts[parts.length - 1] === 'lib') parts.pop()
        modules.set(parts.join('::'), file)
      }
    }
  }
  walk(root)
  return modules
}

function edgesOf(root) {
  const modules = modulesOf(root)
  const longestModule = (segments) => {
    for (let i = segments.length; i > 0; i--) {
      const name = segments.slice(0, i).join('::')
      if (modules.has(name)) return name
    }
    return undefined
  }
  const edges = new Map()
  for (const [mod, file] of modules) {
    const source = fs.readFileSync(file, 'utf8')
    const here = mod === '' ? [] : mod.split('::')
    const isDirModule = /(^|\/)(mod|lib)\.rs$/.test(file)
    const parentOf = isDirModule ? here : here.slice(0, -1)
    const targets = new Set()
    const add = (segments) => {
      const target = longestModule(segments)
      if (target !== undefined && target !== '' && target !== mod && !mod.startsWith(`${target}::`)) targets.add(target)
    }
    const absolute = (kind, rest) => {
      if (kind === 'crate') return rest
      let base = parentOf
      while (rest[0] === 'super') {
        base = base.slice(0, -1)
        rest = rest.slice(1)
      }
      return [...base, ...rest]
    }
    for (const m of source.matchAll(/\b(crate|super)((?:::\w+)+)/g)) add(absolute(m[1], m[2].slice(2).split('::')))
    for (const m of source.matchAll(/\buse (crate|super)((?:::\w+)*)::\{([^}]*)\}/g)) {
      const prefix = absolute(m[1], m[2] ? m[2].slice(2).split('::') : [])
      for (const item of m[3].split(',')) {
        const name = item.trim().split(/\s|::/)[0]
        if (name && name !== 'self') add([...prefix, name])
      }
    }
    edges.set(mod, targets)
  }
  return edges
}

/**
 * The JS side: file (relative to `root`) → the files it loads with a relative `require(...)` or
 * `import ... from`, for every .js/.mjs/.cjs under `dirs` (relative to `root`).
 */
const JS_DIRS = ['index.js', 'index.mjs', 'portable.js', 'portable.mjs', 'lib', 'bin']

function jsEdgesOf(root, dirs) {
  const files = []
  const walk = (dir) => {
    const full = path.join(root, dir)
    if (fs.statSync(full).isFile()) return files.push(dir)
    for (const entry of fs.readdirSync(full, { withFileTypes: true })) {
      const rel = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(rel)
      else if (/\.(c|m)?js$/.test(entry.name)) files.push(rel)
    }
  }
  for (const dir of dirs) if (fs.existsSync(path.join(root, dir))) walk(dir)
  const edges = new Map()
  for (const file of files) {
    const source = fs.readFileSync(path.join(root, file), 'utf8')
    const targets = new Set()
    for (const m of source.matchAll(
      /\brequire\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|\bfrom\s+['"](\.{1,2}\/[^'"]+)['"]|\bimport\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]/g,
    )) {
      const target = path.normalize(path.join(path.dirname(file), m[1] || m[2] || m[3]))
      if (files.includes(target) && target !== file) targets.add(target)
    }
    edges.set(file, targets)
  }
  return edges
}

/** Strongly connected components with more than one module (Tarjan). */
function cyclesOf(edges) {
  let counter = 0
  const index = new Map()
  const low = new Map()
  const stack = []
  const onStack = new Set()
  const cycles = []
  const visit = (v) => {
    index.set(v, counter)
    low.set(v, counter++)
    stack.push(v)
    onStack.add(v)
    for (const w of edges.get(v)) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v), low.get(w)))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)))
    }
    if (low.get(v) === index.get(v)) {
      const component = []
      let w
      do {
        w = stack.pop()
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1) cycles.push(component.sort())
    }
  }
  for (const v of edges.keys()) if (!index.has(v)) visit(v)
  return cycles
}

module.exports = { edgesOf, jsEdgesOf, cyclesOf, JS_DIRS }

if (require.main === module) {
  const root = path.join(__dirname, '..')
  const edges = new Map([...edgesOf(path.join(root, 'src')), ...jsEdgesOf(root, JS_DIRS)])
  if (process.argv.includes('--edges')) {
    for (const [from, targets] of [...edges].sort())
      for (const to of [...targets].sort()) console.log(`${from || 'crate'} -> ${to}`)
  }
  const cycles = cyclesOf(edges)
  for (const cycle of cycles) {
    console.log(`cycle: ${cycle.join(' <-> ')}`)
    for (const from of cycle)
      for (const to of edges.get(from)) if (cycle.includes(to)) console.log(`  ${from} -> ${to}`)
  }
  console.log(`${cycles.length} cycle(s) among ${edges.size} modules`)
  process.exitCode = cycles.length === 0 ? 0 : 1
}
