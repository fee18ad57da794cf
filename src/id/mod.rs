//! The ChittyID grammars (docs/ARCHITECTURE.md "Id grammars"):
//! - v1: `VV-G-LLL-SSSS-T-YM-C-X`, i.e.
//!   `^[A-Z]{2}-[A-Z]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{2}-[A-Z]-[0-9A-Z]$` (22 bytes);
//! - deployed (the service at id.chitty.cc): `VV-G-LLL-SSSS-T-YYMM-C-XX` (25 bytes), VV, SSSS
//!   and YYMM digits, G 1-9, LLL letters, T one of `PLTEA`, C a trust level 0-5, XX the service's
//!   mod-97 check pair ([`deployed_check_pair`]).
//!
//! `lib/id.js` states the same grammars as JS regexes; __test__/id.test.mjs proves both
//! agree, and both sides check the vectors of `__test__/fixtures/id-vectors.json`.

use std::sync::LazyLock;

use regex::Regex;

/// Length in bytes of every well-formed v1 ChittyID.
pub const ID_LEN: usize = 22;
/// Length in bytes of every well-formed deployed ChittyID.
pub const DEPLOYED_ID_LEN: usize = 25;

/// v1's grammar, one named group per field. Without the names it is the pattern of
/// `validateFormat` (lib/id.js); __test__/id.test.mjs checks that both agree.
const ID_PATTERN: &str = concat!(
    r"^(?<version>[A-Z]{2})-(?<generation>[A-Z])-(?<location>[A-Z]{3})",
    r"-(?<sequence>[0-9]{4})-(?<entity_type>[A-Z])-(?<year_month>[0-9]{2})",
    r"-(?<check>[A-Z])-(?<extension>[0-9A-Z])$",
);

/// The deployed grammar, with the service's own field names; the check pair is verified apart.
const DEPLOYED_PATTERN: &str = concat!(
    r"^(?<version>[0-9]{2})-(?<region>[1-9])-(?<jurisdiction>[A-Z]{3})",
    r"-(?<sequential>[0-9]{4})-(?<entity_type>[PLTEA])-(?<year_month>[0-9]{4})",
    r"-(?<trust_level>[0-5])-(?<checksum>[0-9]{2})$",
);

/// The service's error placeholders: G = 0, LLL = `ERR`, SSSS 0000-0099, the rest as in the
/// deployed grammar. The check pair is not required: whatever its pair, such an id was never
/// minted.
const PLACEHOLDER_PATTERN: &str = r"^[0-9]{2}-0-ERR-00[0-9]{2}-[PLTEA]-[0-9]{4}-[0-5]-[0-9]{2}$";

static ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(ID_PATTERN).expect("the id grammar compiles"));
static DEPLOYED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(DEPLOYED_PATTERN).expect("the deployed grammar compiles"));
static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(PLACEHOLDER_PATTERN).expect("the placeholder shape compiles"));

/// The grammar a well-formed id is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grammar {
    V1,
    Deployed,
}

impl Grammar {
    pub fn as_str(self) -> &'static str {
        match self {
            Grammar::V1 => "v1",
            Grammar::Deployed => "deployed",
        }
    }
}

/// Which grammars a check accepts: the `idGrammar` option of the client, `grammar` of the JS
/// format functions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IdGrammar {
    /// Either grammar.
    #[default]
    Any,
    V1,
    Deployed,
}

impl IdGrammar {
    /// The option's values; the first is the default.
    pub const NAMES: [&'static str; 3] = ["any", "v1", "deployed"];

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "any" => Some(IdGrammar::Any),
            "v1" => Some(IdGrammar::V1),
            "deployed" => Some(IdGrammar::Deployed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IdGrammar::Any => "any",
            IdGrammar::V1 => "v1",
            IdGrammar::Deployed => "deployed",
        }
    }

    pub fn admits(self, grammar: Grammar) -> bool {
        match self {
            IdGrammar::Any => true,
            IdGrammar::V1 => grammar == Grammar::V1,
            IdGrammar::Deployed => grammar == Grammar::Deployed,
        }
    }
}

/// The check pair the service gives the fields of a deployed id (dashes skipped): the fields
/// read as one decimal number n, a digit as itself and a letter as its value A=10 ... Z=35 (two
/// digits), and the pair is (98 - n mod 97) mod 97, from 0 to 96. Unlike ISO 7064's MOD 97-10, n
/// is not multiplied by 100 first. `None` for any other character.
pub fn deployed_check_pair(fields: &str) -> Option<u8> {
    let mut r: u32 = 0;
    for c in fields.bytes() {
        r = match c {
            b'-' => continue,
            b'0'..=b'9' => (r * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => (r * 100 + u32::from(c - b'A') + 10) % 97,
            _ => return None,
        };
    }
    Some(((98 - r) % 97) as u8)
}

/// `VV-G-LLL-SSSS-T-YYMM-C` followed by its check pair. The fields are not checked.
pub fn with_check_pair(fields_without_pair: &str) -> Option<String> {
    deployed_check_pair(fields_without_pair).map(|pair| format!("{fields_without_pair}-{pair:02}"))
}

/// The check pair of an id already matched by `DEPLOYED` or `PLACEHOLDER` (ASCII, 25 bytes) fits.
fn pair_matches(id: &str) -> bool {
    let (fields, pair) = id.split_at(DEPLOYED_ID_LEN - 3);
    deployed_check_pair(fields).is_some_and(|p| pair[1..].parse::<u8>() == Ok(p))
}

/// True when `id` matches v1's grammar exactly (no trimming, ASCII only).
pub fn is_valid_v1(id: &str) -> bool {
    id.len() == ID_LEN && ID.is_match(id)
}

/// True when `id` matches the deployed grammar and its check pair is right.
pub fn is_valid_deployed(id: &str) -> bool {
    id.len() == DEPLOYED_ID_LEN && DEPLOYED.is_match(id) && pair_matches(id)
}

/// The grammar `id` is well-formed in, if any.
pub fn grammar_of(id: &str) -> Option<Grammar> {
    if is_valid_v1(id) {
        Some(Grammar::V1)
    } else if is_valid_deployed(id) {
        Some(Grammar::Deployed)
    } else {
        None
    }
}

/// True when `id` is well-formed in a grammar `grammar` admits.
pub fn is_valid_in(id: &str, grammar: IdGrammar) -> bool {
    grammar_of(id).is_some_and(|g| grammar.admits(g))
}

/// True when `id` is well-formed in either grammar (as `validateFormat(id)`).
pub fn is_valid_format(id: &str) -> bool {
    grammar_of(id).is_some()
}

/// True when `id` is one of the deployed service's error placeholders: never a minted id.
pub fn is_placeholder(id: &str) -> bool {
    id.len() == DEPLOYED_ID_LEN && PLACEHOLDER.is_match(id)
}

/// The error number in a placeholder's SSSS field (1 = MINT_UNAVAILABLE, ...).
pub fn placeholder_error_number(id: &str) -> Option<u8> {
    is_placeholder(id).then(|| id[11..13].parse().ok()).flatten()
}

/// The deployed service's placeholder error codes with the number each puts in SSSS. lib/id.js
/// holds the same table (`PLACEHOLDER_ERROR_CODES`).
pub const PLACEHOLDER_ERRORS: [(&str, u8); 9] = [
    ("MINT_UNAVAILABLE", 1),
    ("MINT_TIMEOUT", 2),
    ("MINT_REJECTED", 3),
    ("DRAND_UNAVAILABLE", 4),
    ("CERT_UNAVAILABLE", 5),
    ("TRUST_UNAVAILABLE", 6),
    ("RATE_LIMITED", 7),
    ("INVALID_REQUEST", 8),
    ("INTERNAL_ERROR", 99),
];

/// The number of a placeholder error code.
pub fn placeholder_error_number_of(code: &str) -> Option<u8> {
    PLACEHOLDER_ERRORS.iter().find(|(c, _)| *c == code).map(|&(_, n)| n)
}

/// The error code a placeholder's number stands for.
pub fn placeholder_error_code(number: u8) -> Option<&'static str> {
    PLACEHOLDER_ERRORS.iter().find(|&&(_, n)| n == number).map(|&(c, _)| c)
}

/// The fields of a well-formed v1 ChittyID.
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

/// The fields of a well-formed deployed ChittyID, named as the service names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployedId {
    pub version: String,
    pub region: String,
    pub jurisdiction: String,
    pub sequential: String,
    pub entity_type: String,
    pub year_month: String,
    pub trust_level: String,
    pub checksum: String,
}

/// A well-formed id of either grammar, split into its fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    V1(ParsedId),
    Deployed(DeployedId),
}

impl Parsed {
    pub fn grammar(&self) -> Grammar {
        match self {
            Parsed::V1(_) => Grammar::V1,
            Parsed::Deployed(_) => Grammar::Deployed,
        }
    }

    /// The fields in id order.
    pub fn fields(&self) -> [&str; 8] {
        match self {
            Parsed::V1(p) => [
                &p.version,
                &p.generation,
                &p.location,
                &p.sequence,
                &p.entity_type,
                &p.year_month,
                &p.check,
                &p.extension,
            ],
            Parsed::Deployed(p) => [
                &p.version,
                &p.region,
                &p.jurisdiction,
                &p.sequential,
                &p.entity_type,
                &p.year_month,
                &p.trust_level,
                &p.checksum,
            ],
        }
    }

    pub fn entity_type(&self) -> &str {
        match self {
            Parsed::V1(p) => &p.entity_type,
            Parsed::Deployed(p) => &p.entity_type,
        }
    }
}

/// Splits a well-formed v1 id into its fields; `None` when it is not one.
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

/// Splits a well-formed deployed id (check pair right) into its fields.
pub fn parse_deployed(id: &str) -> Option<DeployedId> {
    // The regex admits ASCII only, so the check pair's byte positions are characters.
    let fields = DEPLOYED.captures(id)?;
    if !pair_matches(id) {
        return None;
    }
    let field = |name: &str| fields[name].to_owned();
    Some(DeployedId {
        version: field("version"),
        region: field("region"),
        jurisdiction: field("jurisdiction"),
        sequential: field("sequential"),
        entity_type: field("entity_type"),
        year_month: field("year_month"),
        trust_level: field("trust_level"),
        checksum: field("checksum"),
    })
}

/// Splits a well-formed id of a grammar `grammar` admits into its fields.
pub fn parse_in(id: &str, grammar: IdGrammar) -> Option<Parsed> {
    let parsed = parse(id).map(Parsed::V1).or_else(|| parse_deployed(id).map(Parsed::Deployed))?;
    grammar.admits(parsed.grammar()).then_some(parsed)
}

/// Entity codes the service accepts, with the T letter their ids carry. lib/id.js holds the
/// same table (`ENTITY_TYPE_LETTERS`); __test__/id.test.mjs holds the two equal. The deployed
/// grammar's letters (P L T E A) are the first five entities' letters.
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

/// Position of the type letter T, the same in both grammars.
pub const TYPE_LETTER_POS: usize = 14;

/// The entity named by the type letter of a well-formed id of either grammar.
pub fn entity_for_id(id: &str) -> Option<&'static str> {
    is_valid_format(id).then(|| entity_for_type_letter(char::from(id.as_bytes()[TYPE_LETTER_POS]))).flatten()
}

#[cfg(test)]
mod tests;
