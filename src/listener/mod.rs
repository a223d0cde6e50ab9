//! Connection limits below HTTP: at most `max_connections` open at once
//! (further clients wait in the kernel's backlog), and a connection that
//! sends nothing for `read_timeout` is closed, which bounds slow clients
//! that trickle their headers and idle keep-alive connections alike.

mod per_host;

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_io_timeout::TimeoutStream;

pub use per_host::{HostSlot, PerHostConnections};

/// Limits on the connections an acceptor hands to the HTTP server.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub read_timeout: Duration,
}

/// Wraps an acceptor with [`ConnectionLimits`].
pub struct LimitedAcceptor<A> {
    inner: A,
    permits: Arc<Semaphore>,
    read_timeout: Duration,
}

impl<A> LimitedAcceptor<A> {
    pub fn new(inner: A, limits: ConnectionLimits) -> Self {
        LimitedAcceptor {
            inner,
            permits: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            read_timeout: limits.read_timeout,
        }
    }
}

impl<A: Acceptor> Acceptor for LimitedAcceptor<A> {
    type Io = LimitedIo<A::Io>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let (io, local, remote, scheme) = self.inner.accept().await?;
        let mut io = TimeoutStream::new(io);
        io.set_read_timeout(Some(self.read_timeout));
        Ok((
            LimitedIo {
                io: Box::pin(io),
                _permit: permit,
            },
            local,
            remote,
            scheme,
        ))
    }
}

/// A connection that holds its permit until it is dropped.
pub struct LimitedIo<T> {
    io: Pin<Box<TimeoutStream<T>>>,
    _permit: OwnedSemaphorePermit,
}

impl<T: AsyncRead + AsyncWrite> AsyncRead for LimitedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.io.as_mut().poll_read(cx, buf)
    }
}

impl<T: AsyncRead + AsyncWrite> AsyncWrite for LimitedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io.as_mut().poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.as_mut().poll_shutdown(cx)
    }
}
