//! Time, injected: the server reads the time only through a [`Clock`], so
//! tests drive days and periods without waiting for them.

use std::sync::Arc;
use std::sync::Mutex;

use time::OffsetDateTime;
use tokio::sync::watch;

/// A source of the current time that can also wait for an instant.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;

    /// Resolves once `now() >= instant`.
    fn sleep_until(&self, instant: OffsetDateTime) -> futures_util::future::BoxFuture<'static, ()>;
}

/// The system's UTC clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn sleep_until(&self, instant: OffsetDateTime) -> futures_util::future::BoxFuture<'static, ()> {
        let wait = instant - OffsetDateTime::now_utc();
        let wait = std::time::Duration::try_from(wait).unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that moves only when told to: for tests and demos.
#[derive(Clone)]
pub struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
    changed: watch::Sender<OffsetDateTime>,
}

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> ManualClock {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
            changed: watch::Sender::new(start),
        }
    }

    pub fn set(&self, instant: OffsetDateTime) {
        *self.now.lock().expect("clock lock") = instant;
        self.changed.send_replace(instant);
    }

    pub fn advance(&self, by: time::Duration) {
        let next = self.now() + by;
        self.set(next);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().expect("clock lock")
    }

    fn sleep_until(&self, instant: OffsetDateTime) -> futures_util::future::BoxFuture<'static, ()> {
        let mut changed = self.changed.subscribe();
        Box::pin(async move {
            // The sender lives as long as the clock; if it is gone, never wake.
            let _ = changed.wait_for(|now| *now >= instant).await;
            if changed.has_changed().is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}
