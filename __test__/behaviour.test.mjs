// The shared behaviour suite (__test__/behaviour/cases.mjs) against both builds under Node: the
// native addon (index.mjs) and the portable build (portable.mjs). __test__/workers.test.mjs runs
// the portable build's cases again inside workerd.
import * as nativeApi from '../index.mjs'
import * as portableApi from '../portable.mjs'
import { casesFor, runCase } from './behaviour/cases.mjs'
import { serverFor, deadUrl } from './behaviour/servers.mjs'

const BUILDS = { native: nativeApi, portable: portableApi }

describe.each(Object.keys(BUILDS))('%s build', (build) => {
  let nowhere
  beforeAll(async () => {
    nowhere = await deadUrl()
  })

  test.each(casesFor(build).map((c) => [c.name, c]))('%s', async (name, c) => {
    const { server, serviceUrl, close } = await serverFor(c)
    try {
      const outcome = await runCase(name, { api: BUILDS[build], build, runtime: 'node', serviceUrl, deadUrl: nowhere })
      expect(outcome.failed).toBeUndefined()
      if (c.check) c.check(outcome.result, server)
    } finally {
      await close()
    }
  })
})
