// `node --test --import ./map-client.mjs`: '@chittyos/chittyid-client' resolves to the v1-like
// fetch client (../v1-client.js, DROPIN_IMPL=v1) or to this package (DROPIN_IMPL=v2), so the
// suites in this folder run unchanged against both (__test__/dropin-runners.test.mjs).

import { register } from 'node:module'

const targets = { v1: '../v1-client.js', v2: '../../../index.mjs' }
const target = targets[process.env.DROPIN_IMPL ?? 'v2']
if (target === undefined) throw new Error(`DROPIN_IMPL must be v1 or v2, got ${process.env.DROPIN_IMPL}`)

register('./map-client-hooks.mjs', import.meta.url, { data: new URL(target, import.meta.url).href })
