//! An id as a URL path segment: encoded as v1 encoded it, and the two ids no segment can carry.

/// `encodeURIComponent`: everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )` is percent-encoded.
pub fn encode_uri_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `validate()`'s answer for `.` and `..`, which no request can carry (`is_dot_segment`).
pub const DOT_SEGMENT_ID: &str = "ChittyID cannot be \".\" or \"..\" (a URL path drops dot segments)";

/// Whether `id` is a dot segment once encoded. `encodeURIComponent` leaves `.` alone, and every
/// URL parser (WHATWG's, so fetch's; the `url` crate under reqwest) removes a `.` or `..` path
/// segment, so `GET /validate/..` would go to another route with the key. Percent-encoding
/// cannot help: `%2e` is a dot to those parsers too. Any other id encodes to one segment that
/// stays one (`%` itself is encoded). No grammar makes these ids valid, so `validate()` answers
/// them without a request (docs/ARCHITECTURE.md, "Redaction").
pub fn is_dot_segment(id: &str) -> bool {
    id == "." || id == ".."
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_encode_uri_component() {
        assert_eq!(encode_uri_component("CT-A-CHI-1234-I-24-A-0"), "CT-A-CHI-1234-I-24-A-0");
        assert_eq!(encode_uri_component("a/b?c#d e"), "a%2Fb%3Fc%23d%20e");
        assert_eq!(encode_uri_component("é"), "%C3%A9");
        assert_eq!(encode_uri_component("!~*'()._"), "!~*'()._");
    }

    #[test]
    fn only_dot_segments_cannot_be_sent() {
        for id in [".", ".."] {
            assert!(is_dot_segment(id), "{id}");
        }
        for id in ["", "...", "%2e", "%2e%2e", "a/../b", "./", "CT-A-CHI-1234-I-24-A-0"] {
            assert!(!is_dot_segment(id), "{id}");
            // The URL parser under the native transport keeps the segment as encoded.
            let path = format!("/v1/validate/{}", encode_uri_component(id));
            assert_eq!(reqwest::Url::parse(&format!("http://h{path}")).unwrap().path(), path, "{id}");
        }
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn encoded_ids_only_use_unreserved_characters(id in "\\PC{0,40}") {
                let encoded = encode_uri_component(&id);
                prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()%".contains(&b)));
            }
        }
    }
}
