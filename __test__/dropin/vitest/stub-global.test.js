// A v1-era service suite under vitest that replaces fetch with vi.stubGlobal('fetch', vi.fn()),
// and drives mint's timeout with vitest's fake timers.

import { afterEach, describe, expect, test, vi } from 'vitest'
import { ChittyIDClient } from '@chittyos/chittyid-client'

const SERVICE = 'https://id.chitty.cc/v1'
const ID = 'CT-A-CHI-1234-E-24-A-0'

function json(body, status = 200, statusText = '') {
  return new Response(JSON.stringify(body), { status, statusText, headers: { 'Content-Type': 'application/json' } })
}

afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('ChittyID integration (vi.stubGlobal fetch)', () => {
  test('mints, validates and checks health through the stub', async () => {
    const fetchMock = vi.fn(async (url) => {
      if (url.endsWith('/mint')) return json({ success: true, chittyId: ID })
      if (url.includes('/validate/')) return json({ valid: false, chittyId: 'nope', entity: 'EVNT' })
      return json({ status: 'ok' })
    })
    vi.stubGlobal('fetch', fetchMock)
    const client = new ChittyIDClient({ serviceUrl: `${SERVICE}/`, apiKey: 'k' })

    await expect(client.mint({ entity: 'EVNT' })).resolves.toBe(ID)
    await expect(client.validate('nope')).resolves.toEqual({ valid: false, chittyId: 'nope', entity: 'EVNT' })
    await expect(client.healthCheck()).resolves.toBe(true)
    expect(fetchMock.mock.calls.map(([url]) => url)).toEqual([
      `${SERVICE}/mint`,
      `${SERVICE}/validate/nope`,
      `${SERVICE}/health`,
    ])
  })

  test('a 500 once: the mint fails and nothing is retried', async () => {
    const fetchMock = vi.fn().mockResolvedValueOnce(json({ error: 'boom' }, 500, 'Internal Server Error'))
    vi.stubGlobal('fetch', fetchMock)
    const client = new ChittyIDClient({ serviceUrl: SERVICE })

    await expect(client.mint({ entity: 'EVNT' })).rejects.toThrow(
      'ChittyID service unavailable - cannot mint EVNT ID: ChittyID service error: 500 Internal Server Error',
    )
    expect(fetchMock).toHaveBeenCalledTimes(1)
  })

  test('a batch error names the status only', async () => {
    vi.stubGlobal('fetch', vi.fn().mockResolvedValue(json({}, 502, 'Bad Gateway')))
    const client = new ChittyIDClient({ serviceUrl: SERVICE })

    await expect(client.mintBatch([{ entity: 'EVNT' }])).rejects.toThrow(
      'ChittyID service unavailable - cannot batch mint IDs: ChittyID service error: 502',
    )
  })

  test('a fetch that never answers is aborted by the timeout, on fake timers', async () => {
    vi.useFakeTimers()
    const fetchMock = vi.fn(
      (url, init) =>
        new Promise((resolve, reject) => {
          init.signal.addEventListener('abort', () => reject(new Error('The operation was aborted')))
        }),
    )
    vi.stubGlobal('fetch', fetchMock)
    const client = new ChittyIDClient({ serviceUrl: SERVICE, timeout: 2000 })

    const minting = client.mint({ entity: 'EVNT' })
    const settled = expect(minting).rejects.toThrow(
      'ChittyID service unavailable - cannot mint EVNT ID: The operation was aborted',
    )
    await vi.advanceTimersByTimeAsync(2000)
    await settled
    expect(fetchMock).toHaveBeenCalledTimes(1)
  })
})
