'use strict'

// The bench's mode and layout, shared by bench/run.js and its report (bench/lib/report.js).

const os = require('node:os')
const path = require('node:path')
const { hasTaskset, parseFlags } = require('./common.js')

const flags = parseFlags(process.argv.slice(2))
const SMOKE = Boolean(flags.smoke)
const RESULTS_FILE = path.join(__dirname, '..', 'RESULTS.md')
const EMULATOR_BAR = 30000

const MODE = SMOKE
  ? {
      rounds: 1,
      capacityMs: 300,
      warmupMs: 100,
      durationMs: 250,
      microMs: 120,
      batchMs: 5,
      reps: 3,
      memoryEntries: 20000,
      loadRuns: 1,
    }
  : {
      rounds: 5,
      capacityMs: 3000,
      warmupMs: 700,
      durationMs: 2500,
      microMs: 1500,
      batchMs: 40,
      reps: 7,
      memoryEntries: 1_000_000,
      loadRuns: 3,
    }
if (flags.rounds) MODE.rounds = Math.max(1, Math.min(20, Number(flags.rounds)))
if (flags['duration-ms']) MODE.durationMs = Math.max(100, Math.min(30000, Number(flags['duration-ms'])))

const CONCURRENCY = [1, 64, 256]
/** The calls measured at each concurrency: mint, and validate() with both caches off. */
const OPS = ['mint', 'validate']
/** The concurrencies of an op's runs (the smoke run checks validate's runs at one only). */
const levels = (op) => (SMOKE && op === 'validate' ? [64] : CONCURRENCY)
const SERVER_CPU = 0
const CLIENT_CPU = 1
const PIN = !flags['no-pin'] && os.availableParallelism() >= 2 && hasTaskset()

module.exports = {
  flags,
  SMOKE,
  RESULTS_FILE,
  EMULATOR_BAR,
  MODE,
  CONCURRENCY,
  OPS,
  levels,
  SERVER_CPU,
  CLIENT_CPU,
  PIN,
}
