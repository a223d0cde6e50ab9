//! A stand-in HTTP server in front of real logs: for each request, a test's
//! rule answers it itself or forwards it (its body perhaps changed) to a
//! log. One request per connection, enough HTTP/1.1 for reqwest.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// A request as the rule sees it.
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: Vec<u8>,
    /// Reports (`POST /v1/reports`) received so far, this one included.
    pub posts_so_far: usize,
}

impl Request {
    pub fn is_report(&self) -> bool {
        self.method == "POST" && self.path == "/v1/reports"
    }
}

/// What the stand-in does with a request.
pub enum Reply {
    /// Sends the request, with this body, to the log at this base URL, and
    /// its answer back.
    Forward(String, Vec<u8>),
    Answer {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
}

impl Reply {
    /// An RFC 9457 problem with this status and detail.
    pub fn problem(status: u16, detail: &str) -> Reply {
        Reply::Answer {
            status,
            headers: vec![("content-type", "application/problem+json".into())],
            body: format!(r#"{{"status":{status},"detail":"{detail}"}}"#).into_bytes(),
        }
    }

    /// The request, unchanged, to the log at `base`.
    pub fn forward(base: &str, request: &Request) -> Reply {
        Reply::Forward(base.to_owned(), request.body.clone())
    }
}

pub struct StandIn {
    pub base: String,
    reports: Arc<AtomicUsize>,
}

type Rule = dyn Fn(&Request) -> Reply + Send + Sync;

impl StandIn {
    /// Serves on a new port of 127.0.0.1 until the test ends.
    pub async fn start(rule: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let reports = Arc::new(AtomicUsize::new(0));
        let rule: Arc<Rule> = Arc::new(rule);
        let counted = reports.clone();
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let (rule, counted, http) = (rule.clone(), counted.clone(), http.clone());
                tokio::spawn(async move { serve(stream, &*rule, &counted, &http).await });
            }
        });
        StandIn { base, reports }
    }

    /// In front of the log at `upstream`: `rule`'s answer, or the request
    /// forwarded unchanged where it has none.
    pub async fn before(
        upstream: &str,
        rule: impl Fn(&Request) -> Option<Reply> + Send + Sync + 'static,
    ) -> StandIn {
        let upstream = upstream.to_owned();
        StandIn::start(move |request| {
            rule(request).unwrap_or_else(|| Reply::forward(&upstream, request))
        })
        .await
    }

    /// Reports received.
    pub fn reports(&self) -> usize {
        self.reports.load(Ordering::SeqCst)
    }
}

async fn serve(mut stream: TcpStream, rule: &Rule, reports: &AtomicUsize, http: &reqwest::Client) {
    let Some((method, path, body)) = read_request(&mut stream).await else {
        return;
    };
    let is_report = method == "POST" && path == "/v1/reports";
    let posts_so_far = if is_report {
        reports.fetch_add(1, Ordering::SeqCst) + 1
    } else {
        reports.load(Ordering::SeqCst)
    };
    let request = Request {
        method,
        path,
        body,
        posts_so_far,
    };
    let (status, headers, body) = match rule(&request) {
        Reply::Answer {
            status,
            headers,
            body,
        } => (status, headers, body),
        Reply::Forward(base, body) => forward(http, &base, &request, body).await,
    };
    let mut head = format!("HTTP/1.1 {status} Stand-In\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(&body).await;
    let _ = stream.shutdown().await;
}

/// The request line and body (by its `content-length`).
async fn read_request(stream: &mut TcpStream) -> Option<(String, String, Vec<u8>)> {
    let mut bytes = Vec::new();
    let mut chunk = [0; 4096];
    let head_end = loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 || bytes.len() > 64 << 10 {
            return None;
        }
        bytes.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let mut words = head.split_whitespace();
    let (method, path) = (words.next()?.to_owned(), words.next()?.to_owned());
    let length: usize = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, value)| value.trim().parse().unwrap());
    let mut body = bytes.split_off(head_end);
    while body.len() < length {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    Some((method, path, body))
}

/// The log's answer to the request, with `body`: status, the headers a
/// client reads, body.
async fn forward(
    http: &reqwest::Client,
    base: &str,
    request: &Request,
    body: Vec<u8>,
) -> (u16, Vec<(&'static str, String)>, Vec<u8>) {
    let url = format!("{base}{}", request.path);
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap();
    let mut outbound = http.request(method, url);
    if request.method == "POST" {
        outbound = outbound
            .header("content-type", "application/json")
            .body(body);
    }
    let answer = outbound.send().await.unwrap();
    let status = answer.status().as_u16();
    let headers = ["content-type", "retry-after"]
        .into_iter()
        .filter_map(|name| {
            let value = answer.headers().get(name)?.to_str().ok()?.to_owned();
            Some((name, value))
        })
        .collect();
    (status, headers, answer.bytes().await.unwrap().to_vec())
}
