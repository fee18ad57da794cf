//! Process scope: clients that opt in (`scope: "process"`) share one validation cache and one
//! circuit breaker per service URL, across every worker thread of the process (the addon is
//! loaded once per process, so this registry is too). The first client of a URL fixes the
//! configuration; the state lives while any client of that URL does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use crate::cache::ValidationCache;
use crate::policy::breaker::CircuitBreaker;
use crate::policy::pause::Pause;

/// What process-scoped clients of one service URL share. The pause after a 429 too: the
/// service limits per client address, so the clients of one process share its budget.
pub struct SharedState {
    pub cache: Option<Arc<ValidationCache>>,
    pub breaker: Option<Arc<CircuitBreaker>>,
    pub pause: Arc<Pause>,
}

type Registry = Mutex<HashMap<String, Weak<SharedState>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

/// The state shared by `service_url`'s clients, created by `create` for the first one.
pub fn for_service(service_url: &str, create: impl FnOnce() -> SharedState) -> Arc<SharedState> {
    let mut map = registry().lock().unwrap_or_else(|e| e.into_inner());
    map.retain(|_, weak| weak.strong_count() > 0);
    if let Some(existing) = map.get(service_url).and_then(Weak::upgrade) {
        return existing;
    }
    let state = Arc::new(create());
    map.insert(service_url.to_owned(), Arc::downgrade(&state));
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::CacheConfig;
    use crate::rt::clock::system;

    fn with_cache() -> SharedState {
        SharedState {
            cache: Some(Arc::new(ValidationCache::new(CacheConfig::default(), system()))),
            breaker: None,
            pause: Arc::new(Pause::new(system())),
        }
    }

    #[test]
    fn clients_of_one_url_share_and_others_do_not() {
        let a = for_service("http://shared-test-a", with_cache);
        let b = for_service("http://shared-test-a", || panic!("must reuse"));
        let c = for_service("http://shared-test-c", with_cache);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        a.cache.as_ref().unwrap().set("X", true);
        assert_eq!(b.cache.as_ref().unwrap().peek("X"), Some(true));
    }

    #[test]
    fn state_goes_away_with_its_last_client() {
        let first = for_service("http://shared-test-gone", with_cache);
        first.cache.as_ref().unwrap().set("Y", true);
        drop(first);
        let fresh = for_service("http://shared-test-gone", with_cache);
        assert_eq!(fresh.cache.as_ref().unwrap().peek("Y"), None);
    }
}
