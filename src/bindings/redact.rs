//! The redaction rule (`crate::redact`) for JS. The Node client's JS runs it through these
//! (`redactionOf` in `lib/redact.js`); that file's own implementation is for JS that cannot load
//! the addon, and `__test__/redaction.test.mjs` holds the two to each other.

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
