//! What one cache entry stores: its key and its packed verdict (docs/ARCHITECTURE.md,
//! "Validation cache").
//!
//! The key is 16 bytes, so that an `lru` node (key, verdict, two links) is 40 bytes: a 48-byte
//! malloc chunk instead of the 64 a 24-byte key needed. Every string has exactly one form, so
//! keys compare and hash as their form:
//! - up to [`RAW_MAX`] bytes: the bytes themselves;
//! - 16 to 31 bytes of `0-9`, `A-Z` and `-` (both id grammars, 22 and 25 bytes, whatever the
//!   case of the service's answers): packed into 127 bits, when they fit (dash positions as a
//!   bit mask, the other characters as one base-36 number);
//! - anything else: on the heap, behind one pointer.

use std::num::NonZeroU8;

/// Strings up to this many bytes are stored as they are.
pub(super) const RAW_MAX: usize = 15;
/// The longest string that can be packed (its length is stored in 5 bits).
const PACK_MAX: usize = 31;
/// Base-36 digits per 64-bit half of the packed number: 36¹² < 2⁶⁴.
const DIGITS_PER_HALF: u32 = 12;
const HALF_RADIX: u128 = 36u128.pow(DIGITS_PER_HALF);
/// A packed key's tag has this bit set; a raw key's tag is its length plus one (1..=16).
const PACKED_TAG: u8 = 0x80;
/// The packed word has 127 bits: the tag's low 7 and the 15 bytes.
const PACKED_BITS: u32 = 127;
/// The top bit of an `Entry` holds the cached boolean.
const VALUE_BIT: u64 = 1 << 63;
const MAX_EXPIRY_MS: u64 = VALUE_BIT - 1;

/// A key as the cache stores it (16 bytes: the tag's zero is the niche of the heap variant).
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) enum Key {
    Inline {
        tag: NonZeroU8,
        bytes: [u8; RAW_MAX],
    },
    /// One pointer, so that the variant fits beside the tag.
    Heap(Box<Box<[u8]>>),
}

impl Key {
    /// The key of `key`: without an allocation unless it is long and not id-like.
    pub(super) fn new(key: &str) -> Self {
        let s = key.as_bytes();
        if s.len() <= RAW_MAX {
            let mut bytes = [0; RAW_MAX];
            bytes[..s.len()].copy_from_slice(s);
            return Key::Inline { tag: NonZeroU8::MIN.saturating_add(s.len() as u8), bytes };
        }
        match pack(s) {
            Some(word) => {
                let tag = PACKED_TAG | (word >> (8 * RAW_MAX)) as u8;
                let mut bytes = [0; RAW_MAX];
                bytes.copy_from_slice(&word.to_le_bytes()[..RAW_MAX]);
                Key::Inline { tag: NonZeroU8::new(tag).unwrap_or(NonZeroU8::MAX), bytes }
            }
            None => Key::Heap(Box::new(s.into())),
        }
    }

    pub(super) fn to_owned_string(&self) -> String {
        let bytes = match self {
            Key::Inline { tag, bytes } if tag.get() & PACKED_TAG == 0 => bytes[..usize::from(tag.get() - 1)].to_vec(),
            Key::Inline { tag, bytes } => {
                let mut word = [0; 16];
                word[..RAW_MAX].copy_from_slice(bytes);
                word[RAW_MAX] = tag.get() & !PACKED_TAG;
                unpack(u128::from_le_bytes(word))
            }
            Key::Heap(bytes) => bytes.to_vec(),
        };
        // Raw and heap bytes were copied whole from a `&str`; unpacked ones are ASCII.
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[cfg(test)]
    pub(super) fn is_inline(&self) -> bool {
        matches!(self, Key::Inline { .. })
    }
}

/// The base-36 digit of an id character, or `None` for `-` and anything outside `0-9A-Z`.
fn digit(b: u8) -> Option<u64> {
    match b {
        b'0'..=b'9' => Some(u64::from(b - b'0')),
        b'A'..=b'Z' => Some(u64::from(b - b'A') + 10),
        _ => None,
    }
}

/// `len | dash mask << 5 | digits << (5 + len)`, or `None` when `s` is not 16..=31 bytes of
/// `0-9A-Z-` or the word would need more than [`PACKED_BITS`] bits.
fn pack(s: &[u8]) -> Option<u128> {
    let len = s.len();
    if !(RAW_MAX + 1..=PACK_MAX).contains(&len) {
        return None;
    }
    let (mut mask, mut n) = (0u32, 0u32);
    let (mut lo, mut hi) = (0u64, 0u64);
    for (i, &b) in s.iter().enumerate() {
        if b == b'-' {
            mask |= 1 << i;
            continue;
        }
        let d = digit(b)?;
        if n < DIGITS_PER_HALF {
            lo = lo * 36 + d;
        } else if n < 2 * DIGITS_PER_HALF {
            hi = hi * 36 + d;
        } else {
            return None;
        }
        n += 1;
    }
    // The first 12 digits are the low half, so the number is `hi · 36¹² + lo`.
    let number = if n > DIGITS_PER_HALF { u128::from(hi) * HALF_RADIX + u128::from(lo) } else { u128::from(lo) };
    let shift = 5 + len as u32;
    if number >> (PACKED_BITS - shift) != 0 {
        return None;
    }
    Some(number << shift | u128::from(mask) << 5 | len as u128)
}

fn unpack(word: u128) -> Vec<u8> {
    let len = (word & 31) as usize;
    let mask = (word >> 5) as u32 & ((1u32 << len) - 1);
    let number = word >> (5 + len);
    let n = len as u32 - mask.count_ones();
    let (mut lo, mut hi) = if n > DIGITS_PER_HALF { (number % HALF_RADIX, number / HALF_RADIX) } else { (number, 0) };
    // Digits come out last first: the high half's, then the low half's.
    let mut digits = Vec::with_capacity(n as usize);
    for k in (0..n).rev() {
        let half = if k >= DIGITS_PER_HALF { &mut hi } else { &mut lo };
        digits.push((*half % 36) as u8);
        *half /= 36;
    }
    let mut out = vec![b'-'; len];
    let mut next = digits.into_iter().rev();
    for (i, byte) in out.iter_mut().enumerate() {
        if mask & (1 << i) == 0 {
            let d = next.next().unwrap_or(0);
            *byte = if d < 10 { b'0' + d } else { b'A' + d - 10 };
        }
    }
    out
}

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
