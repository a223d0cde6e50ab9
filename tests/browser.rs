//! The pages in a real browser: headless Chromium, driven over the
//! DevTools protocol, against a server with a published log. It loads the
//! three pages, runs the nonce lookup as a person would (types the nonce,
//! clicks), and checks that no request leaves the server's origin, that
//! the nonce is in no request, and that the console stays free of errors
//! (a CSP violation is one). Screenshots go to `target/screenshots/`.
//!
//! Ignored by default, since it needs Chromium: `.ci/run` installs it and
//! runs `cargo test --test browser -- --ignored`. `LUCENT_CHROMIUM` names
//! another binary.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use common::{TestServer, config, nonce, report};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use lucent::clock::ManualClock;
use lucent_core::period::Period;
use lucent_core::record::Nonce;
use serde_json::{Value, json};
use time::macros::datetime;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const WAIT: Duration = Duration::from_secs(20);

/// A headless Chromium that this test started, with its own profile; it
/// is killed when dropped.
struct Chromium {
    child: Child,
    profile: tempfile::TempDir,
}

impl Chromium {
    fn start() -> Chromium {
        let binary = std::env::var("LUCENT_CHROMIUM").unwrap_or_else(|_| "chromium".into());
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(&binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--no-default-browser-check",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {binary}: {e} (install chromium)"));
        Chromium { child, profile }
    }

    /// The DevTools port, which Chromium writes into its profile.
    async fn port(&self) -> u16 {
        let file = self.profile.path().join("DevToolsActivePort");
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(text) = std::fs::read_to_string(&file)
                && let Some(port) = text.lines().next().and_then(|l| l.parse().ok())
            {
                return port;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "Chromium wrote no DevToolsActivePort"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A DevTools protocol session with one page: commands answered by id,
/// every event kept in order.
struct Page {
    sink: tokio::sync::Mutex<SplitSink<Socket, Message>>,
    waiting: Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>,
    events: Arc<Mutex<Vec<Value>>>,
    next_id: AtomicU64,
}

impl Page {
    async fn attach(browser: &Chromium) -> Page {
        let port = browser.port().await;
        let list = format!("http://127.0.0.1:{port}/json/list");
        let deadline = tokio::time::Instant::now() + WAIT;
        let url = loop {
            let targets: Vec<Value> = reqwest::get(&list).await.unwrap().json().await.unwrap();
            if let Some(page) = targets.iter().find(|t| t["type"] == "page") {
                break page["webSocketDebuggerUrl"].as_str().unwrap().to_owned();
            }
            assert!(tokio::time::Instant::now() < deadline, "no page target");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let (sink, mut stream) = socket.split();
        let waiting: Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>> = Arc::default();
        let events: Arc<Mutex<Vec<Value>>> = Arc::default();
        let (answers, log) = (waiting.clone(), events.clone());
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let message: Value = serde_json::from_str(text.as_str()).unwrap();
                match message["id"].as_u64() {
                    Some(id) => {
                        if let Some(reply) = answers.lock().unwrap().remove(&id) {
                            let _ = reply.send(message);
                        }
                    }
                    None => log.lock().unwrap().push(message),
                }
            }
        });
        let page = Page {
            sink: tokio::sync::Mutex::new(sink),
            waiting,
            events,
            next_id: AtomicU64::new(1),
        };
        for domain in ["Page", "Runtime", "Network", "Log"] {
            page.call(&format!("{domain}.enable"), json!({})).await;
        }
        page
    }

    async fn call(&self, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        self.waiting.lock().unwrap().insert(id, reply);
        let command = json!({"id": id, "method": method, "params": params});
        self.sink
            .lock()
            .await
            .send(Message::text(command.to_string()))
            .await
            .unwrap();
        let answer = tokio::time::timeout(WAIT, answer)
            .await
            .unwrap_or_else(|_| panic!("{method}: no answer"))
            .unwrap();
        assert!(answer["error"].is_null(), "{method}: {answer}");
        answer["result"].clone()
    }

    /// Evaluates JavaScript in the page (awaiting a promise) and returns
    /// its value.
    async fn eval(&self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        assert!(
            result["exceptionDetails"].is_null(),
            "{expression}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// Polls `condition` (JavaScript) until it is true.
    async fn wait_until(&self, condition: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.eval(condition).await != json!(true) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "waited in vain for {condition}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn event_count(&self, method: &str) -> usize {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e["method"] == method)
            .count()
    }

    async fn open(&self, url: &str) {
        let loads = self.event_count("Page.loadEventFired");
        self.call("Page.navigate", json!({"url": url})).await;
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.event_count("Page.loadEventFired") == loads {
            assert!(tokio::time::Instant::now() < deadline, "{url} never loaded");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn viewport(&self, width: u32, height: u32, mobile: bool) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        )
        .await;
    }

    /// A PNG of the whole page, as tall as its content.
    async fn screenshot(&self, path: &Path) {
        let metrics = self.call("Page.getLayoutMetrics", json!({})).await;
        let size = &metrics["cssContentSize"];
        let shot = self
            .call(
                "Page.captureScreenshot",
                json!({
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
                }),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Clicks the middle of the element `selector` selects, with the mouse.
    async fn click(&self, selector: &str) {
        let rect = self
            .eval(&format!(
                "(() => {{ const r = document.querySelector({selector:?}).getBoundingClientRect(); \
                 return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
            ))
            .await;
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": rect[0], "y": rect[1], "button": "left", "clickCount": 1}),
            )
            .await;
        }
    }

    fn events(&self) -> Vec<Value> {
        self.events.lock().unwrap().clone()
    }
}

/// Console errors, uncaught exceptions and browser errors (CSP violations
/// among them) in `events`.
fn errors(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| {
            let params = &e["params"];
            match e["method"].as_str()? {
                "Runtime.consoleAPICalled"
                    if matches!(params["type"].as_str(), Some("error" | "assert")) =>
                {
                    Some(format!("console: {}", params["args"]))
                }
                "Runtime.exceptionThrown" => {
                    Some(format!("exception: {}", params["exceptionDetails"]))
                }
                "Log.entryAdded" if params["entry"]["level"] == "error" => {
                    Some(format!("log: {}", params["entry"]["text"]))
                }
                _ => None,
            }
        })
        .collect()
}

fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Nothing wider than the screen: no sideways scrolling. (A phone's
/// browser widens its layout to fit a page too wide, so the layout must
/// also keep the screen's width.)
async fn assert_fits(page: &Page, width: u32, what: &str) {
    assert_eq!(
        page.eval(&format!(
            "window.innerWidth == {width} && \
             document.documentElement.scrollWidth <= window.innerWidth"
        ))
        .await,
        true,
        "{what}: wider than the screen"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium; .ci/run installs it and runs this test"]
async fn the_pages_in_a_real_browser() {
    // A log of two published days; the owner's third report is pending.
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-11-24 08:00:00 UTC));
    let server = TestServer::start(config(dir.path(), "localhost", Period::DAY), clock).await;
    let owner = nonce().to_uppercase();
    let hash = Nonce::parse(&owner).unwrap().deployment().to_string();
    for (at, others) in [
        (datetime!(2026-11-24 08:00:00 UTC), 6),
        (datetime!(2026-11-25 08:00:00 UTC), 4),
    ] {
        server.set_time(at).await;
        assert_eq!(server.post(report(&owner, 120)).await.0, 202);
        for i in 0..others {
            assert_eq!(server.post(report(&nonce(), i)).await.0, 202);
        }
    }
    server.set_time(datetime!(2026-11-26 08:00:00 UTC)).await;
    assert_eq!(server.post(report(&owner, 7)).await.0, 202);

    let shots = screenshots_dir();
    let browser = Chromium::start();
    let page = Page::attach(&browser).await;
    let base = &server.base;

    for (path, name) in [("/", "index"), ("/docs", "docs"), ("/stats", "stats")] {
        for (width, height, mobile, device) in
            [(1280, 900, false, "desktop"), (390, 844, true, "phone")]
        {
            page.viewport(width, height, mobile).await;
            page.open(&format!("{base}{path}")).await;
            page.screenshot(&shots.join(format!("{name}-{device}.png")))
                .await;
            assert_fits(&page, width, &format!("{path} on a {device}")).await;
        }
    }
    assert_eq!(
        page.eval("document.getElementById('stats-size').textContent")
            .await,
        "12"
    );
    // The dark colour scheme, for those whose system asks for it.
    let dark = json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]});
    page.call("Emulation.setEmulatedMedia", dark).await;
    page.viewport(1280, 900, false).await;
    page.open(&format!("{base}/stats")).await;
    page.screenshot(&shots.join("stats-desktop-dark.png")).await;
    page.call("Emulation.setEmulatedMedia", json!({"features": []}))
        .await;

    // The owner types the nonce (as its config file spells it, in capitals)
    // and clicks: the two published entries appear, the pending one does not.
    for (width, height, mobile, device) in
        [(1280, 900, false, "desktop"), (390, 844, true, "phone")]
    {
        page.viewport(width, height, mobile).await;
        page.open(&format!("{base}/deployment")).await;
        page.wait_until("!document.getElementById('nonce-lookup').hidden")
            .await;
        page.eval("document.getElementById('nonce').focus()").await;
        page.call("Input.insertText", json!({"text": owner})).await;
        page.click("#nonce-form button").await;
        page.wait_until("document.querySelectorAll('#deployment-entries tbody tr').length > 0")
            .await;
        let days = page
            .eval("[...document.querySelectorAll('#deployment-entries tbody tr')].map(r => r.cells[1].textContent)")
            .await;
        assert_eq!(days, json!(["2026-11-24", "2026-11-25"]));
        let shown = page
            .eval("document.querySelector('#result code.hash').textContent")
            .await;
        assert_eq!(shown, hash.as_str());
        // The form was not submitted: still the same page, no query.
        assert_eq!(page.eval("location.search").await, "");
        page.screenshot(&shots.join(format!("deployment-{device}.png")))
            .await;
        assert_fits(&page, width, &format!("the lookup's result on a {device}")).await;
    }

    // Without the script's help: the entries of a prefix, drawn by the server.
    page.viewport(1280, 900, false).await;
    page.open(&format!("{base}/deployment?prefix={}", &hash[..2]))
        .await;
    let listed = page
        .eval("[...document.querySelectorAll('section[aria-labelledby=prefix-results] li')].map(l => l.textContent).join(' ')")
        .await;
    assert_eq!(listed.as_str().unwrap().matches(hash.as_str()).count(), 2);
    page.screenshot(&shots.join("deployment-prefix-desktop.png"))
        .await;

    let events = page.events();
    let console_errors = errors(&events);
    assert!(
        console_errors.is_empty(),
        "console errors: {console_errors:#?}"
    );
    let requests: Vec<&Value> = events
        .iter()
        .filter(|e| e["method"] == "Network.requestWillBeSent")
        .map(|e| &e["params"]["request"])
        .collect();
    assert!(
        requests
            .iter()
            .any(|r| r["url"].as_str().unwrap().contains("/v1/deployments/")),
        "the lookup asked the server"
    );
    for request in &requests {
        let url = request["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("{base}/")) || url.starts_with("data:"),
            "a request left the server's origin: {url}"
        );
        let text = format!("{url} {}", request["postData"]).to_lowercase();
        assert!(
            !text.contains(&owner.to_lowercase()),
            "the nonce was sent: {request}"
        );
        assert!(
            !text.contains(&hash),
            "the whole deployment hash was sent: {request}"
        );
    }

    // The error check sees CSP violations: an inline style is one.
    page.eval("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")
        .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !errors(&page.events())
        .iter()
        .any(|e| e.contains("Content Security Policy"))
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no CSP violation was reported"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    drop(page);
    drop(browser);
    server.stop().await;
}
