//! Serving HTTP/1.1 with the limits a server left running on a laptop or in CI needs: a
//! deadline for a request's headers (which also closes a keep-alive connection left idle), a
//! deadline for its body, and a connection limit below the process's file limit.
//!
//! `axum::serve` sets no timeouts: a client that opens a connection and sends nothing, half a
//! header or half a body holds a file descriptor for ever, and some thousand of them stop the
//! server answering at all. Here each connection is served by hyper with a header-read timeout
//! (hyper starts it whenever it waits for a request head, so an idle keep-alive connection is
//! closed by it too), each request body gets a deadline counted from its headers, and when the
//! limit of connections is reached the oldest connection that is waiting for its client (idle,
//! or in the middle of sending a request) is closed to make room; a new connection is refused
//! only when every one is busy producing a response.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

/// File descriptors kept back from the connection limit (the state database, outgoing calls
/// to the IdPs, logs).
const FD_RESERVE: u64 = 128;

/// The limits; [`Limits::default`] for `up`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time a client has to send a request's headers, and to start the next request on a
    /// keep-alive connection.
    pub header_timeout: Duration,
    /// Time a client has to send a request's body, from the end of its headers.
    pub body_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Time connections get to finish at shutdown.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    /// 10 s for headers (and idle keep-alive), 30 s for a body, and as many connections as
    /// the file limit allows (at most 10,000).
    fn default() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: connection_limit(file_limit(), 10_000),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Connections allowed under a file limit of `files`: the limit less a reserve, at most
/// `cap`, at least 16.
pub fn connection_limit(files: u64, cap: usize) -> usize {
    let usable = files.saturating_sub(FD_RESERVE).max(16);
    usize::try_from(usable).unwrap_or(usize::MAX).min(cap)
}

/// The process's file limit, raised first to its hard limit (as Go's runtime does) so a
/// default soft limit of 1,024 does not cap the server.
pub fn file_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if let (Some(current), Some(hard)) = (limit.current, limit.maximum)
        && current < hard
    {
        limit.current = Some(hard.min(1 << 20));
        if setrlimit(Resource::Nofile, limit).is_err() {
            limit.current = Some(current);
        }
    }
    limit.current.unwrap_or(1 << 20)
}

/// A request body that fails once its deadline has passed, and marks its connection as
/// working (no longer waiting for the client) once it has all arrived.
struct Deadline {
    body: Body,
    timeout: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
    state: Arc<AtomicU8>,
}

/// The body did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body was not received within {0:?}")]
pub struct BodyTimeout(Duration);

impl HttpBody for Deadline {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::BoxError>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            if frame.is_none() || self.body.is_end_stream() {
                self.state.store(WORKING, Ordering::Release);
            }
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimeout(self.timeout)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Whether `error` (from reading a request body) is a [`BodyTimeout`].
pub fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut e: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(err) = e {
        if err.is::<BodyTimeout>() {
            return true;
        }
        e = err.source();
    }
    false
}

/// What a connection is doing: waiting for its client (for a request, or for the rest of
/// one) or working on a response.
const IDLE: u8 = 0;
const RECEIVING: u8 = 1;
const WORKING: u8 = 2;

/// One served connection, as the limit sees it.
struct Conn {
    state: Arc<AtomicU8>,
    /// Told to close the connection.
    close: Arc<Notify>,
}

/// The connections being served, oldest first (by accept order).
#[derive(Default)]
struct Conns {
    next: u64,
    open: BTreeMap<u64, Conn>,
}

impl Conns {
    /// Makes room for one more under `max`: closes the oldest connection that is waiting for
    /// its client if needed. False when every connection is working on a response.
    fn make_room(&mut self, max: usize) -> bool {
        if self.open.len() < max {
            return true;
        }
        let waiting = self
            .open
            .iter()
            .find(|(_, c)| c.state.load(Ordering::Acquire) != WORKING)
            .map(|(id, _)| *id);
        match waiting.and_then(|id| self.open.remove(&id)) {
            Some(conn) => {
                conn.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// A response body being sent; its connection counts as working until it is dropped.
struct Sending {
    body: Body,
    _in_flight: InFlight,
}

impl HttpBody for Sending {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Marks a connection idle again when its request's response is done (dropped).
struct InFlight(Arc<AtomicU8>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.store(IDLE, Ordering::Release);
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` resolves; then lets open
/// connections finish for `limits.shutdown_grace`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let conns = Arc::new(Mutex::new(Conns::default()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of descriptors or a connection reset before it was accepted: wait a
                // little rather than spin, and go on.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        // Reap finished connection tasks so the set does not grow.
        while tasks.try_join_next().is_some() {}
        let (id, state, close) = {
            let mut guard = conns.lock().unwrap_or_else(|p| p.into_inner());
            if !guard.make_room(limits.max_connections) {
                // Every connection is in the middle of a request: refuse this one.
                drop(stream);
                continue;
            }
            guard.next += 1;
            let id = guard.next;
            let conn = Conn {
                state: Arc::new(AtomicU8::new(IDLE)),
                close: Arc::new(Notify::new()),
            };
            let handles = (id, conn.state.clone(), conn.close.clone());
            guard.open.insert(id, conn);
            handles
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let conns = conns.clone();
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
                let in_flight = InFlight(state.clone());
                let body_timeout = limits.body_timeout;
                let request = request.map(|incoming| {
                    let body = Body::new(incoming);
                    state.store(
                        if body.is_end_stream() {
                            WORKING
                        } else {
                            RECEIVING
                        },
                        Ordering::Release,
                    );
                    Body::new(Deadline {
                        body,
                        timeout: body_timeout,
                        sleep: Box::pin(tokio::time::sleep(body_timeout)),
                        state: state.clone(),
                    })
                });
                let response = tower::ServiceExt::oneshot(app.clone(), request);
                async move {
                    // The connection is working until the response body is sent (a live
                    // event stream for as long as it runs), not only until its headers.
                    response.await.map(|r| {
                        r.map(|body| {
                            Body::new(Sending {
                                body,
                                _in_flight: in_flight,
                            })
                        })
                    })
                }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .keep_alive(true);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let stopping = tokio::select! {
                _ = connection.as_mut() => false,
                () = close.notified() => false,
                stopped = stop.wait_for(|s| *s) => stopped.is_ok(),
            };
            if stopping {
                connection.as_mut().graceful_shutdown();
                let _ = connection.as_mut().await;
            }
            conns
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .open
                .remove(&id);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(limits.shutdown_grace, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_limit_stays_below_the_file_limit() {
        assert_eq!(connection_limit(1024, 10_000), 896);
        assert_eq!(connection_limit(1 << 20, 10_000), 10_000);
        assert_eq!(connection_limit(10, 10_000), 16);
    }

    #[test]
    fn room_is_made_by_closing_the_oldest_connection_waiting_for_its_client() {
        let mut conns = Conns::default();
        let mut add = |state: u8| {
            let c = Conn {
                state: Arc::new(AtomicU8::new(state)),
                close: Arc::new(Notify::new()),
            };
            conns.next += 1;
            conns.open.insert(conns.next, c);
        };
        add(WORKING);
        add(RECEIVING);
        add(IDLE);
        assert!(conns.make_room(3));
        assert_eq!(
            conns.open.keys().copied().collect::<Vec<_>>(),
            vec![1, 3],
            "the oldest waiting one (2, half a body sent) went; the working one (1) stays"
        );
        if let Some(c) = conns.open.get(&3) {
            c.state.store(WORKING, Ordering::Release);
        }
        assert!(!conns.make_room(2), "all working: no room");
        assert!(conns.make_room(3));
    }
}
