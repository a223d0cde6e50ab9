//! A per-address limit on reports. Addresses live in memory only, in the
//! limiter's table, and leave it within minutes; they are counted by
//! [`Host`] (IPv6 by /64).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use poem::http::Method;
use poem::web::RemoteAddr;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

use crate::host::Host;
use crate::http::problem::ApiError;

/// Reports per minute per client address.
pub struct RateLimiter {
    limiter: DefaultKeyedRateLimiter<Host>,
    trusted: TrustedProxies,
}

/// The peers whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpAddr>);

impl TrustedProxies {
    /// A dual-stack listener sees IPv4 peers as `::ffff:a.b.c.d`: addresses
    /// are compared in their canonical form.
    pub fn new(proxies: &[IpAddr]) -> TrustedProxies {
        TrustedProxies(proxies.iter().map(IpAddr::to_canonical).collect())
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.contains(&address.to_canonical())
    }
}

impl RateLimiter {
    pub fn per_minute(limit: NonZeroU32, trusted: TrustedProxies) -> RateLimiter {
        RateLimiter {
            limiter: DefaultKeyedRateLimiter::keyed(Quota::per_minute(limit)),
            trusted,
        }
    }

    /// Counts a report from `client`; the error holds the seconds to wait.
    fn check(&self, client: IpAddr) -> Result<(), u64> {
        self.limiter
            .check_key(&Host::of(client))
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                wait.as_secs() + 1
            })
    }

    /// Forgets addresses whose budget is full again.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// The client's address: the peer, or, when the peer is a trusted proxy,
/// the last address in `X-Forwarded-For` that is not a trusted proxy.
fn client_address(request: &Request, trusted: &TrustedProxies) -> Option<IpAddr> {
    let peer = match request.remote_addr() {
        RemoteAddr(poem::Addr::SocketAddr(addr)) => addr.ip(),
        _ => return None,
    };
    if !trusted.trusts(peer) {
        return Some(peer);
    }
    let forwarded = request.headers().get_all("x-forwarded-for");
    let hops: Vec<IpAddr> = forwarded
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|hop| hop.trim().parse().ok())
        .collect();
    hops.into_iter()
        .rev()
        .find(|hop| !trusted.trusts(*hop))
        .or(Some(peer))
}

/// Applies the limit to `POST /v1/reports` only: reads are never limited.
pub struct Limit {
    /// `None`: no limit.
    pub limiter: Option<Arc<RateLimiter>>,
}

impl<E: Endpoint> Middleware<E> for Limit {
    type Output = LimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        LimitEndpoint {
            inner,
            limiter: self.limiter.clone(),
        }
    }
}

pub struct LimitEndpoint<E> {
    inner: E,
    limiter: Option<Arc<RateLimiter>>,
}

impl<E: Endpoint> Endpoint for LimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, request: Request) -> poem::Result<Response> {
        if let Some(limiter) = &self.limiter
            && request.method() == Method::POST
            && let Some(client) = client_address(&request, &limiter.trusted)
            && let Err(retry_after) = limiter.check(client)
        {
            return Err(ApiError::RateLimited { retry_after }.into());
        }
        self.inner
            .call(request)
            .await
            .map(IntoResponse::into_response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address() {
        let limiter =
            RateLimiter::per_minute(NonZeroU32::new(2).unwrap(), TrustedProxies::default());
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(limiter.check(a).is_ok());
        assert!(limiter.check(a).is_ok());
        assert!(limiter.check(a).unwrap_err() >= 1);
        assert!(limiter.check("192.0.2.2".parse().unwrap()).is_ok());
    }

    #[test]
    fn a_proxy_seen_through_a_dual_stack_listener_is_trusted() {
        let trusted = TrustedProxies::new(&["127.0.0.1".parse().unwrap()]);
        assert!(trusted.trusts("::ffff:127.0.0.1".parse().unwrap()));
        assert!(trusted.trusts("127.0.0.1".parse().unwrap()));
        assert!(!trusted.trusts("::1".parse().unwrap()));
    }
}
