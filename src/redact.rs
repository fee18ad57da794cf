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

/// `text` with every occurrence of `secret` that counts replaced by [`REDACTED`]; borrowed
/// when there is none (or the secret is empty).
pub fn redact<'a>(text: &'a str, secret: &str) -> Cow<'a, str> {
    let mut found = occurrences(text, secret).peekable();
    if found.peek().is_none() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for at in found {
        out.push_str(&text[copied..at]);
        out.push_str(REDACTED);
        copied = at + secret.len();
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
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
