'use strict'

// What a machine without a fitting addon is told: napi-rs's generated loader (binding.js, not
// edited by hand) throws a generic "Cannot find native binding"; `noAddonError` replaces it
// with an error that names the platform detected, the prebuilt targets and what to do, keeping
// the loader's own error as `cause`. The gate that uses it is ./index.js.

const pkg = require('../../package.json')

const CPU_OF_RUST_ARCH = {
  x86_64: 'x64',
  aarch64: 'arm64',
  i686: 'ia32',
  armv7: 'arm',
  riscv64gc: 'riscv64',
  powerpc64le: 'ppc64',
  s390x: 's390x',
}
const ABIS = new Set(['gnu', 'musl', 'msvc', 'gnueabihf', 'musleabihf', 'eabi'])

/** `x86_64-unknown-linux-gnu` → `linux-x64-gnu`: napi-rs's name for a Rust target triple. */
function platformOfTarget(triple) {
  const parts = triple.split('-')
  const cpu = CPU_OF_RUST_ARCH[parts[0]] || parts[0]
  const os = parts.includes('linux')
    ? 'linux'
    : parts.includes('darwin')
      ? 'darwin'
      : parts.includes('windows')
        ? 'win32'
        : parts.find((p) => p !== parts[0] && p !== 'unknown' && p !== 'pc' && p !== 'apple') || 'unknown'
  const abi = ABIS.has(parts[parts.length - 1]) ? parts[parts.length - 1] : undefined
  return abi ? `${os}-${cpu}-${abi}` : `${os}-${cpu}`
}

/** `"glibc"`, `"musl"` or `"unknown"` on Linux; `undefined` elsewhere. */
function detectLibc() {
  if (process.platform !== 'linux') return undefined
  try {
    const report = process.report && process.report.getReport()
    if (report && report.header && report.header.glibcVersionRuntime) return 'glibc'
    if (
      report &&
      Array.isArray(report.sharedObjects) &&
      report.sharedObjects.some((f) => /libc\.musl-|ld-musl-/.test(f))
    ) {
      return 'musl'
    }
  } catch {
    // fall through
  }
  return 'unknown'
}

/** This machine in napi-rs's naming (`linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`, ...). */
function platformOfHost(libc) {
  const base = `${process.platform}-${process.arch}`
  if (process.platform === 'linux') return `${base}-${libc === 'musl' ? 'musl' : 'gnu'}`
  if (process.platform === 'win32') return `${base}-msvc`
  return base
}

/** First line of each load attempt the generated loader recorded (its `cause` chain). */
function attempts(err) {
  const lines = []
  for (let e = err && err.cause; e && lines.length < 10; e = e.cause) {
    lines.push(String(e.message).split('\n')[0])
  }
  return lines.reverse()
}

/** The explanation thrown instead of napi-rs's generic "Cannot find native binding". */
function noAddonError(cause) {
  const libc = detectLibc()
  const host = platformOfHost(libc)
  const supported = (pkg.napi && pkg.napi.targets ? pkg.napi.targets : []).map(platformOfTarget)
  const optionalPackage = `${pkg.name}-${host}`
  const lines = [
    `${pkg.name} ${pkg.version}: no native addon could be loaded on this machine: ` +
      `${process.platform} ${process.arch}${libc ? ` (${libc === 'unknown' ? 'libc unknown' : libc})` : ''}, Node ${process.version}.`,
    `Prebuilt addons exist for: ${supported.join(', ')}.`,
  ]
  if (process.env.NAPI_RS_NATIVE_LIBRARY_PATH) {
    lines.push(
      `NAPI_RS_NATIVE_LIBRARY_PATH is set (${process.env.NAPI_RS_NATIVE_LIBRARY_PATH}) but that file did not load; unset it or point it at a built addon.`,
    )
  } else if (supported.includes(host)) {
    lines.push(
      `This platform (${host}) is supported: its addon is the optional dependency ${optionalPackage}, which is missing or failed to load.`,
      `Install it: npm install ${optionalPackage}@${pkg.version}`,
      'npm leaves optional dependencies out with --omit=optional (or --no-optional), and a package-lock.json written on ' +
        'another platform may not list this one: then delete node_modules and package-lock.json and run npm install again.',
    )
  } else {
    lines.push(
      `No prebuilt addon fits this platform (${host}). Build it from source: with Rust stable and Node >= 18, ` +
        '`npm install && npm run build` in a clone of the package repository writes ' +
        `chittyid-client.${host}.node; copy it next to this package's lib/native/binding.js, or set ` +
        'NAPI_RS_NATIVE_LIBRARY_PATH to its path.',
    )
  }
  lines.push(
    `Bundled with esbuild, webpack or Next.js? A .node file cannot be bundled: mark ${pkg.name} as external (README "Bundlers").`,
  )
  const tried = attempts(cause)
  if (tried.length > 0) lines.push('Load attempts:', ...tried.map((line) => `  - ${line}`))
  const error = new Error(lines.join('\n'))
  error.code = 'ERR_CHITTYID_NO_NATIVE_ADDON'
  error.platform = { os: process.platform, arch: process.arch, libc: libc ?? null, target: host }
  error.supportedPlatforms = supported
  error.cause = cause
  return error
}

module.exports = { noAddonError, platformOfTarget }
