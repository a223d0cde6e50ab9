//! Serves the HTTP endpoint with limits below HTTP, so that slow or silent
//! clients cannot hold the connection slots that others need (SPEC.md
//! section 7):
//!
//! - at most `max_connections` open at once: the slot is taken before the
//!   accept, so further clients wait in the kernel's backlog;
//! - at most `max_connections_per_address` from one host ([`Host`]); more
//!   are closed at once;
//! - the whole request head must be in within `head_timeout` of the server
//!   starting to wait for it (idle keep-alive connections included);
//! - a read (a body's next bytes) waits at most `read_timeout`, and a write
//!   the client does not take at most `write_timeout`.
//!
//! This is our own accept loop rather than `poem::Server` because poem
//! gives hyper no timer, so hyper's header read timeout never runs. It
//! speaks HTTP/1.1 only: the head deadline is an HTTP/1 setting, HTTP/2
//! frames (pings, window updates) would keep a connection alive with no
//! request to time, and no client of lucent speaks cleartext HTTP/2
//! (browsers use it over TLS only, which the reverse proxy ends).
//!
//! Nothing here logs a client's address.
//!
//! [`Host`]: crate::host::Host

mod per_host;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Endpoint, Request};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_io_timeout::TimeoutStream;

pub use per_host::{HostSlot, PerHostConnections};

/// Limits on the connections the server holds.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    /// 0: no cap.
    pub max_connections_per_address: usize,
    pub head_timeout: Duration,
    pub read_timeout: Duration,
    pub write_timeout: Duration,
}

/// How long shutdown lets requests in flight finish before it closes
/// their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// After an accept error that is not about one connection (out of file
/// descriptors, say), a pause, so that the loop does not spin while
/// connections close.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// A bound TCP listener that serves with [`ConnectionLimits`].
pub struct HttpListener {
    tcp: TcpListener,
    local: SocketAddr,
    limits: ConnectionLimits,
    /// Reverse proxies, which are exempt from the per-address cap.
    proxies: Vec<IpAddr>,
}

impl HttpListener {
    pub async fn bind(
        address: &str,
        limits: ConnectionLimits,
        proxies: Vec<IpAddr>,
    ) -> io::Result<HttpListener> {
        let tcp = TcpListener::bind(address).await?;
        Ok(HttpListener {
            local: tcp.local_addr()?,
            tcp,
            limits,
            proxies,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Serves `endpoint` until `stop`, then stops accepting, lets requests
    /// in flight finish for up to [`SHUTDOWN_GRACE`], and closes the rest.
    pub async fn serve<E: Endpoint + 'static>(self, endpoint: E, stop: impl Future<Output = ()>) {
        let HttpListener {
            tcp,
            local,
            limits,
            proxies,
        } = self;
        let endpoint = Arc::new(endpoint);
        let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        let per_host = PerHostConnections::new(limits.max_connections_per_address, proxies);
        let http = http1_builder(&limits);
        let graceful = GracefulShutdown::new();
        let mut connections = JoinSet::new();
        tokio::pin!(stop);
        loop {
            let accepted = tokio::select! {
                accepted = accept(&tcp, &slots) => accepted,
                () = &mut stop => break,
            };
            while connections.try_join_next().is_some() {}
            let Some((stream, remote, slot)) = accepted else {
                continue;
            };
            // Over its host's cap: closed unread, so that refusing costs
            // the server one accept and holds nothing.
            let Some(host_slot) = per_host.open(remote.ip()) else {
                tracing::debug!("closed a connection over its address's cap");
                continue;
            };
            let io = TokioIo::new(Box::pin(with_timeouts(stream, &limits)));
            let service = poem_service(endpoint.clone(), local, remote);
            let connection = graceful.watch(http.serve_connection(io, service));
            connections.spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "a connection ended with an error");
                }
                drop((slot, host_slot));
            });
        }
        drop(tcp);
        if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                connections = connections.len(),
                "closing the connections whose requests did not finish in time"
            );
        }
        connections.shutdown().await;
    }
}

/// Waits for a free slot, then for a connection. `None` after an error.
async fn accept(
    tcp: &TcpListener,
    slots: &Arc<Semaphore>,
) -> Option<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
    let slot = slots
        .clone()
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    match tcp.accept().await {
        Ok((stream, remote)) => Some((stream, remote, slot)),
        Err(e) if is_about_one_connection(&e) => None,
        Err(e) => {
            tracing::warn!(error = %e, "accepting a connection");
            tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
            None
        }
    }
}

fn is_about_one_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// HTTP/1.1 with a deadline for each request head. hyper needs a timer for
/// that deadline; without one it silently has none.
fn http1_builder(limits: &ConnectionLimits) -> http1::Builder {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.head_timeout);
    http
}

/// The socket with its read and write timeouts. The write timeout drops a
/// client that does not read its answers; the read clock, note, also runs
/// while a handler prepares an answer, since hyper keeps a read pending
/// then to notice a client that goes away.
fn with_timeouts(stream: TcpStream, limits: &ConnectionLimits) -> TimeoutStream<TcpStream> {
    let mut io = TimeoutStream::new(stream);
    io.set_read_timeout(Some(limits.read_timeout));
    io.set_write_timeout(Some(limits.write_timeout));
    io
}

/// hyper's requests handed to the poem endpoint, and its answers back.
fn poem_service<E: Endpoint + 'static>(
    endpoint: Arc<E>,
    local: SocketAddr,
    remote: SocketAddr,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = hyper::Response<BoxBody<Bytes, io::Error>>,
    Error = Infallible,
    Future = impl Send,
> + Send {
    let (local, remote) = (LocalAddr(local.into()), RemoteAddr(remote.into()));
    service_fn(move |request: hyper::Request<Incoming>| {
        let endpoint = endpoint.clone();
        let request = Request::from((request, local.clone(), remote.clone(), Scheme::HTTP));
        async move { Ok(endpoint.get_response(request).await.into()) }
    })
}

/// Calls `next`, then, if a `route` label is given, logs the method, that
/// label, the status and the duration: never the client's address, a
/// header, or the variable parts of a path, which the label leaves out.
pub async fn call_logged<E: Endpoint>(
    next: E,
    request: Request,
    route: Option<&str>,
) -> poem::Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let response = next
        .call(request)
        .await
        .map(poem::IntoResponse::into_response)
        .unwrap_or_else(|e| e.into_response());
    if let Some(route) = route {
        tracing::info!(
            %method,
            route,
            status = response.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "request"
        );
    }
    response
}
/// Calls `next` with `request`, or gives `timed_out()` once `limit` has
/// passed: a request that takes longer gets an answer (503) rather than
/// holding its connection until the read timeout.
pub async fn within_limit<E: Endpoint>(
    limit: Duration,
    next: E,
    request: Request,
    timed_out: fn() -> poem::Error,
) -> poem::Result<poem::Response> {
    match tokio::time::timeout(limit, next.call(request)).await {
        Ok(result) => result.map(poem::IntoResponse::into_response),
        Err(_) => Err(timed_out()),
    }
}
