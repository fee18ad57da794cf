//! Prometheus text exposition (format 0.0.4) of a client snapshot.

use std::fmt::Write;

use crate::client::snapshot::{ClientSnapshot, EndpointSnapshot};
use crate::policy::breaker::BreakerState;

/// The label names the client's own series use. A constant label (the `labels` option) with one
/// of these names would put it twice on a sample, and Prometheus rejects the whole scrape; so
/// would a `__`-prefixed name (reserved by Prometheus). `check_constant_labels` refuses both.
pub const OWN_LABEL_NAMES: [&str; 4] = ["operation", "le", "endpoint", "wire"];

/// The `name`/`labels` options' pairs as they go on every sample: Prometheus label names
/// (`[a-zA-Z_][a-zA-Z0-9_]*`), not `__`-prefixed, none of [`OWN_LABEL_NAMES`], none twice.
pub fn check_constant_labels(labels: &[(String, String)]) -> Result<(), String> {
    for (i, (name, value)) in labels.iter().enumerate() {
        let mut chars = name.chars();
        let grammar = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !grammar || name.starts_with("__") {
            return Err(format!("labels: {name:?} is not a Prometheus label name the client can add"));
        }
        if OWN_LABEL_NAMES.contains(&name.as_str()) {
            return Err(format!(
                "labels: {name:?} is a label of the client's own series ({})",
                OWN_LABEL_NAMES.join(", ")
            ));
        }
        if labels[..i].iter().any(|(earlier, _)| earlier == name) {
            return Err(format!("labels: {name:?} is given twice (\"client\" comes from the name option)"));
        }
        if value.is_empty() {
            return Err(format!("labels: the value of {name:?} is empty"));
        }
    }
    Ok(())
}

struct Exposition<'a> {
    out: String,
    /// Labels on every sample (the client's `name` and `labels` options), before its own.
    constant: &'a [(String, String)],
}

impl Exposition<'_> {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    /// A family with one unlabelled sample (besides the constant labels).
    fn single(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        debug_assert!(
            labels.iter().all(|(k, _)| OWN_LABEL_NAMES.contains(k)),
            "a label missing from OWN_LABEL_NAMES: {labels:?}"
        );
        self.out.push_str(name);
        let constant = self.constant.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let mut all = constant.chain(labels.iter().copied()).peekable();
        if all.peek().is_some() {
            self.out.push('{');
            for (i, (k, v)) in all.enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", format_value(value));
    }
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn format_value(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn breaker_state_value(state: BreakerState) -> f64 {
    match state {
        BreakerState::Closed => 0.0,
        BreakerState::Open => 1.0,
        BreakerState::HalfOpen => 2.0,
    }
}

/// Renders every counter of the client with the `chittyid_client_` prefix.
pub fn render(s: &ClientSnapshot) -> String {
    render_with_labels(s, &[])
}

/// [`render`] with `constant` labels on every sample, so that several clients in one process
/// stay distinct. Label names are checked by the caller (`[a-zA-Z_][a-zA-Z0-9_]*`).
pub fn render_with_labels(s: &ClientSnapshot, constant: &[(String, String)]) -> String {
    let mut e = Exposition { out: String::with_capacity(4096), constant };
    e.family(
        "chittyid_client_requests_total",
        "counter",
        "Requests sent to the ChittyID service (each attempt counts).",
    );
    for op in &s.operations {
        e.sample("chittyid_client_requests_total", &[("operation", op.operation)], op.attempts as f64);
    }
    e.family(
        "chittyid_client_request_errors_total",
        "counter",
        "Attempts that failed (transport, timeout or non-2xx).",
    );
    for op in &s.operations {
        e.sample("chittyid_client_request_errors_total", &[("operation", op.operation)], op.errors as f64);
    }
    e.family("chittyid_client_retries_total", "counter", "Retries scheduled after a transient failure.");
    for op in &s.operations {
        e.sample("chittyid_client_retries_total", &[("operation", op.operation)], op.retries as f64);
    }
    e.family("chittyid_client_request_duration_seconds", "histogram", "Duration of each attempt.");
    for op in &s.operations {
        let name = "chittyid_client_request_duration_seconds";
        for &(bound_us, count) in &op.buckets {
            let le = format_value(bound_us as f64 / 1e6);
            e.sample(&format!("{name}_bucket"), &[("operation", op.operation), ("le", &le)], count as f64);
        }
        e.sample(&format!("{name}_bucket"), &[("operation", op.operation), ("le", "+Inf")], op.attempts as f64);
        e.sample(&format!("{name}_sum"), &[("operation", op.operation)], op.latency_sum_us as f64 / 1e6);
        e.sample(&format!("{name}_count"), &[("operation", op.operation)], op.attempts as f64);
    }
    e.single(
        "chittyid_client_circuit_rejections_total",
        "counter",
        "Calls failed fast because the circuit was open.",
        s.rejected_by_breaker as f64,
    );
    if let Some(b) = &s.breaker {
        e.single(
            "chittyid_client_circuit_state",
            "gauge",
            "Circuit breaker state: 0 closed, 1 open, 2 half-open.",
            breaker_state_value(b.state),
        );
        e.single("chittyid_client_circuit_opened_total", "counter", "Times the circuit opened.", b.times_opened as f64);
    }
    let r = &s.pause;
    for (name, help, value) in [
        ("chittyid_client_rate_limited_total", "429 answers from the service.", r.limited),
        ("chittyid_client_rate_limit_pauses_total", "Client-wide pauses started by a 429.", r.pauses),
        ("chittyid_client_rate_limit_waits_total", "Calls that waited out a rate-limit pause or pace.", r.waits),
        (
            "chittyid_client_rate_limit_rejections_total",
            "Calls failed with ERATELIMITED (the pause outlasted their timeout).",
            r.rejected,
        ),
    ] {
        e.single(name, "counter", help, value as f64);
    }
    e.single(
        "chittyid_client_rate_limit_paused",
        "gauge",
        "1 while traffic is paused by a rate limit, else 0.",
        if r.paused { 1.0 } else { 0.0 },
    );
    e.single(
        "chittyid_client_placeholders_accepted_total",
        "counter",
        "Placeholder ids resolved because the client accepts them (acceptPlaceholders).",
        s.placeholders_accepted as f64,
    );
    e.single(
        "chittyid_client_events_dropped_total",
        "counter",
        "Client events dropped because the JS thread fell behind the event queue (65,536 events).",
        s.events_dropped as f64,
    );
    e.single(
        "chittyid_client_telemetry_dropped_total",
        "counter",
        "Telemetry records (logger, diagnostics_channel) dropped because the JS thread fell behind their queue (65,536 records).",
        s.telemetry_dropped as f64,
    );
    e.family(
        "chittyid_client_wire",
        "gauge",
        "1 for the wire the active endpoint speaks (v1, deployed, or unknown before an answer told).",
    );
    e.sample("chittyid_client_wire", &[("wire", s.wire)], 1.0);
    if let Some(c) = &s.cache {
        for (name, help, value) in [
            ("chittyid_client_cache_hits_total", "Validation cache hits.", c.hits),
            ("chittyid_client_cache_misses_total", "Validation cache misses.", c.misses),
            ("chittyid_client_cache_evictions_total", "Entries evicted to make room.", c.evictions),
        ] {
            e.single(name, "counter", help, value as f64);
        }
        e.single("chittyid_client_cache_entries", "gauge", "Entries in the validation cache.", c.size as f64);
        e.single("chittyid_client_cache_max_entries", "gauge", "Capacity of the validation cache.", c.max_size as f64);
        e.single(
            "chittyid_client_cache_stale_served_total",
            "counter",
            "Expired answers served (stale) while the service could not be reached.",
            c.stale_served as f64,
        );
    }
    if let Some(f) = &s.fleet {
        e.single(
            "chittyid_client_fleet_degraded",
            "gauge",
            "Fleet mode: 1 while Redis is unavailable and the client runs local-only.",
            f64::from(u8::from(f.degraded)),
        );
        for (name, help, value) in [
            ("chittyid_client_fleet_redis_errors_total", "Fleet mode: Redis commands that failed.", f.errors),
            (
                "chittyid_client_fleet_redis_timeouts_total",
                "Fleet mode: Redis commands without an answer within the deadline.",
                f.timeouts,
            ),
            ("chittyid_client_fleet_l2_hits_total", "Fleet mode: validations answered by the shared cache.", f.l2_hits),
            ("chittyid_client_fleet_l2_misses_total", "Fleet mode: shared cache misses.", f.l2_misses),
            (
                "chittyid_client_fleet_l2_rejected_total",
                "Fleet mode: shared cache entries ignored because they failed authentication.",
                f.l2_rejected,
            ),
            (
                "chittyid_client_fleet_rate_waits_total",
                "Fleet mode: requests that waited for their slot in the shared rate budget.",
                f.rate_waits,
            ),
            ("chittyid_client_fleet_rate_limited_total", "Fleet mode: calls failed with ERATELIMITED.", f.rate_limited),
            (
                "chittyid_client_fleet_pauses_published_total",
                "Fleet mode: 429 pauses published to the fleet.",
                f.pauses_published,
            ),
            (
                "chittyid_client_fleet_breaker_hints_applied_total",
                "Fleet mode: circuit openings elsewhere that made this breaker probe.",
                f.hints_applied,
            ),
        ] {
            e.single(name, "counter", help, value as f64);
        }
    }
    render_limits(&mut e, s);
    e.out
}

/// The retry budget, bulkhead and client-side rate limit, when configured.
fn render_limits(e: &mut Exposition, s: &ClientSnapshot) {
    {
        let mut counter = |name: &str, help: &str, value: u64| e.single(name, "counter", help, value as f64);
        if let Some(b) = &s.retry_budget {
            counter(
                "chittyid_client_retry_budget_exhausted_total",
                "Retries refused because the retry budget was spent.",
                b.exhausted,
            );
        }
        if let Some(b) = &s.bulkhead {
            counter("chittyid_client_bulkhead_rejections_total", "Calls failed with EBULKHEADFULL.", b.rejected);
        }
        if let Some(t) = &s.rate_limit {
            counter(
                "chittyid_client_throttle_waits_total",
                "Requests that waited for a token of the client-side rate limit.",
                t.waits,
            );
            counter(
                "chittyid_client_throttle_rejections_total",
                "Calls failed with ERATELIMITED by the client-side rate limit.",
                t.rejected,
            );
        }
    }
    type PerEndpoint = fn(&EndpointSnapshot) -> Option<f64>;
    let per_endpoint: [(&str, &str, &str, PerEndpoint); 5] = [
        (
            "chittyid_client_endpoint_healthy",
            "gauge",
            "1 while the endpoint takes calls, 0 while it is marked down.",
            |ep| Some(if ep.healthy { 1.0 } else { 0.0 }),
        ),
        ("chittyid_client_endpoint_active", "gauge", "1 for the endpoint calls go to first.", |ep| {
            Some(if ep.active { 1.0 } else { 0.0 })
        }),
        (
            "chittyid_client_endpoint_requests_total",
            "counter",
            "Requests sent to the endpoint (health probes included).",
            |ep| Some(ep.requests as f64),
        ),
        (
            "chittyid_client_endpoint_failovers_total",
            "counter",
            "Times calls failed over away from the endpoint.",
            |ep| Some(ep.failovers as f64),
        ),
        (
            "chittyid_client_endpoint_circuit_state",
            "gauge",
            "The endpoint's circuit: 0 closed, 1 open, 2 half-open.",
            |ep| ep.breaker.as_ref().map(|b| breaker_state_value(b.state)),
        ),
    ];
    if !s.endpoints.is_empty() {
        for (name, kind, help, value) in per_endpoint {
            e.family(name, kind, help);
            for ep in &s.endpoints {
                if let Some(v) = value(ep) {
                    e.sample(name, &[("endpoint", &ep.url)], v);
                }
            }
        }
    }
    if let Some(b) = &s.bulkhead {
        e.single("chittyid_client_bulkhead_in_flight", "gauge", "Calls holding a bulkhead slot.", b.in_flight as f64);
        e.single("chittyid_client_bulkhead_queued", "gauge", "Calls waiting for a bulkhead slot.", b.queued as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::Operation;
    use crate::observe::stats::OpStats;

    /// A client with `stats` and nothing optional (no breaker, cache, fleet, limits, fallbacks).
    fn bare_snapshot(stats: &OpStats) -> ClientSnapshot {
        ClientSnapshot {
            operations: Operation::ALL.iter().map(|&op| stats.snapshot(op)).collect(),
            breaker: None,
            cache: None,
            rejected_by_breaker: 0,
            pause: crate::policy::pause::Pause::new(crate::rt::clock::system()).snapshot(),
            fleet: None,
            retry_budget: None,
            bulkhead: None,
            rate_limit: None,
            endpoints: Vec::new(),
            wire: "unknown",
            placeholders_accepted: 0,
            events_dropped: 0,
            telemetry_dropped: 0,
        }
    }

    #[test]
    fn renders_families_with_help_and_type_before_samples() {
        let stats = OpStats::default();
        stats.record_attempt(Operation::Mint, std::time::Duration::from_micros(300), None);
        let snap = bare_snapshot(&stats);
        let text = render(&snap);
        assert!(text.contains("chittyid_client_requests_total{operation=\"mint\"} 1\n"));
        assert!(text.contains("chittyid_client_request_duration_seconds_bucket{operation=\"mint\",le=\"+Inf\"} 1\n"));
        assert!(text.contains("chittyid_client_request_duration_seconds_bucket{operation=\"mint\",le=\"0.0004\"} 1\n"));
        assert!(text.ends_with('\n'));
        assert!(!text.contains("cache"));
        assert!(text.contains("chittyid_client_rate_limited_total 0\n"));
        assert!(text.contains("chittyid_client_rate_limit_paused 0\n"));
    }

    #[test]
    fn constant_labels_that_would_collide_are_refused() {
        let pairs =
            |list: &[(&str, &str)]| list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>();
        assert!(check_constant_labels(&pairs(&[("client", "a"), ("region", "eu"), ("_x9", "1")])).is_ok());
        for bad in [
            pairs(&[("endpoint", "x")]),
            pairs(&[("operation", "x")]),
            pairs(&[("le", "1")]),
            pairs(&[("__name__", "x")]),
            pairs(&[("bad-name", "x")]),
            pairs(&[("9lives", "x")]),
            pairs(&[("", "x")]),
            pairs(&[("client", "a"), ("client", "b")]),
            pairs(&[("ok", "")]),
        ] {
            assert!(check_constant_labels(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn constant_labels_go_on_every_sample_first() {
        let stats = OpStats::default();
        let snap = bare_snapshot(&stats);
        let labels = [("client".to_owned(), "billing \"eu\"".to_owned())];
        let text = render_with_labels(&snap, &labels);
        assert!(
            text.contains("chittyid_client_requests_total{client=\"billing \\\"eu\\\"\",operation=\"mint\"} 0\n"),
            "{text}"
        );
        assert!(text.contains("chittyid_client_circuit_rejections_total{client=\"billing \\\"eu\\\"\"} 0\n"), "{text}");
        let samples = text.lines().filter(|l| !l.starts_with('#'));
        assert!(samples.clone().count() > 10);
        assert!(samples.clone().all(|l| l.contains("{client=")), "{text}");
    }

    #[test]
    fn formats_values_and_escapes_labels() {
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(0.25), "0.25");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
