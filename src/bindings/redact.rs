//! The redaction rule (`crate::redact`) for JS. The client's JS code uses its pure-JS twin
//! (`lib/redact.js`, no native crossing, loadable without the addon); these exist to prove the
//! two agree (`__test__/redaction.test.mjs`).

use napi_derive::napi;

use crate::redact;

#[napi(catch_unwind)]
pub fn redact_secret_native(text: String, secret: String) -> String {
    redact::redact(&text, &secret).into_owned()
}

#[napi(catch_unwind)]
pub fn reveals_secret_native(field: String, secret: String) -> bool {
    redact::reveals(&field, &secret)
}
