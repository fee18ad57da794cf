//! The official ChittyID grammar: `VV-G-LLL-SSSS-T-YM-C-X`, i.e.
//! `^[A-Z]{2}-[A-Z]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{2}-[A-Z]-[0-9A-Z]$`.

use std::sync::LazyLock;

use regex::Regex;

/// Length in bytes of every well-formed ChittyID.
pub const ID_LEN: usize = 22;

/// The grammar, one named group per field. Without the names it is the pattern of
/// `validateFormat` (lib/format.js); __test__/format.test.mjs checks that both agree.
const ID_PATTERN: &str = concat!(
    r"^(?<version>[A-Z]{2})-(?<generation>[A-Z])-(?<location>[A-Z]{3})",
    r"-(?<sequence>[0-9]{4})-(?<entity_type>[A-Z])-(?<year_month>[0-9]{2})",
    r"-(?<check>[A-Z])-(?<extension>[0-9A-Z])$",
);

static ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(ID_PATTERN).expect("the id grammar compiles"));

/// True when `id` matches the official grammar exactly (no trimming, ASCII only).
pub fn is_valid_format(id: &str) -> bool {
    ID.is_match(id)
}

/// The fields of a well-formed ChittyID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedId {
    pub version: String,
    pub generation: String,
    pub location: String,
    pub sequence: String,
    pub entity_type: String,
    pub year_month: String,
    pub check: String,
    pub extension: String,
}

/// Splits a well-formed id into its fields; `None` when the format is invalid.
pub fn parse(id: &str) -> Option<ParsedId> {
    let fields = ID.captures(id)?;
    let field = |name: &str| fields[name].to_owned();
    Some(ParsedId {
        version: field("version"),
        generation: field("generation"),
        location: field("location"),
        sequence: field("sequence"),
        entity_type: field("entity_type"),
        year_month: field("year_month"),
        check: field("check"),
        extension: field("extension"),
    })
}

/// Entity codes the service accepts, with the T letter their ids carry.
pub const ENTITY_TYPE_LETTERS: [(&str, char); 9] = [
    ("PEO", 'P'),
    ("PLACE", 'L'),
    ("PROP", 'T'),
    ("EVNT", 'E'),
    ("AUTH", 'A'),
    ("INFO", 'I'),
    ("FACT", 'F'),
    ("CONTEXT", 'C'),
    ("ACTOR", 'R'),
];

pub fn type_letter_for_entity(entity: &str) -> Option<char> {
    ENTITY_TYPE_LETTERS.iter().find(|(e, _)| *e == entity).map(|&(_, l)| l)
}

pub fn entity_for_type_letter(letter: char) -> Option<&'static str> {
    ENTITY_TYPE_LETTERS.iter().find(|&&(_, l)| l == letter).map(|&(e, _)| e)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "CT-A-CHI-1234-I-24-A-0";

    #[test]
    fn accepts_the_official_examples() {
        assert!(is_valid_format(GOOD));
        assert!(is_valid_format("ID-Z-ZZZ-0000-P-99-Z-Z"));
        assert!(is_valid_format("AB-C-DEF-9876-E-01-Q-9"));
    }

    #[test]
    fn rejects_empty_and_legacy_ids() {
        assert!(!is_valid_format(""));
        assert!(!is_valid_format("CHITTY-PEO-123456-ABC"));
        assert!(!is_valid_format("chitty_peo_123"));
        assert!(!is_valid_format("01-A-CHI-1234-I-2409-5-0"));
    }

    #[test]
    fn rejects_lowercase_in_every_letter_field() {
        for pos in [0, 1, 3, 5, 6, 7, 14, 19, 21] {
            let mut s = GOOD.as_bytes().to_vec();
            if s[pos].is_ascii_uppercase() {
                s[pos] = s[pos].to_ascii_lowercase();
                assert!(!is_valid_format(std::str::from_utf8(&s).unwrap()), "pos {pos}");
            }
        }
    }

    #[test]
    fn rejects_non_ascii_and_whitespace() {
        assert!(!is_valid_format("CT-A-CHİ-1234-I-24-A-0"));
        assert!(!is_valid_format("CT-A-CHI-1234-I-24-A-０"));
        assert!(!is_valid_format(&format!("{GOOD}\n")));
        assert!(!is_valid_format(&format!("{GOOD} ")));
        assert!(!is_valid_format(&format!(" {GOOD}")));
        assert!(!is_valid_format(&GOOD.replace('-', " ")));
        assert!(!is_valid_format(&format!("{GOOD}\0")));
    }

    #[test]
    fn rejects_each_field_one_too_long_or_short() {
        let fields: Vec<&str> = GOOD.split('-').collect();
        for i in 0..fields.len() {
            let mut longer = fields.clone();
            let grown = format!("{}{}", fields[i], &fields[i][..1]);
            longer[i] = &grown;
            assert!(!is_valid_format(&longer.join("-")), "field {i} longer");
            let mut shorter = fields.clone();
            shorter[i] = &fields[i][..fields[i].len() - 1];
            assert!(!is_valid_format(&shorter.join("-")), "field {i} shorter");
        }
    }

    #[test]
    fn rejects_digits_where_letters_belong_and_vice_versa() {
        assert!(!is_valid_format("C1-A-CHI-1234-I-24-A-0"));
        assert!(!is_valid_format("CT-A-CHI-12A4-I-24-A-0"));
        assert!(!is_valid_format("CT-A-CHI-1234-I-2X-A-0"));
        assert!(!is_valid_format("CT-A-CHI-1234-I-24-5-0"));
        assert!(!is_valid_format("CT-A-CHI-1234-I-24-A-a"));
        assert!(!is_valid_format("CT-A-CHI-1234-I-24-A--"));
    }

    #[test]
    fn the_pattern_is_the_one_of_validate_format() {
        let js = include_str!("../lib/format.js");
        let without_names = regex::Regex::new(r"\(\?<[a-z_]+>|\)").unwrap().replace_all(ID_PATTERN, "");
        assert!(js.contains(&format!("/{without_names}/")), "lib/format.js has not got {without_names}");
        assert_eq!(ID.captures_len(), 9, "one group per field");
        assert!(ID_LEN == GOOD.len() && is_valid_format(GOOD));
    }

    #[test]
    fn parses_fields() {
        let p = parse(GOOD).unwrap();
        assert_eq!(p.version, "CT");
        assert_eq!(p.generation, "A");
        assert_eq!(p.location, "CHI");
        assert_eq!(p.sequence, "1234");
        assert_eq!(p.entity_type, "I");
        assert_eq!(p.year_month, "24");
        assert_eq!(p.check, "A");
        assert_eq!(p.extension, "0");
        assert_eq!(parse("CT-A-CHI-1234-I-24-A"), None);
    }

    #[test]
    fn maps_entities_to_type_letters_both_ways() {
        for (entity, letter) in ENTITY_TYPE_LETTERS {
            assert_eq!(type_letter_for_entity(entity), Some(letter));
            assert_eq!(entity_for_type_letter(letter), Some(entity));
        }
        assert_eq!(type_letter_for_entity("peo"), None);
        assert_eq!(entity_for_type_letter('Z'), None);
    }

    /// The grammar restated field by field, independently of the table above.
    fn reference(id: &str) -> bool {
        let fields: Vec<&str> = id.split('-').collect();
        let shape = [(2, 'L'), (1, 'L'), (3, 'L'), (4, 'D'), (1, 'L'), (2, 'D'), (1, 'L'), (1, 'A')];
        fields.len() == shape.len()
            && fields.iter().zip(shape).all(|(f, (len, class))| {
                f.chars().count() == len
                    && f.chars().all(|c| match class {
                        'L' => c.is_ascii_uppercase(),
                        'D' => c.is_ascii_digit(),
                        _ => c.is_ascii_uppercase() || c.is_ascii_digit(),
                    })
            })
    }

    mod fuzz {
        use super::*;
        use crate::fuzzing::mutated_seed;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            #[test]
            fn agrees_with_the_reference_on_mutated_ids(bytes in mutated_seed("ids")) {
                let text = String::from_utf8_lossy(&bytes);
                prop_assert_eq!(is_valid_format(&text), reference(&text), "{:?}", text);
            }

            #[test]
            fn agrees_on_strings_shaped_like_ids(s in "[A-Z0-9a-z-]{20,24}") {
                prop_assert_eq!(is_valid_format(&s), reference(&s));
            }

            #[test]
            fn generated_ids_are_valid_and_parse_back(s in "[A-Z]{2}-[A-Z]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{2}-[A-Z]-[0-9A-Z]") {
                prop_assert!(is_valid_format(&s));
                let p = parse(&s).unwrap();
                let joined = [p.version, p.generation, p.location, p.sequence, p.entity_type, p.year_month, p.check, p.extension].join("-");
                prop_assert_eq!(joined, s);
            }
        }
    }
}
