// The jest recipes of docs/TESTING.md run as written: for each of its CommonJS and ESM recipes, a fresh
// project gets the recipe's package.json fields and files, copied out of docs/TESTING.md (so the
// doc cannot drift from what is tested), the packed package and jest from the registry,
// and `npm test` must pass a real mint against the emulator its globalSetup started.
import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const npmCache = join(tmpdir(), 'chittyid-types-matrix-npm-cache') // shared with types-matrix.test.mjs
const JEST = 'jest@30'

const addon = readdirSync(join(root, 'lib', 'native')).find((f) => f.endsWith('.linux-x64-gnu.node'))
const maybe = process.platform === 'linux' && process.arch === 'x64' && addon ? describe : describe.skip

const run = (cmd, args, cwd, timeout) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout, env: cleanEnv() })
const npm = (args, cwd, timeout = 150000) =>
  run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error', '--cache', npmCache], cwd, timeout)

/** This jest run's own variables would leak into the recipe's jest. */
function cleanEnv() {
  const env = { ...process.env }
  for (const name of Object.keys(env)) if (name.startsWith('JEST_') || name === 'NODE_OPTIONS') delete env[name]
  return env
}

/**
 * The recipe that follows `heading` (e.g. "**ESM project**") in README's jest section: its json
 * block (package.json fields) and its js block split into files at `// path` lines.
 */
function recipe(heading) {
  const readme = readFileSync(join(root, 'docs', 'TESTING.md'), 'utf8')
  const section = readme.slice(readme.indexOf('### Testing your service with jest'))
  const from = section.indexOf(heading)
  expect(from).toBeGreaterThan(0)
  const rest = section.slice(from + heading.length)
  const next = rest.search(/\n\*\*[A-Za-z]+ project\*\*|\n##+ /)
  const text = next === -1 ? rest : rest.slice(0, next)
  const blocks = [...text.matchAll(/```(json|js)\n([\s\S]*?)```/g)]
  const json = blocks.filter(([, lang]) => lang === 'json')
  const js = blocks.filter(([, lang]) => lang === 'js')
  expect([json.length, js.length]).toEqual([1, 1])
  const files = {}
  let current
  for (const line of js[0][2].split('\n')) {
    const header = /^\/\/ ([\w./-]+\.(?:c|m)?js)$/.exec(line)
    if (header) {
      current = header[1]
      files[current] = ''
    } else if (current) {
      files[current] += `${line}\n`
    }
  }
  return { packageJson: JSON.parse(json[0][2]), files }
}

maybe('the README jest recipes', () => {
  let work
  let tarballs

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'chittyid-jest-recipe-'))
    const staged = join(work, 'platform')
    cpSync(join(root, 'npm', 'linux-x64-gnu'), staged, { recursive: true })
    cpSync(join(root, 'lib', 'native', addon), join(staged, addon))
    tarballs = [staged, root].map((dir) =>
      join(work, npm(['pack', '--pack-destination', work], dir).trim().split('\n').pop()),
    )
  }, 60000)

  afterAll(() => rmSync(work, { recursive: true, force: true }))

  for (const [name, heading] of [
    ['CommonJS', '**CommonJS project**'],
    ['ESM', '**ESM project**'],
  ]) {
    test(`${name}: npm test passes as written`, () => {
      const { packageJson, files } = recipe(heading)
      expect(Object.keys(files)).toEqual(
        expect.arrayContaining(['jest.config.js', 'test/chittyid-setup.js', 'test/mint.test.js']),
      )
      const project = join(work, name.toLowerCase())
      mkdirSync(project)
      writeFileSync(
        join(project, 'package.json'),
        JSON.stringify(
          { name: `recipe-${name.toLowerCase()}`, version: '1.0.0', private: true, ...packageJson },
          null,
          2,
        ),
      )
      for (const [file, content] of Object.entries(files)) {
        mkdirSync(dirname(join(project, file)), { recursive: true })
        writeFileSync(join(project, file), content)
      }
      npm(['install', '--prefer-offline', '--save-dev', JEST, ...tarballs], project)
      const result = spawnSync('npm', ['test'], { cwd: project, encoding: 'utf8', timeout: 90000, env: cleanEnv() })
      const output = `${result.stdout}\n${result.stderr}`
      if (result.status !== 0)
        throw new Error(`npm test failed in the ${name} recipe (status ${result.status}):\n${output}`)
      expect(output).toMatch(/Tests:\s+1 passed, 1 total/)
      expect(output).not.toMatch(/did not exit|open handle/i)
    }, 240000)
  }
})
