'use strict'

// `mintChittyID()` and `validateChittyID()`, v1's one-call functions, for the ChittyIDClient of
// either build (lib/client.js, lib/portable/client.js): a client made for the one call and
// closed after it. A number as `config` is the index an array method passes
// (`ids.map(validateChittyID)`): v1 made a client with the defaults then, and so do these.

const configOf = (config) => (typeof config === 'number' ? undefined : config)

/** The one-call functions over `Client`. */
function shortcuts(Client) {
  async function mintChittyID(request, config) {
    const client = new Client(configOf(config))
    try {
      return await client.mint(request)
    } finally {
      await client.close()
    }
  }

  async function validateChittyID(id, config) {
    const client = new Client(configOf(config))
    try {
      return await client.validate(id)
    } finally {
      await client.close()
    }
  }

  return { mintChittyID, validateChittyID }
}

module.exports = { shortcuts }
