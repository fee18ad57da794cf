// jest globalSetup: this repository's own suites test the native transport. Under jest the
// client would otherwise pick the fetch transport (docs/MIGRATION.md "v1-era suites and fetch stubs"). Set here,
// in the parent jest process, so the jest workers and every child process or worker thread a
// test starts inherit it. The drop-in suites (__test__/dropin.test.mjs) run in child jest
// processes without it. Run with CHITTYID_TRANSPORT=fetch to put the suites on fetch instead.
// It also enables the binding's test hooks (CHITTYID_TEST_HOOKS=1: stallIoThread, emitTestEvents,
// nativeCounts, ...; src/bindings/diagnostics.rs), which refuse in any other process.
module.exports = async function useNativeTransport() {
  if (!process.env.CHITTYID_TRANSPORT) process.env.CHITTYID_TRANSPORT = 'native'
  process.env.CHITTYID_TEST_HOOKS = '1'
}
