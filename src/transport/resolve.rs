//! Name resolution for the client's connections, with one extra rule: a client whose
//! `serviceUrl` is plain http (allowed only to loopback hosts unless `allowInsecure`) connects
//! only to loopback *addresses*. A name such as `api.localhost` goes through DNS like any
//! other, so the address it resolves to is checked, not the name.

use std::fmt;
use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

#[derive(Debug)]
pub struct NotFound(pub String);

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "getaddrinfo ENOTFOUND {}", self.0)
    }
}

impl std::error::Error for NotFound {}

#[derive(Debug)]
pub struct NotLoopback(pub String);

impl fmt::Display for NotLoopback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} does not resolve to a loopback address, and plain http is allowed only to loopback (use https, or set allowInsecure: true)", self.0)
    }
}

impl std::error::Error for NotLoopback {}

pub struct Resolver {
    pub loopback_only: bool,
}

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let loopback_only = self.loopback_only;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = match tokio::net::lookup_host((host.as_str(), 0)).await {
                Ok(addrs) => addrs.collect(),
                Err(_) => Vec::new(),
            };
            if found.is_empty() {
                return Err(Box::new(NotFound(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            let allowed = only_allowed(found, loopback_only);
            if allowed.is_empty() {
                return Err(Box::new(NotLoopback(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

fn only_allowed(addrs: Vec<SocketAddr>, loopback_only: bool) -> Vec<SocketAddr> {
    if loopback_only {
        addrs.into_iter().filter(|a| a.ip().is_loopback()).collect()
    } else {
        addrs
    }
}

/// [`crate::transport::config::is_loopback_host`] for a redirect's target.
pub fn is_loopback_url(url: &reqwest::Url) -> bool {
    url.host().is_some_and(|host| crate::transport::config::is_loopback_host(&host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only_keeps_loopback_addresses() {
        let addrs: Vec<SocketAddr> =
            vec!["10.0.0.1:0".parse().unwrap(), "127.0.0.1:0".parse().unwrap(), "[::1]:0".parse().unwrap()];
        assert_eq!(only_allowed(addrs.clone(), true).len(), 2);
        assert_eq!(only_allowed(addrs, false).len(), 3);
        assert!(only_allowed(vec!["192.168.1.1:0".parse().unwrap()], true).is_empty());
    }

    #[test]
    fn a_name_that_resolves_elsewhere_is_refused() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            // "localhost" resolves to loopback everywhere; a nonexistent name is ENOTFOUND.
            let ok = Resolver { loopback_only: true }.resolve("localhost".parse().unwrap()).await;
            assert!(ok.unwrap().all(|a| a.ip().is_loopback()));
            let missing = Resolver { loopback_only: true }.resolve("no-such-host.invalid".parse().unwrap()).await;
            let err = missing.err().unwrap();
            assert!(err.downcast_ref::<NotFound>().is_some(), "{err}");
        });
    }
}
