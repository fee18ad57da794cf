// A port of the connection-manager suite chittychat kept next to v1 (22 tests), run against
// this package through chittychat's one-line re-export module. The v1-era suite stubbed the
// service's /health; here a real emulator answers it (`setFault({ down: true })` makes it
// unhealthy). Its backoff tests drive jest's fake timers, as the original did.
import { jest } from '@jest/globals'
import { ChittyIDEmulator } from '@chittyos/chittyid-client'
import {
  ChittyIDConnectionManager,
  ConnectionState,
  getSharedConnectionManager,
  resetSharedConnectionManager,
} from './chittychat/chittyid-connection-manager.mjs'

let emulator
let manager

beforeAll(async () => {
  emulator = await ChittyIDEmulator.start({ port: 0 })
})

afterAll(async () => {
  await emulator.close()
})

beforeEach(() => {
  emulator.clearFaults()
  manager = new ChittyIDConnectionManager({
    serviceUrl: emulator.url,
    healthCheckInterval: 30000,
    reconnectDelay: 1000,
    maxReconnectDelay: 60000,
    maxReconnectAttempts: 5,
  })
})

afterEach(async () => {
  jest.useRealTimers()
  await manager.reset()
  resetSharedConnectionManager()
})

describe('ChittyIDConnectionManager', () => {
  describe('Initialization', () => {
    test('should initialize with default configuration', () => {
      const defaults = new ChittyIDConnectionManager()
      expect(defaults.serviceUrl).toBe('https://id.chitty.cc')
      expect(defaults.healthCheckInterval).toBe(30000)
      expect(defaults.reconnectDelay).toBe(1000)
      expect(defaults.maxReconnectDelay).toBe(60000)
      expect(defaults.reconnectMultiplier).toBe(2)
      expect(defaults.maxReconnectAttempts).toBe(Infinity)
      expect(defaults.state).toBe(ConnectionState.DISCONNECTED)
    })

    test('should accept custom configuration', () => {
      expect(manager.serviceUrl).toBe(emulator.url)
      expect(manager.maxReconnectAttempts).toBe(5)
      expect(manager.reconnectAttempts).toBe(0)
      expect(manager.healthCheckTimer).toBeNull()
      expect(manager.reconnectTimer).toBeNull()
    })

    test('should initialize stats to zero', () => {
      expect(manager.stats).toEqual({
        totalConnections: 0,
        totalReconnections: 0,
        totalFailures: 0,
        totalHealthChecks: 0,
        successfulHealthChecks: 0,
        failedHealthChecks: 0,
      })
    })
  })

  describe('Connection', () => {
    test('should connect successfully when service is healthy', async () => {
      const connected = jest.fn()
      manager.on('connected', connected)
      await expect(manager.connect()).resolves.toBe(true)
      expect(manager.state).toBe(ConnectionState.CONNECTED)
      expect(manager.stats.totalConnections).toBe(1)
      expect(manager.lastSuccessfulConnection).toEqual(expect.any(Number))
      expect(connected).toHaveBeenCalledWith({ serviceUrl: emulator.url })
    })

    test('should emit stateChange events', async () => {
      const changes = []
      manager.on('stateChange', ({ from, to }) => changes.push(`${from}->${to}`))
      await manager.connect()
      expect(changes).toEqual(['DISCONNECTED->CONNECTING', 'CONNECTING->CONNECTED'])
    })

    test('should handle connection failure and schedule a reconnect', async () => {
      emulator.setFault({ down: true })
      const errors = jest.fn()
      const reconnecting = jest.fn()
      manager.on('error', errors)
      manager.on('reconnecting', reconnecting)
      await expect(manager.connect()).resolves.toBe(false)
      expect(errors).toHaveBeenCalledTimes(1)
      expect(errors.mock.calls[0][0]).toBeInstanceOf(Error)
      expect(manager.stats.totalFailures).toBe(1)
      expect(reconnecting).toHaveBeenCalledWith({ attempt: 1, delay: 1000 })
      expect(manager.state).toBe(ConnectionState.RECONNECTING)
      expect(manager.reconnectTimer).toBeTruthy()
    })

    test('should start health monitoring after connecting', async () => {
      await manager.connect()
      expect(manager.healthCheckTimer).toBeTruthy()
    })

    test('should disconnect cleanly', async () => {
      await manager.connect()
      const disconnected = jest.fn()
      manager.on('disconnected', disconnected)
      await manager.disconnect()
      expect(manager.state).toBe(ConnectionState.DISCONNECTED)
      expect(manager.healthCheckTimer).toBeNull()
      expect(manager.reconnectTimer).toBeNull()
      expect(disconnected).toHaveBeenCalledWith({ serviceUrl: emulator.url })
    })
  })

  describe('Health checks', () => {
    test('should record a successful health check', async () => {
      await expect(manager.performHealthCheck()).resolves.toBe(true)
      expect(manager.stats.totalHealthChecks).toBe(1)
      expect(manager.stats.successfulHealthChecks).toBe(1)
      expect(manager.lastHealthCheck).toEqual(expect.any(Number))
    })

    test('should record a failed health check without throwing', async () => {
      emulator.setFault({ down: true })
      await expect(manager.performHealthCheck()).resolves.toBe(false)
      expect(manager.stats.failedHealthChecks).toBe(1)
    })

    test('should detect connection loss and reconnect', async () => {
      const quick = new ChittyIDConnectionManager({
        serviceUrl: emulator.url,
        healthCheckInterval: 30,
        reconnectDelay: 30,
      })
      try {
        await quick.connect()
        const unhealthy = new Promise((resolve) => quick.once('unhealthy', resolve))
        emulator.setFault({ down: true })
        await unhealthy
        expect(quick.state).toBe(ConnectionState.RECONNECTING)
        const back = new Promise((resolve) => quick.once('connected', resolve))
        emulator.clearFaults()
        await back
        expect(quick.state).toBe(ConnectionState.CONNECTED)
        expect(quick.reconnectAttempts).toBe(0)
      } finally {
        await quick.reset()
      }
    })
  })

  describe('Reconnection', () => {
    test('should use exponential backoff', () => {
      jest.useFakeTimers()
      const delays = []
      manager.on('reconnecting', ({ delay }) => delays.push(delay))
      for (let i = 0; i < 4; i++) manager.scheduleReconnect()
      expect(delays).toEqual([1000, 2000, 4000, 8000])
      expect(manager.reconnectAttempts).toBe(4)
      expect(manager.stats.totalReconnections).toBe(4)
    })

    test('should cap the reconnect delay at maxReconnectDelay', () => {
      jest.useFakeTimers()
      const delays = []
      manager.on('reconnecting', ({ delay }) => delays.push(delay))
      manager.reconnectAttempts = 4
      manager.maxReconnectAttempts = 20
      for (let i = 0; i < 4; i++) manager.scheduleReconnect()
      expect(delays).toEqual([16000, 32000, 60000, 60000])
    })

    test('should stop after maxReconnectAttempts', () => {
      const maxReached = jest.fn()
      manager.on('maxReconnectAttemptsReached', maxReached)
      manager.reconnectAttempts = 5
      manager.scheduleReconnect()
      expect(manager.state).toBe(ConnectionState.FAILED)
      expect(maxReached).toHaveBeenCalledWith({ attempts: 5 })
      expect(manager.reconnectTimer).toBeNull()
    })

    test('should reconnect when the scheduled timer fires', async () => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] })
      const connected = new Promise((resolve) => manager.once('connected', resolve))
      manager.scheduleReconnect()
      jest.advanceTimersByTime(999)
      expect(manager.state).toBe(ConnectionState.RECONNECTING)
      jest.advanceTimersByTime(1)
      jest.useRealTimers()
      await connected
      expect(manager.state).toBe(ConnectionState.CONNECTED)
      expect(manager.reconnectAttempts).toBe(0)
    })

    test('handleConnectionLoss should stop monitoring and schedule a reconnect', async () => {
      await manager.connect()
      manager.handleConnectionLoss()
      expect(manager.healthCheckTimer).toBeNull()
      expect(manager.reconnectTimer).toBeTruthy()
      expect(manager.state).toBe(ConnectionState.RECONNECTING)
    })
  })

  describe('State and stats', () => {
    test('getState should return the connection snapshot', async () => {
      await manager.connect()
      const state = manager.getState()
      expect(state).toEqual({
        state: 'CONNECTED',
        lastHealthCheck: expect.any(Number),
        lastSuccessfulConnection: expect.any(Number),
        reconnectAttempts: 0,
        stats: expect.objectContaining({ totalConnections: 1, totalHealthChecks: 1 }),
        isHealthy: true,
        uptime: expect.any(Number),
      })
    })

    test('getStats should include the health check success rate', async () => {
      await manager.performHealthCheck()
      emulator.setFault({ down: true })
      await manager.performHealthCheck()
      expect(manager.getStats()).toEqual(
        expect.objectContaining({ healthCheckSuccessRate: '50.00%', currentState: 'DISCONNECTED', isConnected: false }),
      )
    })

    test('reset should clear stats and attempts', async () => {
      await manager.connect()
      manager.reconnectAttempts = 3
      await manager.reset()
      expect(manager.state).toBe(ConnectionState.DISCONNECTED)
      expect(manager.reconnectAttempts).toBe(0)
      expect(manager.stats.totalConnections).toBe(0)
    })
  })

  describe('Event listeners', () => {
    test('should add and remove listeners', () => {
      const listener = jest.fn()
      manager.on('connected', listener)
      expect(manager.listeners.get('connected')).toContain(listener)
      manager.off('connected', listener)
      expect(manager.listeners.get('connected')).toEqual([])
    })

    test('should not crash when a listener throws', async () => {
      const after = jest.fn()
      manager.on('connected', () => {
        throw new Error('listener bug')
      })
      manager.on('connected', after)
      await expect(manager.connect()).resolves.toBe(true)
      expect(after).toHaveBeenCalledTimes(1)
      expect(manager.state).toBe(ConnectionState.CONNECTED)
    })
  })

  describe('Shared instance', () => {
    test('getSharedConnectionManager should return a singleton', async () => {
      const a = getSharedConnectionManager({ serviceUrl: emulator.url })
      const b = getSharedConnectionManager({ serviceUrl: 'https://elsewhere.invalid' })
      expect(a).toBe(b)
      expect(a.serviceUrl).toBe(emulator.url)
      resetSharedConnectionManager()
      expect(getSharedConnectionManager({ serviceUrl: emulator.url })).not.toBe(a)
    })
  })
})
