//! What the emulator has seen and minted, so tests can prove nothing was minted twice or lost.
//!
//! Minted ids are not stored: the mint counter only grows (also across `reset`), and an id is
//! a function of its counter and type letter, so the book keeps one type letter per mint and
//! regenerates the ids when asked.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::deployed_ids::DeployedIdGenerator;
use super::idempotency::{IdempotencyStore, StoredResponse};
use super::ids::IdGenerator;
use super::RouteKind;
use crate::id::DEPLOYED_ID_LEN;

const IDEMPOTENCY_KEYS_KEPT: usize = 100_000;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteCounts {
    pub health: u64,
    pub mint: u64,
    pub batch: u64,
    pub validate: u64,
    pub other: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LedgerSnapshot {
    pub minted: u64,
    /// In mint order.
    pub minted_ids: Vec<String>,
    pub idempotent_replays: u64,
    /// Counted on arrival, faulted requests included.
    pub requests: RouteCounts,
    pub unauthorized: u64,
    /// Answers 400 and 413.
    pub bad_requests: u64,
    /// Requests that got at least one fault.
    pub faults_injected: u64,
    /// TCP connections accepted.
    pub connections: u64,
    /// Placeholder ids handed out (deployed profile, under the `placeholder` fault); never
    /// counted as minted.
    pub placeholders: u64,
}

#[derive(Debug, Default)]
struct Counters {
    health: AtomicU64,
    mint: AtomicU64,
    batch: AtomicU64,
    validate: AtomicU64,
    other: AtomicU64,
    idempotent_replays: AtomicU64,
    unauthorized: AtomicU64,
    bad_requests: AtomicU64,
    faults_injected: AtomicU64,
    connections: AtomicU64,
    placeholders: AtomicU64,
}

impl Counters {
    fn all(&self) -> [&AtomicU64; 11] {
        [
            &self.health,
            &self.mint,
            &self.batch,
            &self.validate,
            &self.other,
            &self.idempotent_replays,
            &self.unauthorized,
            &self.bad_requests,
            &self.faults_injected,
            &self.connections,
            &self.placeholders,
        ]
    }

    fn for_route(&self, route: RouteKind) -> &AtomicU64 {
        match route {
            RouteKind::Health => &self.health,
            RouteKind::Mint => &self.mint,
            RouteKind::Batch => &self.batch,
            RouteKind::Validate => &self.validate,
            RouteKind::Other => &self.other,
        }
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn read(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

#[derive(Debug)]
struct MintBook {
    /// Mint counter of `type_letters[0]`.
    base: u64,
    type_letters: Vec<u8>,
    keys: IdempotencyStore,
}

impl MintBook {
    fn next_counter(&self) -> u64 {
        self.base + self.type_letters.len() as u64
    }

    fn minted_at(&self, counter: u64, type_letter: u8) -> bool {
        counter
            .checked_sub(self.base)
            .and_then(|offset| self.type_letters.get(offset as usize))
            .is_some_and(|&t| t == type_letter)
    }
}

/// How ids are made from the mint counter: the profile's grammar.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Generator {
    V1(IdGenerator),
    Deployed(DeployedIdGenerator),
}

impl Generator {
    fn id_for(&self, n: u64, type_letter: u8) -> MintedId {
        let mut bytes = [0; DEPLOYED_ID_LEN];
        let len = match self {
            Generator::V1(g) => {
                let id = g.id_for(n, type_letter);
                bytes[..id.len()].copy_from_slice(&id);
                id.len()
            }
            Generator::Deployed(g) => {
                bytes = g.id_for(n, type_letter);
                bytes.len()
            }
        };
        MintedId { bytes, len }
    }

    fn id_string(&self, n: u64, type_letter: u8) -> String {
        match self {
            Generator::V1(g) => g.id_string(n, type_letter),
            Generator::Deployed(g) => g.id_string(n, type_letter),
        }
    }

    fn decode(&self, id: &str) -> Option<(u64, u8)> {
        match self {
            Generator::V1(g) => g.decode(id),
            Generator::Deployed(g) => g.decode(id),
        }
    }
}

/// One minted id, of either grammar, without allocating.
pub(crate) struct MintedId {
    bytes: [u8; DEPLOYED_ID_LEN],
    len: usize,
}

impl AsRef<[u8]> for MintedId {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The ids of one commit, in order.
pub(crate) struct MintedIds<'a> {
    generator: Generator,
    next: u64,
    type_letters: std::slice::Iter<'a, u8>,
}

impl Iterator for MintedIds<'_> {
    type Item = MintedId;

    fn next(&mut self) -> Option<Self::Item> {
        let type_letter = *self.type_letters.next()?;
        let id = self.generator.id_for(self.next, type_letter);
        self.next += 1;
        Some(id)
    }
}

pub(crate) enum Commit {
    Fresh(StoredResponse),
    Replayed(StoredResponse),
}

#[derive(Debug)]
pub(crate) struct Ledger {
    generator: Generator,
    counters: Counters,
    book: Mutex<MintBook>,
}

impl Ledger {
    pub fn new(generator: Generator) -> Self {
        let book = MintBook { base: 0, type_letters: Vec::new(), keys: IdempotencyStore::new(IDEMPOTENCY_KEYS_KEPT) };
        Self { generator, counters: Counters::default(), book: Mutex::new(book) }
    }

    pub fn count_request(&self, route: RouteKind) {
        bump(self.counters.for_route(route));
    }

    pub fn count_unauthorized(&self) {
        bump(&self.counters.unauthorized);
    }

    pub fn count_bad_request(&self) {
        bump(&self.counters.bad_requests);
    }

    pub fn count_fault(&self) {
        bump(&self.counters.faults_injected);
    }

    pub fn count_connection(&self) {
        bump(&self.counters.connections);
    }

    /// A placeholder id was handed out instead of a minted one.
    pub fn count_placeholder(&self) {
        bump(&self.counters.placeholders);
    }

    /// The answer remembered under `key`, counted as a replay.
    pub fn replay(&self, key: &str) -> Option<StoredResponse> {
        let stored = self.lock_book().keys.get(key).cloned();
        if stored.is_some() {
            bump(&self.counters.idempotent_replays);
        }
        stored
    }

    /// Mints one id per type letter and remembers `respond`'s answer under `key`; or, when
    /// `key` was already answered, returns that answer and mints nothing. Both happen under
    /// one lock, so a key can never mint twice.
    pub fn commit<F>(&self, key: Option<&str>, type_letters: &[u8], respond: F) -> Commit
    where
        F: FnOnce(MintedIds<'_>) -> StoredResponse,
    {
        let mut book = self.lock_book();
        if let Some(stored) = key.and_then(|k| book.keys.get(k)) {
            bump(&self.counters.idempotent_replays);
            return Commit::Replayed(stored.clone());
        }
        let first = book.next_counter();
        book.type_letters.extend_from_slice(type_letters);
        let ids = MintedIds { generator: self.generator, next: first, type_letters: type_letters.iter() };
        let response = respond(ids);
        if let Some(key) = key {
            book.keys.insert(key, response.clone());
        }
        Commit::Fresh(response)
    }

    /// Whether this emulator minted `id` since the last reset.
    pub fn was_minted(&self, id: &str) -> bool {
        self.generator.decode(id).is_some_and(|(counter, type_letter)| self.lock_book().minted_at(counter, type_letter))
    }

    pub fn snapshot(&self) -> LedgerSnapshot {
        let (base, type_letters) = {
            let book = self.lock_book();
            (book.base, book.type_letters.clone())
        };
        let minted_ids =
            type_letters.iter().zip(base..).map(|(&t, counter)| self.generator.id_string(counter, t)).collect();
        let c = &self.counters;
        LedgerSnapshot {
            minted: type_letters.len() as u64,
            minted_ids,
            idempotent_replays: read(&c.idempotent_replays),
            requests: RouteCounts {
                health: read(&c.health),
                mint: read(&c.mint),
                batch: read(&c.batch),
                validate: read(&c.validate),
                other: read(&c.other),
            },
            unauthorized: read(&c.unauthorized),
            bad_requests: read(&c.bad_requests),
            faults_injected: read(&c.faults_injected),
            connections: read(&c.connections),
            placeholders: read(&c.placeholders),
        }
    }

    /// Zeroes the counters and forgets minted ids and idempotency keys. The mint counter keeps
    /// counting, so ids minted after a reset still differ from those before it.
    pub fn reset(&self) {
        let mut book = self.lock_book();
        book.base = book.next_counter();
        book.type_letters = Vec::new();
        book.keys.clear();
        for counter in self.counters.all() {
            counter.store(0, Ordering::Relaxed);
        }
    }

    fn lock_book(&self) -> MutexGuard<'_, MintBook> {
        self.book.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn ledger() -> Ledger {
        Ledger::new(Generator::V1(IdGenerator::new(2025)))
    }

    fn mint(ledger: &Ledger, key: Option<&str>, letters: &[u8]) -> (bool, Vec<String>) {
        let mut ids = Vec::new();
        let commit = ledger.commit(key, letters, |minted| {
            let joined: Vec<String> = minted.map(|id| String::from_utf8(id.as_ref().to_vec()).unwrap()).collect();
            ids.clone_from(&joined);
            StoredResponse { status: 201, body: Bytes::from(joined.join(",")) }
        });
        match commit {
            Commit::Fresh(_) => (true, ids),
            Commit::Replayed(stored) => {
                let body = String::from_utf8(stored.body.to_vec()).unwrap();
                (false, body.split(',').map(str::to_owned).collect())
            }
        }
    }

    #[test]
    fn commits_record_ids_in_mint_order() {
        let l = ledger();
        let (_, first) = mint(&l, None, b"P");
        let (_, batch) = mint(&l, None, b"LE");
        let snap = l.snapshot();
        assert_eq!(snap.minted, 3);
        assert_eq!(snap.minted_ids, [first, batch].concat());
        assert!(snap.minted_ids.iter().all(|id| l.was_minted(id)));
    }

    #[test]
    fn a_known_key_replays_without_minting() {
        let l = ledger();
        let (fresh, ids) = mint(&l, Some("k1"), b"P");
        let (again, replayed) = mint(&l, Some("k1"), b"PP");
        assert!(fresh && !again);
        assert_eq!(ids, replayed);
        let snap = l.snapshot();
        assert_eq!((snap.minted, snap.idempotent_replays), (1, 1));
    }

    #[test]
    fn was_minted_checks_the_type_letter_and_the_range() {
        let l = ledger();
        let (_, ids) = mint(&l, None, b"P");
        let other_type = IdGenerator::new(2025).id_string(0, b'L');
        let not_yet = IdGenerator::new(2025).id_string(1, b'P');
        assert!(l.was_minted(&ids[0]));
        assert!(!l.was_minted(&other_type));
        assert!(!l.was_minted(&not_yet));
    }

    #[test]
    fn a_deployed_ledger_mints_deployed_ids_and_counts_placeholders_apart() {
        let l = Ledger::new(Generator::Deployed(DeployedIdGenerator::new(*b"2612")));
        let (_, ids) = mint(&l, None, b"PA");
        assert!(ids.iter().all(|id| crate::id::is_valid_deployed(id) && l.was_minted(id)), "{ids:?}");
        l.count_placeholder();
        let snap = l.snapshot();
        assert_eq!((snap.minted, snap.minted_ids, snap.placeholders), (2, ids, 1));
        l.reset();
        assert_eq!(l.snapshot().placeholders, 0);
    }

    #[test]
    fn reset_forgets_but_never_reuses_ids() {
        let l = ledger();
        l.count_request(RouteKind::Mint);
        let (_, before) = mint(&l, Some("k"), b"P");
        l.reset();
        assert_eq!(l.snapshot(), LedgerSnapshot::default());
        assert!(!l.was_minted(&before[0]));
        let (fresh, after) = mint(&l, Some("k"), b"P");
        assert!(fresh);
        assert_ne!(before, after);
        assert_eq!(l.snapshot().minted_ids, after);
    }
}
