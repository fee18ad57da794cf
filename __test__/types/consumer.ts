// A strict TypeScript consumer: must compile with `tsc --strict`; the @ts-expect-error
// lines prove that wrong usage is rejected.
import ChittyIDClientDefault, {
  ChittyIDClient,
  ChittyIDEmulator,
  ChittyIDError,
  mintChittyID,
  validateChittyID,
  type ValidationResult,
} from '@chittyos/chittyid-client'

async function main(): Promise<void> {
  const emulator = await ChittyIDEmulator.start({ port: 0, token: 't' })
  const client: ChittyIDClient = new ChittyIDClientDefault({ serviceUrl: `${emulator.url}/v1`, apiKey: 't', retry: { maxAttempts: 2 } })
  const id: string = await client.mint({ entity: 'PEO', name: 'n', metadata: { k: 1 } })
  const ids: string[] = await client.mintBatch([{ entity: 'PLACE' }])
  const result: ValidationResult = await client.validate(id, { signal: AbortSignal.timeout(1000) })
  const ok: boolean = client.validateFormat(ids[0]) && result.valid && (await client.healthCheck())
  const parsed = ChittyIDClient.parse(id)
  if (parsed) console.log(parsed.entityType.toLowerCase())
  client.on('retry', (e) => console.log(e.operation, e.attempt, e.delay, e.error.message))
  client.on('circuitOpen', (e) => console.log(e.failures))
  emulator.setFault({ errorStatus: 503, remaining: 1, routes: ['mint'] })
  try {
    await mintChittyID({ entity: 'INFO' }, { serviceUrl: emulator.url, circuitBreaker: false })
  } catch (err) {
    if (err instanceof ChittyIDError) console.log(err.code, err.status, err.cause?.message)
  }
  console.log(ok, (await validateChittyID(id)).valid, emulator.stats().mintedIds.length)

  // @ts-expect-error entity is required
  await client.mint({ name: 'x' })
  // @ts-expect-error timeout is a number
  new ChittyIDClient({ timeout: '10' })
  // @ts-expect-error unknown event payload field
  client.on('retry', (e) => e.nope)
  // @ts-expect-error unknown fault route
  emulator.setFault({ routes: ['everything'] })

  await client.close()
  await emulator.close()
}

void main()
