//! The log side of witnessing (SPEC section 8): after each new root, every
//! configured witness is asked to cosign it (C2SP tlog-witness), what it
//! returns is verified against its key, and stored with the root. One task
//! per witness; nothing else waits for them: publication, promises and
//! receipts go on without witnesses.

mod request;

use std::str::FromStr;
use std::time::Duration;

use lucent_core::note::VerifierKey;
use tokio::sync::watch;

use crate::published::PublishedLog;
use crate::sequencer::CosignatureSink;
use crate::storage::{Cosignature, RootRow};
use request::{AskError, ask};

/// Witnesses a log may ask, at most, and the longest name each may have:
/// each root is served with their cosignatures, and the answers' bounds
/// (`x-max-answer-bytes`) count them.
pub const MAX_WITNESSES: usize = 8;
pub const MAX_WITNESS_NAME: usize = 64;

/// The first wait after a failed request; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// A witness the log asks for cosignatures: `<verifier key>=<URL>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    pub key: VerifierKey,
    /// The base URL; requests go to `<url>/add-checkpoint`.
    pub url: String,
}

/// A `--witness` value that is not `<verifier key>=<URL>`.
#[derive(Debug, thiserror::Error)]
#[error("a witness is given as <verifier key>=<http(s) URL>: {0}")]
pub struct WitnessParseError(String);

impl FromStr for Witness {
    type Err = WitnessParseError;

    fn from_str(text: &str) -> Result<Witness, WitnessParseError> {
        // A verifier key's base64 has no padding ('='), and its name no
        // "=http": the URL starts at the first "=http".
        let at = text
            .find("=http://")
            .or_else(|| text.find("=https://"))
            .ok_or_else(|| WitnessParseError(format!("{text:?} has no =http(s)://")))?;
        let key = VerifierKey::parse(&text[..at])
            .map_err(|e| WitnessParseError(format!("{:?}: {e}", &text[..at])))?;
        if key.name().len() > MAX_WITNESS_NAME {
            return Err(WitnessParseError(format!(
                "the key name {:?} is longer than {MAX_WITNESS_NAME} bytes",
                key.name()
            )));
        }
        let url = text[at + 1..].trim_end_matches('/').to_owned();
        Ok(Witness { key, url })
    }
}

/// Starts one task per witness; each ends when the writer stops.
pub fn spawn(
    witnesses: &[Witness],
    log: &PublishedLog,
    sink: &CosignatureSink,
    published_ends: &watch::Receiver<i64>,
) {
    for witness in witnesses {
        let follower = Follower {
            witness: witness.clone(),
            log: log.clone(),
            sink: sink.clone(),
            published_ends: published_ends.clone(),
            http: reqwest::Client::builder()
                .timeout(request::TIMEOUT)
                .build()
                .expect("a client without custom TLS builds"),
            witness_size: 0,
            cosigned_end: None,
        };
        tokio::spawn(follower.run());
    }
}

/// One witness, followed from the latest root it cosigned.
struct Follower {
    witness: Witness,
    log: PublishedLog,
    sink: CosignatureSink,
    published_ends: watch::Receiver<i64>,
    http: reqwest::Client,
    /// The size of the tree the witness last cosigned, as far as the log
    /// knows (a 409 corrects it).
    witness_size: u64,
    /// The end of the period whose root it last cosigned.
    cosigned_end: Option<i64>,
}

/// How asking for one root ended.
enum Asked {
    Cosigned,
    /// A newer root was published meanwhile: ask for it instead.
    Superseded,
    /// The writer stopped: the task ends.
    Stopped,
}

impl Follower {
    async fn run(mut self) {
        if let Err(e) = self.load_progress().await {
            tracing::warn!(witness = self.witness.key.name(), error = %e, "reading what the witness cosigned");
        }
        loop {
            let latest = match self.log.latest_signed_root().await {
                Ok(latest) => latest,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the latest root for the witnesses");
                    None
                }
            };
            if let Some(root) = latest.filter(|root| Some(root.period_end) > self.cosigned_end) {
                match self.cosign(&root).await {
                    Asked::Cosigned => {}
                    Asked::Superseded => continue,
                    Asked::Stopped => return,
                }
            }
            if self.published_ends.changed().await.is_err() {
                return;
            }
        }
    }

    async fn load_progress(&mut self) -> Result<(), crate::published::ReadError> {
        let key = self.witness.key.to_string();
        let progress = self.log.witness_progress().await?;
        if let Some(progress) = progress.into_iter().find(|p| p.witness == key) {
            self.witness_size = progress.size as u64;
            self.cosigned_end = Some(progress.period_end);
        }
        Ok(())
    }

    /// Asks until the witness cosigns `root`, or a newer root supersedes it.
    async fn cosign(&mut self, root: &RootRow) -> Asked {
        let name = self.witness.key.name().to_owned();
        let mut backoff = FIRST_BACKOFF;
        loop {
            let asked = ask(
                &self.http,
                &self.witness,
                &self.log,
                root,
                self.witness_size,
            )
            .await;
            match asked {
                Ok(cosigned) => {
                    let cosignature = Cosignature {
                        period_end: root.period_end,
                        witness: self.witness.key.to_string(),
                        line: cosigned.line,
                        signed_at: cosigned.signed_at.map(|t| t as i64),
                    };
                    if self.sink.store(cosignature).await.is_err() {
                        return Asked::Stopped;
                    }
                    self.witness_size = root.entries();
                    self.cosigned_end = Some(root.period_end);
                    tracing::info!(witness = name, size = root.size, "cosigned");
                    return Asked::Cosigned;
                }
                Err(AskError::Conflict(size))
                    if size <= root.entries() && size != self.witness_size =>
                {
                    // The witness is elsewhere than the log thought (it
                    // lost or kept state): ask again from its size, now.
                    self.witness_size = size;
                    continue;
                }
                Err(e) => tracing::warn!(witness = name, error = %e, "asking for a cosignature"),
            }
            let wait = jittered(backoff);
            backoff = (backoff * 2).min(MAX_BACKOFF);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                changed = self.published_ends.changed() => {
                    return match changed {
                        Ok(()) => Asked::Superseded,
                        Err(_) => Asked::Stopped,
                    };
                }
            }
        }
    }
}

/// `backoff` less up to a half of it, at random, so that a log's requests
/// to a witness that comes back do not arrive in step.
fn jittered(backoff: Duration) -> Duration {
    backoff - backoff.mul_f64(rand::random::<f64>() / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_witness_is_a_key_and_a_url() {
        let key = lucent_core::note::SigningKey::from_seed("w.example", &[3; 32])
            .unwrap()
            .verifier_key();
        let witness: Witness = format!("{key}=https://w.example/sub/").parse().unwrap();
        assert_eq!(witness.key, key);
        assert_eq!(witness.url, "https://w.example/sub");
        assert!(format!("{key}").parse::<Witness>().is_err());
        assert!(format!("{key}=ftp://x").parse::<Witness>().is_err());
    }

    #[test]
    fn jitter_takes_at_most_half() {
        for _ in 0..100 {
            let wait = jittered(Duration::from_secs(10));
            assert!(wait > Duration::from_secs(5) && wait <= Duration::from_secs(10));
        }
    }
}
