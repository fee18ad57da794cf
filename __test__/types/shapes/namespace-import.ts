// `import * as`: the named exports, and `.default` as the class.
import * as chittyid from '@chittyos/chittyid-client'

const client: chittyid.ChittyIDClient = new chittyid.default({ timeout: 1000 })
const same: boolean = chittyid.default === chittyid.ChittyIDClient
const valid: boolean = client.validateFormat('CT-A-CHI-1234-I-24-A-0')
void client.close().then(() => process.stdout.write(`namespace import: ${same && valid ? 'ok' : 'broken'}\n`))
