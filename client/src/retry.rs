//! When a report is sent and sent again: a random delay before the first
//! try, so that deployments whose reports fall due at the same instant do
//! not all arrive in the same second, and exponential backoff with jitter
//! between tries, never shorter than the server's `Retry-After`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use rand::RngExt as _;

/// How a [`crate::Reporter`] spreads and retries its reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included; 0 counts as 1.
    pub attempts: u32,
    /// The wait before the second try is up to this long (a random share of
    /// it); each later wait may be twice as long as the one before...
    pub backoff_base: Duration,
    /// ...up to this.
    pub backoff_cap: Duration,
    /// The longest `Retry-After` obeyed: a server asking for more is waited
    /// for this long.
    pub max_retry_after: Duration,
    /// Before the first try, a random wait of up to this long.
    pub max_initial_delay: Duration,
}

impl Default for RetryPolicy {
    /// Up to 15 minutes before the first try; 8 tries, waits of up to 1 s,
    /// 2 s, 4 s… capped at 10 minutes, about half an hour in all; a
    /// `Retry-After` obeyed up to an hour.
    fn default() -> Self {
        RetryPolicy {
            attempts: 8,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(600),
            max_retry_after: Duration::from_secs(3600),
            max_initial_delay: Duration::from_secs(900),
        }
    }
}

impl RetryPolicy {
    /// The random wait before the first try.
    pub fn initial_delay(&self) -> Duration {
        random_up_to(self.max_initial_delay)
    }

    /// The wait after failed try number `tried` (1 for the first): the
    /// server's `Retry-After` (at most [`RetryPolicy::max_retry_after`])
    /// plus a random share of the backoff, so that clients told the same
    /// `Retry-After` do not come back together.
    pub fn wait_after(&self, tried: u32, retry_after: Option<Duration>) -> Duration {
        let doubled = self.backoff_base.saturating_mul(
            1u32.checked_shl(tried.saturating_sub(1))
                .unwrap_or(u32::MAX),
        );
        let backoff = random_up_to(doubled.min(self.backoff_cap));
        retry_after
            .map_or(Duration::ZERO, |asked| asked.min(self.max_retry_after))
            .saturating_add(backoff)
    }

    /// Runs `attempt` until it succeeds, fails for good (`transient` gives
    /// `None`: no retry would help), or has been tried
    /// [`RetryPolicy::attempts`] times, sleeping with `sleeper` between
    /// tries. `transient` gives the server's `Retry-After` of a failure
    /// worth another try, if it named one. Returns the outcome and the
    /// number of tries.
    pub async fn run<T, E, A, F>(
        &self,
        sleeper: &dyn Sleeper,
        transient: impl Fn(&E) -> Option<Option<Duration>>,
        mut attempt: A,
    ) -> (Result<T, E>, u32)
    where
        A: FnMut() -> F,
        F: Future<Output = Result<T, E>>,
    {
        let mut tried = 0;
        loop {
            tried += 1;
            let error = match attempt().await {
                Ok(done) => return (Ok(done), tried),
                Err(error) => error,
            };
            match transient(&error) {
                Some(retry_after) if tried < self.attempts => {
                    sleeper.sleep(self.wait_after(tried, retry_after)).await;
                }
                _ => return (Err(error), tried),
            }
        }
    }
}

/// A uniformly random duration in `[0, max]`, to the millisecond.
fn random_up_to(max: Duration) -> Duration {
    let millis = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::rng().random_range(0..=millis))
}

/// A future that a [`Sleeper`] returns.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How a [`crate::Reporter`] waits: [`TokioSleeper`] unless a test or a
/// host program injects its own (to record the waits, or to wait on its
/// own timer).
pub trait Sleeper: Send + Sync {
    fn sleep(&self, duration: Duration) -> Sleep;
}

/// Waits with `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}

impl fmt::Debug for dyn Sleeper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sleeper")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            attempts: 5,
            backoff_base: Duration::from_secs(2),
            backoff_cap: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(60),
            max_initial_delay: Duration::from_secs(30),
        }
    }

    #[test]
    fn waits_grow_to_the_cap_and_never_undercut_retry_after() {
        let policy = policy();
        for _ in 0..200 {
            assert!(policy.initial_delay() <= Duration::from_secs(30));
            assert!(policy.wait_after(1, None) <= Duration::from_secs(2));
            assert!(policy.wait_after(2, None) <= Duration::from_secs(4));
            assert!(policy.wait_after(3, None) <= Duration::from_secs(5));
            assert!(policy.wait_after(40, None) <= Duration::from_secs(5));
            let told = policy.wait_after(1, Some(Duration::from_secs(7)));
            assert!(told >= Duration::from_secs(7) && told <= Duration::from_secs(9));
            let capped = policy.wait_after(1, Some(Duration::from_secs(86_400)));
            assert!(capped >= Duration::from_secs(60) && capped <= Duration::from_secs(62));
        }
        // The jitter spreads clients: 200 draws are not all the same.
        let draws: std::collections::HashSet<_> =
            (0..200).map(|_| policy.wait_after(3, None)).collect();
        assert!(draws.len() > 1);
        let none = RetryPolicy {
            max_initial_delay: Duration::ZERO,
            ..policy
        };
        assert_eq!(none.initial_delay(), Duration::ZERO);
    }
}
