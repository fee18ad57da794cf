//! Format helpers. `validateFormat` itself runs as a JS regex (crossing into Rust costs more
//! than the check); these are for parsing and for proving both grammars agree.

use napi_derive::napi;

use crate::format;

#[napi(object)]
pub struct ParsedChittyId {
    pub version: String,
    pub generation: String,
    pub location: String,
    pub sequence: String,
    pub entity_type: String,
    pub year_month: String,
    pub check: String,
    pub extension: String,
}

#[napi(catch_unwind)]
pub fn parse_chitty_id(id: String) -> Option<ParsedChittyId> {
    format::parse(&id).map(|p| ParsedChittyId {
        version: p.version,
        generation: p.generation,
        location: p.location,
        sequence: p.sequence,
        entity_type: p.entity_type,
        year_month: p.year_month,
        check: p.check,
        extension: p.extension,
    })
}

#[napi(catch_unwind)]
pub fn is_valid_format_native(id: String) -> bool {
    format::is_valid_format(&id)
}

/// `{ entity, letter }` of every entity code, from `format::ENTITY_TYPE_LETTERS`, so JS maps a
/// type letter back to its entity without a copy of the table.
#[napi(object)]
pub struct EntityTypeLetter {
    pub entity: String,
    pub letter: String,
}

#[napi]
pub fn entity_type_letters() -> Vec<EntityTypeLetter> {
    format::ENTITY_TYPE_LETTERS.iter().map(|&(entity, letter)| EntityTypeLetter { entity: entity.to_owned(), letter: letter.to_string() }).collect()
}
