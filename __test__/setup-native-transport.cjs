// This repository's own suites test the native transport. Under jest the client would
// otherwise pick the fetch transport (README "Testing with fetch stubs"); the drop-in suites
// (__test__/dropin.test.mjs) run in child jest processes without this. Set
// CHITTYID_TRANSPORT=fetch to run the suites through fetch instead.
if (!process.env.CHITTYID_TRANSPORT) process.env.CHITTYID_TRANSPORT = 'native'
