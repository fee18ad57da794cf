'use strict'

// Latency fleet mode adds per mint, against the embedded emulator and a local redis-server:
//   bash scripts/with-redis.sh node bench/fleet.js [--calls 3000]
// Three clients take turns in rounds of 100 sequential mints (so drift on a shared machine
// hits them alike): without fleet mode, with fleet mode and no rate budget (no Redis command
// per mint), and with a rate budget too high to wait on (one EVALSHA per mint).

const { ChittyIDClient, ChittyIDEmulator } = require('..')

const REDIS = process.env.CHITTYID_TEST_REDIS_URL
if (!REDIS) {
  console.error('CHITTYID_TEST_REDIS_URL is not set: run `bash scripts/with-redis.sh node bench/fleet.js`')
  process.exit(1)
}
const argIndex = process.argv.indexOf('--calls')
const CALLS = argIndex > 0 ? Number(process.argv[argIndex + 1]) : 3000
const ROUND = 100

function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * q) - 1)]
}

async function main() {
  const emulator = await ChittyIDEmulator.start({ port: 0 })
  const serviceUrl = `${emulator.url}/v1`
  const keyPrefix = `chittyid-bench-${process.pid}`
  const cases = [
    ['without fleet', new ChittyIDClient({ serviceUrl })],
    ['fleet, no rate budget', new ChittyIDClient({ serviceUrl, fleet: { redis: REDIS, keyPrefix } })],
    [
      'fleet, rate budget',
      new ChittyIDClient({ serviceUrl, fleet: { redis: REDIS, keyPrefix, ratePerSecond: 1e6, burst: 1e6 } }),
    ],
  ]
  const samples = cases.map(() => [])
  for (const [, client] of cases) for (let i = 0; i < 200; i++) await client.mint({ entity: 'PEO' })
  for (let done = 0; done < CALLS; done += ROUND) {
    for (const [i, [, client]] of cases.entries()) {
      for (let j = 0; j < ROUND; j++) {
        const t0 = process.hrtime.bigint()
        await client.mint({ entity: 'PEO' })
        samples[i].push(Number(process.hrtime.bigint() - t0) / 1e6)
      }
    }
  }
  const base = samples[0].sort((a, b) => a - b)
  console.log(`| case | calls | p50 ms | p99 ms | added p50 ms | added p99 ms |`)
  console.log(`|---|---|---|---|---|---|`)
  for (const [i, [name, client]] of cases.entries()) {
    const s = samples[i].sort((a, b) => a - b)
    const p50 = percentile(s, 0.5)
    const p99 = percentile(s, 0.99)
    const added = (q) => (percentile(s, q) - percentile(base, q)).toFixed(3)
    console.log(
      `| ${name} | ${s.length} | ${p50.toFixed(3)} | ${p99.toFixed(3)} | ${i === 0 ? '—' : added(0.5)} | ${i === 0 ? '—' : added(0.99)} |`,
    )
    const fleet = client.getStats().fleet
    if (fleet && (fleet.errors || fleet.timeouts || fleet.degraded))
      console.log(`  (${name}: Redis errors ${fleet.errors}, timeouts ${fleet.timeouts})`)
    await client.close()
  }
  await emulator.close()
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
