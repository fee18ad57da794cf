//! Property-based fuzzing support (tests only): the seed corpus in `proptest-seeds/corpus/` and a
//! strategy that mutates seeds byte by byte, so every run starts from known-awkward inputs
//! and explores around them. Case counts are fixed, so a run is bounded in time.

use proptest::prelude::*;

/// Every file of `proptest-seeds/corpus/<dir>`, sorted by name.
pub fn corpus(dir: &str) -> Vec<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("proptest-seeds/corpus").join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("cannot read the corpus {}: {e}", path.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .collect();
    files.sort();
    files.into_iter().map(|f| std::fs::read(f).expect("corpus file")).collect()
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len();
        match *m {
            Mutation::Flip(i, bit) if len > 0 => bytes[i % len] ^= 1 << (bit % 8),
            Mutation::Insert(i, b) => bytes.insert(i % (len + 1), b),
            Mutation::Delete(i) if len > 0 => {
                bytes.remove(i % len);
            }
            Mutation::Truncate(i) if len > 0 => bytes.truncate(i % len),
            _ => {}
        }
    }
    bytes
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

/// A corpus seed with 0..8 random mutations, or plain random bytes.
pub fn mutated_seed(dir: &str) -> impl Strategy<Value = Vec<u8>> {
    let seeds = corpus(dir);
    assert!(!seeds.is_empty(), "empty corpus {dir}");
    prop_oneof![
        4 => (prop::sample::select(seeds), prop::collection::vec(mutation(), 0..8))
            .prop_map(|(seed, ms)| apply(seed, &ms)),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_stay_in_bounds() {
        let out = apply(
            b"abc".to_vec(),
            &[Mutation::Flip(7, 9), Mutation::Insert(99, b'x'), Mutation::Delete(5), Mutation::Truncate(1)],
        );
        assert_eq!(out.len(), 1);
        assert!(apply(Vec::new(), &[Mutation::Delete(3), Mutation::Flip(1, 1), Mutation::Truncate(0)]).is_empty());
    }

    #[test]
    fn the_corpus_is_there() {
        assert!(corpus("responses").len() >= 10);
        assert!(corpus("ids").len() >= 5);
    }
}
