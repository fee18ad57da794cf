//! HTTP/1.1 on the wire, as pure functions over buffers: rendering a request and reading a
//! response head and body (Content-Length, chunked, or until close). No I/O here, so every
//! framing case is unit-tested without sockets.

use bytes::{Buf, BytesMut};

use crate::error::ClientError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// Appends one request to `out`: the request line (its target is base path + path, joined
/// here), the pre-rendered `common` headers (Host, User-Agent, Accept, Authorization), the
/// per-request ones, then the body.
pub fn render_request(
    out: &mut Vec<u8>,
    method: Method,
    target: [&str; 2],
    common: &[u8],
    idempotency_key: Option<&str>,
    body: Option<&[u8]>,
) {
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    for part in target {
        out.extend_from_slice(part.as_bytes());
    }
    out.extend_from_slice(b" HTTP/1.1\r\n");
    out.extend_from_slice(common);
    if let Some(key) = idempotency_key {
        out.extend_from_slice(b"Idempotency-Key: ");
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(body) = body {
        out.extend_from_slice(b"Content-Type: application/json\r\nContent-Length: ");
        out.extend_from_slice(body.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(body);
    } else {
        out.extend_from_slice(b"\r\n");
    }
}

/// How the body of a response is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    Length(usize),
    Chunked,
    /// No length: the body runs until the server closes the connection.
    UntilClose,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub reason: String,
    pub retry_after: Option<String>,
    pub framing: Framing,
    /// The connection may carry another request afterwards.
    pub keep_alive: bool,
    /// Bytes of `buf` the head took.
    pub len: usize,
}

const MAX_HEADERS: usize = 64;
/// A head larger than this is not a ChittyID service talking.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

fn bad(detail: impl Into<String>) -> ClientError {
    ClientError::BadResponse { detail: detail.into() }
}

/// Parses a response head at the start of `buf`; `Ok(None)` when more bytes are needed.
pub fn parse_head(buf: &[u8], max_body: usize) -> Result<Option<Head>, ClientError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD_BYTES => {
            return Err(bad("response head too large"))
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(bad(format!("malformed HTTP response ({e})"))),
    };
    let status = response.code.unwrap_or(0);
    let mut framing = None;
    let mut keep_alive = response.version == Some(1);
    let mut retry_after = None;
    for h in response.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let text = std::str::from_utf8(h.value).map_err(|_| bad("bad Content-Length"))?;
            let n: usize = text.trim().parse().map_err(|_| bad("bad Content-Length"))?;
            if n > max_body {
                return Err(ClientError::BodyTooLarge { limit: max_body });
            }
            framing.get_or_insert(Framing::Length(n));
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            let chunked = std::str::from_utf8(h.value)
                .is_ok_and(|v| v.rsplit(',').next().is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked")));
            if !chunked {
                return Err(bad("unsupported Transfer-Encoding"));
            }
            framing = Some(Framing::Chunked); // chunked wins over Content-Length (RFC 9112 §6.3)
        } else if h.name.eq_ignore_ascii_case("connection") {
            let value = String::from_utf8_lossy(h.value).to_ascii_lowercase();
            if value.contains("close") {
                keep_alive = false;
            } else if value.contains("keep-alive") {
                keep_alive = true;
            }
        } else if h.name.eq_ignore_ascii_case("retry-after") {
            retry_after = std::str::from_utf8(h.value).ok().map(|v| v.trim().to_owned());
        }
    }
    let no_body = status == 204 || status == 304 || (100..200).contains(&status);
    let framing = if no_body { Framing::Length(0) } else { framing.unwrap_or(Framing::UntilClose) };
    if framing == Framing::UntilClose {
        keep_alive = false;
    }
    // The reason phrase only ever shows in an error message.
    let reason = if (200..300).contains(&status) { String::new() } else { response.reason.unwrap_or("").to_owned() };
    Ok(Some(Head { status, reason, retry_after, framing, keep_alive, len }))
}

/// Incremental decoder of a chunked body.
#[derive(Debug, Default)]
pub struct Chunked {
    /// Bytes left in the current chunk (plus its CRLF), or `None` between chunks.
    remaining: Option<usize>,
    done: bool,
}

impl Chunked {
    /// Moves decoded bytes from `input` to `body`; true once the last chunk and trailers are in.
    pub fn decode(&mut self, input: &mut BytesMut, body: &mut BytesMut, max_body: usize) -> Result<bool, ClientError> {
        loop {
            if self.done {
                return Ok(true);
            }
            match self.remaining {
                Some(left) => {
                    // `left` counts the chunk's data and its trailing CRLF.
                    if left > 2 {
                        let take = (left - 2).min(input.len());
                        if take == 0 {
                            return Ok(false);
                        }
                        if body.len() + take > max_body {
                            return Err(ClientError::BodyTooLarge { limit: max_body });
                        }
                        body.extend_from_slice(&input[..take]);
                        input.advance(take);
                        self.remaining = Some(left - take);
                    } else {
                        if input.len() < left {
                            return Ok(false);
                        }
                        if &input[..left] != &b"\r\n"[2 - left..] {
                            return Err(bad("malformed chunked body"));
                        }
                        input.advance(left);
                        self.remaining = None;
                    }
                }
                None => {
                    let Some(end) = input.windows(2).position(|w| w == b"\r\n") else {
                        if input.len() > 1024 {
                            return Err(bad("malformed chunk size"));
                        }
                        return Ok(false);
                    };
                    let line = std::str::from_utf8(&input[..end]).map_err(|_| bad("malformed chunk size"))?;
                    let size_text = line.split(';').next().unwrap_or("").trim();
                    let size = usize::from_str_radix(size_text, 16).map_err(|_| bad("malformed chunk size"))?;
                    if size == 0 {
                        // Last chunk: skip trailers up to the empty line.
                        let Some(trailer_end) = find_blank_line(&input[end..]) else { return Ok(false) };
                        input.advance(end + trailer_end);
                        self.done = true;
                        continue;
                    }
                    if body.len() + size > max_body {
                        return Err(ClientError::BodyTooLarge { limit: max_body });
                    }
                    input.advance(end + 2);
                    self.remaining = Some(size + 2);
                }
            }
        }
    }
}

/// Offset just past `\r\n\r\n` when `buf` starts at the CRLF ending the last-chunk line.
fn find_blank_line(buf: &[u8]) -> Option<usize> {
    if buf.starts_with(b"\r\n\r\n") {
        return Some(4);
    }
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_post_with_key_and_body() {
        let mut out = Vec::new();
        render_request(&mut out, Method::Post, ["/v1", "/mint"], b"Host: h\r\n", Some("k1"), Some(b"{}"));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "POST /v1/mint HTTP/1.1\r\nHost: h\r\nIdempotency-Key: k1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        );
    }

    #[test]
    fn renders_a_get_without_body() {
        let mut out = Vec::new();
        render_request(&mut out, Method::Get, ["", "/health"], b"Host: h\r\n", None, None);
        assert_eq!(String::from_utf8(out).unwrap(), "GET /health HTTP/1.1\r\nHost: h\r\n\r\n");
    }

    #[test]
    fn parses_a_length_delimited_head() {
        let raw = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\nRetry-After: 2\r\n\r\nhello";
        let head = parse_head(raw, 100).unwrap().unwrap();
        assert_eq!(head.status, 503);
        assert_eq!(head.reason, "Service Unavailable");
        assert_eq!(head.retry_after.as_deref(), Some("2"));
        assert_eq!(head.framing, Framing::Length(5));
        assert!(head.keep_alive);
        assert_eq!(&raw[head.len..], b"hello");
    }

    #[test]
    fn partial_heads_ask_for_more() {
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Le", 100).unwrap(), None);
        assert_eq!(parse_head(b"", 100).unwrap(), None);
    }

    #[test]
    fn connection_close_http10_and_no_length_end_keep_alive() {
        let close = parse_head(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 10).unwrap().unwrap();
        assert!(!close.keep_alive);
        let old = parse_head(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 10).unwrap().unwrap();
        assert!(!old.keep_alive);
        let until_close = parse_head(b"HTTP/1.1 200 OK\r\n\r\n", 10).unwrap().unwrap();
        assert_eq!(until_close.framing, Framing::UntilClose);
        assert!(!until_close.keep_alive);
        let no_content = parse_head(b"HTTP/1.1 204 No Content\r\n\r\n", 10).unwrap().unwrap();
        assert_eq!(no_content.framing, Framing::Length(0));
    }

    #[test]
    fn rejects_oversized_lengths_and_garbage() {
        assert_eq!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n", 100).unwrap_err(),
            ClientError::BodyTooLarge { limit: 100 }
        );
        assert_eq!(parse_head(b"NOT HTTP\r\n\r\n", 100).unwrap_err().code(), "EBADRESPONSE");
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", 100).unwrap_err().code(), "EBADRESPONSE");
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 100).unwrap_err().code(), "EBADRESPONSE");
        let huge = vec![b'a'; MAX_HEAD_BYTES + 1];
        assert!(parse_head(&huge, 100).is_err());
    }

    fn decode_all(pieces: &[&[u8]], max: usize) -> Result<(bool, Vec<u8>), ClientError> {
        let mut decoder = Chunked::default();
        let mut input = BytesMut::new();
        let mut body = BytesMut::new();
        let mut done = false;
        for piece in pieces {
            input.extend_from_slice(piece);
            done = decoder.decode(&mut input, &mut body, max)?;
        }
        Ok((done, body.to_vec()))
    }

    #[test]
    fn decodes_chunked_bodies_split_anywhere() {
        let raw: &[u8] = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n";
        for split in 0..raw.len() {
            let (done, body) = decode_all(&[&raw[..split], &raw[split..]], 100).unwrap();
            assert!(done, "split at {split}");
            assert_eq!(body, b"hello, world", "split at {split}");
        }
        let (done, body) = decode_all(&raw.iter().map(std::slice::from_ref).collect::<Vec<_>>(), 100).unwrap();
        assert!(done);
        assert_eq!(body, b"hello, world");
    }

    #[test]
    fn chunked_bodies_respect_the_cap_and_reject_garbage() {
        assert_eq!(decode_all(&[b"10\r\n"], 8).unwrap_err(), ClientError::BodyTooLarge { limit: 8 });
        assert!(decode_all(&[b"zz\r\n"], 8).is_err());
        assert!(decode_all(&[b"2\r\nabXY"], 8).is_err());
        assert_eq!(decode_all(&[b"2\r\nab\r\n"], 8).unwrap(), (false, b"ab".to_vec()));
    }
}
