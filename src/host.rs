//! The unit the server counts clients in, for the rate limit on reports and
//! the cap on connections per client: one IPv4 address, or one IPv6 /64,
//! since one host usually holds a whole /64 and could otherwise take a new
//! address for each report or connection.

use std::net::{IpAddr, Ipv6Addr};

/// The host an address belongs to. Held in memory only, and only while
/// something is counted for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Host(IpAddr);

impl Host {
    pub fn of(address: IpAddr) -> Host {
        Host(match address {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    IpAddr::V6(Ipv6Addr::from(prefix))
                }
            },
            v4 => v4,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(address: &str) -> Host {
        Host::of(address.parse().unwrap())
    }

    #[test]
    fn ipv6_is_counted_by_64() {
        assert_eq!(host("2001:db8:1:2:3:4:5:6"), host("2001:db8:1:2:ffff::1"));
        assert_ne!(host("2001:db8:1:2:3:4:5:6"), host("2001:db8:1:3::1"));
        assert_eq!(host("::ffff:192.0.2.1"), host("192.0.2.1"));
        assert_ne!(host("192.0.2.1"), host("192.0.2.2"));
    }
}
