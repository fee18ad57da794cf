//! ChittyID shape `VV-G-LLL-SSSS-T-YM-C-X`: generation from a counter, the check letter,
//! and the entity ↔ type-letter table.
//!
//! A minted id encodes its mint counter `n` in G, LLL, SSSS and X, so ids are unique for
//! 10⁴ · 26³ · 26 · 36 ≈ 1.6·10¹¹ mints per type letter, and the counter can be read back
//! from an id (which is how the emulator answers "did I mint this?" without storing ids).

// The v1 profile mints and checks v1 ids only (the deployed profile: `deployed_ids`).
pub use crate::id::{entity_for_type_letter, is_valid_v1 as is_valid_format, ID_LEN};

const TYPE_POS: usize = 14;
const CHECK_POS: usize = 19;
const VERSION: &[u8; 2] = b"CT";

/// Multipliers for the check sum; all are units mod 26 so that changing any single letter
/// or digit always changes the check letter.
const CHECK_WEIGHTS: [u32; 12] = [1, 3, 5, 7, 9, 11, 15, 17, 19, 21, 23, 25];

const SERIAL_SPAN: u64 = 10_000;
const LLL_SPAN: u64 = 26 * 26 * 26;
const G_SPAN: u64 = 26;
const X_SPAN: u64 = 36;

/// Mint counters that map to distinct ids; beyond this the ids repeat.
pub const DISTINCT_SERIALS: u64 = SERIAL_SPAN * LLL_SPAN * G_SPAN * X_SPAN;

pub fn type_letter_for_entity(entity: &str) -> Option<u8> {
    crate::id::type_letter_for_entity(entity).map(|c| c as u8)
}

/// The entity named by the T letter of an id-shaped string.
pub fn entity_of(id: &str) -> Option<&'static str> {
    is_valid_format(id).then(|| entity_for_type_letter(id.as_bytes()[TYPE_POS] as char)).flatten()
}

/// True when `id` has the official grammar and its C letter is the check letter of the rest.
pub fn is_valid_checked(id: &str) -> bool {
    is_valid_format(id) && id.as_bytes()[CHECK_POS] == check_letter_of(id.as_bytes())
}

/// The check letter for an id given without its check letter, i.e. `VV-G-LLL-SSSS-T-YM-X`
/// (the full id with its `-C` removed). `None` when that is not the shape.
pub fn check_letter(id_without_check: &str) -> Option<char> {
    let (head, extension) = id_without_check.rsplit_once('-')?;
    // Any letter in place of C gives the grammar something to check the rest against.
    let full = format!("{head}-A-{extension}");
    is_valid_format(&full).then(|| check_letter_of(full.as_bytes()) as char)
}

/// Weighted sum of every non-dash character except C, mod 26. `id` must be id-shaped.
fn check_letter_of(id: &[u8]) -> u8 {
    let sum: u32 = id
        .iter()
        .enumerate()
        .filter(|&(pos, &c)| c != b'-' && pos != CHECK_POS)
        .map(|(_, &c)| alnum_value(c))
        .zip(CHECK_WEIGHTS.iter().cycle())
        .map(|(value, weight)| value * weight)
        .sum();
    b'A' + (sum % 26) as u8
}

fn alnum_value(c: u8) -> u32 {
    if c.is_ascii_digit() {
        u32::from(c - b'0')
    } else {
        u32::from(c - b'A') + 10
    }
}

/// Mints ids from a counter; YM is fixed when the generator is made.
#[derive(Clone, Copy, Debug)]
pub struct IdGenerator {
    year: [u8; 2],
}

impl IdGenerator {
    /// `year` is the calendar year whose last two digits become YM.
    pub fn new(year: u32) -> Self {
        let yy = (year % 100) as u8;
        Self { year: [b'0' + yy / 10, b'0' + yy % 10] }
    }

    /// The id for mint counter `n` (taken modulo [`DISTINCT_SERIALS`]) with type letter `t`.
    pub fn id_for(&self, n: u64, type_letter: u8) -> [u8; ID_LEN] {
        let n = n % DISTINCT_SERIALS;
        let serial = n % SERIAL_SPAN;
        let lll = (n / SERIAL_SPAN) % LLL_SPAN;
        let g = (n / (SERIAL_SPAN * LLL_SPAN)) % G_SPAN;
        let x = n / (SERIAL_SPAN * LLL_SPAN * G_SPAN);

        let mut id = *b"CT-A-AAA-0000-P-00-A-0";
        id[3] = letter(g);
        id[5] = letter(lll / 676);
        id[6] = letter(lll / 26 % 26);
        id[7] = letter(lll % 26);
        id[9] = digit(serial / 1000);
        id[10] = digit(serial / 100 % 10);
        id[11] = digit(serial / 10 % 10);
        id[12] = digit(serial % 10);
        id[TYPE_POS] = type_letter;
        id[16..18].copy_from_slice(&self.year);
        id[21] = alnum(x);
        id[CHECK_POS] = check_letter_of(&id);
        id
    }

    pub fn id_string(&self, n: u64, type_letter: u8) -> String {
        let id = self.id_for(n, type_letter);
        std::str::from_utf8(&id).expect("ids are ASCII").to_owned()
    }

    /// The counter and type letter this generator would have minted `id` from, if any.
    pub fn decode(&self, id: &str) -> Option<(u64, u8)> {
        let b = id.as_bytes();
        if !is_valid_checked(id) || &b[..2] != VERSION || b[16..18] != self.year {
            return None;
        }
        let g = u64::from(b[3] - b'A');
        let lll = b[5..8].iter().fold(0, |acc, &c| acc * 26 + u64::from(c - b'A'));
        let serial = b[9..13].iter().fold(0, |acc, &c| acc * 10 + u64::from(c - b'0'));
        let x = u64::from(alnum_value(b[21]));
        let n = ((x * G_SPAN + g) * LLL_SPAN + lll) * SERIAL_SPAN + serial;
        Some((n, b[TYPE_POS]))
    }
}

fn letter(v: u64) -> u8 {
    b'A' + v as u8
}

fn digit(v: u64) -> u8 {
    b'0' + v as u8
}

fn alnum(v: u64) -> u8 {
    if v < 10 {
        digit(v)
    } else {
        letter(v - 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn gen() -> IdGenerator {
        IdGenerator::new(2025)
    }

    #[test]
    fn every_entity_round_trips_through_its_type_letter() {
        for (entity, letter) in crate::id::ENTITY_TYPE_LETTERS {
            assert_eq!(type_letter_for_entity(entity), Some(letter as u8));
            assert_eq!(entity_for_type_letter(letter), Some(entity));
        }
        assert_eq!(type_letter_for_entity("peo"), None);
    }

    #[test]
    fn generated_ids_have_the_grammar_and_a_valid_check_letter() {
        let g = gen();
        for n in [0, 1, 9_999, 10_000, 175_759_999, DISTINCT_SERIALS - 1, 123_456_789_012] {
            let id = g.id_string(n, b'P');
            assert!(is_valid_format(&id), "{id}");
            assert!(is_valid_checked(&id), "{id}");
            assert_eq!(&id[16..18], "25");
            assert_eq!(&id[..2], "CT");
        }
        assert!(g.id_string(0, b'E').starts_with("CT-A-AAA-0000-E-25-"));
    }

    #[test]
    fn decode_inverts_id_for() {
        let g = gen();
        for n in [0, 7, 10_000, 987_654_321, DISTINCT_SERIALS - 1] {
            let id = g.id_string(n, b'R');
            assert_eq!(g.decode(&id), Some((n, b'R')));
        }
        assert_eq!(IdGenerator::new(2026).decode(&g.id_string(5, b'R')), None);
    }

    #[test]
    fn consecutive_counters_give_distinct_ids_across_field_boundaries() {
        let g = gen();
        let starts = [0, SERIAL_SPAN * LLL_SPAN - 5_000, SERIAL_SPAN * LLL_SPAN * G_SPAN - 5_000];
        let mut seen = HashSet::new();
        for start in starts {
            for n in start..start + 10_000 {
                assert!(seen.insert(g.id_for(n, b'P')), "duplicate at {n}");
            }
        }
    }

    #[test]
    fn check_letter_detects_single_character_changes() {
        let id = gen().id_string(4_242, b'F');
        let mut bytes = id.clone().into_bytes();
        let positions: Vec<usize> = (0..ID_LEN).filter(|&p| id.as_bytes()[p] != b'-' && p != CHECK_POS).collect();
        for pos in positions {
            let original = bytes[pos];
            let replacement = match original {
                b'9' => b'0',
                b'Z' => b'A',
                c => c + 1,
            };
            bytes[pos] = replacement;
            let changed = String::from_utf8(bytes.clone()).unwrap();
            assert!(is_valid_format(&changed));
            assert!(!is_valid_checked(&changed), "{changed}");
            bytes[pos] = original;
        }
    }

    #[test]
    fn check_letter_takes_the_id_without_its_check_part() {
        let id = gen().id_string(31, b'C');
        let without = format!("{}{}", &id[..CHECK_POS - 1], &id[CHECK_POS + 1..]);
        assert_eq!(without.len(), 20);
        assert_eq!(check_letter(&without), Some(id.as_bytes()[CHECK_POS] as char));
        assert_eq!(check_letter("CT-A-AAA-0000-P-25"), None);
        assert_eq!(check_letter("ct-A-AAA-0000-P-25-0"), None);
    }

    #[test]
    fn format_rejects_legacy_and_malformed_ids() {
        for bad in [
            "",
            "CHITTY-PEO-123",
            "chitty_peo_1",
            "CT-A-AAA-0000-P-25-K",
            "CT-A-AAA-000A-P-25-K-0",
            "CT-A-AAA-0000-P-25-K-0 ",
            "Ct-A-AAA-0000-P-25-K-0",
            "CT_A-AAA-0000-P-25-K-0",
        ] {
            assert!(!is_valid_format(bad), "{bad}");
            assert!(!is_valid_checked(bad), "{bad}");
        }
    }
}
