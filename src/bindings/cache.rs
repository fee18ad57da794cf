//! `validate()`'s synchronous cache lookup, as a free function given the handle of the
//! client's cache (`bindings::handles`): a class method would cost a fifth of a cache hit
//! (bench/RESULTS.md, "Verdict").

use std::cell::RefCell;
use std::sync::Arc;

use napi_derive::napi;

use crate::bindings::handles::Handles;
use crate::cache::ValidationCache;

thread_local! {
    /// The caches of this JS thread's clients.
    static CACHES: RefCell<Handles<Arc<ValidationCache>>> = const { RefCell::new(Handles::new()) };
}

/// Registers `cache` for lookups from this thread; the handle is never 0.
pub fn register(cache: Arc<ValidationCache>) -> u32 {
    CACHES.with_borrow_mut(|caches| caches.insert(cache))
}

/// Frees `handle` (on the thread that registered it, when its client is dropped). A client
/// finalized while its worker thread is torn down may come after the registry is gone: nothing
/// is left to free then.
pub fn unregister(handle: u32) {
    let _ = CACHES.try_with(|caches| caches.borrow_mut().remove(handle));
}

/// The cache lookup of `validate()` for the client whose cache is `handle`: 0 = miss (or no
/// such cache), 1 = cached valid, 2 = cached invalid. Counts a hit or a miss.
#[napi(catch_unwind)]
pub fn cached_verdict(handle: u32, id: String) -> u32 {
    CACHES.with_borrow(|caches| match caches.get(handle).and_then(|c| c.get(&id)) {
        None => 0,
        Some(true) => 1,
        Some(false) => 2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::CacheConfig;

    #[test]
    fn handles_find_their_cache_and_freed_slots_are_reused() {
        let clock = crate::rt::clock::system();
        let a = Arc::new(ValidationCache::new(CacheConfig::default(), clock.clone()));
        let b = Arc::new(ValidationCache::new(CacheConfig::default(), clock));
        a.set("AB-C-DEF-1234-P-24-X-0", true);
        b.set("AB-C-DEF-1234-P-24-X-0", false);
        let (ha, hb) = (register(a), register(b.clone()));
        assert!(ha != 0 && hb != 0 && ha != hb);
        assert_eq!(cached_verdict(ha, "AB-C-DEF-1234-P-24-X-0".into()), 1);
        assert_eq!(cached_verdict(hb, "AB-C-DEF-1234-P-24-X-0".into()), 2);
        assert_eq!(cached_verdict(ha, "AB-C-DEF-9999-P-24-X-0".into()), 0);
        for bogus in [0, 999] {
            assert_eq!(cached_verdict(bogus, "AB-C-DEF-1234-P-24-X-0".into()), 0);
        }
        unregister(ha);
        assert_eq!(cached_verdict(ha, "AB-C-DEF-1234-P-24-X-0".into()), 0);
        assert_eq!(register(b), ha, "the freed slot is reused");
        unregister(ha);
        unregister(hb);
    }
}
