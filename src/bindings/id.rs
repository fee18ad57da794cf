//! The id grammars' native checks (`crate::id`), for the tests that hold them equal to their
//! JS half: `validateFormat` and `parse` themselves run in JS (lib/id.js: crossing into Rust
//! costs more than the check); these prove both sides' grammars agree.

use napi_derive::napi;

use crate::id::{self, IdGrammar};

/// A well-formed id of either grammar: which one, and its fields in id order.
#[napi(object)]
pub struct ParsedChittyId {
    /// `"v1"` or `"deployed"`.
    pub grammar: String,
    pub fields: Vec<String>,
}

#[napi(catch_unwind)]
pub fn parse_chitty_id(id: String) -> Option<ParsedChittyId> {
    id::parse_in(&id, IdGrammar::Any).map(|p| ParsedChittyId {
        grammar: p.grammar().as_str().to_owned(),
        fields: p.fields().iter().map(|f| (*f).to_owned()).collect(),
    })
}

/// `grammar`: `"any"` (absent), `"v1"` or `"deployed"`; an unknown name is `false`.
#[napi(catch_unwind)]
pub fn is_valid_format_native(id: String, grammar: Option<String>) -> bool {
    match grammar.as_deref().map(IdGrammar::parse) {
        None => id::is_valid_format(&id),
        Some(Some(g)) => id::is_valid_in(&id, g),
        Some(None) => false,
    }
}

#[napi(catch_unwind)]
pub fn is_placeholder_native(id: String) -> bool {
    id::is_placeholder(&id)
}

/// `{ entity, letter }` of every entity code, from `id::ENTITY_TYPE_LETTERS`, so a test can
/// hold lib/id.js's copy of the table equal to it.
#[napi(object)]
pub struct EntityTypeLetter {
    pub entity: String,
    pub letter: String,
}

#[napi]
pub fn entity_type_letters() -> Vec<EntityTypeLetter> {
    id::ENTITY_TYPE_LETTERS
        .iter()
        .map(|&(entity, letter)| EntityTypeLetter { entity: entity.to_owned(), letter: letter.to_string() })
        .collect()
}
