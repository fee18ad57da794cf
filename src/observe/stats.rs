//! Request counters and latency per operation, lock-free on the hot path: what the attempt loop
//! records and `getStats()` and the metrics read.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::error::ClientError;
use crate::exchange::Operation;

/// Latency buckets: upper bounds in microseconds, roughly ×2 apart, plus overflow.
const BUCKET_BOUNDS_US: [u64; 20] = [
    50, 100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 51_200, 102_400, 204_800, 409_600, 819_200, 1_638_400,
    3_276_800, 6_553_600, 13_107_200, 26_214_400,
];
const BUCKETS: usize = BUCKET_BOUNDS_US.len() + 1;

#[derive(Default)]
struct OpCounters {
    attempts: AtomicU64,
    errors: AtomicU64,
    retries: AtomicU64,
    latency_sum_us: AtomicU64,
    latency_buckets: [AtomicU64; BUCKETS],
}

/// Counters for every operation of one client.
#[derive(Default)]
pub struct OpStats {
    ops: [OpCounters; 4],
    rejected_by_breaker: AtomicU64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OpSnapshot {
    pub operation: &'static str,
    pub attempts: u64,
    pub errors: u64,
    pub retries: u64,
    pub latency_sum_us: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Cumulative counts per bucket bound (µs), for a Prometheus histogram.
    pub buckets: Vec<(u64, u64)>,
}

fn bucket_for(us: u64) -> usize {
    BUCKET_BOUNDS_US.iter().position(|&b| us <= b).unwrap_or(BUCKETS - 1)
}

/// One attempt being made, counted when it ends ([`AttemptCount::finish`]). One dropped
/// before (its call aborted, or the client closed, while the request was out) counts too, as a
/// failed attempt: the service may have received it, and its ledger and these counters agree.
pub struct AttemptCount<'a> {
    stats: &'a OpStats,
    op: Operation,
    started: Instant,
    counted: bool,
}

impl AttemptCount<'_> {
    pub fn finish(mut self, err: Option<&ClientError>) {
        self.counted = true;
        self.stats.record(self.op, self.started.elapsed(), err.is_some());
    }
}

impl Drop for AttemptCount<'_> {
    fn drop(&mut self) {
        if !self.counted {
            self.stats.record(self.op, self.started.elapsed(), true);
        }
    }
}

impl OpStats {
    pub fn record_attempt(&self, op: Operation, elapsed: Duration, err: Option<&ClientError>) {
        self.record(op, elapsed, err.is_some());
    }

    /// An attempt of `op` begins now; see [`AttemptCount`].
    pub fn attempt_starts(&self, op: Operation) -> AttemptCount<'_> {
        AttemptCount { stats: self, op, started: Instant::now(), counted: false }
    }

    fn record(&self, op: Operation, elapsed: Duration, failed: bool) {
        let c = &self.ops[op.index()];
        let us = elapsed.as_micros() as u64;
        c.attempts.fetch_add(1, Relaxed);
        c.latency_sum_us.fetch_add(us, Relaxed);
        c.latency_buckets[bucket_for(us)].fetch_add(1, Relaxed);
        if failed {
            c.errors.fetch_add(1, Relaxed);
        }
    }

    pub fn record_retry(&self, op: Operation) {
        self.ops[op.index()].retries.fetch_add(1, Relaxed);
    }

    pub fn record_rejected(&self) {
        self.rejected_by_breaker.fetch_add(1, Relaxed);
    }

    pub fn rejected_by_breaker(&self) -> u64 {
        self.rejected_by_breaker.load(Relaxed)
    }

    pub fn snapshot(&self, op: Operation) -> OpSnapshot {
        let c = &self.ops[op.index()];
        let counts: Vec<u64> = c.latency_buckets.iter().map(|b| b.load(Relaxed)).collect();
        let mut cumulative = 0;
        let buckets = BUCKET_BOUNDS_US
            .iter()
            .zip(&counts)
            .map(|(&bound, &n)| {
                cumulative += n;
                (bound, cumulative)
            })
            .collect();
        OpSnapshot {
            operation: op.as_str(),
            attempts: c.attempts.load(Relaxed),
            errors: c.errors.load(Relaxed),
            retries: c.retries.load(Relaxed),
            latency_sum_us: c.latency_sum_us.load(Relaxed),
            p50_ms: quantile_ms(&counts, 0.50),
            p99_ms: quantile_ms(&counts, 0.99),
            buckets,
        }
    }
}

/// The upper bound of the bucket holding the q-quantile (0 when empty).
fn quantile_ms(counts: &[u64], q: f64) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let rank = ((total as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (i, &n) in counts.iter().enumerate() {
        seen += n;
        if seen >= rank {
            let bound = BUCKET_BOUNDS_US.get(i).copied().unwrap_or(u64::MAX / 1000);
            return bound as f64 / 1000.0;
        }
    }
    0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_attempts_errors_and_quantiles() {
        let s = OpStats::default();
        for _ in 0..98 {
            s.record_attempt(Operation::Mint, Duration::from_micros(150), None);
        }
        let err = ClientError::Timeout { after_ms: 1, phase: crate::error::Phase::Exchange };
        s.record_attempt(Operation::Mint, Duration::from_millis(30), Some(&err));
        s.record_attempt(Operation::Mint, Duration::from_millis(30), Some(&err));
        s.record_retry(Operation::Mint);
        let snap = s.snapshot(Operation::Mint);
        assert_eq!(snap.attempts, 100);
        assert_eq!(snap.errors, 2);
        assert_eq!(snap.retries, 1);
        assert_eq!(snap.p50_ms, 0.2);
        assert_eq!(snap.p99_ms, 51.2);
        assert_eq!(snap.buckets.last().unwrap().1, 100);
        assert_eq!(s.snapshot(Operation::Validate).attempts, 0);
        assert_eq!(s.snapshot(Operation::Validate).p99_ms, 0.0);
    }

    #[test]
    fn an_attempt_dropped_before_it_finished_counts_as_failed() {
        let s = OpStats::default();
        s.attempt_starts(Operation::Mint).finish(None);
        drop(s.attempt_starts(Operation::Mint));
        let snap = s.snapshot(Operation::Mint);
        assert_eq!((snap.attempts, snap.errors), (2, 1));
        assert_eq!(snap.buckets.last().unwrap().1, 2);
    }
}
