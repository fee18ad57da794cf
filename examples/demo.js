// The main job: start the embedded emulator, mint, batch-mint, validate, watch events
// and print the client's view of it all; then the same against the deployed service's wire.
'use strict'

const { ChittyIDClient, ChittyIDEmulator } = require('..')

async function main() {
  const emulator = await ChittyIDEmulator.start({ port: 0, token: 'demo-token' })
  const client = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, apiKey: 'demo-token' })
  const seen = []
  for (const name of ['retry', 'circuitOpen', 'circuitHalfOpen', 'circuitClose', 'stateChange', 'connected']) {
    client.on(name, (payload) => seen.push({ event: name, ...payload }))
  }
  try {
    console.log(`emulator listening on ${emulator.url}`)
    console.log(`healthCheck  -> ${await client.healthCheck()}`)

    const person = await client.mint({ entity: 'PEO', name: 'Ada Lovelace' })
    console.log(`mint PEO     -> ${person}`)

    const batch = await client.mintBatch([{ entity: 'PLACE' }, { entity: 'EVNT' }, { entity: 'ACTOR' }])
    console.log(`mintBatch    -> ${batch.join(', ')}`)

    console.log('validate     ->', await client.validate(person))
    console.log('validate bad ->', await client.validate('CT-A-CHI-1234-I-24-A-0'))
    console.log(`validateFormat('chitty_old_id') -> ${client.validateFormat('chitty_old_id')}`)
    console.log('parse        ->', ChittyIDClient.parse(person))

    emulator.setFault({ errorStatus: 503, remaining: 2 })
    console.log(`mint through a 503 burst -> ${await client.mint({ entity: 'INFO' })}`)

    console.log('events       ->', seen.map((e) => e.event).join(', ') || '(none)')
    if (typeof client.getStats === 'function')
      console.log('stats        ->', JSON.stringify(client.getStats(), null, 2))
    const ledger = emulator.stats()
    console.log(`emulator ledger: ${ledger.minted} minted, ${ledger.idempotentReplays} idempotent replays`)
  } finally {
    await client.close()
    await emulator.close()
  }
  await deployedWire()
}

// The same client against the service as deployed (docs/OPERATIONS.md "Which service this talks to"): a
// second emulator with the deployed profile. The client learns the wire from the answers.
async function deployedWire() {
  const emulator = await ChittyIDEmulator.start({ port: 0, profile: 'deployed' })
  const client = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1` })
  try {
    console.log(`\ndeployed-profile emulator on ${emulator.url}`)
    console.log(`wire before any call -> ${client.getStats().wire}`)
    const place = await client.mint({ entity: 'PLACE', name: 'Reading Room' })
    console.log(`mint PLACE   -> ${place} (wire: ${client.getStats().wire})`)
    console.log('validate     ->', await client.validate(place), '(POST /api/validate)')
    console.log(`healthCheck  -> ${await client.healthCheck()} (GET /health at the origin)`)
    console.log(
      `mintBatch    -> ${(await client.mintBatch([{ entity: 'PEO' }, { entity: 'EVNT' }])).join(', ')} (no batch route: one by one)`,
    )
    emulator.setFault({ placeholder: 'MINT_UNAVAILABLE', remaining: 1 })
    const err = await client.mint({ entity: 'PEO' }).catch((e) => e)
    console.log(
      `placeholder  -> ${err.code} ${err.placeholderId} (${err.serviceErrorCode}, retrySafe: ${err.retrySafe})`,
    )
  } finally {
    await client.close()
    await emulator.close()
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
