#!/usr/bin/env node
// Makes a fresh clone usable: installs dev dependencies when node_modules is missing and
// builds the native addon when it is missing, older than its Rust sources, or built with
// another cargo profile than the command needs. The README commands start here, so each works
// on a clone with nothing installed or built.
//
//   node scripts/ensure-built.js                    any up-to-date addon (else `checked`)
//   node scripts/ensure-built.js --profile release  the LTO build (shipped, `npm run bench`)
//   node scripts/ensure-built.js --profile checked  the build `npm test` shares with `cargo test`
//
// Which profile built the present addon is read from the addon itself: napi copies it unchanged
// from target/<host triple>/<profile>/, so it is the profile whose library there has the same
// bytes. Nothing is written to keep track, and an addon no profile matches counts as unknown.
'use strict'

const { execFileSync, execSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
/** Where `napi build` writes the addon and its generated loader (package.json `build`). */
const nativeDir = path.join(root, 'lib', 'native')
const PROFILES = ['release', 'checked']
const BUILD_SCRIPTS = { release: 'build', checked: 'build:checked' }
const run = (cmd) => execSync(cmd, { cwd: root, stdio: 'inherit' })

function newestSourceMtime() {
  const files = ['Cargo.toml', 'Cargo.lock', 'build.rs']
  const walk = (dir) => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(rel)
      else if (entry.name.endsWith('.rs')) files.push(rel)
    }
  }
  walk('src')
  return Math.max(
    ...files.filter((f) => fs.existsSync(path.join(root, f))).map((f) => fs.statSync(path.join(root, f)).mtimeMs),
  )
}

function builtAddon() {
  if (!fs.existsSync(nativeDir)) return undefined
  const found = fs.readdirSync(nativeDir).filter((f) => f.startsWith('chittyid-client.') && f.endsWith('.node'))
  return found.length ? path.join(nativeDir, found[0]) : undefined
}

function hostTriple() {
  const out = execFileSync('rustc', ['-vV'], { encoding: 'utf8' })
  const host = /^host: (\S+)$/m.exec(out)
  if (!host) throw new Error('ensure-built: no "host:" line in `rustc -vV`')
  return host[1]
}

function sameBytes(a, b) {
  if (fs.statSync(a).size !== fs.statSync(b).size) return false
  return fs.readFileSync(a).equals(fs.readFileSync(b))
}

/** The cargo profile the present addon was built with: a name of PROFILES, or undefined. */
function addonProfile(addon = builtAddon()) {
  if (!addon) return undefined
  let dir
  try {
    dir = path.join(
      process.env.CARGO_TARGET_DIR ? path.resolve(root, process.env.CARGO_TARGET_DIR) : path.join(root, 'target'),
      hostTriple(),
    )
  } catch {
    return undefined
  }
  const library = /^(lib)?chittyid_client\.(so|dylib|dll)$/
  for (const profile of PROFILES) {
    const profileDir = path.join(dir, profile)
    if (!fs.existsSync(profileDir)) continue
    const candidate = fs.readdirSync(profileDir).find((f) => library.test(f))
    if (candidate && sameBytes(addon, path.join(profileDir, candidate))) return profile
  }
  return undefined
}

function parseWanted(argv) {
  const i = argv.indexOf('--profile')
  if (i === -1) return undefined
  const wanted = argv[i + 1]
  if (!PROFILES.includes(wanted)) {
    console.error(`ensure-built: --profile must be one of ${PROFILES.join(', ')}, not ${wanted}`)
    process.exit(2)
  }
  return wanted
}

function main() {
  const wanted = parseWanted(process.argv.slice(2))

  if (!fs.existsSync(path.join(root, 'node_modules', '@napi-rs', 'cli'))) {
    // `npm ci` installs exactly the lockfile and never rewrites it, so the commands leave the
    // working tree clean whatever the npm version (`npm install` with npm 10 drops the `libc`
    // fields npm 11 writes). `npm install` only if the lockfile no longer fits package.json.
    try {
      run('npm ci --no-audit --no-fund')
    } catch {
      console.error(
        'ensure-built: `npm ci` failed (package-lock.json out of sync with package.json?); running `npm install`',
      )
      run('npm install --no-audit --no-fund')
    }
  }

  const addon = builtAddon()
  const stale =
    !addon || !fs.existsSync(path.join(nativeDir, 'binding.js')) || fs.statSync(addon).mtimeMs < newestSourceMtime()
  const present = stale ? undefined : addonProfile(addon)
  if (!stale && (!wanted || present === wanted)) return
  // A stale addon with no profile asked for is rebuilt in the profile it had, so the test
  // profile's loop stays in the test profile; with none to go by, the test profile too, so
  // `npm run demo` then `npm test` on a fresh clone build once.
  const profile = wanted || (addon && addonProfile(addon)) || 'checked'
  const why = !addon
    ? 'no addon built'
    : stale
      ? 'the addon is older than its Rust sources'
      : `the addon was built with ${present ? `the ${present}` : 'an unknown'} profile`
  console.error(`ensure-built: ${why}; building it with the ${profile} profile`)
  run(`npm run ${BUILD_SCRIPTS[profile]} --silent`)
}

module.exports = { addonProfile }

if (require.main === module) main()
