// lib/wire.js (the JS twin of src/wire.rs's tables, used by the portable build) against what
// the native client does over real sockets: the entityType word each entity code is sent with,
// and which placeholder errorCodes reject with retrySafe: true. Both builds are run, so the
// table and the rule have one meaning across them.
import { createRequire } from 'node:module'
import { ChittyIDClient as NativeClient, ChittyIDEmulator } from '../index.mjs'
import * as portable from '../portable.mjs'
import { startDeployedStandIn } from './behaviour/deployed-standin.mjs'

const require = createRequire(import.meta.url)
const { ENTITY_TYPE_WORDS, placeholderRetrySafe } = require('../lib/wire.js')
const { PLACEHOLDER_ERROR_CODES, ENTITY_TYPE_LETTERS } = require('../lib/id.js')

const BUILDS = { native: NativeClient, portable: portable.ChittyIDClient }

describe.each(Object.keys(BUILDS))('%s build', (build) => {
  const Client = BUILDS[build]

  test('every entity code is sent with the entityType word of lib/wire.js', async () => {
    expect(Object.keys(ENTITY_TYPE_WORDS)).toEqual(Object.keys(ENTITY_TYPE_LETTERS))
    const srv = await startDeployedStandIn()
    const client = new Client({ serviceUrl: srv.serviceUrl, wire: 'deployed', retry: false })
    try {
      const entities = Object.keys(ENTITY_TYPE_WORDS)
      for (const entity of entities) await client.mint({ entity })
      expect(srv.bodies.map((b) => [b.entity, b.entityType])).toEqual(entities.map((e) => [e, ENTITY_TYPE_WORDS[e]]))
      // A code the table does not know is sent as given: the deployed service reads only
      // entityType (a thing without one), so it reads the code itself or refuses it.
      await client.mint({ entity: 'NOPE' }).catch(() => {})
      expect(srv.bodies.at(-1)).toEqual({ entityType: 'NOPE', entity: 'NOPE' })
    } finally {
      await client.close()
      await srv.close()
    }
  })

  test.each(Object.keys(PLACEHOLDER_ERROR_CODES))(
    'a %s placeholder rejects with the retrySafe of lib/wire.js',
    async (code) => {
      const emu = await ChittyIDEmulator.start({ port: 0, profile: 'deployed' })
      const client = new Client({ serviceUrl: `${emu.url}/v1`, retry: false })
      try {
        emu.setFault({ placeholder: code, remaining: 1 })
        const err = await client.mint({ entity: 'PEO' }).then(
          (id) => ({ resolved: id }),
          (e) => e,
        )
        expect({ code: err.code, serviceErrorCode: err.serviceErrorCode, retrySafe: err.retrySafe }).toEqual({
          code: code === 'RATE_LIMITED' ? 'ERATELIMITED' : 'EPLACEHOLDER',
          serviceErrorCode: code,
          retrySafe: placeholderRetrySafe(code),
        })
        expect(emu.stats().requests.mint).toBe(1)
      } finally {
        await client.close()
        await emu.close()
      }
    },
  )
})
