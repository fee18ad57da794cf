//! `healthCheck()`: one `GET /health` on the active endpoint, outside retry and breaker.

use super::Client;
use crate::error::ClientError;
use crate::exchange::Operation;
use crate::transport::config::HEALTH_TIMEOUT_MS;

impl Client {
    /// `GET /health` with a 5 s timeout, outside retry and breaker; never fails.
    pub async fn health(&self) -> bool {
        self.health_result().await.is_ok()
    }

    /// Like [`Client::health`], with the reason when the service is not healthy. It waits out
    /// a rate-limit pause like every other request, within its timeout. With several
    /// endpoints it asks the one calls go to now.
    pub async fn health_result(&self) -> Result<(), ClientError> {
        let endpoint = self.active_endpoint();
        let resilience = self.endpoint(endpoint).1;
        let gate = resilience.pause();
        let mut budget_ms = HEALTH_TIMEOUT_MS;
        resilience.pass_rate_limit(&mut budget_ms).await?;
        gate.pass(&mut budget_ms).await?;
        let stamp = gate.stamp();
        let started = std::time::Instant::now();
        let outcome = self.health_of(endpoint, HEALTH_TIMEOUT_MS).await;
        resilience.stats().record_attempt(Operation::Health, started.elapsed(), outcome.as_ref().err());
        let _ = resilience.record_for_gate(Operation::Health, stamp, outcome.as_ref().err());
        outcome.map(drop)
    }
}
