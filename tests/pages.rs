//! SPEC section 5, "Pages", over real HTTP: `/` follows the field table
//! and this server's own database, `/stats` has the numbers of
//! `/v1/stats`, `/deployment` works without JavaScript, and every page
//! keeps to its own origin under a strict CSP.

mod common;

use common::{TestServer, config, nonce, report};
use lucent::clock::ManualClock;
use lucent::pages::CONTENT_SECURITY_POLICY;
use lucent_core::period::Period;
use lucent_core::record::{FIELDS, Nonce};
use time::macros::datetime;

const ORIGIN: &str = "test.example/lucent";
/// The log's public URL, the only absolute URL a page may hold.
const PUBLIC_URL: &str = "https://test.example/lucent";

/// Text as askama writes it into HTML.
fn html(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// HTML text back to plain text (the five escapes above).
fn unhtml(text: &str) -> String {
    text.replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#38;", "&")
}

/// The text after `start` up to the next `end`.
fn between<'a>(page: &'a str, start: &str, end: &str) -> &'a str {
    let from = page
        .find(start)
        .unwrap_or_else(|| panic!("{start} is not in the page"))
        + start.len();
    let to = page[from..].find(end).expect("an end") + from;
    &page[from..to]
}

async fn get(server: &TestServer, path: &str) -> reqwest::Response {
    server
        .client
        .get(format!("{}{path}", server.base))
        .send()
        .await
        .unwrap()
}

async fn page(server: &TestServer, path: &str) -> String {
    let response = get(server, path).await;
    assert_eq!(response.status(), 200, "{path}");
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8",
        "{path}"
    );
    response.text().await.unwrap()
}

/// A server with two published days and one pending report; returns the
/// owner's nonce, whose deployment reported on both days.
async fn published_log() -> (TestServer, tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-11-24 08:00:00 UTC));
    let server = TestServer::start(config(dir.path(), ORIGIN, Period::DAY), clock).await;
    let owner = nonce();
    for (at, others) in [
        (datetime!(2026-11-24 08:00:00 UTC), 3),
        (datetime!(2026-11-25 08:00:00 UTC), 2),
    ] {
        server.set_time(at).await;
        assert_eq!(server.post(report(&owner, 120)).await.0, 202);
        for i in 0..others {
            assert_eq!(server.post(report(&nonce(), i)).await.0, 202);
        }
    }
    server.set_time(datetime!(2026-11-26 08:00:00 UTC)).await;
    assert_eq!(server.post(report(&nonce(), 999_999)).await.0, 202);
    (server, dir, owner)
}

/// The page follows `FIELDS`: one row per field, in table order, each
/// with the field's JSON type, rule, purpose and example, and whether it
/// is sent and stored.
#[tokio::test]
async fn the_index_follows_the_field_table() {
    let (server, _dir, _) = published_log().await;
    let index = page(&server, "/").await;
    assert_eq!(index.matches("<tr id=\"field-").count(), FIELDS.len());
    let mut last = 0;
    for field in FIELDS {
        let start = format!("<tr id=\"field-{}\">", field.name);
        let at = index.find(&start).unwrap();
        assert!(at > last, "{} is out of table order", field.name);
        last = at;
        let row = between(&index, &start, "</tr>");
        for text in [field.json_type, field.rule, field.purpose, field.example] {
            assert!(
                row.contains(&html(text)),
                "{}: {text:?} in {row}",
                field.name
            );
        }
        let sent = if field.is_sent() { "yes" } else { "no" };
        assert!(row.contains(&format!("<td data-label=\"Sent\">{sent}</td>")));
        let stored = between(row, "<td data-label=\"Stored\">", "</td>");
        assert_eq!(stored.contains("no: only its hash"), !field.is_stored());
    }
    // The nonce is sent and never stored; the example entry has no nonce.
    let nonce = between(&index, "<tr id=\"field-nonce\">", "</tr>");
    assert!(nonce.contains("<td data-label=\"Sent\">yes</td>"));
    assert!(nonce.contains("no: only its hash, as deployment"));
    let example_entry = between(&index, "<code id=\"example-entry\">", "</code>");
    assert!(!example_entry.contains("nonce"));
    server.stop().await;
}

/// Every table and column of this server's database, read from the
/// database independently, and nothing else.
#[tokio::test]
async fn the_index_shows_this_servers_database() {
    let (server, dir, _) = published_log().await;
    let index = page(&server, "/").await;
    let mut db = common::TestDatabase::connect(dir.path()).await;
    let [tables, columns, indexes] = match db {
        common::TestDatabase::Sqlite(_) => [
            "SELECT name FROM sqlite_schema WHERE type = 'table'",
            "SELECT m.name || '.' || p.name \
             FROM sqlite_schema AS m JOIN pragma_table_info(m.name) AS p WHERE m.type = 'table'",
            "SELECT sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL",
        ],
        // Not the partitions of `pending` (their names would say which
        // periods hold reports), nor the indexes of keys.
        common::TestDatabase::Postgres(_) => [
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() \
             AND format('%I.%I', table_schema, table_name)::regclass \
                 NOT IN (SELECT inhrelid FROM pg_inherits)",
            "SELECT table_name || '.' || column_name FROM information_schema.columns \
             WHERE table_schema = current_schema() \
             AND format('%I.%I', table_schema, table_name)::regclass \
                 NOT IN (SELECT inhrelid FROM pg_inherits)",
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() \
             AND format('%I.%I', schemaname, tablename)::regclass \
                 NOT IN (SELECT inhrelid FROM pg_inherits) \
             AND indexname NOT IN (SELECT conname FROM pg_constraint)",
        ],
    }
    .map(String::from);
    let tables = db.strings(&tables).await;
    let columns = db.strings(&columns).await;
    let indexes = db.strings(&indexes).await;
    db.close().await;
    for name in ["log", "pending", "entries", "tiles", "roots"] {
        assert!(tables.contains(&name.to_owned()), "{name}");
    }
    for table in &tables {
        assert!(
            index.contains(&format!("<h3 id=\"table-{table}\">")),
            "{table}"
        );
    }
    for column in &columns {
        assert!(
            index.contains(&format!("<tr data-column=\"{column}\">")),
            "{column}"
        );
    }
    assert_eq!(index.matches("<tr data-column=").count(), columns.len());
    for sql in &indexes {
        assert!(index.contains(&html(sql)), "{sql}");
    }
    // The statement that keeps no arrival order is shown as the engine
    // has it.
    let pending = match common::on_postgres() {
        false => "PRIMARY KEY (day, deployment)\n) STRICT, WITHOUT ROWID;",
        true => ") PARTITION BY LIST (period_end);",
    };
    assert!(index.contains(pending), "{pending}");
    server.stop().await;
}

/// The latest root, the verifier key, the commands to verify, and the
/// latest entries exactly as stored; nothing pending.
#[tokio::test]
async fn the_index_shows_the_latest_root_and_how_to_verify() {
    let (server, _dir, _) = published_log().await;
    let index = page(&server, "/").await;
    let key = server.running().verifier_key.to_string();
    let (_, root) = server.get_json("/v1/roots/latest").await;
    assert!(index.contains(&format!("<dd id=\"root-size\">{}</dd>", root["size"])));
    assert!(index.contains(root["root_hash"].as_str().unwrap()));
    assert!(index.contains(&html(root["checkpoint"].as_str().unwrap())));
    assert!(index.contains(&format!(
        "<code class=\"hash\" id=\"verifier-key\">{key}</code>"
    )));
    // The quotes are the page's own text, not escaped.
    assert!(index.contains(&format!(
        "lucent verify {} --key '{}'",
        html(PUBLIC_URL),
        html(&key)
    )));
    let (_, entries) = server.get_json("/v1/entries?start=0&limit=1000").await;
    let entries = entries["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 7);
    // The last 10 (here all 7), each exactly as stored.
    for entry in entries {
        let item = format!("<li data-index=\"{}\">", entry["index"]);
        let shown = between(&index, &item, "</li>");
        assert!(shown.contains(&html(entry["entry"].as_str().unwrap())));
        assert!(shown.contains(entry["leaf_hash"].as_str().unwrap()));
    }
    assert!(!index.contains("999999"), "a pending report is shown");
    server.stop().await;
}

/// `/stats` shows the numbers `/v1/stats` serves.
#[tokio::test]
async fn the_stats_page_has_the_numbers() {
    let (server, _dir, _) = published_log().await;
    let (_, stats) = server.get_json("/v1/stats").await;
    let page = page(&server, "/stats").await;
    let row = |label: &str, value: &serde_json::Value| {
        let value = value.as_str().map_or(value.to_string(), str::to_owned);
        format!("<tr><th scope=\"row\">{label}</th><td>{value}</td></tr>")
    };
    let active = &stats["active_deployments"];
    for (label, key) in [
        ("On the latest day", "last_1_day"),
        ("In the last 7 days", "last_7_days"),
        ("In the last 30 days", "last_30_days"),
    ] {
        assert!(page.contains(&row(label, &active[key])), "{label}");
    }
    assert_eq!(active["last_7_days"], 6);
    for day in stats["reports_per_day"].as_array().unwrap() {
        assert!(page.contains(&row(day["day"].as_str().unwrap(), &day["reports"])));
    }
    for version in stats["versions"].as_array().unwrap() {
        assert!(page.contains(&row(
            version["version"].as_str().unwrap(),
            &version["deployments"]
        )));
    }
    let totals = &stats["totals"];
    assert_eq!(totals["tokens_created"], "244");
    for (label, key) in [
        ("Tokens created", "tokens_created"),
        ("Tokens detokenized", "tokens_detokenized"),
        ("Grants issued", "grants_issued"),
    ] {
        assert!(page.contains(&row(label, &totals[key])), "{label}");
    }
    // The root they come from, and the command that recomputes them.
    assert!(page.contains(&row("Day", &stats["day"])));
    assert!(page.contains(&format!(
        "<tr><th scope=\"row\">Size</th><td>{} entries</td></tr>",
        stats["size"]
    )));
    assert!(page.contains(&format!(
        "<code class=\"hash\">{}</code>",
        stats["root_hash"].as_str().unwrap()
    )));
    let (_, log) = server.get_json("/v1/log").await;
    assert!(page.contains(&format!(
        "<code id=\"verify-command\">lucent verify {} --key '{}'</code>",
        html(PUBLIC_URL),
        html(log["verifier_key"].as_str().unwrap())
    )));
    // Each chart is labelled for assistive technology.
    assert_eq!(page.matches("<svg ").count(), 3);
    assert_eq!(page.matches("role=\"img\" aria-label=").count(), 3);
    server.stop().await;
}

/// Without JavaScript: the page says how to get the hash, the shell
/// command it gives is right, the nonce field can never be submitted, and
/// the prefix form lists the entries drawn by the server.
#[tokio::test]
async fn the_deployment_page_works_without_javascript() {
    let (server, _dir, owner) = published_log().await;
    let hash = Nonce::parse(&owner).unwrap().deployment().to_string();
    let deployment = page(&server, "/deployment").await;
    assert!(deployment.contains("lucent deployment-id --nonce"));
    // The nonce lookup is shown only by the script; its input has no name,
    // so no submission can carry it, and its form names no action.
    assert!(
        deployment.contains("<section aria-labelledby=\"by-nonce\" id=\"nonce-lookup\" hidden>")
    );
    let input = between(&deployment, "<input id=\"nonce\"", ">");
    assert!(!input.contains("name="), "{input}");
    let form = between(&deployment, "<form id=\"nonce-form\"", ">");
    assert!(
        !form.contains("action") && !form.contains("method"),
        "{form}"
    );
    assert!(deployment.contains("<script src=\"assets/deployment.js\" defer></script>"));

    let command = unhtml(between(&deployment, "<code id=\"shell-hash\">", "</code>"));
    let output = std::process::Command::new("sh")
        .args(["-c", &command])
        .env("NONCE", owner.to_uppercase())
        .output()
        .unwrap();
    let printed = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        printed.split_whitespace().next(),
        Some(hash.as_str()),
        "{command}"
    );

    // The prefix form: any case, the entries of every deployment that
    // shares it, the owner's two among them; nothing pending.
    let prefix = hash[..2].to_uppercase();
    let listed = page(&server, &format!("/deployment?prefix={prefix}")).await;
    assert_eq!(
        listed
            .matches(&html(&format!("\"deployment\":\"{hash}\"")))
            .count(),
        2
    );
    assert!(listed.contains(&format!("value=\"{}\"", &hash[..2])));
    let (_, api) = server
        .get_json(&format!("/v1/deployments/{}/entries", &hash[..2]))
        .await;
    for entry in api["entries"].as_array().unwrap() {
        assert!(listed.contains(&html(entry["entry"].as_str().unwrap())));
    }
    let refused = get(&server, "/deployment?prefix=zz").await;
    assert_eq!(refused.status(), 400);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("2 to 8 lowercase hex digits")
    );
    server.stop().await;
}

/// Every page and asset: the strict CSP and the other headers; every
/// reference is to the server itself; the only absolute URL is the log's.
#[tokio::test]
async fn pages_keep_to_their_own_origin() {
    let (server, _dir, owner) = published_log().await;
    let prefix = &Nonce::parse(&owner).unwrap().deployment().to_string()[..2];
    let lookup = format!("/deployment?prefix={prefix}");
    let pages = ["/", "/stats", "/deployment", "/docs", lookup.as_str()];
    let assets = [
        ("/assets/lucent.css", "text/css; charset=utf-8"),
        ("/assets/deployment.js", "text/javascript; charset=utf-8"),
    ];
    let paths = pages.iter().copied().chain(assets.iter().map(|(p, _)| *p));
    for path in paths {
        let response = get(&server, path).await;
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers();
        assert_eq!(headers["content-security-policy"], CONTENT_SECURITY_POLICY);
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
    }
    assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'none';"));
    for (path, content_type) in assets {
        let response = get(&server, path).await;
        assert_eq!(response.headers()["content-type"], content_type);
        let text = response.text().await.unwrap();
        for absolute in ["http:", "https:", "//", "url(", "@import"] {
            let uses = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//") && !l.trim_start().starts_with("/*"))
                .any(|l| l.contains(absolute));
            assert!(!uses, "{path} refers to {absolute}");
        }
    }
    for path in pages {
        let html = page(&server, path).await;
        assert!(html.starts_with("<!doctype html>\n<html lang=\"en\">"));
        assert!(html.contains("<meta name=\"viewport\""));
        for attribute in ["src=\"", "href=\"", "action=\""] {
            for (at, _) in html.match_indices(attribute) {
                let value = &html[at + attribute.len()..];
                let value = &value[..value.find('"').unwrap()];
                // Relative, so that the pages work under a path prefix.
                let own = (!value.starts_with('/') && !value.contains(':')) || value == "data:,";
                assert!(own, "{path}: {attribute}{value}");
            }
        }
        for scheme in ["http://", "https://"] {
            for (at, _) in html.match_indices(scheme) {
                assert!(
                    html[at..].starts_with(PUBLIC_URL),
                    "{path}: {}",
                    &html[at..at + 60]
                );
            }
        }
        assert!(!html.contains("style="), "{path} has an inline style");
        assert!(!html.contains("<script>"), "{path} has an inline script");
    }
    server.stop().await;
}

/// Before the first root: the pages say so, and work.
#[tokio::test]
async fn pages_before_the_first_root() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-11-24 08:00:00 UTC));
    let server = TestServer::start(config(dir.path(), ORIGIN, Period::DAY), clock).await;
    assert_eq!(server.post(report(&nonce(), 1)).await.0, 202);
    assert!(
        page(&server, "/")
            .await
            .contains("No root has been signed yet")
    );
    assert!(
        page(&server, "/stats")
            .await
            .contains("No root has been signed yet")
    );
    assert!(
        page(&server, "/deployment?prefix=ab")
            .await
            .contains("No published entry")
    );
    server.stop().await;
}

/// Versions are listed in SemVer order, not by use; the stored-entry
/// example breaks only after a comma; the migrations' bookkeeping table is
/// shown apart from the log's tables.
#[tokio::test]
async fn versions_in_semver_order_entries_that_wrap_and_the_migrations_apart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-11-24 08:00:00 UTC));
    let server = TestServer::start(config(dir.path(), ORIGIN, Period::DAY), clock).await;
    for (version, deployments) in [("2.0.0", 1), ("1.10.0", 3), ("2.0.0-rc.1", 2), ("1.9.0", 4)] {
        for _ in 0..deployments {
            let body = report(&nonce(), 1).replace("1.4.2", version);
            assert_eq!(server.post(body).await.0, 202);
        }
    }
    server.set_time(datetime!(2026-11-25 08:00:00 UTC)).await;
    let stats = page(&server, "/stats").await;
    let table = between(
        &stats,
        "<table class=\"numbers\" id=\"versions-table\">",
        "</table>",
    );
    let listed: Vec<&str> = table
        .split("<tr><th scope=\"row\">")
        .skip(1)
        .map(|row| &row[..row.find('<').unwrap()])
        .collect();
    assert_eq!(listed, ["1.9.0", "1.10.0", "2.0.0-rc.1", "2.0.0"]);

    let index = page(&server, "/").await;
    let example = between(&index, "<code id=\"example-entry\">", "</code>");
    let entry = unhtml(&example.replace("<wbr>", ""));
    lucent_core::record::Entry::parse(entry.as_bytes()).expect("the example is an entry");
    assert_eq!(
        example.matches("<wbr>").count(),
        entry.matches(',').count() + 1,
        "{example}"
    );
    assert!(
        example
            .split("<wbr>")
            .all(|part| part.ends_with(',') || part.ends_with('}') || part.is_empty())
    );
    let (log_tables, bookkeeping) = index.split_once("<h3 id=\"migrations\">").unwrap();
    assert!(!log_tables.contains("id=\"table-_sqlx_migrations\""));
    assert!(log_tables.contains("id=\"table-pending\""));
    assert!(bookkeeping.contains("id=\"table-_sqlx_migrations\""));
    server.stop().await;
}
