// Named imports, including the compat classes whose types extend Node's EventEmitter (they
// must fit every supported @types/node with skipLibCheck off).
import {
  ChittyIDClient,
  ChittyIDConnectionManager,
  ChittyIDEmulator,
  ChittyIDError,
  CircuitBreaker,
  mintChittyID,
  type ConnectionManagerListener,
} from '@chittyos/chittyid-client'

async function run(): Promise<string> {
  const emulator = await ChittyIDEmulator.start({ port: 0 })
  const manager = new ChittyIDConnectionManager({ serviceUrl: emulator.url, healthCheckInterval: 60000 })
  const onConnected = (): void => {}
  manager.on('connected', onConnected)
  manager.off('connected', onConnected)
  const emptied: ConnectionManagerListener[] | undefined = manager.listeners.get('connected')
  const fromEmitter: Array<(...args: any[]) => void> = manager.listeners('connected')
  const connected: boolean = await manager.connect()
  await manager.reset()
  const client = new ChittyIDClient({ serviceUrl: emulator.url, circuitBreaker: false })
  let code = ''
  try {
    await mintChittyID({ entity: 'NOPE' }, { serviceUrl: emulator.url, retry: false })
  } catch (err) {
    if (err instanceof ChittyIDError) code = err.code
  }
  const breaker = new CircuitBreaker({ failureThreshold: 2 })
  const id: string = await breaker.execute(() => client.mint({ entity: 'INFO' }))
  await client.close()
  await emulator.close()
  const ok =
    connected && emptied?.length === 0 && fromEmitter.length === 0 && code === 'EHTTP' && client.validateFormat(id)
  return `named imports: ${ok ? 'ok' : 'broken'}`
}

run().then((line) => process.stdout.write(`${line}\n`))
