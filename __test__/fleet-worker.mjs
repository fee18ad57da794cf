// One fleet member for __test__/fleet.test.mjs, in its own process. Argument: JSON
// { mode: "mint" | "validate", serviceUrl, redis, keyPrefix, apiKey?, ratePerSecond?, count?, startAt?, id? }.
// Prints one JSON line with what it saw.
import { ChittyIDClient } from '../index.mjs'

const job = JSON.parse(process.argv[2])
const client = new ChittyIDClient({
  serviceUrl: job.serviceUrl,
  apiKey: job.apiKey,
  timeout: 20000,
  fleet: { redis: job.redis, keyPrefix: job.keyPrefix, ratePerSecond: job.ratePerSecond, deadlineMs: job.deadlineMs },
})

const report = { ok: 0, errors: {}, status429: 0 }
if (job.mode === 'mint') {
  // Every member is connected to Redis and starts together, so their traffic overlaps.
  for (let i = 0; i < 100 && !client.getStats().fleet.connected; i++)
    await new Promise((resolve) => setTimeout(resolve, 20))
  const wait = job.startAt - Date.now()
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  const outcomes = await Promise.allSettled(Array.from({ length: job.count }, () => client.mint({ entity: 'PEO' })))
  for (const o of outcomes) {
    if (o.status === 'fulfilled') report.ok++
    else {
      report.errors[o.reason.code] = (report.errors[o.reason.code] || 0) + 1
      if (o.reason.status === 429) report.status429++
    }
  }
} else {
  report.result = await client.validate(job.id)
}
report.fleet = client.getStats().fleet
report.cache = client.getStats().cache
await client.close()
process.stdout.write(`${JSON.stringify(report)}\n`)
