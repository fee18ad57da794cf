// Throwaway redis-server processes and raw RESP for the fleet tests: each test that stops,
// pauses, flushes or reconfigures Redis starts its own server on its own port.
import { expect } from '@jest/globals'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** The redis-server binary (scripts/with-redis.sh exports it), or undefined. */
export const REDIS_SERVER = process.env.CHITTYID_TEST_REDIS_SERVER

export async function freePort() {
  const server = net.createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * One RESP command to the server at `port` (`password`: AUTH first); resolves the first
 * reply line's value (a bulk string's content, `null` for a nil), rejects on an error reply.
 * Bounded: gives up after `timeoutMs`.
 */
export function redisCommand(port, args, { password, timeoutMs = 5000 } = {}) {
  const encode = (parts) =>
    `*${parts.length}\r\n${parts.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')}`
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    let text = ''
    let skip = password ? 1 : 0
    const timer = setTimeout(() => done(new Error(`redis did not answer ${args[0]} within ${timeoutMs} ms`)), timeoutMs)
    socket.on('connect', () => socket.write((password ? encode(['AUTH', password]) : '') + encode(args)))
    socket.on('data', (d) => {
      text += d
      for (;;) {
        const end = text.indexOf('\r\n')
        if (end < 0) return
        const head = text.slice(0, end)
        if (head[0] === '$' && Number(head.slice(1)) >= 0) {
          const len = Number(head.slice(1))
          if (text.length < end + 2 + len + 2) return
          if (skip-- > 0) {
            text = text.slice(end + 2 + len + 2)
            continue
          }
          return done(text.slice(end + 2, end + 2 + len))
        }
        if (skip-- > 0 && head[0] !== '-') {
          text = text.slice(end + 2)
          continue
        }
        if (head[0] === '-') return done(new Error(head))
        return done(head[0] === '$' ? null : head.slice(1))
      }
    })
    socket.on('error', (e) => done(e))
    function done(value) {
      clearTimeout(timer)
      socket.destroy()
      if (value instanceof Error) reject(value)
      else resolve(value)
    }
  })
}

/** True once a redis-server answers PING on `port`. */
export async function pings(port, password) {
  try {
    return (await redisCommand(port, ['PING'], { password, timeoutMs: 500 })) === 'PONG'
  } catch {
    return false
  }
}

/**
 * Starts `redis-server` on `port` (no persistence, DEBUG enabled for DEBUG SLEEP) with `extra`
 * arguments; resolves the child once it answers PING (within about 10 s).
 */
export async function startRedis(port, extra = [], { password } = {}) {
  const child = spawn(
    REDIS_SERVER,
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', ...extra],
    { stdio: 'ignore' },
  )
  for (let i = 0; i < 500 && child.exitCode === null && !(await pings(port, password)); i++) await sleep(20)
  if (!(await pings(port, password))) throw new Error(`redis-server on ${port} did not come up`)
  // The server answering is this one, not another that took the port meanwhile.
  const info = await redisCommand(port, ['INFO', 'server'], { password })
  if (Number(/process_id:(\d+)/.exec(info)?.[1]) !== child.pid) {
    child.kill('SIGKILL')
    throw new Error(`another redis-server answers on port ${port}`)
  }
  return child
}

/** Kills `child` (SIGKILL; a stopped one is continued first) and waits for it to exit. */
export function stopped(child) {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', resolve)
    child.kill('SIGCONT')
    child.kill('SIGKILL')
  })
}

/**
 * The client went local-only once, for `reason`, and stayed so: no flapping. Its `fleetDegraded`
 * may come before a listener is added (the connection is made in the background from the
 * constructor on), so the count and the reason are read from `getStats().fleet`.
 */
export function expectDegradedOnce(client, events, reason) {
  const fleet = client.getStats().fleet
  expect(fleet).toMatchObject({ connected: false, degraded: true, degradations: 1, restorations: 0 })
  expect(fleet.degradedReason).toMatch(reason)
  expect(events.count('fleetRestored')).toBe(0)
  expect(events.of('fleetDegraded').map((e) => e.reason)).toEqual(
    events.count('fleetDegraded') ? [fleet.degradedReason] : [],
  )
}

/**
 * One client command at the start of `buf` (a latin1 string of what arrived): `{ args, used }`
 * for an array of bulk strings or an inline command, `null` while it is incomplete. For the test
 * suites' fake Redis servers.
 */
export function parseRespCommand(buf) {
  if (!buf.startsWith('*')) {
    const end = buf.indexOf('\r\n') // an inline command
    return end < 0 ? null : { args: buf.slice(0, end).split(' '), used: end + 2 }
  }
  let at = buf.indexOf('\r\n')
  if (at < 0) return null
  const count = Number(buf.slice(1, at))
  at += 2
  const args = []
  for (let i = 0; i < count; i++) {
    const end = buf.indexOf('\r\n', at)
    if (end < 0) return null
    const length = Number(buf.slice(at + 1, end))
    if (buf.length < end + 2 + length + 2) return null
    args.push(buf.slice(end + 2, end + 2 + length))
    at = end + 2 + length + 2
  }
  return { args, used: at }
}

/**
 * A "Redis" on a raw TCP socket that answers every command through `reply(args)`: a string to
 * write (`close-after:<text>`: write it and close), or a promise of one (answers go out in
 * order); `args`: the command's bulk strings. It counts what reaches it: `commands` (each
 * `{ args, at }`, `at` from `performance.now()`), `connections` (accepted so far) and
 * `open()` (sockets not yet closed by the client).
 */
export async function fakeRedis(reply) {
  const sockets = new Set()
  const commands = []
  let connections = 0
  const server = net.createServer((socket) => {
    sockets.add(socket)
    connections++
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
    let buffered = Buffer.alloc(0)
    let answered = Promise.resolve()
    socket.on('data', (d) => {
      buffered = Buffer.concat([buffered, d])
      // Commands arrive as arrays of bulk strings; anything else is answered as one.
      for (;;) {
        const parsed = parseRespCommand(buffered.toString('latin1'))
        if (!parsed) return
        buffered = buffered.subarray(parsed.used)
        commands.push({ args: parsed.args, at: performance.now() })
        const answer = reply(parsed.args)
        answered = answered.then(async () => {
          const text = await answer
          if (socket.destroyed) return
          if (text.startsWith('close-after:')) socket.end(text.slice('close-after:'.length))
          else socket.write(text)
        })
      }
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `redis://:fake-pass-2m@127.0.0.1:${server.address().port}/`,
    commands,
    get connections() {
      return connections
    },
    open: () => sockets.size,
    close() {
      for (const s of sockets) s.destroy()
      server.close()
    },
  }
}

/**
 * Honest answers to what fleet mode sends (PING, SCRIPT LOAD, the scripts by their number of
 * keys: the budget's slot now, no hint and no pause, a member), for `fakeRedis`; `delay(args)`
 * ms before an answer (0: at once).
 */
export function fleetReply(delay = () => 0) {
  return (args) => {
    const [command, , third] = args
    const name = String(command).toUpperCase()
    let text = '+OK\r\n'
    if (name === 'PING') text = '+PONG\r\n'
    else if (name === 'SCRIPT') text = `$40\r\n${createHash('sha1').update(third, 'latin1').digest('hex')}\r\n`
    else if (name === 'EVALSHA' && third === '2') text = '*2\r\n:0\r\n:0\r\n'
    else if (name === 'EVALSHA' && third === '3') text = '*3\r\n$-1\r\n:0\r\n:1\r\n'
    else if (name === 'EVALSHA') text = ':1\r\n'
    const ms = delay(args)
    return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms, text)) : text
  }
}
