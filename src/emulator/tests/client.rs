//! A minimal blocking HTTP/1.1 client over one keep-alive TCP connection.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::emulator::Emulator;

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("invalid JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

pub struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(emulator: &Emulator) -> Client {
        Client::connect_port(emulator.port()).expect("connects")
    }

    pub fn connect_port(port: u16) -> io::Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.set_nodelay(true)?;
        Ok(Client { reader: BufReader::new(stream) })
    }

    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> io::Result<HttpResponse> {
        let mut all_headers = headers.to_vec();
        let length = body.map(|b| b.len().to_string());
        if let Some(length) = &length {
            all_headers.push(("Content-Type", "application/json"));
            all_headers.push(("Content-Length", length));
        }
        self.send_raw_body(method, path, &all_headers, body.unwrap_or(""))
    }

    /// Sends `raw_body` as is, after exactly the given headers.
    pub fn send_raw_body(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        raw_body: &str,
    ) -> io::Result<HttpResponse> {
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(raw_body);
        self.reader.get_mut().write_all(request.as_bytes())?;
        self.read_response()
    }

    pub fn get(&mut self, path: &str) -> HttpResponse {
        self.send("GET", path, &[], None).expect("GET answered")
    }

    pub fn post(&mut self, path: &str, body: &str) -> HttpResponse {
        self.send("POST", path, &[], Some(body)).expect("POST answered")
    }

    pub fn post_with(&mut self, path: &str, headers: &[(&str, &str)], body: &str) -> HttpResponse {
        self.send("POST", path, headers, Some(body)).expect("POST answered")
    }

    fn read_response(&mut self) -> io::Result<HttpResponse> {
        let status_line = self.read_line()?;
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, status_line.clone()))?;
        let mut headers = Vec::new();
        loop {
            let line = self.read_line()?;
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap_or((&line, ""));
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
        let mut response = HttpResponse { status, headers, body: Vec::new() };
        let length: usize = response.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        response.body.resize(length, 0);
        self.reader.read_exact(&mut response.body)?;
        Ok(response)
    }

    fn read_line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed before a response"));
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}
