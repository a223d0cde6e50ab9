//! The pages behind a real reverse proxy under a path prefix: nginx (from
//! Debian; `.ci/run` installs it), configured with the `location` block of
//! docs/OPERATING.md itself, serves lucent under `/lucent/`. Every link,
//! style sheet, script, form and API path the pages name must answer
//! through it. Run with `cargo test --test proxy -- --ignored`.

mod common;

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};

use common::{TestServer, config, nonce, report};
use lucent::clock::ManualClock;
use lucent_core::period::Period;
use reqwest::Url;
use time::macros::datetime;

/// The `location /lucent/ { … }` block of the guide's nginx example.
fn documented_location() -> String {
    let guide = include_str!("../docs/OPERATING.md");
    let start = guide
        .find("    location /lucent/ {")
        .expect("the guide's nginx example");
    let end = start + guide[start..].find("\n    }\n").expect("its end") + "\n    }\n".len();
    guide[start..end].to_owned()
}

/// nginx, stopped (SIGTERM, so that its workers stop too) when dropped,
/// also when the test fails.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        // SAFETY: a signal to our own child process.
        unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

/// nginx in the foreground, with everything it writes in `dir`, proxying
/// `/lucent/` to the server at `upstream` as the guide says.
fn start_nginx(dir: &std::path::Path, upstream: &str) -> (Nginx, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let location = documented_location().replace("127.0.0.1:8080", upstream);
    let path = dir.display();
    let conf = format!(
        "pid {path}/nginx.pid;\nerror_log {path}/error.log;\nevents {{}}\nhttp {{\n\
         client_body_temp_path {path}/body;\nproxy_temp_path {path}/proxy;\n\
         fastcgi_temp_path {path}/fastcgi;\nuwsgi_temp_path {path}/uwsgi;\n\
         scgi_temp_path {path}/scgi;\n\
         server {{\n    listen 127.0.0.1:{port};\n    access_log off;\n{location}}}\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new("nginx")
        .args([
            "-p",
            &path.to_string(),
            "-c",
            "nginx.conf",
            "-g",
            "daemon off;",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx is installed (.ci/run installs it)");
    (Nginx(child), port)
}

/// Every `src`, `href` and `action` of an HTML page.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\"", "action=\""] {
        for (at, _) in html.match_indices(attribute) {
            let value = &html[at + attribute.len()..];
            found.push(value[..value.find('"').unwrap()].replace("&amp;", "&"));
        }
    }
    found
}

#[tokio::test]
#[ignore = "needs nginx: cargo test --test proxy -- --ignored"]
async fn every_page_works_under_a_path_prefix_through_nginx() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = TestServer::start(
        config(&data, "example.com/lucent", Period::DAY),
        ManualClock::new(datetime!(2026-11-24 08:00 UTC)),
    )
    .await;
    let (_, promise) = server.post(report(&nonce(), 1)).await;
    server.set_time(datetime!(2026-11-25 08:00 UTC)).await;
    let upstream = server.base.trim_start_matches("http://").to_owned();
    let (nginx, port) = start_nginx(dir.path(), &upstream);
    let client = reqwest::Client::new();
    let base = Url::parse(&format!("http://127.0.0.1:{port}/lucent/")).unwrap();
    // nginx is up once it answers.
    let mut index = None;
    for _ in 0..200 {
        if let Ok(answer) = client.get(base.clone()).send().await {
            index = Some(answer);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let index = index.expect("nginx answers");
    assert_eq!(index.status(), 200);

    // The pages, and every reference on them, through the proxy.
    let mut pages: BTreeSet<Url> = [base.clone()].into();
    let mut checked: BTreeSet<Url> = BTreeSet::new();
    while let Some(page) = pages.pop_first() {
        if !checked.insert(page.clone()) {
            continue;
        }
        let answer = client.get(page.clone()).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{page}");
        let is_html = answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html");
        let body = answer.text().await.unwrap();
        if !is_html {
            continue;
        }
        for reference in references(&body) {
            if reference.starts_with('#') || reference.starts_with("data:") {
                continue;
            }
            let mut url = page.join(&reference).unwrap();
            url.set_fragment(None);
            assert!(
                url.as_str().starts_with(base.as_str()),
                "{page} refers to {reference}, outside the prefix"
            );
            pages.insert(url);
        }
    }
    for expected in [
        "stats",
        "deployment",
        "docs",
        "assets/lucent.css",
        "assets/deployment.js",
    ] {
        assert!(
            checked.contains(&base.join(expected).unwrap()),
            "{expected} is not linked: {checked:?}"
        );
    }
    // The page's script asks the API relative to the page, as here.
    let deployment = promise["deployment"].as_str().unwrap();
    let lookup = Url::parse(&format!("{base}deployment"))
        .unwrap()
        .join(&format!(
            "v1/deployments/{}/entries?limit=10",
            &deployment[..4]
        ))
        .unwrap();
    let (status, entries) = {
        let answer = client.get(lookup).send().await.unwrap();
        (
            answer.status(),
            answer.json::<serde_json::Value>().await.unwrap(),
        )
    };
    assert_eq!(status, 200);
    let entry = entries["entries"][0]["entry"].as_str().unwrap();
    assert!(entry.contains(deployment), "{entries}");

    drop(nginx);
    server.stop().await;
}
