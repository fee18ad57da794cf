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

module.exports = { edgesOf, cyclesOf }

if (require.main === module) {
  const edges = edgesOf(path.join(__dirname, '..', 'src'))
  if (process.argv.includes('--edges')) {
    for (const [from, targets] of [...edges].sort()) for (const to of [...targets].sort()) console.log(`${from || 'crate'} -> ${to}`)
  }
  const cycles = cyclesOf(edges)
  for (const cycle of cycles) {
    console.log(`cycle: ${cycle.join(' <-> ')}`)
    for (const from of cycle) for (const to of edges.get(from)) if (cycle.includes(to)) console.log(`  ${from} -> ${to}`)
  }
  console.log(`${cycles.length} cycle(s) among ${edges.size} modules`)
  process.exitCode = cycles.length === 0 ? 0 : 1
}
