#!/usr/bin/env node
// Makes a fresh clone usable: installs dev dependencies when node_modules is missing and
// builds the native addon when it is missing or older than its Rust sources. Both README
// commands start here, so each works on a clone with nothing installed or built.
'use strict'

const { execSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
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
  const found = fs.readdirSync(root).filter((f) => f.startsWith('chittyid-client.') && f.endsWith('.node'))
  return found.length ? path.join(root, found[0]) : undefined
}

if (!fs.existsSync(path.join(root, 'node_modules', '@napi-rs', 'cli'))) {
  // `npm ci` installs exactly the lockfile and never rewrites it, so the commands leave the
  // working tree clean whatever the npm version (`npm install` with npm 10 drops the `libc`
  // fields npm 11 writes). `npm install` only if the lockfile no longer fits package.json.
  try {
    run('npm ci --no-audit --no-fund')
  } catch {
    console.error('ensure-built: `npm ci` failed (package-lock.json out of sync with package.json?); running `npm install`')
    run('npm install --no-audit --no-fund')
  }
}

const addon = builtAddon()
const stale = !addon || !fs.existsSync(path.join(root, 'binding.js')) || fs.statSync(addon).mtimeMs < newestSourceMtime()
if (stale) run('npm run build --silent')
