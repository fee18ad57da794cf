// The shipped types compile in every consumer shape, installed as a user installs them: the
// packed tarball plus TypeScript (latest 5.x) and @types/node from the registry, `tsc` with
// `strict` and `skipLibCheck: false`. Shapes: CommonJS and ESM (`"type": "module"`) packages,
// `module: nodenext`, `module: esnext` + `moduleResolution: bundler`, and classic
// `module: commonjs` + `moduleResolution: node10`; each compiles the default, named and
// namespace imports plus the project's strict consumers. Where node runs tsc's output as is
// (nodenext, node10), the compiled default/named/namespace imports are run against the emulator,
// so the types are checked against what the package really exports.
//
// The @types/node version matters for the classes that extend EventEmitter, the shape for
// module resolution, independently; so by default every shape is checked with the latest
// @types/node and the oldest (18) with an ESM nodenext consumer: 6 cells, about a minute on 2
// busy cores with a warm npm cache. CHITTYID_TYPES_MATRIX=full checks every shape with
// @types/node 18, 20, 22 and latest (20 cells, 2 to 4 minutes). The npm cache lives in the OS
// temp dir and is reused across runs.
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const typesDir = join(root, '__test__', 'types')
const full = process.env.CHITTYID_TYPES_MATRIX === 'full'
const TYPES_NODE = full ? ['18', '20', '22', 'latest'] : ['18', 'latest']
const TYPESCRIPT = '5' // the latest 5.x
const npmCache = join(tmpdir(), 'chittyid-types-matrix-npm-cache')

const SHAPES = [
  { name: 'cjs-nodenext', type: 'commonjs', options: { module: 'nodenext', moduleResolution: 'nodenext' }, runs: true },
  { name: 'esm-nodenext', type: 'module', options: { module: 'nodenext', moduleResolution: 'nodenext' }, runs: true },
  { name: 'esm-bundler', type: 'module', options: { module: 'esnext', moduleResolution: 'bundler' } },
  { name: 'cjs-bundler', type: 'commonjs', options: { module: 'esnext', moduleResolution: 'bundler' } },
  {
    name: 'cjs-node10',
    type: 'commonjs',
    options: { module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true },
    runs: true,
  },
]
const SHAPE_FILES = readdirSync(join(typesDir, 'shapes')).filter((f) => f.endsWith('.ts'))
const CONSUMERS = ['consumer.ts', 'compat-resilience.ts']

const nativeDir = join(root, 'lib', 'native')
const addon = readdirSync(nativeDir).find((f) => f.endsWith('.linux-x64-gnu.node'))
const canRun = process.platform === 'linux' && process.arch === 'x64' && Boolean(addon)

const run = (cmd, args, cwd, timeout = 120000) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout })
const npm = (args, cwd) =>
  run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error', '--cache', npmCache], cwd, 150000)

const cells = TYPES_NODE.flatMap((typesNode) =>
  SHAPES.filter((shape) => full || typesNode === 'latest' || shape.name === 'esm-nodenext').map((shape) => [
    typesNode,
    shape,
  ]),
)
let work
const versions = {} // @types/node spec -> { typescript, typesNode }

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'chittyid-types-matrix-'))
  const tarballs = [join(work, npm(['pack', '--pack-destination', work], root).trim().split('\n').pop())]
  if (canRun) {
    const staged = join(work, 'platform')
    cpSync(join(root, 'npm', 'linux-x64-gnu'), staged, { recursive: true })
    cpSync(join(nativeDir, addon), join(staged, addon))
    tarballs.unshift(join(work, npm(['pack', '--pack-destination', work], staged).trim().split('\n').pop()))
  }
  for (const typesNode of TYPES_NODE) {
    const dir = join(work, `types-node-${typesNode}`)
    mkdirSync(dir)
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: `matrix-${typesNode}`, version: '1.0.0', private: true }),
    )
    npm(['install', '--prefer-offline', `typescript@${TYPESCRIPT}`, `@types/node@${typesNode}`, ...tarballs], dir)
    const version = (name) => JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version
    versions[typesNode] = { typescript: version('typescript'), typesNode: version('@types/node') }
    for (const shape of SHAPES) {
      if (!cells.some(([v, s]) => v === typesNode && s === shape)) continue
      const project = join(dir, shape.name)
      mkdirSync(project)
      writeFileSync(
        join(project, 'package.json'),
        JSON.stringify({ name: shape.name, private: true, type: shape.type }),
      )
      for (const f of SHAPE_FILES) cpSync(join(typesDir, 'shapes', f), join(project, f))
      for (const f of CONSUMERS) cpSync(join(typesDir, f), join(project, f))
      writeFileSync(
        join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            skipLibCheck: false,
            target: 'es2022',
            lib: ['es2022', 'esnext.disposable'],
            types: ['node'],
            outDir: 'dist',
            ...shape.options,
          },
          files: [...SHAPE_FILES, ...CONSUMERS],
        }),
      )
    }
  }
}, 240000)

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
  const checked = cells.filter(([v]) => versions[v]).map(([v, s]) => `@types/node ${versions[v].typesNode} × ${s.name}`)
  if (checked.length) {
    console.log(
      `types matrix (${full ? 'full' : 'default; CHITTYID_TYPES_MATRIX=full for all 20 cells'}), TypeScript ${versions.latest.typescript}:\n  ${checked.join('\n  ')}`,
    )
  }
})

/** tsc's own output on failure, so a broken cell reads like the compiler error it is. */
function tsc(project, emit) {
  const tscBin = join(project, '..', 'node_modules', 'typescript', 'bin', 'tsc')
  try {
    run(process.execPath, [tscBin, '-p', 'tsconfig.json', ...(emit ? [] : ['--noEmit'])], project)
  } catch (err) {
    throw new Error(`tsc failed in ${project}:\n${err.stdout || ''}${err.stderr || ''}`)
  }
}

test.each(cells.map(([typesNode, shape]) => [`@types/node@${typesNode}`, shape.name, typesNode, shape]))(
  '%s, %s: tsc --strict, skipLibCheck off',
  (_label, _shape, typesNode, shape) => {
    const project = join(work, `types-node-${typesNode}`, shape.name)
    // The compiled output is run below for the newest @types/node only (it does not change the JS).
    tsc(project, shape.runs && typesNode === 'latest')
  },
  60000,
)

const runnable = canRun
  ? test.each(SHAPES.filter((s) => s.runs).map((s) => [s.name, s]))
  : test.skip.each([['(needs the linux-x64 addon)', null]])

runnable(
  '%s: the compiled imports run against the emulator',
  (_name, shape) => {
    const project = join(work, 'types-node-latest', shape.name)
    for (const file of SHAPE_FILES) {
      const out = run(process.execPath, [join('dist', file.replace(/\.ts$/, '.js'))], project, 30000)
      expect(out).toMatch(/: ok\n$/)
    }
  },
  60000,
)
