//! A small JSON object writer for the response bodies, so the hot path never builds a
//! `serde_json::Value`.

use bytes::Bytes;

pub(crate) struct JsonObject {
    buf: Vec<u8>,
}

impl JsonObject {
    pub fn with_capacity(capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity);
        buf.push(b'{');
        Self { buf }
    }

    /// A string field whose value may need escaping.
    pub fn string(mut self, key: &str, value: &str) -> Self {
        self.key(key);
        push_string(&mut self.buf, value);
        self
    }

    /// A string field whose value is known to be printable ASCII without `"` or `\`.
    pub fn plain(mut self, key: &str, value: &[u8]) -> Self {
        self.key(key);
        self.buf.push(b'"');
        self.buf.extend_from_slice(value);
        self.buf.push(b'"');
        self
    }

    /// A field whose value is already JSON (a nested object built by another `JsonObject`).
    pub fn raw(mut self, key: &str, json: &[u8]) -> Self {
        self.key(key);
        self.buf.extend_from_slice(json);
        self
    }

    pub fn boolean(mut self, key: &str, value: bool) -> Self {
        self.key(key);
        self.buf.extend_from_slice(if value { b"true" } else { b"false" });
        self
    }

    /// An array of plain strings (see [`JsonObject::plain`]).
    pub fn plain_array<I, S>(mut self, key: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        self.key(key);
        self.buf.push(b'[');
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            self.buf.push(b'"');
            self.buf.extend_from_slice(value.as_ref());
            self.buf.push(b'"');
        }
        self.buf.push(b']');
        self
    }

    pub fn finish(mut self) -> Bytes {
        self.buf.push(b'}');
        Bytes::from(self.buf)
    }

    fn key(&mut self, key: &str) {
        if self.buf.len() > 1 {
            self.buf.push(b',');
        }
        self.buf.push(b'"');
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.extend_from_slice(b"\":");
    }
}

fn push_string(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    for c in s.chars() {
        match c {
            '"' => buf.extend_from_slice(b"\\\""),
            '\\' => buf.extend_from_slice(b"\\\\"),
            '\n' => buf.extend_from_slice(b"\\n"),
            '\r' => buf.extend_from_slice(b"\\r"),
            '\t' => buf.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => buf.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes()),
            c => {
                let mut utf8 = [0u8; 4];
                buf.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
    buf.push(b'"');
}

/// `body` with a `"pad"` field added so that it is `target` bytes long (valid JSON still);
/// unchanged when it is already that long or longer than a padded body could be.
pub(crate) fn padded_to(body: &[u8], target: usize) -> Bytes {
    const PAD_OVERHEAD: usize = r#","pad":"""#.len();
    let Some(b'}') = body.last() else { return Bytes::copy_from_slice(body) };
    if target < body.len() + PAD_OVERHEAD {
        return Bytes::copy_from_slice(body);
    }
    let mut out = Vec::with_capacity(target);
    out.extend_from_slice(&body[..body.len() - 1]);
    out.extend_from_slice(br#","pad":""#);
    out.resize(target - 2, b'x');
    out.extend_from_slice(b"\"}");
    Bytes::from(out)
}

/// The first half of `body`: no longer parses as JSON.
pub(crate) fn malformed(body: &[u8]) -> Bytes {
    Bytes::copy_from_slice(&body[..body.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> serde_json::Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn writes_fields_in_order_with_escaping() {
        let body = JsonObject::with_capacity(64)
            .boolean("ok", true)
            .string("s", "a\"b\\c\nd\u{1}é")
            .plain("id", b"CT-A")
            .plain_array("ids", ["X", "Y"])
            .finish();
        assert_eq!(
            parse(&body),
            serde_json::json!({"ok": true, "s": "a\"b\\c\nd\u{1}é", "id": "CT-A", "ids": ["X", "Y"]})
        );
        assert!(body.starts_with(br#"{"ok":true,"s":"#));
    }

    #[test]
    fn empty_object_and_empty_array() {
        assert_eq!(&JsonObject::with_capacity(2).finish()[..], b"{}");
        let none: [&str; 0] = [];
        assert_eq!(&JsonObject::with_capacity(8).plain_array("a", none).finish()[..], br#"{"a":[]}"#);
    }

    #[test]
    fn padding_reaches_the_exact_size_and_stays_valid() {
        let body = br#"{"success":true}"#;
        let padded = padded_to(body, 5_000);
        assert_eq!(padded.len(), 5_000);
        assert_eq!(parse(&padded)["success"], true);
        assert_eq!(&padded_to(body, 10)[..], body);
    }

    #[test]
    fn malformed_bodies_do_not_parse() {
        let body = br#"{"success":true,"chittyId":"CT-A-AAA-0000-P-25-K-0"}"#;
        assert!(serde_json::from_slice::<serde_json::Value>(&malformed(body)).is_err());
    }
}
