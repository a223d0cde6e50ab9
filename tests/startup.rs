//! The real binary's first-run mistakes: each error said once, with a hint
//! where one helps, no backtrace unless asked, nothing created by a server
//! that could not start, and output into a closed pipe ending quietly.

mod common;

use std::process::{Command, Output, Stdio};

use common::spawn_binary;

fn lucent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lucent"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

/// stderr, which must hold one error line and nothing of a backtrace.
fn error_text(output: &Output) -> String {
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    let errors = stderr.lines().filter(|l| l.starts_with("error: ")).count();
    assert_eq!(errors, 1, "{stderr}");
    for noise in ["Caused by", "panicked", "stack backtrace", "RUST_BACKTRACE"] {
        assert!(!stderr.contains(noise), "{stderr}");
    }
    stderr
}

#[test]
fn a_data_dir_that_is_a_file_is_not_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data");
    std::fs::write(&file, "not a directory").unwrap();
    let file = file.to_str().unwrap();
    let stderr = error_text(&lucent(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        file,
    ]));
    assert!(
        stderr.contains(&format!("error: {file} is not a directory")),
        "{stderr}"
    );
}

/// The address is checked before a log is created: a server that cannot
/// listen leaves no new data directory behind.
#[test]
fn an_address_in_use_creates_no_log() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let data = dir.path().join("new");
    let stderr = error_text(&lucent(&[
        "serve",
        "--listen",
        &address,
        "--data-dir",
        data.to_str().unwrap(),
    ]));
    assert!(
        stderr.contains(&format!("error: cannot listen on {address}")),
        "{stderr}"
    );
    assert!(!data.exists(), "a log was created");
}

#[tokio::test]
async fn a_wrong_url_gets_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = spawn_binary(&dir.path().join("data"), &[], &dir.path().join("log"));
    let key = server.get_json(&reqwest::Client::new(), "/v1/log").await.1["verifier_key"]
        .as_str()
        .unwrap()
        .to_owned();

    // Nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let stderr = error_text(&lucent(&[
        "verify",
        &format!("http://{closed}"),
        "--key",
        &key,
    ]));
    assert!(stderr.contains("Connection refused"), "{stderr}");
    assert!(
        stderr.contains("hint: nothing answered at that address"),
        "{stderr}"
    );

    // https against the plain-HTTP server.
    let https = server.base.replace("http://", "https://");
    let stderr = error_text(&lucent(&["verify", &https, "--key", &key]));
    assert!(
        stderr.contains("hint: the server answered in plain HTTP: use an http:// URL"),
        "{stderr}"
    );
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

/// `lucent keygen | head -0`: the reader is gone before the key is
/// written; the command ends with the status of a SIGPIPE (141), as other
/// tools do, with nothing on stderr.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lucent"))
        .arg("keygen")
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader closes its end
    let output = child.wait_with_output().unwrap();
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() || output.status.code() == Some(141),
        "{:?}",
        output.status
    );
}

/// `--log-format json`: every line on stderr is one JSON object with its
/// level and message, for a log shipper.
#[test]
fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let mut server = spawn_binary(&dir.path().join("data"), &["--log-format", "json"], &log);
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let serving = lines
        .iter()
        .find(|line| line["fields"]["message"] == "lucent is serving")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(serving["level"], "INFO");
    assert!(serving["fields"]["verifier_key"].is_string());
}
