//! The cap on the connections one host holds open, so that one host cannot
//! take the slots of others. A host is in the table only while it has a
//! connection open; the table holds at most `--max-connections` hosts,
//! since a connection is counted only once it holds one of those slots.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::host::Host;

type OpenPerHost = Arc<Mutex<HashMap<Host, usize>>>;

/// Counts open connections per [`Host`] against a cap.
pub struct PerHostConnections {
    cap: usize,
    /// Reverse proxies carry many clients on one address: not capped.
    uncapped: Vec<IpAddr>,
    open: OpenPerHost,
}

/// One counted connection; dropping it releases the count.
#[must_use = "the connection counts only while its slot is held"]
pub struct HostSlot {
    /// `None` for an uncapped address, which is not counted.
    counted: Option<(Host, OpenPerHost)>,
}

impl PerHostConnections {
    /// `cap` 0 means no cap.
    pub fn new(cap: usize, uncapped: Vec<IpAddr>) -> PerHostConnections {
        PerHostConnections {
            cap: if cap == 0 { usize::MAX } else { cap },
            // A dual-stack listener sees IPv4 peers as `::ffff:a.b.c.d`.
            uncapped: uncapped.iter().map(IpAddr::to_canonical).collect(),
            open: Arc::default(),
        }
    }

    /// Counts a new connection from `address`; `None` if its host already
    /// holds the cap.
    pub fn open(&self, address: IpAddr) -> Option<HostSlot> {
        if self.uncapped.contains(&address.to_canonical()) {
            return Some(HostSlot { counted: None });
        }
        let host = Host::of(address);
        let mut open = lock(&self.open);
        let count = open.entry(host).or_insert(0);
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(HostSlot {
            counted: Some((host, self.open.clone())),
        })
    }

    /// Hosts with a connection open.
    pub fn hosts(&self) -> usize {
        lock(&self.open).len()
    }
}

impl Drop for HostSlot {
    fn drop(&mut self) {
        let Some((host, open)) = &self.counted else {
            return;
        };
        if let Entry::Occupied(mut count) = lock(open).entry(*host) {
            *count.get_mut() -= 1;
            if *count.get() == 0 {
                count.remove();
            }
        }
    }
}

/// The table stays consistent even if a holder panicked: every change to
/// it is a single step.
fn lock(open: &OpenPerHost) -> MutexGuard<'_, HashMap<Host, usize>> {
    open.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn open_all(per_host: &PerHostConnections, addresses: &[&str]) -> Vec<HostSlot> {
        let open = addresses.iter().map(|a| per_host.open(address(a)));
        open.collect::<Option<_>>().expect("within the cap")
    }

    #[test]
    fn caps_each_host_and_releases_on_drop() {
        let per_host = PerHostConnections::new(2, Vec::new());
        let mut held = open_all(&per_host, &["192.0.2.1", "192.0.2.1", "192.0.2.2"]);
        assert!(per_host.open(address("192.0.2.1")).is_none());
        drop(held.remove(0));
        held.extend(open_all(&per_host, &["192.0.2.1"]));
        assert!(per_host.open(address("192.0.2.1")).is_none());
        drop(held);
        assert_eq!(
            per_host.hosts(),
            0,
            "a host leaves with its last connection"
        );
    }

    #[test]
    fn an_ipv6_64_is_one_host() {
        let per_host = PerHostConnections::new(2, Vec::new());
        let _held = open_all(
            &per_host,
            &["2001:db8:1:2::1", "2001:db8:1:2:ffff::2", "2001:db8:1:3::1"],
        );
        assert!(per_host.open(address("2001:db8:1:2::3")).is_none());
        assert_eq!(per_host.hosts(), 2);
    }

    #[test]
    fn proxies_and_a_zero_cap_are_not_capped() {
        let per_host = PerHostConnections::new(1, vec![address("127.0.0.1")]);
        // A dual-stack listener sees the proxy as an IPv4-mapped address.
        let held = open_all(&per_host, &["127.0.0.1", "::ffff:127.0.0.1", "127.0.0.1"]);
        assert_eq!(per_host.hosts(), 0, "a proxy's address is not kept");
        drop(held);
        let uncapped = PerHostConnections::new(0, Vec::new());
        drop(open_all(&uncapped, &["192.0.2.1"; 100]));
        assert_eq!(uncapped.hosts(), 0);
    }
}
