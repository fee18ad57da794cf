//! The deployed profile's ids, `VV-G-LLL-SSSS-T-YYMM-C-XX` (docs/ARCHITECTURE.md "Id grammars"),
//! from the mint counter: like the v1 profile's (`ids.rs`), an id is a function of its counter
//! and type letter, so the ledger stores neither and can tell whether it minted an id.
//!
//! The counter `n` goes into SSSS, LLL and G (1-9), so ids are unique for
//! 10⁴ · 26³ · 9 ≈ 1.6·10⁹ mints per type letter. VV is `03` and C (trust) `1`; YYMM is fixed
//! when the generator is made. XX is the service's check pair (`format::deployed_check_pair`).

use crate::id::{deployed_check_pair, is_valid_deployed, DEPLOYED_ID_LEN};

const SERIAL_SPAN: u64 = 10_000;
const LLL_SPAN: u64 = 26 * 26 * 26;
const G_SPAN: u64 = 9;
/// Where the check pair starts (after `VV-G-LLL-SSSS-T-YYMM-C-`).
const PAIR_POS: usize = DEPLOYED_ID_LEN - 2;
pub const TYPE_POS: usize = crate::id::TYPE_LETTER_POS;
const TEMPLATE: &[u8; DEPLOYED_ID_LEN] = b"03-1-AAA-0000-T-0000-1-00";

/// Mint counters that map to distinct ids; beyond this the ids repeat.
pub const DISTINCT_SERIALS: u64 = SERIAL_SPAN * LLL_SPAN * G_SPAN;

/// The deployed grammar's type letter for a v1 entity code or a service word (`person`, `P`,
/// ...), as the service reads `entityType`.
pub fn type_letter_for_word(word: &str) -> Option<u8> {
    match word {
        "person" => Some(b'P'),
        "place" => Some(b'L'),
        "thing" => Some(b'T'),
        "event" => Some(b'E'),
        "authority" => Some(b'A'),
        _ => None,
    }
}

/// The service word of a type letter.
pub fn word_for_type_letter(letter: u8) -> Option<&'static str> {
    ["person", "place", "thing", "event", "authority"].into_iter().find(|w| type_letter_for_word(w) == Some(letter))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeployedIdGenerator {
    year_month: [u8; 4],
}

impl DeployedIdGenerator {
    /// `year_month` is YYMM, four ASCII digits.
    pub fn new(year_month: [u8; 4]) -> Self {
        Self { year_month }
    }

    /// The id for mint counter `n` (taken modulo [`DISTINCT_SERIALS`]) with type letter `t`.
    pub fn id_for(&self, n: u64, type_letter: u8) -> [u8; DEPLOYED_ID_LEN] {
        let n = n % DISTINCT_SERIALS;
        let serial = n % SERIAL_SPAN;
        let lll = (n / SERIAL_SPAN) % LLL_SPAN;
        let g = n / (SERIAL_SPAN * LLL_SPAN);
        let mut id = *TEMPLATE;
        id[3] = b'1' + g as u8;
        id[5] = b'A' + (lll / 676) as u8;
        id[6] = b'A' + (lll / 26 % 26) as u8;
        id[7] = b'A' + (lll % 26) as u8;
        for (i, pos) in (9..13).enumerate() {
            id[pos] = b'0' + (serial / 10u64.pow(3 - i as u32) % 10) as u8;
        }
        id[TYPE_POS] = type_letter;
        id[16..20].copy_from_slice(&self.year_month);
        let fields = std::str::from_utf8(&id[..PAIR_POS - 1]).expect("ids are ASCII");
        let pair = deployed_check_pair(fields).expect("the fields are digits and letters");
        id[PAIR_POS] = b'0' + pair / 10;
        id[PAIR_POS + 1] = b'0' + pair % 10;
        id
    }

    pub fn id_string(&self, n: u64, type_letter: u8) -> String {
        String::from_utf8(self.id_for(n, type_letter).to_vec()).expect("ids are ASCII")
    }

    /// The counter and type letter this generator would have minted `id` from, if any.
    pub fn decode(&self, id: &str) -> Option<(u64, u8)> {
        let b = id.as_bytes();
        if !is_valid_deployed(id) || b[..2] != TEMPLATE[..2] || b[21] != TEMPLATE[21] || b[16..20] != self.year_month {
            return None;
        }
        let g = u64::from(b[3] - b'1');
        let lll = b[5..8].iter().fold(0, |acc, &c| acc * 26 + u64::from(c - b'A'));
        let serial = b[9..13].iter().fold(0, |acc, &c| acc * 10 + u64::from(c - b'0'));
        Some(((g * LLL_SPAN + lll) * SERIAL_SPAN + serial, b[TYPE_POS]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn gen() -> DeployedIdGenerator {
        DeployedIdGenerator::new(*b"2612")
    }

    #[test]
    fn ids_are_well_formed_unique_and_decode_back() {
        let g = gen();
        let mut seen = HashSet::new();
        let counters = (0..2_000).chain([SERIAL_SPAN - 1, SERIAL_SPAN, SERIAL_SPAN * LLL_SPAN, DISTINCT_SERIALS - 1]);
        for n in counters {
            for t in *b"PLTEA" {
                let id = g.id_string(n, t);
                assert!(is_valid_deployed(&id) && !crate::id::is_placeholder(&id), "{id}");
                assert_eq!(g.decode(&id), Some((n, t)), "{id}");
                assert!(seen.insert(id));
            }
        }
        assert_eq!(g.id_string(DISTINCT_SERIALS, b'P'), g.id_string(0, b'P'), "the counter wraps");
        assert_eq!(&g.id_string(0, b'E')[..23], "03-1-AAA-0000-E-2612-1-");
    }

    #[test]
    fn decode_refuses_ids_it_would_not_mint() {
        let g = gen();
        let other_month = DeployedIdGenerator::new(*b"2701").id_string(5, b'P');
        assert_eq!(g.decode(&other_month), None);
        assert_eq!(g.decode("CT-A-CHI-1234-I-24-A-0"), None);
        let mut wrong_pair = g.id_string(5, b'P').into_bytes();
        wrong_pair[24] = if wrong_pair[24] == b'9' { b'0' } else { wrong_pair[24] + 1 };
        assert_eq!(g.decode(std::str::from_utf8(&wrong_pair).unwrap()), None);
    }

    #[test]
    fn words_and_letters() {
        for (word, letter) in [("person", b'P'), ("place", b'L'), ("thing", b'T'), ("event", b'E'), ("authority", b'A')]
        {
            assert_eq!(type_letter_for_word(word), Some(letter));
            assert_eq!(word_for_type_letter(letter), Some(word));
        }
        assert_eq!(type_letter_for_word("PEO"), None);
    }
}
