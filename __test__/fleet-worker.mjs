// One fleet member for __test__/fleet.test.mjs, in its own process. Argument: JSON
// { mode: "mint" | "loop" | "validate", serviceUrl, redis, keyPrefix, apiKey?, ratePerSecond?, count?,
// startAt?, id?, timeout?, deadlineMs?, concurrency?, durationMs? }. "loop": `concurrency` callers
// mint one after another until `durationMs` after `startAt` (an ERATELIMITED waits 50 ms).
// Prints one JSON line with what it saw.
import { ChittyIDClient } from '../index.mjs'

const job = JSON.parse(process.argv[2])
const client = new ChittyIDClient({
  serviceUrl: job.serviceUrl,
  apiKey: job.apiKey,
  timeout: job.timeout ?? 20000,
  fleet: {
    redis: job.redis,
    keyPrefix: job.keyPrefix,
    ratePerSecond: job.ratePerSecond,
    // "validate": a roomy deadline (see below); the default otherwise.
    deadlineMs: job.deadlineMs ?? (job.mode === 'validate' ? 1000 : undefined),
  },
})

const report = { ok: 0, errors: {}, status429: 0 }
const note = (e) => {
  report.errors[e.code] = (report.errors[e.code] || 0) + 1
  if (e.status === 429) report.status429++
}
if (job.mode === 'mint' || job.mode === 'loop') {
  // Every member is connected to Redis and starts together, so their traffic overlaps.
  for (let i = 0; i < 100 && !client.getStats().fleet.connected; i++)
    await new Promise((resolve) => setTimeout(resolve, 20))
  const wait = job.startAt - Date.now()
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  // Ready: the parent may act on this member (kill it) from now on.
  process.stderr.write('started\n')
}
if (job.mode === 'loop') {
  const end = job.startAt + job.durationMs
  const caller = async () => {
    while (Date.now() < end) {
      try {
        await client.mint({ entity: 'PEO' })
        report.ok++
      } catch (e) {
        note(e)
        if (e.code === 'ERATELIMITED') await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
  }
  await Promise.all(Array.from({ length: job.concurrency }, caller))
} else if (job.mode === 'mint') {
  const outcomes = await Promise.allSettled(Array.from({ length: job.count }, () => client.mint({ entity: 'PEO' })))
  for (const o of outcomes) {
    if (o.status === 'fulfilled') report.ok++
    else note(o.reason)
  }
} else {
  // A lookup before the connection to Redis is made, or one that outlasts the deadline on a
  // loaded machine, stays local and proves nothing about the shared cache: wait for it.
  for (let i = 0; i < 500 && !client.getStats().fleet.connected; i++) await new Promise((r) => setTimeout(r, 20))
  report.result = await client.validate(job.id)
}
report.fleet = client.getStats().fleet
report.cache = client.getStats().cache
await client.close()
process.stdout.write(`${JSON.stringify(report)}\n`)
