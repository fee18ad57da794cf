//! The JS side's switches and drain for per-attempt telemetry (`crate::observe::telemetry`): the
//! records ride the bridge's wake-up (`bridge::completions::CompleterWake`) and are taken in
//! one call per batch.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::observe::telemetry::{Record, RESERVED_HEADERS};

/// Fields per record in `takeTelemetry()`'s flat array (see `lib/telemetry.js`).
pub const RECORD_STRIDE: u32 = 13;

fn set_record(out: &mut Array, at: u32, record: Record) -> Result<()> {
    match record {
        Record::Start { call, attempt, op, method, url, idempotency_key, at_ms, probe } => {
            out.set(at, 0)?;
            out.set(at + 1, call)?;
            out.set(at + 2, attempt)?;
            out.set(at + 3, op.as_str())?;
            out.set(at + 4, method.as_str())?;
            out.set(at + 5, url)?;
            if let Some(key) = idempotency_key {
                out.set(at + 6, key)?;
            }
            out.set(at + 11, at_ms)?;
            if let Some(probe) = probe {
                out.set(at + 12, probe.as_str())?;
            }
        }
        Record::End {
            call,
            attempt,
            op,
            method,
            url,
            status,
            code,
            message,
            idempotency_key,
            duration_us,
            at_ms,
            probe,
        } => {
            out.set(at, 1)?;
            out.set(at + 1, call)?;
            out.set(at + 2, attempt)?;
            out.set(at + 3, op.as_str())?;
            if let Some(method) = method {
                out.set(at + 4, method.as_str())?;
            }
            if let Some(url) = url {
                out.set(at + 5, url)?;
            }
            if let Some(key) = idempotency_key {
                out.set(at + 6, key)?;
            }
            if let Some(status) = status {
                out.set(at + 7, u32::from(status))?;
            }
            if let Some(code) = code {
                out.set(at + 8, code)?;
            }
            if let Some(message) = message {
                out.set(at + 9, message)?;
            }
            out.set(at + 10, duration_us as f64)?;
            out.set(at + 11, at_ms)?;
            if let Some(probe) = probe {
                out.set(at + 12, probe.as_str())?;
            }
        }
    }
    Ok(())
}

/// `[dropped, ...records]` (see `NativeClient::take_telemetry`).
pub fn records_to_js<'env>(
    env: &'env Env,
    records: Vec<crate::observe::telemetry::Record>,
    dropped: u64,
) -> Result<Array<'env>> {
    let mut out = env.create_array(1 + RECORD_STRIDE * records.len() as u32)?;
    out.set(0, dropped as f64)?;
    for (i, record) in records.into_iter().enumerate() {
        set_record(&mut out, 1 + RECORD_STRIDE * i as u32, record)?;
    }
    Ok(out)
}

/// Label names the `labels` option may not use (the client's own series use them), for the JS
/// side's checks (`crate::client::metrics::OWN_LABEL_NAMES`).
#[napi]
pub fn metric_label_names() -> Vec<String> {
    crate::client::metrics::OWN_LABEL_NAMES.iter().map(|s| (*s).to_owned()).collect()
}

/// Header names a call's `headers` may not set (lower case), for the JS side's checks.
#[napi]
pub fn reserved_header_names() -> Vec<String> {
    RESERVED_HEADERS.iter().map(|s| (*s).to_owned()).collect()
}
