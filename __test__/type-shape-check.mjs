// Compares runtime values with the types the package declares, through the TypeScript compiler
// API (used by __test__/type-shapes.test.mjs). `declaredTypes(aliases)` compiles one virtual
// file that imports the native (`M`, index.d.ts) and portable (`P`, portable.d.ts) entries and
// names each shape to check as a type alias; `check(value)` then walks the value and the type
// together and lists every disagreement with its path:
//
// - a key the runtime object has (own, enumerable) that the type does not declare;
// - a key the type declares as required that the runtime object lacks;
// - a value of another kind than declared (string, number, boolean, null, undefined, array,
//   object, function), or a string/number/boolean outside the declared literals.
//
// Optional keys may be absent. Objects of classes declared outside this package (@types/node's
// `Timeout`) are held to their declared keys only: their other own fields are Node's business.
import ts from 'typescript'
import { join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
const VIRTUAL = join(ROOT, '__type_shapes__.ts')

/**
 * `aliases`: `{ name: 'TypeScript type expression' }` over `M` (native) and `P` (portable).
 * Returns `{ check(name, value) → problems[] }`; compiling errors throw with tsc's words.
 */
export function declaredTypes(aliases) {
  const source = [
    "import type * as M from './index'",
    "import type * as P from './portable'",
    // Prefixed, so that a shape named like a global (`Error`) never shadows it in the others.
    ...Object.entries(aliases).map(([name, expr]) => `export type Shape_${name} = ${expr}`),
  ].join('\n')
  const options = {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'],
    types: ['node'],
  }
  const host = ts.createCompilerHost(options)
  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (file, language, ...rest) =>
    file === VIRTUAL ? ts.createSourceFile(file, source, language, true) : getSourceFile(file, language, ...rest)
  const fileExists = host.fileExists.bind(host)
  host.fileExists = (file) => file === VIRTUAL || fileExists(file)
  const readFile = host.readFile.bind(host)
  host.readFile = (file) => (file === VIRTUAL ? source : readFile(file))
  const program = ts.createProgram([VIRTUAL], options, host)
  const diagnostics = ts.getPreEmitDiagnostics(program)
  if (diagnostics.length) {
    throw new Error(ts.formatDiagnostics(diagnostics, { ...host, getNewLine: () => '\n' }))
  }
  const checker = program.getTypeChecker()
  const file = program.getSourceFile(VIRTUAL)
  const types = new Map()
  for (const statement of file.statements) {
    if (ts.isTypeAliasDeclaration(statement)) {
      types.set(statement.name.text.replace(/^Shape_/, ''), checker.getTypeAtLocation(statement.name))
    }
  }
  const walker = new Walker(checker, file)
  return {
    /** The problems of `value` against the alias `name`, each starting with `label` (default `name`). */
    check(name, value, label = name) {
      const type = types.get(name)
      if (!type) throw new Error(`no declared type named ${name}`)
      const problems = []
      walker.walk(type, value, label, problems, new Set())
      return problems
    },
    /** The problems of `value` against the type of property `key` of the alias `name`. */
    checkMember(name, key, value, label) {
      const property = checker.getPropertyOfType(types.get(name), key)
      if (!property) throw new Error(`${name} declares no ${key}`)
      const problems = []
      walker.walk(checker.getTypeOfSymbol(property), value, label, problems, new Set())
      return problems
    },
    /** The property names of the alias `name` (e.g. the event names of an events interface). */
    keysOf: (name) => checker.getPropertiesOfType(types.get(name)).map((p) => p.getName()),
    typeText: (name) => checker.typeToString(types.get(name)),
  }
}

/** What a runtime value is, in the words of the report. */
export function kindOf(value) {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value
}

const show = (value) => {
  try {
    const text = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value) ?? value)
    return text.length > 80 ? `${text.slice(0, 77)}...` : text
  } catch {
    return kindOf(value)
  }
}

const OUR_DIR = ROOT.endsWith(sep) ? ROOT : ROOT + sep
const ours = (declaration) => {
  const fileName = declaration.getSourceFile().fileName
  return fileName.startsWith(OUR_DIR) && !fileName.includes(`${sep}node_modules${sep}`)
}

class Walker {
  constructor(checker, location) {
    this.checker = checker
    this.location = location
  }

  text(type) {
    return this.checker.typeToString(type, undefined, ts.TypeFormatFlags.NoTruncation)
  }

  /** The members of a union (a single type is a union of one). */
  members(type) {
    return type.isUnion() ? type.types : [type]
  }

  /** Does `value` fit `type` without reporting anything? */
  fits(type, value, seen) {
    const problems = []
    this.walk(type, value, '', problems, seen)
    return problems.length === 0
  }

  walk(type, value, path, problems, seen) {
    const F = ts.TypeFlags
    const flags = type.flags
    if (flags & (F.Any | F.Unknown)) return
    if (flags & F.Never) {
      problems.push(`${path}: declared never, seen ${kindOf(value)} ${show(value)}`)
      return
    }
    if (type.isUnion()) return this.walkUnion(type, value, path, problems, seen)
    const kind = kindOf(value)
    const mismatch = () => problems.push(`${path}: declared ${this.text(type)}, seen ${kind} ${show(value)}`)
    if (flags & F.Null) return kind === 'null' ? undefined : mismatch()
    if (flags & (F.Undefined | F.Void)) return kind === 'undefined' ? undefined : mismatch()
    if (flags & F.StringLiteral) return value === type.value ? undefined : mismatch()
    if (flags & F.NumberLiteral) return value === type.value ? undefined : mismatch()
    if (flags & F.BooleanLiteral) return value === (type.intrinsicName === 'true') ? undefined : mismatch()
    if (flags & F.TemplateLiteral) return kind === 'string' ? undefined : mismatch()
    if (flags & (F.String | F.StringMapping)) return kind === 'string' ? undefined : mismatch()
    if (flags & F.Number) return kind === 'number' ? undefined : mismatch()
    if (flags & F.Boolean) return kind === 'boolean' ? undefined : mismatch()
    if (flags & F.BigInt) return kind === 'bigint' ? undefined : mismatch()
    if (flags & F.ESSymbolLike) return kind === 'symbol' ? undefined : mismatch()
    if (type.isIntersection()) {
      // `string & {}` and friends: the primitive part says what the value is.
      const primitive = type.types.find((t) => t.flags & F.Primitive)
      if (primitive) return this.walk(primitive, value, path, problems, seen)
    }
    if (flags & F.NonPrimitive) return kind === 'object' || kind === 'function' ? undefined : mismatch()
    if (flags & F.TypeParameter) return
    if (!(flags & (F.Object | F.Intersection))) {
      problems.push(`${path}: declared ${this.text(type)} (flags ${flags}), which this check cannot read`)
      return
    }
    return this.walkObject(type, value, path, problems, seen)
  }

  walkUnion(type, value, path, problems, seen) {
    const members = this.members(type)
    // A boolean is the union true | false: either literal takes either value.
    const candidates = members.filter((member) => this.fits(member, value, seen))
    if (candidates.length > 0) return
    // Nothing fits: report against the member of the value's kind that fits best, else the union.
    const kind = kindOf(value)
    const sameKind = members.filter((member) => this.kindOfType(member) === kind)
    if (sameKind.length === 0 || !['object', 'array'].includes(kind)) {
      problems.push(`${path}: declared ${this.text(type)}, seen ${kind} ${show(value)}`)
      return
    }
    let best
    for (const member of sameKind) {
      const own = []
      this.walk(member, value, path, own, seen)
      if (!best || own.length < best.length) best = own
    }
    if (sameKind.length > 1) problems.push(`${path}: fits no member of ${this.text(type)}; nearest:`)
    problems.push(...best)
  }

  /** The runtime kind a (non-union) type describes, for choosing a union member to report against. */
  kindOfType(type) {
    const F = ts.TypeFlags
    if (type.flags & F.Null) return 'null'
    if (type.flags & (F.Undefined | F.Void)) return 'undefined'
    if (type.flags & F.StringLike) return 'string'
    if (type.flags & F.NumberLike) return 'number'
    if (type.flags & F.BooleanLike) return 'boolean'
    if (this.checker.isArrayType(type) || this.checker.isTupleType(type)) return 'array'
    if (type.getCallSignatures().length > 0 && type.getProperties().length === 0) return 'function'
    return 'object'
  }

  walkObject(type, value, path, problems, seen) {
    const checker = this.checker
    const kind = kindOf(value)
    const text = () => this.text(type)
    if (checker.isTupleType(type)) {
      if (kind !== 'array') return problems.push(`${path}: declared ${text()}, seen ${kind} ${show(value)}`)
      const elements = checker.getTypeArguments(type)
      if (value.length !== elements.length) {
        problems.push(`${path}: declared ${text()} (${elements.length} items), seen ${value.length} items`)
      }
      elements.forEach(
        (element, i) => i < value.length && this.walk(element, value[i], `${path}[${i}]`, problems, seen),
      )
      return
    }
    if (checker.isArrayType(type)) {
      if (kind !== 'array') return problems.push(`${path}: declared ${text()}, seen ${kind} ${show(value)}`)
      const [element] = checker.getTypeArguments(type)
      value.forEach((item, i) => this.walk(element, item, `${path}[${i}]`, problems, seen))
      return
    }
    const callable = type.getCallSignatures().length > 0 || type.getConstructSignatures().length > 0
    if (callable) {
      if (kind !== 'function') return problems.push(`${path}: declared a function (${text()}), seen ${kind}`)
    } else if (kind !== 'object') {
      return problems.push(`${path}: declared ${text()}, seen ${kind} ${show(value)}`)
    }
    if (seen.has(value)) return // a cycle: already being checked further up
    seen = new Set(seen).add(value)

    const declared = new Map()
    let anyOurs = false
    for (const property of checker.getPropertiesOfType(type)) {
      const name = property.getName()
      if (name.startsWith('__@')) continue // a well-known symbol ([Symbol.asyncDispose])
      const declarations = property.getDeclarations() || []
      const isOurs = declarations.some(ours)
      anyOurs ||= isOurs
      declared.set(name, { property, optional: (property.flags & ts.SymbolFlags.Optional) !== 0 })
    }
    const index = checker.getIndexTypeOfType(type, ts.IndexKind.String)
    for (const [name, { property, optional }] of declared) {
      const at = `${path}.${name}`
      if (!(name in value)) {
        if (!optional)
          problems.push(
            `${at}: declared required (${this.text(checker.getTypeOfSymbol(property))}), missing at runtime`,
          )
        continue
      }
      const propertyType = checker.getTypeOfSymbol(property)
      // A method on a class (found on the prototype) is checked for being a function only.
      const own = Object.prototype.hasOwnProperty.call(value, name)
      if (!own && propertyType.getCallSignatures().length > 0) {
        if (typeof value[name] !== 'function') problems.push(`${at}: declared a method, seen ${kindOf(value[name])}`)
        continue
      }
      let read
      try {
        read = value[name]
      } catch (err) {
        problems.push(`${at}: reading it threw ${err.message}`)
        continue
      }
      this.walk(propertyType, read, at, problems, seen)
    }
    // An object of a class declared outside this package (lib.d.ts, @types/node: a `Timeout`):
    // its own fields are not ours to judge. Plain objects always are (a `Record<K, V>` too).
    const proto = Object.getPrototypeOf(value)
    const plain = proto === null || proto?.constructor?.name === 'Object'
    if (!anyOurs && !index && !plain) return
    if (callable) return // a function's own keys (length, name) are not data
    for (const key of Object.keys(value)) {
      if (declared.has(key)) continue
      const at = `${path}.${key}`
      if (index) this.walk(index, value[key], at, problems, seen)
      else
        problems.push(
          `${at}: present at runtime (${kindOf(value[key])} ${show(value[key])}), not declared in ${text()}`,
        )
    }
  }
}
