//! The OpenAPI description: committed under `openapi/`, served at
//! `/openapi.json`, and generated from the code. Regenerate the committed
//! file with `LUCENT_UPDATE_OPENAPI=1 cargo test --test openapi`.

mod common;

use common::{TestServer, config};
use lucent::clock::ManualClock;
use lucent_core::period::Period;
use lucent_core::record::FIELDS;
use time::macros::datetime;

fn committed_path() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json")
}

#[test]
fn the_committed_spec_matches_the_code() {
    let generated = lucent::api::openapi_json();
    if std::env::var_os("LUCENT_UPDATE_OPENAPI").is_some() {
        std::fs::write(committed_path(), &generated).unwrap();
    }
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json differs from the code; run LUCENT_UPDATE_OPENAPI=1 cargo test --test openapi"
    );
}

#[test]
fn the_report_schema_comes_from_the_field_table() {
    let spec: serde_json::Value = serde_json::from_str(&lucent::api::openapi_json()).unwrap();
    let report = &spec["components"]["schemas"]["Report"];
    let sent: Vec<_> = FIELDS.iter().filter(|f| f.is_sent()).collect();
    assert_eq!(report["required"].as_array().unwrap().len(), sent.len());
    for field in sent {
        let property = &report["properties"][field.name];
        assert_eq!(property["type"], field.json_type, "{}", field.name);
        let description = property["description"].as_str().unwrap();
        assert!(
            description.contains(field.rule),
            "{}: {description}",
            field.name
        );
    }
    // Every operation documents its errors as problems (but the probes,
    // whose status is the answer).
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if path == "/healthz" || path == "/readyz" {
                continue;
            }
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|status| status.starts_with('4')),
                "{method} {path} documents no error"
            );
        }
    }
}

#[tokio::test]
async fn the_served_spec_is_the_committed_one() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-11-27 12:00:00 UTC));
    let server = TestServer::start(config(dir.path(), "test.example", Period::DAY), clock).await;
    let response = server
        .client
        .get(format!("{}/openapi.json", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), lucent::api::openapi_json());
    let docs = server
        .client
        .get(format!("{}/docs", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("getEntryBundle"));
    server.stop().await;
}
