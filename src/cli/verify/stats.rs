//! The published stats, recomputed: `/v1/stats` names the signed root it
//! was computed at, and is a function of that root's entries alone
//! (`lucent_core::stats`). The rebuild feeds every verified entry to the
//! core's from-scratch computation and, when the tree reaches a root whose
//! stats were served, compares them field by field.

use std::future::Future;
use std::time::Duration;

use serde_json::Value;

use lucent_client::http::{HttpError, LogClient, StatsBody};
use lucent_client::retry::{RetryPolicy, TokioSleeper};
use lucent_core::record::Day;
use lucent_core::stats::{Stats, StatsBuilder, StatsRoot};

use super::VerifyError;
use super::roots::SignedRoot;
use super::state::Remembered;
use crate::http::answers::stats_body;

/// Stats take a while to compute on a large log: the server answers 503
/// with `Retry-After` until they are ready, and is asked again for about
/// two minutes.
async fn patiently<T, F: Future<Output = Result<T, HttpError>>>(
    request: impl FnMut() -> F,
) -> Result<T, HttpError> {
    let policy = RetryPolicy {
        attempts: 8,
        backoff_base: Duration::from_secs(1),
        backoff_cap: Duration::from_secs(10),
        max_retry_after: Duration::from_secs(10),
        max_initial_delay: Duration::ZERO,
    };
    let transient = |e: &HttpError| e.is_transient().then(|| e.retry_after());
    policy.run(&TokioSleeper, transient, request).await.0
}

/// The stats at the latest root, which the caller reads before the roots.
pub(super) async fn latest_stats(client: &LogClient) -> Result<StatsBody, HttpError> {
    patiently(|| client.stats()).await
}

/// Served stats to compare with the recomputed ones at a root.
#[derive(Debug)]
pub(super) struct ServedStats {
    /// The position of their root among the signed roots.
    pub(super) root: usize,
    /// Where they were served.
    pub(super) request: String,
    pub(super) body: StatsBody,
}

/// The served stats to check: the latest (`latest`, read before the roots,
/// so that its root is among them) and, in monitor mode, those of every day
/// whose last root is new since the remembered one, up to the day before
/// the latest root's (whose stats are the latest).
pub(super) async fn served_stats(
    client: &LogClient,
    latest: StatsBody,
    roots: &[SignedRoot],
    remembered: Option<Remembered>,
) -> Result<Vec<ServedStats>, VerifyError> {
    let mut checks = Vec::new();
    if let Some(remembered) = remembered {
        let latest_day = roots.last().map(|root| root.day);
        for (position, root) in roots.iter().enumerate() {
            let last_of_day = roots
                .get(position + 1)
                .is_none_or(|next| next.day != root.day);
            let new = root.day > remembered.day
                || (root.day == remembered.day && root.size != remembered.size);
            if last_of_day && new && Some(root.day) != latest_day {
                let request = format!("GET /v1/stats?day={}", root.day);
                let day = root.day.to_string();
                let body = patiently(|| client.stats_of_day(&day))
                    .await?
                    .ok_or(VerifyError::StatsMissing { day: root.day })?;
                checks.push(ServedStats {
                    root: root_of(&request, &body, roots)?,
                    request,
                    body,
                });
            }
        }
    }
    let request = "GET /v1/stats".to_owned();
    if latest.day.is_none() {
        // Served before the first root was signed: the empty log's stats.
        compare(&request, &latest, &stats_body(&Stats::empty()))?;
    } else {
        checks.push(ServedStats {
            root: root_of(&request, &latest, roots)?,
            request,
            body: latest,
        });
    }
    Ok(checks)
}

/// The position of the signed root the served stats name.
fn root_of(request: &str, body: &StatsBody, roots: &[SignedRoot]) -> Result<usize, VerifyError> {
    let named = |root: &SignedRoot| {
        Some(root.day.to_string()) == body.day
            && root.size == body.size
            && Some(root.root.to_hex()) == body.root_hash
    };
    roots
        .iter()
        .position(named)
        .ok_or_else(|| VerifyError::StatsRootNotSigned {
            request: request.to_owned(),
            day: body.day.clone().unwrap_or_default(),
            size: body.size,
            root_hash: body.root_hash.clone().unwrap_or_default(),
        })
}

/// The stats recomputed at `root` from every entry it covers, pushed to
/// `builder`, compared with the served ones.
pub(super) fn check_at_root(
    builder: &StatsBuilder,
    root: &SignedRoot,
    inception: Day,
    served: &ServedStats,
) -> Result<(), VerifyError> {
    let at = StatsRoot {
        size: root.size,
        root_hash: root.root,
        day: root.day,
    };
    let recomputed = builder
        .stats_at(at, inception)
        .expect("the rebuild pushed every entry of the root, each of its day or before");
    compare(&served.request, &served.body, &stats_body(&recomputed))
}

/// Fails naming the first field whose served value is not the recomputed
/// one.
fn compare(request: &str, served: &StatsBody, recomputed: &StatsBody) -> Result<(), VerifyError> {
    let as_json = |body: &StatsBody| serde_json::to_value(body).expect("stats serialize");
    match first_difference(String::new(), &as_json(served), &as_json(recomputed)) {
        None => Ok(()),
        Some((field, served, recomputed)) => Err(VerifyError::StatsDiffer {
            request: request.to_owned(),
            field,
            served,
            recomputed,
        }),
    }
}

/// The path of the first difference between two JSON values, and the two
/// values there (`missing` where one has nothing).
fn first_difference(
    path: String,
    served: &Value,
    recomputed: &Value,
) -> Option<(String, String, String)> {
    let join = |key: &str| match path.as_str() {
        "" => key.to_owned(),
        _ => format!("{path}.{key}"),
    };
    let missing = || "missing".to_owned();
    match (served, recomputed) {
        (Value::Object(served), Value::Object(recomputed)) => {
            let mut keys: Vec<&String> = served.keys().chain(recomputed.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .find_map(|key| match (served.get(key), recomputed.get(key)) {
                    (Some(s), Some(r)) => first_difference(join(key), s, r),
                    (s, r) => Some((
                        join(key),
                        s.map_or_else(missing, Value::to_string),
                        r.map_or_else(missing, Value::to_string),
                    )),
                })
        }
        (Value::Array(served), Value::Array(recomputed)) => {
            let at = |i: usize| format!("{path}[{i}]");
            (0..served.len().max(recomputed.len())).find_map(|i| {
                match (served.get(i), recomputed.get(i)) {
                    (Some(s), Some(r)) => first_difference(at(i), s, r),
                    (s, r) => Some((
                        at(i),
                        s.map_or_else(missing, Value::to_string),
                        r.map_or_else(missing, Value::to_string),
                    )),
                }
            })
        }
        _ => (served != recomputed).then(|| (path, served.to_string(), recomputed.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_difference_is_named_by_its_path() {
        let served = json!({"a": 1, "b": {"c": [1, 2, 3]}, "d": "x"});
        let same = served.clone();
        assert_eq!(first_difference(String::new(), &served, &same), None);
        let recomputed = json!({"a": 1, "b": {"c": [1, 5, 3]}, "d": "y"});
        assert_eq!(
            first_difference(String::new(), &served, &recomputed),
            Some(("b.c[1]".into(), "2".into(), "5".into()))
        );
        let shorter = json!({"a": 1, "b": {"c": [1, 2]}, "d": "x"});
        assert_eq!(
            first_difference(String::new(), &served, &shorter),
            Some(("b.c[2]".into(), "3".into(), "missing".into()))
        );
    }
}
