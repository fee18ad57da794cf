// The default import is the ChittyIDClient class itself, as a value and as a type, in every
// consumer shape (types-matrix.test.mjs compiles and, where node can run the output, runs it).
import ChittyIDClient from '@chittyos/chittyid-client'
import { ChittyIDEmulator, type ValidationResult } from '@chittyos/chittyid-client'

async function run(): Promise<string> {
  const emulator = await ChittyIDEmulator.start({ port: 0 })
  const client: ChittyIDClient = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, retry: false })
  try {
    const id: string = await client.mint({ entity: 'PEO' })
    const result: ValidationResult = await client.validate(id)
    const parsed = ChittyIDClient.parse(id)
    return `default import: ${result.valid && parsed?.entityType === 'P' ? 'ok' : 'broken'}`
  } finally {
    await client.close()
    await emulator.close()
  }
}

function misuse(): void {
  // @ts-expect-error the config is an object
  new ChittyIDClient('https://id.chitty.cc/v1')
}
void misuse

run().then((line) => process.stdout.write(`${line}\n`))
