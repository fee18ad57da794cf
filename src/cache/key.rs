//! What one cache entry stores: its key and its packed verdict (docs/ARCHITECTURE.md,
//! "Validation cache").

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::num::NonZeroU8;

/// Keys up to this many bytes are stored in the entry itself; longer ones on the heap.
pub(super) const INLINE_KEY_MAX: usize = 23;
/// The top bit of an `Entry` holds the cached boolean.
const VALUE_BIT: u64 = 1 << 63;
const MAX_EXPIRY_MS: u64 = VALUE_BIT - 1;

/// A key stored without a heap allocation when it is at most [`INLINE_KEY_MAX`] bytes.
///
/// It hashes and compares as its bytes, and borrows as `[u8]`, so lookups take the caller's
/// `&str` as bytes without building a `Key`.
pub(super) enum Key {
    /// The length is stored plus one so that its zero is free to tag the other variant,
    /// which keeps `Key` at 24 bytes.
    Inline {
        len_plus_one: NonZeroU8,
        bytes: [u8; INLINE_KEY_MAX],
    },
    Heap(Box<[u8]>),
}

impl Key {
    pub(super) fn new(key: &str) -> Self {
        if key.len() > INLINE_KEY_MAX {
            return Key::Heap(key.as_bytes().into());
        }
        let mut bytes = [0; INLINE_KEY_MAX];
        bytes[..key.len()].copy_from_slice(key.as_bytes());
        let len_plus_one = NonZeroU8::MIN.saturating_add(key.len() as u8);
        Key::Inline { len_plus_one, bytes }
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        match self {
            Key::Inline { len_plus_one, bytes } => &bytes[..usize::from(len_plus_one.get() - 1)],
            Key::Heap(bytes) => bytes,
        }
    }

    pub(super) fn to_owned_string(&self) -> String {
        // The bytes were copied whole from a `&str`, so they are valid UTF-8.
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }
}

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Key {}

/// The cached verdict and its expiry, packed in one word.
#[derive(Clone, Copy)]
pub(super) struct Entry(pub(super) u64);

impl Entry {
    pub(super) fn new(valid: bool, expires_at_ms: u64) -> Self {
        let value = if valid { VALUE_BIT } else { 0 };
        Entry(value | expires_at_ms.min(MAX_EXPIRY_MS))
    }

    pub(super) fn valid(self) -> bool {
        self.0 & VALUE_BIT != 0
    }

    pub(super) fn expires_at_ms(self) -> u64 {
        self.0 & MAX_EXPIRY_MS
    }

    pub(super) fn is_expired(self, now_ms: u64) -> bool {
        now_ms >= self.expires_at_ms()
    }
}
