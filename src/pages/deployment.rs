//! `/deployment`: what the log holds about one deployment. With JavaScript,
//! the browser hashes the nonce (`/assets/deployment.js`) and asks by a
//! prefix of the hash; without it, the page says how to compute the hash
//! and lists the entries of a prefix typed in a form. Either way the server
//! never sees the nonce, nor a whole deployment hash.

use askama::Template;
use askama_web::WebTemplate;
use poem::http::StatusCode;
use poem::web::{Data, Query};
use poem::{IntoResponse, Response, handler};
use serde::Deserialize;

use lucent_core::record::DEPLOYMENT_PREFIX;

use crate::http::answers::entries_page;
use crate::http::problem::ApiError;
use crate::published::{PublishedLog, ReadError};
use crate::wire::EntriesPage;

/// How many deployments should share, on average, the prefix a lookup asks
/// by.
const CROWD: u64 = 8;

/// The prefix length, 2 to 8 hex digits, at which `deployments` spread so
/// that about [`CROWD`] share each prefix: the longest with at least that
/// many, and never under 2 (the shortest the API takes).
fn prefix_len(deployments: u64) -> usize {
    (3..=8)
        .take_while(|len| deployments >> (4 * len) >= CROWD)
        .last()
        .unwrap_or(2)
}

/// A shell command that prints the deployment hash of `$NONCE`.
fn shell_hash_command() -> String {
    format!(r#"printf '{DEPLOYMENT_PREFIX}%s' "$(printf '%s' "$NONCE" | tr A-F a-f)" | sha256sum"#)
}

#[derive(Deserialize)]
pub struct LookupQuery {
    prefix: Option<String>,
    after: Option<u64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "deployment.html")]
pub struct DeploymentPage {
    prefix_len: usize,
    shell_hash_command: String,
    lookup: Option<Lookup>,
}

/// The entries of a prefix typed in the form, or why there are none.
struct Lookup {
    prefix: String,
    found: Result<EntriesPage, String>,
}

impl DeploymentPage {
    fn path(&self) -> &'static str {
        "deployment"
    }
}

#[handler]
pub async fn page(
    log: Data<&PublishedLog>,
    Query(query): Query<LookupQuery>,
) -> poem::Result<Response> {
    let stats = log.latest_stats().await.map_err(ApiError::from)?;
    let lookup = match query.prefix {
        None => None,
        Some(prefix) => {
            let prefix = prefix.trim().to_ascii_lowercase();
            let found = match log.entries_by_deployment(&prefix, query.after, None).await {
                Ok(page) => Ok(entries_page(page)?),
                Err(ReadError::Invalid(reason)) => Err(reason),
                Err(e) => return Err(ApiError::from(e).into()),
            };
            Some(Lookup { prefix, found })
        }
    };
    let status = match &lookup {
        Some(Lookup { found: Err(_), .. }) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    let page = DeploymentPage {
        prefix_len: prefix_len(stats.active.last_30_days),
        shell_hash_command: shell_hash_command(),
        lookup,
    };
    Ok(page.with_status(status).into_response())
}

#[cfg(test)]
mod tests {
    use super::prefix_len;

    #[test]
    fn prefixes_stay_shared_by_a_crowd() {
        assert_eq!(prefix_len(0), 2);
        assert_eq!(prefix_len(30_000), 2);
        assert_eq!(prefix_len(32_768), 3);
        assert_eq!(prefix_len(8 << 16), 4);
        assert_eq!(prefix_len(u64::MAX), 8);
    }
}
