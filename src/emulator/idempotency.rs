//! Responses remembered by `Idempotency-Key`, bounded: the oldest key is forgotten first.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;

/// An answer as it was first sent, replayed verbatim for a repeated key.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StoredResponse {
    pub status: u16,
    pub body: Bytes,
}

#[derive(Debug)]
pub(crate) struct IdempotencyStore {
    responses: HashMap<Arc<str>, StoredResponse>,
    arrival: VecDeque<Arc<str>>,
    capacity: usize,
}

impl IdempotencyStore {
    pub fn new(capacity: usize) -> Self {
        Self { responses: HashMap::new(), arrival: VecDeque::new(), capacity: capacity.max(1) }
    }

    pub fn get(&self, key: &str) -> Option<&StoredResponse> {
        self.responses.get(key)
    }

    /// Remembers `response` under `key` unless the key is already known.
    pub fn insert(&mut self, key: &str, response: StoredResponse) {
        if self.responses.contains_key(key) {
            return;
        }
        if self.arrival.len() == self.capacity {
            if let Some(oldest) = self.arrival.pop_front() {
                self.responses.remove(&oldest);
            }
        }
        let key: Arc<str> = Arc::from(key);
        self.arrival.push_back(Arc::clone(&key));
        self.responses.insert(key, response);
    }

    pub fn clear(&mut self) {
        self.responses.clear();
        self.arrival.clear();
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.responses.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(tag: &'static str) -> StoredResponse {
        StoredResponse { status: 201, body: Bytes::from_static(tag.as_bytes()) }
    }

    #[test]
    fn first_answer_for_a_key_wins() {
        let mut store = IdempotencyStore::new(4);
        store.insert("k", answer("one"));
        store.insert("k", answer("two"));
        assert_eq!(store.get("k"), Some(&answer("one")));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn oldest_key_is_forgotten_at_capacity() {
        let mut store = IdempotencyStore::new(2);
        store.insert("a", answer("a"));
        store.insert("b", answer("b"));
        store.insert("c", answer("c"));
        assert_eq!(store.get("a"), None);
        assert!(store.get("b").is_some() && store.get("c").is_some());
        assert_eq!(store.len(), 2);
        store.clear();
        assert_eq!(store.len(), 0);
    }
}
