'use strict'

// The `fleet` option (README "Fleet mode"): checked here for clear TypeErrors, ranges again natively.

const FIELDS = {
  keyPrefix: 'string',
  apiKeyScope: 'boolean',
  deadlineMs: 'number',
  ratePerSecond: 'number',
  burst: 'number',
  coalesceMs: 'number',
  sharedCache: 'boolean',
  breakerHint: 'boolean',
}

/** `fleet: { redis, ... }` → the native options, or undefined when fleet mode is off. */
function fleetOption(value, invalidArgument) {
  if (value === undefined || value === null || value === false) return undefined
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgument('ChittyIDClient option "fleet" must be an object like { redis: "redis://host:6379" } or false')
  }
  if (typeof value.redis !== 'string' || !value.redis.startsWith('redis://')) {
    throw invalidArgument('ChittyIDClient option "fleet.redis" must be a redis:// URL')
  }
  const options = { redis: value.redis }
  for (const [field, type] of Object.entries(FIELDS)) {
    const v = value[field]
    if (v === undefined) continue
    if (typeof v !== type || (type === 'number' && !Number.isFinite(v))) {
      throw invalidArgument(`ChittyIDClient option "fleet.${field}" must be a ${type === 'number' ? 'finite number' : type}, got ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`)
    }
    options[field] = v
  }
  for (const field of Object.keys(value)) {
    if (field !== 'redis' && !(field in FIELDS)) throw invalidArgument(`ChittyIDClient option "fleet" has no field "${field}"`)
  }
  return options
}

module.exports = { fleetOption }
