//! The id grammars and the check pair: accepted and refused ids, field by field.

use super::*;

const GOOD: &str = "CT-A-CHI-1234-I-24-A-0";

#[test]
fn accepts_the_official_examples() {
    assert!(is_valid_format(GOOD) && is_valid_v1(GOOD));
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
    let deployed = with_check_pair("03-1-USA-1234-P-2612-2").unwrap();
    for good in [GOOD, deployed.as_str()] {
        assert!(is_valid_format(good));
        assert!(!is_valid_format(&good.replacen('C', "İ", 1).replacen('U', "İ", 1)));
        assert!(!is_valid_format(&format!("{}０", &good[..good.len() - 1])));
        assert!(!is_valid_format(&format!("{good}\n")));
        assert!(!is_valid_format(&format!("{good} ")));
        assert!(!is_valid_format(&format!(" {good}")));
        assert!(!is_valid_format(&good.replace('-', " ")));
        assert!(!is_valid_format(&format!("{good}\0")));
        assert!(parse_in(&format!("{good}\n"), IdGrammar::Any).is_none());
    }
}

#[test]
fn rejects_each_field_one_too_long_or_short() {
    let deployed = with_check_pair("03-1-USA-1234-P-2612-2").unwrap();
    for good in [GOOD, deployed.as_str()] {
        let fields: Vec<&str> = good.split('-').collect();
        for i in 0..fields.len() {
            let mut longer = fields.clone();
            let grown = format!("{}{}", fields[i], &fields[i][..1]);
            longer[i] = &grown;
            assert!(!is_valid_format(&longer.join("-")), "{good} field {i} longer");
            let mut shorter = fields.clone();
            shorter[i] = &fields[i][..fields[i].len() - 1];
            assert!(!is_valid_format(&shorter.join("-")), "{good} field {i} shorter");
        }
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

/// `pattern` with its group names and parentheses removed, as lib/id.js writes it.
fn without_names(pattern: &str) -> String {
    regex::Regex::new(r"\(\?<[a-z_]+>|\)").unwrap().replace_all(pattern, "").into_owned()
}

#[test]
fn the_patterns_are_the_ones_of_validate_format() {
    let js = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/lib/id.js"));
    for pattern in [ID_PATTERN, DEPLOYED_PATTERN, PLACEHOLDER_PATTERN] {
        let plain = without_names(pattern);
        assert!(js.contains(&format!("/{plain}/")), "lib/id.js has not got {plain}");
    }
    assert_eq!(ID.captures_len(), 9, "one group per field");
    assert_eq!(DEPLOYED.captures_len(), 9, "one group per field");
    assert!(ID_LEN == GOOD.len() && is_valid_format(GOOD));
}

/// JS source without whitespace or trailing commas, so a table reads the same however prettier wraps it.
fn compact(js: &str) -> String {
    js.split_whitespace().collect::<String>().replace(",}", "}")
}

#[test]
fn the_entity_table_is_the_one_of_lib_format_js() {
    // lib/id.js writes it as `{ PEO: 'P', PLACE: 'L', ... }` (compared without whitespace); __test__/id.test.mjs also
    // compares the loaded JS object with `entityTypeLetters()`.
    let js = compact(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/lib/id.js")));
    let entries: Vec<String> = ENTITY_TYPE_LETTERS.iter().map(|(e, l)| format!("{e}:'{l}'")).collect();
    assert!(js.contains(&format!("{{{}}}", entries.join(","))), "lib/id.js has not got {entries:?}");
}

#[test]
fn the_placeholder_codes_are_the_ones_of_lib_format_js() {
    let js = compact(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/lib/id.js")));
    let entries: Vec<String> = PLACEHOLDER_ERRORS.iter().map(|(c, n)| format!("{c}:{n}")).collect();
    assert!(js.contains(&format!("{{{}}}", entries.join(","))), "lib/id.js has not got {entries:?}");
    for (code, n) in PLACEHOLDER_ERRORS {
        assert_eq!((placeholder_error_number_of(code), placeholder_error_code(n)), (Some(n), Some(code)));
    }
    assert_eq!(placeholder_error_number_of("NOPE"), None);
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
fn parses_deployed_fields() {
    let id = with_check_pair("03-1-USA-1234-P-2612-2").unwrap();
    let p = parse_deployed(&id).unwrap();
    let pair = deployed_check_pair("031USA1234P26122").unwrap();
    assert_eq!(
        p,
        DeployedId {
            version: "03".into(),
            region: "1".into(),
            jurisdiction: "USA".into(),
            sequential: "1234".into(),
            entity_type: "P".into(),
            year_month: "2612".into(),
            trust_level: "2".into(),
            checksum: format!("{pair:02}"),
        }
    );
    let any = parse_in(&id, IdGrammar::Any).unwrap();
    assert_eq!(any.grammar(), Grammar::Deployed);
    assert_eq!(any.fields().join("-"), id);
    assert_eq!(any.entity_type(), "P");
    assert_eq!(parse_in(&id, IdGrammar::V1), None);
    assert_eq!(parse_in(GOOD, IdGrammar::Deployed), None);
    assert_eq!(parse_in(GOOD, IdGrammar::V1).map(|p| p.grammar()), Some(Grammar::V1));
    // A wrong pair does not parse.
    let wrong = format!("{}{:02}", &id[..23], (pair + 1) % 97);
    assert_eq!(parse_deployed(&wrong), None);
}

#[test]
fn the_check_pair_is_the_services() {
    // Worked by hand: "031USA1234P26122" reads as 031 302810 1234 25 2612 2 (U=30, S=28, A=10,
    // P=25); its remainder is taken here from the whole number, not digit by digit.
    let digits = ["031", "302810", "1234", "25", "2612", "2"].concat();
    let n: u128 = digits.parse().unwrap();
    let expected = ((98 - n % 97) % 97) as u8;
    assert_eq!(deployed_check_pair("031USA1234P26122"), Some(expected));
    assert_eq!(deployed_check_pair("03-1-USA-1234-P-2612-2"), Some(expected), "dashes are skipped");
    assert_eq!(deployed_check_pair("03-1-usa"), None);
    // The pair's range is 0..=96, so 97, 98 and 99 never fit.
    for base in ["00", "1", "96", "ZZZ", "03-0-ERR-0001-T-2612-0"] {
        assert!(deployed_check_pair(base).unwrap() <= 96);
    }
    // The service's sample placeholder for MINT_UNAVAILABLE in December 2026 (issue #22).
    assert_eq!(with_check_pair("03-0-ERR-0001-T-2612-0").as_deref(), Some("03-0-ERR-0001-T-2612-0-22"));
}

#[test]
fn knows_placeholders() {
    let p = "03-0-ERR-0001-T-2612-0-22";
    assert!(is_placeholder(p) && !is_valid_format(p), "a placeholder is not a well-formed id (G = 0)");
    assert_eq!(placeholder_error_number(p), Some(1));
    assert_eq!(placeholder_error_number(&with_check_pair("03-0-ERR-0099-A-2701-0").unwrap()), Some(99));
    assert!(!is_placeholder(&with_check_pair("03-0-ERR-0100-T-2612-0").unwrap()));
    assert!(!is_placeholder(&with_check_pair("03-1-ERR-0001-T-2612-0").unwrap()));
    assert!(!is_placeholder(&with_check_pair("03-0-ERA-0001-T-2612-0").unwrap()));
    assert!(is_placeholder("03-0-ERR-0001-T-2612-0-00"), "the pair is not checked");
    assert_eq!(placeholder_error_number(GOOD), None);
}

#[test]
fn the_grammar_option() {
    assert_eq!(IdGrammar::default(), IdGrammar::Any);
    assert_eq!(IdGrammar::NAMES[0], IdGrammar::default().as_str());
    for name in IdGrammar::NAMES {
        assert_eq!(IdGrammar::parse(name).map(IdGrammar::as_str), Some(name));
    }
    assert_eq!(IdGrammar::parse("V1"), None);
    let deployed = with_check_pair("03-1-USA-1234-P-2612-2").unwrap();
    assert!(
        is_valid_in(GOOD, IdGrammar::Any)
            && is_valid_in(GOOD, IdGrammar::V1)
            && !is_valid_in(GOOD, IdGrammar::Deployed)
    );
    assert!(
        is_valid_in(&deployed, IdGrammar::Any)
            && !is_valid_in(&deployed, IdGrammar::V1)
            && is_valid_in(&deployed, IdGrammar::Deployed)
    );
    assert_eq!(entity_for_id(&deployed), Some("PEO"));
    assert_eq!(entity_for_id(GOOD), Some("INFO"));
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

/// The vectors scripts/id-vectors.py computed with Python's integers; jest reads them too.
#[test]
fn agrees_with_the_independent_vectors() {
    let file: serde_json::Value =
        serde_json::from_str(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/__test__/fixtures/id-vectors.json")))
            .unwrap();
    let vectors = file["vectors"].as_array().unwrap();
    assert!(vectors.len() > 300);
    let mut seen = std::collections::HashSet::new();
    for v in vectors {
        let id = v["id"].as_str().unwrap();
        let expected = v["grammar"].as_str();
        let got = grammar_of(id).map(Grammar::as_str);
        assert_eq!(got, expected, "{id} ({})", v["note"]);
        assert_eq!(is_placeholder(id), v["placeholder"].as_bool().unwrap(), "{id} ({})", v["note"]);
        if let Some(n) = v.get("placeholderError") {
            assert_eq!(placeholder_error_number(id).map(u64::from), n.as_u64(), "{id}");
        }
        if let Some(fields) = v.get("fields") {
            let fields: Vec<&str> = fields.as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
            assert_eq!(parse_in(id, IdGrammar::Any).unwrap().fields().to_vec(), fields, "{id}");
        } else {
            assert_eq!(parse_in(id, IdGrammar::Any), None, "{id}");
        }
        seen.insert((expected, v["placeholder"].as_bool().unwrap()));
    }
    // Every kind of vector is there.
    for kind in [(Some("v1"), false), (Some("deployed"), false), (None, false), (None, true)] {
        assert!(seen.contains(&kind), "{kind:?}");
    }
}

/// v1's grammar restated field by field, independently of the patterns above.
fn reference_v1(id: &str) -> bool {
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

/// The deployed grammar restated field by field, with the check pair from a u128 of the
/// concatenated digits (not the running remainder of `deployed_check_pair`).
fn reference_deployed(id: &str) -> bool {
    let f: Vec<&str> = id.split('-').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|c| c.is_ascii_digit());
    let shaped = f.len() == 8
        && digits(f[0], 2)
        && f[1].len() == 1
        && matches!(f[1].as_bytes()[0], b'1'..=b'9')
        && f[2].len() == 3
        && f[2].bytes().all(|c| c.is_ascii_uppercase())
        && digits(f[3], 4)
        && ["P", "L", "T", "E", "A"].contains(&f[4])
        && digits(f[5], 4)
        && f[6].len() == 1
        && matches!(f[6].as_bytes()[0], b'0'..=b'5')
        && digits(f[7], 2);
    if !shaped {
        return false;
    }
    let number: String = f[..7].concat().chars().map(|c| c.to_digit(36).unwrap().to_string()).collect();
    let n: u128 = number.parse().unwrap();
    f[7].parse::<u128>().unwrap() == (98 - n % 97) % 97
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
            prop_assert_eq!(is_valid_v1(&text), reference_v1(&text), "{:?}", text);
            prop_assert_eq!(is_valid_deployed(&text), reference_deployed(&text), "{:?}", text);
            prop_assert_eq!(is_valid_format(&text), reference_v1(&text) || reference_deployed(&text));
        }

        #[test]
        fn agrees_on_strings_shaped_like_ids(s in "[A-Z0-9a-z-]{20,26}") {
            prop_assert_eq!(is_valid_v1(&s), reference_v1(&s));
            prop_assert_eq!(is_valid_deployed(&s), reference_deployed(&s));
        }

        #[test]
        fn agrees_on_strings_shaped_like_deployed_ids(s in "[0-9]{2}-[0-9]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{4}-[0-9]-[0-9]{2}") {
            prop_assert_eq!(is_valid_deployed(&s), reference_deployed(&s), "{}", s);
        }

        #[test]
        fn generated_ids_are_valid_and_parse_back(s in "[A-Z]{2}-[A-Z]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{2}-[A-Z]-[0-9A-Z]") {
            prop_assert!(is_valid_format(&s));
            let p = parse(&s).unwrap();
            let joined = [p.version, p.generation, p.location, p.sequence, p.entity_type, p.year_month, p.check, p.extension].join("-");
            prop_assert_eq!(joined, s);
        }

        #[test]
        fn generated_deployed_ids_are_valid_parse_back_and_catch_one_changed_character(
            base in "[0-9]{2}-[1-9]-[A-Z]{3}-[0-9]{4}-[PLTEA]-[0-9]{4}-[0-5]",
            pos in 0usize..25,
            digit in 0u8..10,
        ) {
            let id = with_check_pair(&base).unwrap();
            prop_assert!(reference_deployed(&id) && is_valid_deployed(&id), "{}", id);
            prop_assert_eq!(parse_in(&id, IdGrammar::Deployed).unwrap().fields().join("-"), id.clone());
            // One digit changed anywhere a digit is: the pair notices unless it changed nothing.
            let mut bytes = id.clone().into_bytes();
            if bytes[pos].is_ascii_digit() {
                bytes[pos] = b'0' + digit;
                let changed = String::from_utf8(bytes).unwrap();
                prop_assert_eq!(is_valid_deployed(&changed), reference_deployed(&changed), "{}", changed);
            }
        }
    }
}
