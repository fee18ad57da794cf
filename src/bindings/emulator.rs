//! `NativeEmulator`: the local ChittyID service, started from JS.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::bindings::options::{count, invalid, millis};
use crate::emulator::{Emulator, EmulatorOptions, Faults, LedgerSnapshot, Profile};
use crate::id::PLACEHOLDER_ERRORS;

#[napi(object)]
pub struct NativeEmulatorOptions {
    /// `"v1"` (default) or `"deployed"`: the wire it speaks.
    pub profile: Option<String>,
    pub host: Option<String>,
    pub port: Option<u32>,
    pub token: Option<String>,
    pub max_request_bytes: Option<u32>,
    /// Serve HTTPS (h2 + HTTP/1.1) with a throwaway CA, exposed as `ca`.
    pub tls: Option<bool>,
    /// Answer `/v1/...` with this redirect status to `/api/v1/...`.
    pub redirect_status: Option<u32>,
    /// gzip answers when the request accepts it.
    pub compress: Option<bool>,
    /// Mint as if `Idempotency-Key` did not exist, as the public service does.
    pub ignore_idempotency_keys: Option<bool>,
}

/// Fault switches, all optional; `setFaults({})` clears every fault.
#[napi(object)]
#[derive(Default)]
pub struct FaultOptions {
    pub latency_ms: Option<f64>,
    pub error_status: Option<u32>,
    pub rate_limit_retry_after: Option<f64>,
    pub reset_connection: Option<bool>,
    pub drop_after_commit: Option<bool>,
    pub malformed_json: Option<bool>,
    pub oversized_body: Option<u32>,
    pub down: Option<bool>,
    /// At most this many requests per second; the rest get the public service's 429.
    pub rate_limit_per_second: Option<f64>,
    /// Deployed profile: mints answer a placeholder with this error code (`MINT_UNAVAILABLE`,
    /// `MINT_TIMEOUT`, `RATE_LIMITED`, ...; `format::PLACEHOLDER_ERRORS`).
    pub placeholder: Option<String>,
    pub routes: Option<Vec<String>>,
    pub probability: Option<f64>,
    pub remaining: Option<u32>,
}

#[napi(object)]
pub struct RouteCounts {
    pub health: f64,
    pub mint: f64,
    pub batch: f64,
    pub validate: f64,
    pub other: f64,
}

#[napi(object)]
pub struct EmulatorStats {
    pub minted: f64,
    pub minted_ids: Vec<String>,
    pub idempotent_replays: f64,
    pub requests: RouteCounts,
    pub unauthorized: f64,
    pub bad_requests: f64,
    pub faults_injected: f64,
    pub connections: f64,
    /// Placeholder ids answered (deployed profile); not counted in `minted`.
    pub placeholders: f64,
}

const ROUTES: [&str; 4] = ["health", "mint", "batch", "validate"];

fn to_faults(f: FaultOptions) -> Result<Faults> {
    if let Some(status) = f.error_status {
        if !(100..=599).contains(&status) {
            return Err(Error::new(Status::InvalidArg, format!("errorStatus must be an HTTP status, got {status}")));
        }
    }
    if let Some(p) = f.probability {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::new(Status::InvalidArg, format!("probability must be within 0..1, got {p}")));
        }
    }
    if let Some(routes) = &f.routes {
        if let Some(bad) = routes.iter().find(|r| !ROUTES.contains(&r.as_str())) {
            return Err(Error::new(Status::InvalidArg, format!("unknown route {bad:?}; use one of {ROUTES:?}")));
        }
    }
    if let Some(rate) = f.rate_limit_per_second {
        if !(rate.is_finite() && rate >= 0.0) {
            return Err(Error::new(
                Status::InvalidArg,
                format!("rateLimitPerSecond must be a finite number >= 0, got {rate}"),
            ));
        }
    }
    let placeholder = match f.placeholder.as_deref() {
        None => None,
        Some(code) => match PLACEHOLDER_ERRORS.iter().find(|(c, _)| *c == code) {
            Some((c, _)) => Some(*c),
            None => {
                let codes: Vec<&str> = PLACEHOLDER_ERRORS.iter().map(|(c, _)| *c).collect();
                return Err(Error::new(
                    Status::InvalidArg,
                    format!("placeholder must be one of {codes:?}, got {code:?}"),
                ));
            }
        },
    };
    let latency_ms = millis("latencyMs", f.latency_ms, 0).map_err(invalid)?;
    let rate_limit_retry_after = f
        .rate_limit_retry_after
        .map(|s| count("rateLimitRetryAfter", Some(s), 0, 0).map(u64::from))
        .transpose()
        .map_err(invalid)?;
    Ok(Faults {
        latency_ms,
        error_status: f.error_status.map(|s| s as u16),
        rate_limit_retry_after,
        reset_connection: f.reset_connection.unwrap_or(false),
        drop_after_commit: f.drop_after_commit.unwrap_or(false),
        malformed_json: f.malformed_json.unwrap_or(false),
        oversized_body: f.oversized_body.map(|n| n as usize),
        down: f.down.unwrap_or(false),
        rate_limit_per_second: f.rate_limit_per_second,
        placeholder,
        routes: f.routes,
        probability: f.probability,
        remaining: f.remaining.map(u64::from),
    })
}

fn to_stats(s: LedgerSnapshot) -> EmulatorStats {
    EmulatorStats {
        minted: s.minted as f64,
        minted_ids: s.minted_ids,
        idempotent_replays: s.idempotent_replays as f64,
        requests: RouteCounts {
            health: s.requests.health as f64,
            mint: s.requests.mint as f64,
            batch: s.requests.batch as f64,
            validate: s.requests.validate as f64,
            other: s.requests.other as f64,
        },
        unauthorized: s.unauthorized as f64,
        bad_requests: s.bad_requests as f64,
        faults_injected: s.faults_injected as f64,
        connections: s.connections as f64,
        placeholders: s.placeholders as f64,
    }
}

#[napi]
pub struct NativeEmulator {
    inner: Emulator,
}

#[napi]
impl NativeEmulator {
    #[napi(constructor, catch_unwind)]
    pub fn new(options: NativeEmulatorOptions) -> Result<Self> {
        let defaults = EmulatorOptions::default();
        let port = options.port.unwrap_or(0);
        let port = u16::try_from(port)
            .map_err(|_| Error::new(Status::InvalidArg, format!("port must be 0..65535, got {port}")))?;
        let profile = match options.profile.as_deref() {
            None => defaults.profile,
            Some(name) => Profile::parse(name).ok_or_else(|| {
                Error::new(Status::InvalidArg, format!("profile must be one of {:?}, got {name:?}", Profile::NAMES))
            })?,
        };
        let opts = EmulatorOptions {
            profile,
            host: options.host.unwrap_or(defaults.host),
            port,
            token: options.token.filter(|t| !t.is_empty()),
            max_request_bytes: options.max_request_bytes.map_or(defaults.max_request_bytes, |n| n as usize),
            tls: options.tls.unwrap_or(false),
            redirect_status: match options.redirect_status {
                None => None,
                Some(s @ (301 | 302 | 303 | 307 | 308)) => Some(s as u16),
                Some(other) => {
                    return Err(Error::new(
                        Status::InvalidArg,
                        format!("redirectStatus must be 301, 302, 303, 307 or 308, got {other}"),
                    ))
                }
            },
            compress: options.compress.unwrap_or(false),
            ignore_idempotency_keys: options.ignore_idempotency_keys.unwrap_or(defaults.ignore_idempotency_keys),
        };
        let inner = Emulator::spawn(opts)
            .map_err(|e| Error::new(Status::GenericFailure, format!("cannot start the emulator: {e}")))?;
        Ok(Self { inner })
    }

    #[napi(getter)]
    pub fn url(&self) -> String {
        self.inner.url()
    }

    /// Requests served over HTTP/2 so far.
    #[napi(getter)]
    pub fn h2_requests(&self) -> f64 {
        self.inner.h2_requests() as f64
    }

    /// The CA certificate (PEM) to trust when serving HTTPS.
    #[napi(getter)]
    pub fn ca(&self) -> Option<String> {
        self.inner.ca_pem().map(str::to_owned)
    }

    /// `"v1"` or `"deployed"`.
    #[napi(getter)]
    pub fn profile(&self) -> String {
        self.inner.profile().as_str().to_owned()
    }

    #[napi(getter)]
    pub fn port(&self) -> u32 {
        u32::from(self.inner.port())
    }

    #[napi(catch_unwind)]
    pub fn set_faults(&self, faults: FaultOptions) -> Result<()> {
        self.inner.set_faults(to_faults(faults)?);
        Ok(())
    }

    /// Whether mints ignore `Idempotency-Key` from now on (see `ignoreIdempotencyKeys`).
    #[napi(catch_unwind)]
    pub fn set_ignore_idempotency_keys(&self, ignore: bool) {
        self.inner.set_ignore_idempotency_keys(ignore);
    }

    #[napi(getter)]
    pub fn ignores_idempotency_keys(&self) -> bool {
        self.inner.ignores_idempotency_keys()
    }

    #[napi(catch_unwind)]
    pub fn stats(&self) -> EmulatorStats {
        to_stats(self.inner.stats())
    }

    #[napi(catch_unwind)]
    pub fn reset_ledger(&self) {
        self.inner.reset_ledger();
    }

    /// Stops serving; resolves once the port is released. The wait happens on a thread of its
    /// own, so the JS thread never blocks on it.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let (deferred, promise) = env.create_deferred::<(), _>()?;
        let inner = self.inner.clone();
        std::thread::Builder::new()
            .name("chittyid-emulator-close".into())
            .spawn(move || {
                inner.shutdown();
                deferred.resolve(|_| Ok(()));
            })
            .map_err(|e| Error::new(Status::GenericFailure, format!("cannot close the emulator: {e}")))?;
        Ok(promise)
    }
}
