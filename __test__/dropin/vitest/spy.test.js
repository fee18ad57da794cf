// A v1-era service suite under vitest that stubs the ChittyID service with
// vi.spyOn(globalThis, 'fetch'). The client is made at module top, before any spy exists.

import { afterEach, describe, expect, test, vi } from 'vitest'
import { ChittyIDClient } from '@chittyos/chittyid-client'

const SERVICE = 'https://id.chitty.cc/v1'
const ID = 'CT-A-CHI-1234-P-24-A-0'

const client = new ChittyIDClient({ serviceUrl: SERVICE, apiKey: 'test-key' })

function json(body, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('ChittyID integration (vi.spyOn fetch)', () => {
  test('mints an id with v1 request shape', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch').mockResolvedValue(json({ success: true, chittyId: ID }, 201))
    const request = { entity: 'PEO', name: 'Alice', metadata: { source: 'test' } }

    await expect(client.mint(request)).resolves.toBe(ID)

    expect(fetchSpy).toHaveBeenCalledTimes(1)
    expect(fetchSpy).toHaveBeenCalledWith(`${SERVICE}/mint`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer test-key' },
      body: JSON.stringify(request),
      signal: expect.any(AbortSignal),
    })
  })

  test('validates through the service', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch').mockResolvedValue(json({ valid: true, chittyId: ID, entity: 'PEO' }))

    await expect(client.validate(ID)).resolves.toEqual({ valid: true, chittyId: ID, entity: 'PEO' })
    expect(fetchSpy).toHaveBeenCalledWith(`${SERVICE}/validate/${encodeURIComponent(ID)}`, {
      headers: { Authorization: 'Bearer test-key' },
    })
  })

  test('a 500 fails the mint after one request, with the v1 wording', async () => {
    const fetchSpy = vi
      .spyOn(globalThis, 'fetch')
      .mockResolvedValue(new Response('', { status: 500, statusText: 'Internal Server Error' }))

    await expect(client.mint({ entity: 'PEO' })).rejects.toThrow(
      'ChittyID service unavailable - cannot mint PEO ID: ChittyID service error: 500 Internal Server Error',
    )
    expect(fetchSpy).toHaveBeenCalledTimes(1)
  })

  test('a network error keeps the stub message', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch').mockRejectedValue(new TypeError('fetch failed'))

    await expect(client.mint({ entity: 'PEO' })).rejects.toThrow(
      'ChittyID service unavailable - cannot mint PEO ID: fetch failed',
    )
    const result = await client.validate(ID)
    expect(result).toEqual({ valid: true, error: 'fetch failed' })
    expect(fetchSpy).toHaveBeenCalledTimes(2)
  })

  test('health check', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch').mockResolvedValue(json({ status: 'ok' }))
    await expect(client.healthCheck()).resolves.toBe(true)
    expect(fetchSpy.mock.calls[0][0]).toBe(`${SERVICE}/health`)
  })
})
