'use strict'

// A v1-era suite that replaces the whole package with jest's automock.

jest.mock('@chittyos/chittyid-client')

const { ChittyIDClient, mintChittyID } = require('@chittyos/chittyid-client')

const ID = 'CT-A-CHI-1234-P-24-A-0'

describe('automocked @chittyos/chittyid-client', () => {
  beforeEach(() => jest.clearAllMocks())

  test('the class and its methods are mocks', async () => {
    const client = new ChittyIDClient({ serviceUrl: 'https://id.chitty.cc/v1' })
    expect(ChittyIDClient).toHaveBeenCalledWith({ serviceUrl: 'https://id.chitty.cc/v1' })
    for (const name of ['mint', 'mintBatch', 'validate', 'validateFormat', 'healthCheck']) {
      expect(jest.isMockFunction(client[name])).toBe(true)
    }
    client.mint.mockResolvedValue(ID)
    client.validate.mockResolvedValue({ valid: true, chittyId: ID })
    await expect(client.mint({ entity: 'PEO' })).resolves.toBe(ID)
    await expect(client.validate(ID)).resolves.toEqual({ valid: true, chittyId: ID })
    expect(client.mint).toHaveBeenCalledWith({ entity: 'PEO' })
    expect(client.validateFormat(ID)).toBeUndefined()
  })

  test('prototype methods can be mocked for every instance', async () => {
    ChittyIDClient.prototype.mint.mockResolvedValue(ID)
    const a = new ChittyIDClient()
    const b = new ChittyIDClient()
    await expect(a.mint({ entity: 'PEO' })).resolves.toBe(ID)
    await expect(b.mint({ entity: 'PEO' })).resolves.toBe(ID)
    expect(ChittyIDClient.prototype.mint).toHaveBeenCalledTimes(2)
  })

  test('the class can be given an implementation, and helpers are mocks', async () => {
    ChittyIDClient.mockImplementation(() => ({ mint: jest.fn().mockResolvedValue(ID) }))
    await expect(new ChittyIDClient().mint({ entity: 'PEO' })).resolves.toBe(ID)
    mintChittyID.mockResolvedValue(ID)
    await expect(mintChittyID({ entity: 'PEO' })).resolves.toBe(ID)
  })
})
