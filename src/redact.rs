//! The one rule for keeping a secret (the API key; the fleet's Redis password) out of what the
//! client reports (docs/ARCHITECTURE.md, "Redaction"). Every Rust caller goes through this
//! module, and so does JS wherever the addon is loaded (`bindings::redact`); `lib/redact.js`
//! implements it again only for JS without the addon (the portable build), held to this one by
//! `__test__/redaction.test.mjs` (shared vectors in `__test__/fixtures/redaction-vectors.json`,
//! and both engines on generated text).
//!
//! - **Free text** (error messages, reason phrases, a service's `error` string, a Redis error)
//!   has each occurrence of the secret replaced by [`REDACTED`], with [`redact`].
//! - **A secret shorter than [`MATCH_ANYWHERE_FROM`] characters is matched only as a whole
//!   word**: the character before it and the one after it (when there is one) must not be word
//!   characters ([`is_word_char`]). A key `soc` leaves "socket hang up" alone and still turns
//!   "Bearer soc" into "Bearer [redacted]". A secret that long or longer is matched anywhere,
//!   glued to other text or not: eight characters of a key are no coincidence.
//! - **Encoded echoes**: a secret that is matched anywhere and is ASCII is also matched
//!   percent-encoded (any run of text that decodes to it through `%XX` escapes of ASCII bytes,
//!   in either hex case: a key echoed in a URL or a `Location`) and base64-encoded (the
//!   characters that encode only the secret's bytes, at each of the three alignments, in the
//!   standard and URL-safe alphabets: a key echoed as `Basic base64(user:key)`); and as a JSON
//!   string writes it (`\\`, `\"`, `\/` escaped: a key quoted in a parser's message). All are
//!   applied after the plain matches: the JSON forms, then base64, then percent-encoded.
//! - **Structured fields** (ids, entity names) are never rewritten: a rewritten id is a wrong id.
//!   A field that gives the secret away ([`reveals`]) is dropped or refused by its caller.
//! - Text the client writes itself (config dumps, request logs) never includes the secret at
//!   all: it prints [`REDACTED`] in its place whatever the secret's length.

use std::borrow::Cow;

/// What a secret is replaced with, everywhere (Rust and JS).
pub const REDACTED: &str = "[redacted]";

/// From this many characters on, a secret is matched anywhere in text; below it, only as a
/// whole word.
pub const MATCH_ANYWHERE_FROM: usize = 8;

/// A character that continues a word: an ASCII letter or digit, `_`, or any non-ASCII
/// character (so a short secret glued to text in another script is left alone too).
pub fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii()
}

fn matches_anywhere(secret: &str) -> bool {
    secret.chars().nth(MATCH_ANYWHERE_FROM - 1).is_some()
}

/// The byte offsets of the occurrences of `secret` in `text` that count under the rule above,
/// left to right and not overlapping.
fn occurrences<'a>(text: &'a str, secret: &'a str) -> impl Iterator<Item = usize> + 'a {
    let anywhere = matches_anywhere(secret);
    let step = secret.chars().next().map_or(1, char::len_utf8);
    let mut from = 0;
    std::iter::from_fn(move || {
        if secret.is_empty() {
            return None;
        }
        while let Some(found) = text.get(from..).and_then(|rest| rest.find(secret)) {
            let at = from + found;
            let end = at + secret.len();
            let whole_word = text[..at].chars().next_back().is_none_or(|c| !is_word_char(c))
                && text[end..].chars().next().is_none_or(|c| !is_word_char(c));
            if anywhere || whole_word {
                from = end;
                return Some(at);
            }
            from = at + step;
        }
        None
    })
}

/// `text` with every occurrence of `secret` that counts replaced by [`REDACTED`], then its
/// encoded echoes ([`redact_encoded`]); borrowed when there is none (or the secret is empty).
pub fn redact<'a>(text: &'a str, secret: &str) -> Cow<'a, str> {
    let plain = redact_plain(text, secret);
    match redact_encoded(&plain, secret) {
        Cow::Borrowed(_) => plain,
        Cow::Owned(out) => Cow::Owned(out),
    }
}

fn redact_plain<'a>(text: &'a str, secret: &str) -> Cow<'a, str> {
    let spans: Vec<(usize, usize)> = occurrences(text, secret).map(|at| (at, at + secret.len())).collect();
    replace_spans(text, &spans)
}

/// `text` with each of the non-overlapping, ordered byte `spans` replaced by [`REDACTED`].
fn replace_spans<'a>(text: &'a str, spans: &[(usize, usize)]) -> Cow<'a, str> {
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for &(start, end) in spans {
        out.push_str(&text[copied..start]);
        out.push_str(REDACTED);
        copied = end;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// The base64 text that encodes only `secret`'s bytes, at each of the three alignments a
/// secret can have inside a longer encoded value (`user:key`), in the standard then the
/// URL-safe alphabet, without repeats.
fn base64_cores(secret: &str) -> Vec<String> {
    use base64::Engine as _;
    let mut cores: Vec<String> = Vec::with_capacity(6);
    for engine in [&base64::engine::general_purpose::STANDARD_NO_PAD, &base64::engine::general_purpose::URL_SAFE_NO_PAD]
    {
        for lead in 0..3usize {
            let mut bytes = vec![0u8; lead];
            bytes.extend_from_slice(secret.as_bytes());
            let encoded = engine.encode(&bytes);
            // Characters wholly made of the secret's bits: from the first after the lead bytes
            // to the last before the end.
            let (start, end) = ((8 * lead).div_ceil(6), 8 * bytes.len() / 6);
            let core = &encoded[start..end];
            if !cores.iter().any(|c| c == core) {
                cores.push(core.to_owned());
            }
        }
    }
    cores
}

/// The secret as a JSON string (or Rust's `{:?}`, as serde's messages quote a value) writes it:
/// `\\` and `\"` escaped, and once more with `/` as `\/`; only the forms that differ from it.
fn escaped_forms(secret: &str) -> Vec<String> {
    let escaped = secret.replace('\\', "\\\\").replace('"', "\\\"");
    let slashed = escaped.replace('/', "\\/");
    let mut forms = Vec::new();
    for form in [escaped, slashed] {
        if form != secret && !forms.contains(&form) {
            forms.push(form);
        }
    }
    forms
}

/// Shortest base64 core of a secret that is redacted encoded (8 ASCII characters): shorter text
/// cannot hold one, and skips the work.
const SHORTEST_CORE: usize = 10;

/// `text` with the encoded echoes of `secret` replaced (see the module's rule): only for an
/// ASCII secret that is matched anywhere.
fn redact_encoded<'a>(text: &'a str, secret: &str) -> Cow<'a, str> {
    if !secret.is_ascii() || !matches_anywhere(secret) || text.len() < SHORTEST_CORE {
        return Cow::Borrowed(text);
    }
    let mut out = Cow::Borrowed(text);
    for core in escaped_forms(secret).into_iter().chain(base64_cores(secret)) {
        if out.contains(core.as_str()) {
            out = Cow::Owned(out.replace(core.as_str(), REDACTED));
        }
    }
    match percent_spans(&out, secret.as_bytes()) {
        spans if spans.is_empty() => out,
        spans => Cow::Owned(replace_spans(&out, &spans).into_owned()),
    }
}

/// One unit of text read with `%XX` escapes decoded: its byte value when it is ASCII (a plain
/// ASCII character or the escape of an ASCII byte), where it starts and how long it is.
struct Unit {
    value: Option<u8>,
    at: usize,
    len: usize,
    escaped: bool,
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Byte spans of `text` that decode to `secret` through at least one `%XX` escape, left to right
/// and not overlapping.
fn percent_spans(text: &str, secret: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    if !text.contains('%') {
        return spans;
    }
    let bytes = text.as_bytes();
    let mut units = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| Some(hex(bytes[i + 1])? * 16 + hex(bytes[i + 2])?))
            .flatten()
            .filter(u8::is_ascii);
        let unit = match escape {
            Some(value) => Unit { value: Some(value), at: i, len: 3, escaped: true },
            None => {
                let len = text[i..].chars().next().map_or(1, char::len_utf8);
                Unit { value: bytes[i].is_ascii().then_some(bytes[i]), at: i, len, escaped: false }
            }
        };
        i += unit.len;
        units.push(unit);
    }
    let mut start = 0;
    while start + secret.len() <= units.len() {
        let run = &units[start..start + secret.len()];
        let matches = run.iter().zip(secret).all(|(u, &b)| u.value == Some(b));
        if matches && run.iter().any(|u| u.escaped) {
            let last = &run[run.len() - 1];
            spans.push((run[0].at, last.at + last.len));
            start += secret.len();
        } else {
            start += 1;
        }
    }
    spans
}

/// Whether a structured field (an id, an entity) gives `secret` away, so its caller must drop
/// or refuse it rather than rewrite it. A secret of [`MATCH_ANYWHERE_FROM`] characters or more:
/// anywhere in it. A shorter one: when the field is the secret (ASCII blanks around it aside), or
/// holds it as a whole word after `Bearer` and a blank (the echo of an `Authorization` header;
/// the scheme in any case). A short key that is merely one of an id's words (`CHI` in
/// `CT-A-CHI-...`) is a coincidence, and the id stays.
pub fn reveals(field: &str, secret: &str) -> bool {
    if secret.is_empty() {
        return false;
    }
    if matches_anywhere(secret) {
        return field.contains(secret);
    }
    if field.trim_matches(|c: char| c.is_ascii_whitespace()) == secret {
        return true;
    }
    occurrences(field, secret).any(|at| {
        let before = &field.as_bytes()[..at];
        let word = before.trim_ascii_end();
        word.len() < before.len() && word.len() >= 6 && word[word.len() - 6..].eq_ignore_ascii_case(b"bearer")
    })
}

/// One client's secret, applied with the rule above.
#[derive(Clone, Default)]
pub struct Redactor {
    secret: Option<String>,
}

impl Redactor {
    /// No secret (absent or empty) redacts nothing.
    pub fn new(secret: Option<&str>) -> Self {
        Self { secret: secret.filter(|s| !s.is_empty()).map(str::to_owned) }
    }

    pub fn is_active(&self) -> bool {
        self.secret.is_some()
    }

    /// The secret itself, for a check that must refuse data holding it (use [`reveals`]).
    pub fn key(&self) -> Option<&str> {
        self.secret.as_deref()
    }

    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match &self.secret {
            Some(secret) => redact(text, secret),
            None => Cow::Borrowed(text),
        }
    }

    /// Redacts `text` in place; leaves it untouched (no allocation) when nothing counts.
    pub fn redact_in_place(&self, text: &mut String) {
        if let Cow::Owned(redacted) = self.redact(text) {
            *text = redacted;
        }
    }

    pub fn reveals(&self, field: &str) -> bool {
        self.secret.as_deref().is_some_and(|secret| reveals(field, secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The vectors `lib/redact.js` is tested against too.
    const VECTORS: &str =
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/__test__/fixtures/redaction-vectors.json"));

    #[derive(serde::Deserialize)]
    struct Vectors {
        redact: Vec<(String, String, String)>,
        reveals: Vec<(String, String, bool)>,
    }

    #[test]
    fn shared_vectors() {
        let v: Vectors = serde_json::from_str(VECTORS).expect("the vector file parses");
        assert!(v.redact.len() >= 20 && v.reveals.len() >= 10);
        for (text, secret, want) in &v.redact {
            assert_eq!(redact(text, secret), want.as_str(), "redact({text:?}, {secret:?})");
        }
        for (field, secret, want) in &v.reveals {
            assert_eq!(reveals(field, secret), *want, "reveals({field:?}, {secret:?})");
        }
    }

    #[test]
    fn short_secrets_only_as_whole_words() {
        assert_eq!(redact("socket hang up", "soc"), "socket hang up");
        assert_eq!(redact("echo Bearer soc.", "soc"), "echo Bearer [redacted].");
        assert_eq!(redact("k", "k"), "[redacted]");
        assert_eq!(redact("key=k&kk=k", "k"), "key=[redacted]&kk=[redacted]");
        assert_eq!(redact("éke ke_ ke", "ke"), "éke ke_ [redacted]");
    }

    #[test]
    fn long_secrets_anywhere() {
        assert_eq!(
            redact("Bad Gateway (Authorization: Bearer s3cr3t-key)", "s3cr3t-key"),
            "Bad Gateway (Authorization: Bearer [redacted])"
        );
        assert_eq!(redact("s3cr3t-keys3cr3t-key", "s3cr3t-key"), "[redacted][redacted]");
        assert_eq!(redact("xs3cr3t-keyx", "s3cr3t-key"), "x[redacted]x");
        assert!(matches!(redact("nothing here", "s3cr3t-key"), Cow::Borrowed(_)));
    }

    #[test]
    fn encoded_echoes_of_a_long_ascii_secret() {
        let key = "sk+Ab/cd=ef/GH+ij==";
        // Percent-encoded, in either hex case, wholly or in part.
        assert_eq!(redact("token=sk%2BAb%2Fcd%3Def%2FGH%2Bij%3D%3D&x=1", key), "token=[redacted]&x=1");
        assert_eq!(redact("t=sk%2bAb/cd%3def/GH+ij%3d%3D", key), "t=[redacted]");
        assert_eq!(redact("%73%6B-live-SECRET", "sk-live-SECRET"), "[redacted]");
        // An escape of a non-ASCII byte or a broken escape is text.
        assert_eq!(redact("sk%C3-live-SECRET %2", "sk-live-SECRET"), "sk%C3-live-SECRET %2");
        // Base64, alone or behind `user:` (every alignment), standard or URL-safe alphabet.
        let basic = |s: &str| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(s)
        };
        for lead in ["", "u:", "us:", "user:"] {
            let echoed = format!("Basic {}", basic(&format!("{lead}sk-live-SECRET-7f3a9c")));
            let out = redact(&echoed, "sk-live-SECRET-7f3a9c");
            assert!(out.contains(REDACTED), "{echoed} -> {out}");
            assert!(out.len() < echoed.len() + REDACTED.len(), "{echoed} -> {out}");
        }
        let url_safe = {
            use base64::Engine as _;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("??>>sk+Ab/cd=ef/GH+ij==")
        };
        assert!(redact(&url_safe, key).contains(REDACTED));
        // Short or non-ASCII secrets: plain matches only.
        assert_eq!(redact("%6B", "k"), "%6B");
        assert_eq!(redact("a%C3%A9bcdefghi", "aébcdefghi"), "a%C3%A9bcdefghi");
        // JSON-escaped, as serde quotes a value in its messages.
        let quoted = "sk-live\\SECRET\"7f/3a9c";
        let message = format!("invalid type: string {quoted:?}, expected a boolean");
        assert_eq!(redact(&message, quoted), "invalid type: string \"[redacted]\", expected a boolean");
        assert_eq!(redact("sk-live\\\\SECRET\\\"7f\\/3a9c", quoted), "[redacted]");
        // Nothing encoded: borrowed.
        assert!(matches!(redact("a longer text with 100% of nothing", key), Cow::Borrowed(_)));
    }

    #[test]
    fn structured_fields_reveal_only_what_is_not_a_coincidence() {
        assert!(!reveals("CT-A-CHI-1234-I-24-A-0", "CHI"));
        assert!(!reveals("CT-A-CHI-1234-I-24-A-0", "A"));
        assert!(reveals("CHI", "CHI"));
        assert!(reveals("Bearer k", "k"));
        assert!(reveals("authorization: bearer  k", "k"));
        assert!(!reveals("Bearerk", "k"));
        assert!(reveals("CT-A-sk-live-0123", "sk-live-0123"));
        assert!(!reveals("anything", ""));
    }

    #[test]
    fn a_redactor_without_a_secret_changes_nothing() {
        let none = Redactor::new(Some(""));
        assert!(!none.is_active());
        assert_eq!(none.redact("Bearer x"), "Bearer x");
        assert!(!none.reveals(""));
        let mut text = String::from("socket hang up");
        Redactor::new(Some("soc")).redact_in_place(&mut text);
        assert_eq!(text, "socket hang up");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// What counts is gone, nothing else changed: removing the placeholders from the output
        /// and the counted occurrences from the input leaves the same text.
        #[test]
        fn redaction_replaces_exactly_the_occurrences(text in "[a-c _.é]{0,24}", secret in "[a-c_]{1,3}|[a-c]{8,9}") {
            let out = redact(&text, &secret);
            let kept: String = {
                let mut s = String::new();
                let mut copied = 0;
                for at in occurrences(&text, &secret) {
                    s.push_str(&text[copied..at]);
                    copied = at + secret.len();
                }
                s + &text[copied..]
            };
            prop_assert_eq!(out.replace(REDACTED, ""), kept);
            if secret.len() >= MATCH_ANYWHERE_FROM {
                prop_assert!(!out.contains(secret.as_str()));
            }
        }

        /// A short secret never survives as a whole word.
        #[test]
        fn no_whole_word_survives(text in "[a-c _.]{0,24}", secret in "[a-c]{1,3}") {
            let out = redact(&text, &secret);
            let survivor = out.split(|c: char| !is_word_char(c)).any(|word| word == secret);
            prop_assert!(!survivor, "{:?} -> {:?}", text, out);
        }
    }
}
