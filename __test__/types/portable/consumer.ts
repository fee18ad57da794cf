// A strict TypeScript consumer of the portable build, as a Workers project imports it: through
// the `workerd` export condition (tsconfig.workerd.json sets `customConditions`).
import ChittyIDClientDefault, {
  ChittyIDClient,
  ChittyIDError,
  RUNTIME,
  validateFormat,
  parse,
  type ChittyIDErrorCode,
  type PortableClientStats,
} from '@chittyos/chittyid-client'

const runtime: 'portable' = RUNTIME
const client: ChittyIDClient = new ChittyIDClientDefault({
  serviceUrl: 'https://id.chitty.cc/v1',
  apiKey: 'k',
  wire: 'auto',
  acceptPlaceholders: false,
  // A string of digits read from the environment is a timeout, as in v1.
  timeout: '10000',
})
client.on('placeholder', (e) => {
  const code: string | null = e.errorCode
  void code
})
client.on('retry', (e) => void e.attempt)
// The emitter methods both of its emitters (Node's, or the built-in one without node:events) have.
const retryListeners: number = client.listeners('retry').length
const names: string[] = client.eventNames()
client.setMaxListeners(20).emit('circuitClose', {})
void [retryListeners, names, client.getMaxListeners()]

export async function handler(): Promise<string> {
  try {
    const id = await client.mint({ entity: 'PEO' }, { idempotencyKey: 'k-1' })
    const ok: boolean = validateFormat(id) && parse(id) !== null
    const stats: PortableClientStats = client.getStats()
    const wire: 'v1' | 'deployed' | 'unknown' = stats.wire
    const forgot: boolean = await client.invalidate(id)
    const deployed = parse(id, { grammar: 'deployed' })
    const checked: boolean =
      validateFormat(id, { grammar: 'v1' }) && new ChittyIDClient({ idGrammar: 'deployed' }).validateFormat(id)
    return `${runtime} ${ok} ${wire} ${stats.placeholdersAccepted} ${forgot} ${deployed?.trustLevel ?? ''} ${checked}`
  } catch (err) {
    if (err instanceof ChittyIDError) {
      const code: ChittyIDErrorCode = err.code
      if (code === 'EPLACEHOLDER')
        return `${err.placeholderId ?? ''} ${err.serviceErrorCode ?? ''} ${err.retrySafe === true}`
      if (err.mintedIds !== undefined) return `${err.mintedIds.length} ${err.failedPositions?.join(',') ?? ''}`
      if (code === 'ERR_CHITTYID_UNSUPPORTED') return 'unsupported'
    }
    throw err
  } finally {
    await client.close()
  }
}

// @ts-expect-error fleet mode is not in the portable build's config
new ChittyIDClient({ fleet: { redis: 'redis://localhost' } })
// @ts-expect-error the wire is one of v1, deployed, auto
new ChittyIDClient({ wire: 'v2' })
// @ts-expect-error idGrammar is one of any, v1, deployed
new ChittyIDClient({ idGrammar: 'v2' })
// @ts-expect-error no Prometheus text here
const text: string = client.metrics().length
