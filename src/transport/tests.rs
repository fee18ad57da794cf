//! The transport against raw-socket servers that misbehave on purpose: each case here broke the
//! hand-written HTTP/1.1 transport this module replaced.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;
use crate::transport::config::ProxySetting;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn config(url: &str) -> TransportConfig {
    TransportConfig {
        service_url: url.trim_end_matches('/').into(),
        api_key: Some("k3y".into()),
        ..TransportConfig::default()
    }
}

fn transport(url: &str) -> Transport {
    Transport::new(&config(url)).unwrap()
}

fn get(path: &str) -> Request<'_> {
    Request {
        method: Method::Get,
        path,
        body: None,
        idempotency_key: None,
        timeout_ms: 3000,
        from_origin: false,
        query: None,
    }
}

fn post<'a>(path: &'a str, body: &'static str, key: &'a str) -> Request<'a> {
    Request {
        method: Method::Post,
        path,
        body: Some(Bytes::from_static(body.as_bytes())),
        idempotency_key: Some(key),
        timeout_ms: 3000,
        from_origin: false,
        query: None,
    }
}

/// Reads one request (head and Content-Length body) from `socket`; None at EOF.
async fn read_request(socket: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = socket.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(String::from_utf8_lossy(&buf[..end + 4 + len]).to_string());
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A server whose `answer` function gives the raw bytes for the n-th request it reads (over
/// all connections); it records every request and counts connections.
struct RawServer {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
    connections: Arc<AtomicUsize>,
}

async fn raw_server(answer: impl Fn(usize, &str) -> Vec<u8> + Send + Sync + 'static) -> RawServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let connections = Arc::new(AtomicUsize::new(0));
    let answer = Arc::new(answer);
    let (seen, count) = (requests.clone(), connections.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            count.fetch_add(1, Ordering::SeqCst);
            let (seen, answer) = (seen.clone(), answer.clone());
            tokio::spawn(async move {
                while let Some(request) = read_request(&mut socket).await {
                    let n = {
                        let mut seen = seen.lock().unwrap();
                        seen.push(request.clone());
                        seen.len() - 1
                    };
                    let bytes = answer(n, &request);
                    if bytes.is_empty() || socket.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    RawServer { url, requests, connections }
}

/// A chunked 200 answer of `chunks` chunks of `size` bytes each.
fn chunked_answer(chunks: usize, size: usize) -> Vec<u8> {
    let mut bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..chunks {
        bytes.extend(format!("{size:x}\r\n").into_bytes());
        bytes.extend(vec![b'a'; size]);
        bytes.extend(b"\r\n");
    }
    bytes.extend(b"0\r\n\r\n");
    bytes
}

fn ok_json(body: &str) -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len())
        .into_bytes()
}

#[test]
fn sends_headers_key_and_body_and_reuses_the_connection() {
    runtime().block_on(async {
        let server = raw_server(|_, _| ok_json(r#"{"chittyId":"X"}"#)).await;
        let t = transport(&server.url);
        let r = t.send(post("/mint", r#"{"entity":"PEO"}"#, "key-1")).await.unwrap();
        assert_eq!((r.status, r.status_text.as_str(), &r.body[..]), (200, "OK", &br#"{"chittyId":"X"}"#[..]));
        t.send(get("/health")).await.unwrap();
        let seen = server.requests.lock().unwrap().clone();
        let first = seen[0].to_ascii_lowercase();
        assert!(first.starts_with("post /v1/mint http/1.1\r\n"), "{first}");
        for header in [
            "authorization: bearer k3y",
            "idempotency-key: key-1",
            "content-type: application/json",
            "accept: application/json",
            "user-agent: chittyid-client/",
            "accept-encoding: ",
        ] {
            assert!(first.contains(header), "{header} missing in {first}");
        }
        assert!(first.ends_with(r#"{"entity":"peo"}"#));
        assert!(seen[1].starts_with("GET /v1/health HTTP/1.1\r\n"));
        assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn other_paths_extend_the_service_path_as_encoded() {
    runtime().block_on(async {
        let server = raw_server(|_, _| ok_json("{}")).await;
        let t = transport(&format!("{}/", server.url));
        t.send(get("/validate/a%2Fb%20c")).await.unwrap();
        assert!(server.requests.lock().unwrap()[0].starts_with("GET /v1/validate/a%2Fb%20c HTTP/1.1\r\n"));
    });
}

#[test]
fn a_query_is_sent_as_given_below_the_origin_or_the_service_url() {
    runtime().block_on(async {
        let server = raw_server(|_, _| ok_json("{}")).await;
        let t = transport(&server.url);
        let query = Some("type=a%22b+%26c");
        t.send(Request { from_origin: true, query, ..get("/api/get-chittyid") }).await.unwrap();
        t.send(Request { query, ..post("/mint", "{}", "k") }).await.unwrap();
        t.send(get("/mint")).await.unwrap();
        let seen = server.requests.lock().unwrap();
        assert!(seen[0].starts_with("GET /api/get-chittyid?type=a%22b+%26c HTTP/1.1\r\n"), "{}", seen[0]);
        assert!(seen[1].starts_with("POST /v1/mint?type=a%22b+%26c HTTP/1.1\r\n"), "{}", seen[1]);
        assert!(seen[2].starts_with("GET /v1/mint HTTP/1.1\r\n"), "a fixed route's URL keeps no query: {}", seen[2]);
    });
}

#[test]
fn informational_answers_are_not_taken_for_the_final_one() {
    runtime().block_on(async {
        let server = raw_server(|n, _| {
            let mut bytes =
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n".to_vec();
            bytes.extend(ok_json(&format!(r#"{{"chittyId":"ID-{n}"}}"#)));
            bytes
        })
        .await;
        let t = transport(&server.url);
        for n in 0..3 {
            let r = t.send(post("/mint", "{}", "k")).await.unwrap();
            assert_eq!(r.status, 200);
            assert_eq!(
                String::from_utf8_lossy(&r.body),
                format!(r#"{{"chittyId":"ID-{n}"}}"#),
                "answer {n} belongs to request {n}"
            );
        }
    });
}

#[test]
fn stray_bytes_on_an_idle_connection_never_answer_the_next_request() {
    runtime().block_on(async {
        // The first answer is followed by a complete, unsolicited second answer.
        let server = raw_server(|n, _| {
            let mut bytes = ok_json(&format!(r#"{{"chittyId":"REAL-{n}"}}"#));
            if n == 0 {
                bytes.extend(ok_json(r#"{"chittyId":"STRAY"}"#));
            }
            bytes
        })
        .await;
        let t = transport(&server.url);
        assert_eq!(&t.send(get("/a")).await.unwrap().body[..], br#"{"chittyId":"REAL-0"}"#);
        tokio::time::sleep(Duration::from_millis(50)).await;
        for _ in 0..3 {
            match t.send(get("/b")).await {
                Ok(r) => {
                    assert_ne!(&r.body[..], br#"{"chittyId":"STRAY"}"#, "a stray answer was handed to a later request")
                }
                Err(e) => assert!(e.may_have_reached_service() || e.code() == "ECONNRESET", "{e:?}"),
            }
        }
    });
}

#[test]
fn conflicting_content_lengths_are_rejected() {
    runtime().block_on(async {
        let server = raw_server(|_, _| {
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 12\r\n\r\n{\"a\":1}xxxxx".to_vec()
        })
        .await;
        let err = transport(&server.url).send(get("/x")).await.unwrap_err();
        assert!(matches!(err.code(), "EBADRESPONSE" | "ECONNRESET"), "{err:?}");
    });
}

#[test]
fn chunk_sizes_never_wrap() {
    runtime().block_on(async {
        // 17 hex digits overflow 64 bits: a framing error at once.
        let server = raw_server(|_, _| {
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\nabc\r\n0\r\n\r\n".to_vec()
        })
        .await;
        let err = transport(&server.url).send(get("/x")).await.unwrap_err();
        assert!(matches!(err.code(), "EBADRESPONSE" | "ECONNRESET"), "{err:?}");
        // u64::MAX itself is taken at its word (not as 0, which would end the body early and
        // leave "abc" to frame the next answer): the body never completes.
        let server = raw_server(|_, _| {
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc\r\n0\r\n\r\n".to_vec()
        })
        .await;
        let err = transport(&server.url).send(Request { timeout_ms: 300, ..get("/x") }).await.unwrap_err();
        assert!(matches!(err.code(), "ETIMEDOUT" | "EBADRESPONSE" | "EBODYTOOLARGE"), "{err:?}");
    });
}

#[test]
fn endless_trailers_do_not_exhaust_memory_or_the_timeout() {
    runtime().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let sent = Arc::new(AtomicUsize::new(0));
        let counter = sent.clone();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            read_request(&mut socket).await;
            socket.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n").await.unwrap();
            let line = format!("X-Trailer: {}\r\n", "t".repeat(1000));
            // Up to ~64 MB, far above any sane trailer size; stops when the client hangs up.
            for _ in 0..64_000 {
                if socket.write_all(line.as_bytes()).await.is_err() {
                    return;
                }
                counter.fetch_add(line.len(), Ordering::SeqCst);
            }
        });
        let t = Transport::new(&TransportConfig { max_response_bytes: 64 * 1024, ..config(&url) }).unwrap();
        let started = std::time::Instant::now();
        let result = t.send(Request { timeout_ms: 20_000, ..get("/x") }).await;
        assert!(result.is_err(), "endless trailers must fail, got {result:?}");
        assert!(started.elapsed() < Duration::from_secs(10), "the client waited {:?}", started.elapsed());
        assert!(
            sent.load(Ordering::SeqCst) < 8 * 1024 * 1024,
            "accepted {} bytes of trailers",
            sent.load(Ordering::SeqCst)
        );
    });
}

#[test]
fn the_size_cap_applies_while_streaming() {
    runtime().block_on(async {
        let server = raw_server(|_, _| chunked_answer(100, 0x400)).await;
        let t = Transport::new(&TransportConfig { max_response_bytes: 10_000, ..config(&server.url) }).unwrap();
        assert_eq!(t.send(get("/x")).await.unwrap_err().code(), "EBODYTOOLARGE");
        let declared = raw_server(|_, _| b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n".to_vec()).await;
        let t = Transport::new(&TransportConfig { max_response_bytes: 10_000, ..config(&declared.url) }).unwrap();
        assert_eq!(t.send(get("/x")).await.unwrap_err().code(), "EBODYTOOLARGE");
    });
}

#[test]
fn a_body_of_several_chunks_exactly_at_the_cap_is_accepted() {
    runtime().block_on(async {
        let server = raw_server(|_, _| chunked_answer(3, 0x190)).await;
        let t = Transport::new(&TransportConfig { max_response_bytes: 3 * 0x190, ..config(&server.url) }).unwrap();
        assert_eq!(t.send(get("/x")).await.unwrap().body.len(), 3 * 0x190);
        let t = Transport::new(&TransportConfig { max_response_bytes: 3 * 0x190 - 1, ..config(&server.url) }).unwrap();
        assert_eq!(t.send(get("/x")).await.unwrap_err().code(), "EBODYTOOLARGE");
    });
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn gzip_answers_are_decoded_and_the_cap_applies_to_the_decoded_body() {
    runtime().block_on(async {
        let small = gzip(br#"{"chittyId":"Z"}"#);
        let bomb = gzip(&vec![b' '; 50 * 1024 * 1024]);
        let server = raw_server(move |n, _| {
            let body = if n == 0 { &small } else { &bomb };
            let mut bytes =
                format!("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", body.len())
                    .into_bytes();
            bytes.extend_from_slice(body);
            bytes
        })
        .await;
        let t = Transport::new(&TransportConfig { max_response_bytes: 1024 * 1024, ..config(&server.url) }).unwrap();
        assert_eq!(&t.send(get("/x")).await.unwrap().body[..], br#"{"chittyId":"Z"}"#);
        assert!(server.requests.lock().unwrap()[0].to_ascii_lowercase().contains("gzip"));
        assert_eq!(t.send(get("/x")).await.unwrap_err().code(), "EBODYTOOLARGE");
    });
}

#[test]
fn a_reason_phrase_from_the_server_is_kept() {
    runtime().block_on(async {
        let server = raw_server(|_, _| {
            b"HTTP/1.1 503 Down For Maintenance\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n".to_vec()
        })
        .await;
        let r = transport(&server.url).send(get("/x")).await.unwrap();
        assert_eq!(
            (r.status, r.status_text.as_str(), r.retry_after.as_deref()),
            (503, "Down For Maintenance", Some("7"))
        );
    });
}

fn redirect(status: u16, location: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n").into_bytes()
}

#[test]
fn redirects_follow_fetch_rules() {
    runtime().block_on(async {
        for (status, method, body_kept) in
            [(301, "POST", false), (302, "POST", false), (303, "POST", false), (307, "POST", true), (308, "POST", true)]
        {
            let server =
                raw_server(
                    move |n, _| if n == 0 { redirect(status, "/api/v1/mint") } else { ok_json(r#"{"chittyId":"R"}"#) },
                )
                .await;
            let r = transport(&server.url).send(post("/mint", r#"{"entity":"PEO"}"#, "kk")).await.unwrap();
            assert_eq!(&r.body[..], br#"{"chittyId":"R"}"#);
            let seen = server.requests.lock().unwrap().clone();
            let expected_method = if body_kept { method } else { "GET" };
            assert!(seen[1].starts_with(&format!("{expected_method} /api/v1/mint ")), "{status}: {}", seen[1]);
            assert_eq!(seen[1].contains(r#"{"entity":"PEO"}"#), body_kept, "{status}");
            assert!(seen[1].to_ascii_lowercase().contains("authorization: bearer k3y"), "same origin keeps the key");
            assert!(seen[1].to_ascii_lowercase().contains("idempotency-key: kk"), "the key travels");
        }
    });
}

#[test]
fn a_redirect_to_another_origin_drops_the_api_key() {
    runtime().block_on(async {
        let other = raw_server(|_, _| ok_json(r#"{"ok":true}"#)).await;
        let target = format!("{}/elsewhere", other.url.replace("127.0.0.1", "localhost"));
        let server = raw_server(move |_, _| redirect(302, &target)).await;
        transport(&server.url).send(get("/health")).await.unwrap();
        let seen = other.requests.lock().unwrap()[0].to_ascii_lowercase();
        assert!(!seen.contains("authorization"), "{seen}");
        assert!(!seen.contains("k3y"), "{seen}");
    });
}

#[test]
fn redirect_loops_stop_after_twenty_hops() {
    runtime().block_on(async {
        let server = raw_server(|n, _| redirect(302, &format!("/v1/hop{n}"))).await;
        let err = transport(&server.url).send(get("/x")).await.unwrap_err();
        assert_eq!(err.code(), "ERR_TOO_MANY_REDIRECTS", "{err:?}");
        assert_eq!(server.requests.lock().unwrap().len(), MAX_REDIRECTS + 1);
        assert!(err.leaves_mint_outcome_unknown());
    });
}

#[test]
fn plain_http_redirects_to_remote_hosts_are_refused() {
    runtime().block_on(async {
        let server = raw_server(|_, _| redirect(302, "http://192.0.2.1/v1/x")).await;
        let err = transport(&server.url).send(get("/x")).await.unwrap_err();
        assert_eq!(err.code(), "ERR_INSECURE_REDIRECT", "{err:?}");
        // The service answered the request with the redirect: it reached the service, so a
        // mint's outcome is unknown (a service that minted may redirect to the result).
        assert!(err.may_have_reached_service());
        assert!(err.leaves_mint_outcome_unknown());
    });
}

#[test]
fn requests_in_flight_are_bounded_by_max_connections() {
    runtime().block_on(async {
        let server = raw_server(|_, _| ok_json("{}")).await;
        let t = Arc::new(Transport::new(&TransportConfig { max_connections: 4, ..config(&server.url) }).unwrap());
        let calls: Vec<_> = (0..400)
            .map(|_| {
                let t = t.clone();
                tokio::spawn(async move { t.send(get("/x")).await.map(|r| r.status) })
            })
            .collect();
        for call in calls {
            assert_eq!(call.await.unwrap().unwrap(), 200);
        }
        let connections = server.connections.load(Ordering::SeqCst);
        assert!((1..=4).contains(&connections), "{connections} connections");
    });
}

#[test]
fn connect_failures_are_connect_phase_and_named_like_node() {
    runtime().block_on(async {
        let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
        let refused = transport(&format!("http://127.0.0.1:{port}")).send(get("/x")).await.unwrap_err();
        assert_eq!(refused.code(), "ECONNREFUSED", "{refused:?}");
        assert!(!refused.may_have_reached_service());
        assert!(refused.to_string().contains(&format!("connect ECONNREFUSED 127.0.0.1:{port}")), "{refused}");
        let missing =
            Transport::new(&TransportConfig { allow_insecure: true, ..config("http://no-such-host.invalid") }).unwrap();
        let err = missing.send(get("/x")).await.unwrap_err();
        assert_eq!(err.code(), "ENOTFOUND", "{err:?}");
        assert!(!err.may_have_reached_service());
    });
}

#[test]
fn a_reset_after_sending_may_have_reached_the_service() {
    runtime().block_on(async {
        let server = raw_server(|_, _| Vec::new()).await; // reads the request, then hangs up
        let err = transport(&server.url).send(post("/mint", "{}", "k")).await.unwrap_err();
        assert_eq!(err.code(), "ECONNRESET", "{err:?}");
        assert!(err.may_have_reached_service());
    });
}

#[test]
fn a_silent_server_times_out_after_the_request_was_sent() {
    runtime().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            read_request(&mut socket).await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let err = transport(&url).send(Request { timeout_ms: 200, ..get("/x") }).await.unwrap_err();
        assert_eq!(err, ClientError::Timeout { after_ms: 200, phase: Phase::Exchange });
    });
}

#[test]
fn plain_http_names_must_resolve_to_loopback() {
    runtime().block_on(async {
        let server = raw_server(|_, _| ok_json("{}")).await;
        let port = server.url.split(':').nth(2).unwrap().split('/').next().unwrap().to_owned();
        // `localhost` resolves to loopback: allowed.
        assert_eq!(transport(&format!("http://localhost:{port}/v1")).send(get("/x")).await.unwrap().status, 200);
        let t = transport(&format!("http://no-such-name.invalid:{port}"));
        assert_eq!(t.send(get("/x")).await.unwrap_err().code(), "ENOTFOUND");
    });
}

#[test]
fn an_explicit_proxy_receives_absolute_form_requests() {
    runtime().block_on(async {
        let proxy = raw_server(|_, _| ok_json(r#"{"via":"proxy"}"#)).await;
        let proxy_url = proxy.url.trim_end_matches("/v1").to_owned();
        let t =
            Transport::new(&TransportConfig { proxy: ProxySetting::Url(proxy_url), ..config("http://127.0.0.1:9/v1") })
                .unwrap();
        assert_eq!(&t.send(get("/health")).await.unwrap().body[..], br#"{"via":"proxy"}"#);
        assert!(proxy.requests.lock().unwrap()[0].starts_with("GET http://127.0.0.1:9/v1/health HTTP/1.1"));
    });
}

#[test]
fn a_calls_extra_headers_are_sent_and_can_never_replace_the_clients_own() {
    struct NoWake;
    impl crate::observe::telemetry::Wake for NoWake {
        fn wake(&self) {}
    }
    runtime().block_on(async {
        let server = raw_server(|_, _| ok_json(r#"{"chittyId":"X"}"#)).await;
        let t = transport(&server.url);
        let telemetry = Arc::new(crate::observe::telemetry::Telemetry::new(Arc::new(NoWake)));
        // Built by hand, past `parse_headers`, as a bug elsewhere might: the transport still
        // drops the reserved names.
        let headers: crate::observe::telemetry::Headers = vec![
            ("traceparent".to_owned(), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned()),
            ("authorization".to_owned(), "Bearer stolen".to_owned()),
            ("idempotency-key".to_owned(), "other".to_owned()),
        ]
        .into();
        let scope =
            crate::observe::telemetry::CallScope::new(1, crate::exchange::Operation::Mint, &telemetry, Some(headers));
        crate::observe::telemetry::scoped(scope, t.send(post("/mint", r#"{"entity":"PEO"}"#, "key-1"))).await.unwrap();
        t.send(post("/mint", r#"{"entity":"PEO"}"#, "key-2")).await.unwrap();
        let seen = server.requests.lock().unwrap().clone();
        let first = seen[0].to_ascii_lowercase();
        assert!(first.contains("traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"), "{first}");
        assert_eq!(first.matches("authorization:").count(), 1, "{first}");
        assert!(
            first.contains("authorization: bearer k3y\r\n") && first.contains("idempotency-key: key-1\r\n"),
            "{first}"
        );
        assert!(!first.contains("stolen") && !first.contains("idempotency-key: other"), "{first}");
        assert!(!seen[1].to_ascii_lowercase().contains("traceparent"), "outside the call's scope: {}", seen[1]);
    });
}
