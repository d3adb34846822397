//! A raw HTTP/1.1 client over `std::net::TcpStream`: exact request lines (forbidden characters,
//! odd verbs, repeated slashes), `Connection: close`, chunked decoding of responses.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A response, fully read.
#[derive(Debug, Clone)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl Resp {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text()))
    }
}

/// Builds one request.
pub struct Req {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    chunked: Option<Vec<Vec<u8>>>,
}

/// Starts a request.
pub fn req(method: &str, target: &str) -> Req {
    Req { method: method.into(), target: target.into(), headers: Vec::new(), body: None, chunked: None }
}

impl Req {
    /// Adds a header.
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }

    /// Sets a body sent with `Content-Length`.
    pub fn body(mut self, b: impl Into<Vec<u8>>) -> Self {
        self.body = Some(b.into());
        self
    }

    /// Sets a body sent chunked.
    pub fn chunked(mut self, chunks: Vec<Vec<u8>>) -> Self {
        self.chunked = Some(chunks);
        self
    }

    /// Sends to 127.0.0.1:`port` and reads the whole response.
    pub fn send(self, port: u16) -> Resp {
        let mut s = connect(port);
        self.write_to(&mut s);
        read_response(&mut s, self.method == "HEAD")
    }

    /// Writes the request.
    pub fn write_to(&self, s: &mut TcpStream) {
        let mut head = format!("{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\n", self.method, self.target);
        // Close after the response unless the test sends its own Connection header (then it
        // must include `close` itself).
        if !self.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("connection")) {
            head.push_str("Connection: close\r\n");
        }
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(b) = &self.body {
            head.push_str(&format!("Content-Length: {}\r\n", b.len()));
        }
        if self.chunked.is_some() {
            head.push_str("Transfer-Encoding: chunked\r\n");
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        if let Some(b) = &self.body {
            s.write_all(b).unwrap();
        }
        if let Some(chunks) = &self.chunked {
            for c in chunks {
                s.write_all(format!("{:x}\r\n", c.len()).as_bytes()).unwrap();
                s.write_all(c).unwrap();
                s.write_all(b"\r\n").unwrap();
            }
            s.write_all(b"0\r\n\r\n").unwrap();
        }
        s.flush().unwrap();
    }
}

/// A connection to 127.0.0.1:`port` with a generous read timeout.
pub fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("connect to {port}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s
}

/// Reads a response head and its body (to EOF, by length, or de-chunked).
pub fn read_response(s: &mut TcpStream, head_only: bool) -> Resp {
    let mut r = BufReader::new(s);
    let (status, headers) = read_head(&mut r);
    let mut body = Vec::new();
    let chunked =
        headers.iter().any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let length =
        headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse::<usize>().ok());
    if head_only || status == 204 || status == 304 {
    } else if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).unwrap();
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
            if n == 0 {
                let mut trailer = String::new();
                let _ = r.read_line(&mut trailer);
                break;
            }
            let mut chunk = vec![0; n];
            r.read_exact(&mut chunk).unwrap();
            body.extend_from_slice(&chunk);
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf).unwrap();
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        r.read_exact(&mut body).unwrap();
    } else {
        r.read_to_end(&mut body).unwrap();
    }
    Resp { status, headers, body }
}

/// Reads a status line and headers.
pub fn read_head(r: &mut impl BufRead) -> (u16, Vec<(String, String)>) {
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    (status, headers)
}

/// `GET` shorthand.
pub fn get(port: u16, target: &str) -> Resp {
    req("GET", target).send(port)
}

/// `POST` with a body shorthand.
pub fn post(port: u16, target: &str, body: &str) -> Resp {
    req("POST", target).header("Content-Type", "application/json").body(body).send(port)
}

/// Reads a response, counting (not keeping) its body bytes: for bodies too big for memory.
pub fn read_response_counting(s: &mut TcpStream) -> (u16, Vec<(String, String)>, u64) {
    let mut r = BufReader::with_capacity(256 * 1024, s);
    let (status, headers) = read_head(&mut r);
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let mut total = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).unwrap();
            let mut n = usize::from_str_radix(size.trim(), 16).unwrap();
            if n == 0 {
                break;
            }
            while n > 0 {
                let take = n.min(buf.len());
                r.read_exact(&mut buf[..take]).unwrap();
                assert!(buf[..take].iter().all(|b| *b == b'x'), "body corrupted");
                total += take as u64;
                n -= take;
            }
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf).unwrap();
        }
    } else {
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            total += n as u64;
        }
    }
    (status, headers, total)
}

/// Writes `n` bytes of `x` in 64 KiB writes, chunk-encoded when `chunked`.
pub fn write_pattern(s: &mut TcpStream, n: u64, chunked: bool) {
    let block = vec![b'x'; 64 * 1024];
    let mut left = n;
    while left > 0 {
        let take = left.min(block.len() as u64) as usize;
        if chunked {
            s.write_all(format!("{take:x}\r\n").as_bytes()).unwrap();
        }
        s.write_all(&block[..take]).unwrap();
        if chunked {
            s.write_all(b"\r\n").unwrap();
        }
        left -= take as u64;
    }
    if chunked {
        s.write_all(b"0\r\n\r\n").unwrap();
    }
    s.flush().unwrap();
}
