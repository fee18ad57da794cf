// Installs the package exactly as it would be published — `npm pack` of the root and of the
// linux-x64-gnu platform package, installed as tarballs (not links) into a fresh project —
// and uses it from CommonJS, ESM and strict TypeScript.
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const platformDir = join(root, 'npm', 'linux-x64-gnu')
const nativeDir = join(root, 'lib', 'native')
const addon = readdirSync(nativeDir).find((f) => f.endsWith('.linux-x64-gnu.node'))
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120000 })
const npm = (args, cwd) => run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], cwd)

const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64' && addon
const maybe = onLinuxX64 ? describe : describe.skip

maybe('the packed package', () => {
  let work
  let rootTarball
  let platformTarball

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'chittyid-pack-'))
    const staged = join(work, 'platform')
    cpSync(platformDir, staged, { recursive: true })
    cpSync(join(nativeDir, addon), join(staged, addon))
    rootTarball = join(work, npm(['pack', '--pack-destination', work], root).trim().split('\n').pop())
    platformTarball = join(work, npm(['pack', '--pack-destination', work], staged).trim().split('\n').pop())
    const app = join(work, 'app')
    cpSync(join(root, '__test__', 'types', 'consumer.ts'), join(app, 'consumer.ts'))
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer-app', version: '1.0.0', private: true }))
    npm(['install', '--offline', platformTarball, rootTarball], app)
  }, 180000)

  afterAll(() => rmSync(work, { recursive: true, force: true }))

  test('the root tarball holds no Rust sources, build output or lockfiles', () => {
    const listing = run('tar', ['-tzf', rootTarball], work).split('\n').filter(Boolean)
    expect(listing).toContain('package/index.js')
    expect(listing).toContain('package/index.d.ts')
    expect(listing).toContain('package/index.d.mts')
    expect(listing).toContain('package/lib/native/index.js')
    expect(listing).toContain('package/LICENSE')
    expect(listing).toContain('package/lib/native/binding.js')
    expect(listing).toContain('package/lib/native/binding.d.ts')
    // The types index.d.ts and portable.d.ts re-export.
    expect(listing).toContain('package/lib/types/ids.d.ts')
    expect(listing).toContain('package/lib/types/stats.d.ts')
    // README's tracing section tells users to copy it from the package.
    expect(listing).toContain('package/examples/otel.js')
    for (const file of [
      'portable.js',
      'portable.mjs',
      'portable.d.ts',
      'portable.d.mts',
      'lib/portable/client.js',
      'lib/requests.js',
      'lib/fetch-failure.js',
    ]) {
      expect(listing).toContain(`package/${file}`)
    }
    for (const entry of listing) {
      expect(entry).not.toMatch(/\.rs$|Cargo\.(toml|lock)$|package-lock\.json$|\/target\/|\.node$|__test__|\.github/)
    }
    const sizeKb = statSync(rootTarball).size / 1024
    const platformMb = statSync(platformTarball).size / 1048576
    console.log(
      `root tarball: ${sizeKb.toFixed(1)} KiB, ${listing.length} files; linux-x64-gnu tarball: ${platformMb.toFixed(2)} MiB`,
    )
    expect(sizeKb).toBeLessThan(200)
  })

  test('installed copies are real files, not links', () => {
    const installed = join(work, 'app', 'node_modules', '@chittyos')
    for (const name of ['chittyid-client', 'chittyid-client-linux-x64-gnu']) {
      expect(statSync(join(installed, name)).isDirectory()).toBe(true)
      expect(run('find', [join(installed, name), '-type', 'l'], work).trim()).toBe('')
    }
  })

  test('CommonJS, ESM and the default import all work against the embedded emulator', () => {
    const app = join(work, 'app')
    const cjs = `
      const { ChittyIDClient, ChittyIDEmulator } = require('@chittyos/chittyid-client');
      const Default = require('@chittyos/chittyid-client').default;
      (async () => {
        const emu = await ChittyIDEmulator.start({ port: 0 });
        const client = new Default({ serviceUrl: emu.url + '/v1' });
        const id = await client.mint({ entity: 'PEO' });
        const ok = Default === ChittyIDClient && (await client.validate(id)).valid;
        await client.close(); await emu.close();
        process.stdout.write(ok ? 'cjs ok' : 'cjs broken');
      })();`
    expect(run(process.execPath, ['-e', cjs], app)).toBe('cjs ok')
    const esm = `
      import ChittyIDClient, { ChittyIDEmulator, ChittyIDClient as Named } from '@chittyos/chittyid-client';
      const emu = await ChittyIDEmulator.start({ port: 0 });
      const client = new ChittyIDClient({ serviceUrl: emu.url });
      const ids = await client.mintBatch([{ entity: 'PLACE' }, { entity: 'ACTOR' }]);
      await client.close(); await emu.close();
      process.stdout.write(ChittyIDClient === Named && ids.length === 2 ? 'esm ok' : 'esm broken');`
    expect(run(process.execPath, ['--input-type=module', '-e', esm], app)).toBe('esm ok')
  })

  test('a worker importing the installed package, bundled as wrangler does, mints in workerd', async () => {
    const app = join(work, 'app')
    writeFileSync(
      join(app, 'worker.mjs'),
      `import { ChittyIDClient, RUNTIME } from '@chittyos/chittyid-client'
      export default {
        async fetch(request, env) {
          const client = new ChittyIDClient({ serviceUrl: env.SERVICE_URL })
          const id = await client.mint({ entity: 'PEO' })
          return Response.json({ runtime: RUNTIME, id, valid: (await client.validate(id)).valid })
        },
      }`,
    )
    const { bundleLikeWrangler, workerOptions } = await import('./workers/bundle.mjs')
    const { Miniflare } = await import('miniflare')
    const { ChittyIDEmulator } = await import('../index.mjs')
    const script = await bundleLikeWrangler(join(app, 'worker.mjs'), { nodejsCompat: false })
    const emu = await ChittyIDEmulator.start({ port: 0 })
    const mf = new Miniflare(workerOptions(script, { nodejsCompat: false, bindings: { SERVICE_URL: `${emu.url}/v1` } }))
    try {
      const out = await (await mf.dispatchFetch('http://worker/')).json()
      expect(out).toMatchObject({ runtime: 'portable', valid: true })
      expect(emu.stats().mintedIds).toEqual([out.id])
    } finally {
      await mf.dispose()
      await emu.close()
    }
  })

  test('a strict TypeScript consumer (nodenext) type-checks against the installed types', () => {
    const app = join(work, 'app')
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          lib: ['es2022', 'esnext.disposable'],
          types: ['node'],
          typeRoots: [join(root, 'node_modules', '@types')],
        },
        files: ['consumer.ts'],
      }),
    )
    run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], app)
  })
})
