//! Each endpoint's wire (`crate::wire`): learning it from the answers, sending an operation on
//! it, and naming the route a 404 came from.

use super::Client;
use crate::error::ClientError;
use crate::transport::{Method, Request, Response};
use crate::wire::{EndpointWire, Route, Wire, WireMode};

impl Client {
    /// The wire endpoint `i` speaks (as far as known).
    pub fn wire_of(&self, i: usize) -> Wire {
        self.wires.get(i).map_or(Wire::Unknown, EndpointWire::get)
    }

    pub(super) fn wire(&self, i: usize) -> &EndpointWire {
        self.wires.get(i).unwrap_or(&self.wires[0])
    }

    /// The wire of every endpoint, in order.
    pub fn wires(&self) -> Vec<Wire> {
        (0..self.wires.len()).map(|i| self.wire_of(i)).collect()
    }

    pub(super) fn wire_mode_of_all(&self) -> WireMode {
        self.wires[0].mode()
    }

    /// One attempt on endpoint `i` of an operation with a v1 route and a deployed one. With
    /// the wire unknown it tries v1's route first and, when that is a 404, the deployed one
    /// (a 404 processed nothing, so sending again is safe), learning the wire from which
    /// answered. `v1_answer_tells`: a 2xx on v1's route shows the endpoint speaks v1.
    pub(super) async fn send_wired(
        &self,
        i: usize,
        v1: Request<'_>,
        deployed: Option<Request<'_>>,
        v1_answer_tells: bool,
    ) -> Result<Response, ClientError> {
        let wire = self.wire(i);
        match (wire.get(), deployed) {
            (Wire::Deployed, Some(d)) => self.send_via(i, d).await,
            (Wire::Unknown, Some(d)) => {
                let first = self.send_via(i, v1).await?;
                if first.status != 404 {
                    if v1_answer_tells && first.is_success() {
                        wire.learn(Wire::V1);
                    }
                    return Ok(first);
                }
                let second = self.send_via(i, d).await?;
                if second.is_success() {
                    wire.learn(Wire::Deployed);
                }
                // Neither route exists: the answer is v1's route's 404.
                Ok(if second.status == 404 { first } else { second })
            }
            _ => self.send_via(i, v1).await,
        }
    }

    /// The URL a request goes to, for messages.
    pub(super) fn url_of(&self, i: usize, route: Route) -> String {
        let base = self.endpoint_url(i);
        if !route.from_origin {
            return format!("{base}{}", route.path);
        }
        let origin = reqwest::Url::parse(base).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
        format!("{origin}{}", route.path)
    }

    /// A 404 named with the route tried (on the active endpoint's current wire).
    pub(super) fn name_404(&self, err: ClientError, method: Method, v1: Route, deployed: Option<Route>) -> ClientError {
        match err {
            ClientError::Http { status: 404, status_text, .. } => {
                let i = self.active_endpoint();
                let route = match (self.wire_of(i), deployed) {
                    (Wire::Deployed, Some(d)) => d,
                    _ => v1,
                };
                let method = if route.by_query { Method::Get } else { method };
                ClientError::RouteNotFound { method: method.as_str(), url: self.url_of(i, route), status_text }
            }
            other => other,
        }
    }
}
