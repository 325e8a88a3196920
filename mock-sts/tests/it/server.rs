//! The server's limits (`mock_sts::server`): connections that send nothing, half a header or
//! half a body are closed by the server, and with 2,000 of them open discovery is still
//! answered at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mock_sts::clock::OffsetClock;
use mock_sts::server::{self, Limits};
use mock_sts::store::Store;
use mock_sts::{Sts, StsConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start(limits: Limits) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let sts = Sts::new(
        StsConfig::new(&issuer, "key"),
        Store::in_memory().unwrap(),
        Arc::new(OffsetClock::new()),
    )
    .unwrap();
    let app = mock_sts::app(Arc::new(sts));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server::serve(listener, app, limits, async move {
        let _ = stopped.await;
    }));
    (issuer, stop)
}

/// Reads until the server closes the connection; the time that took, or None if it stayed
/// open for `within`.
async fn closed_by_server(mut s: TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(within, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_are_closed_and_do_not_stop_discovery() {
    // Both ends of 2,000 connections live in this process.
    let files = server::file_limit();
    assert!(
        files >= 4_500,
        "this test needs 4,500 file descriptors; the hard limit allows {files}"
    );
    let limits = Limits {
        header_timeout: Duration::from_secs(2),
        body_timeout: Duration::from_secs(2),
        max_connections: 500,
        shutdown_grace: Duration::from_secs(1),
    };
    let (issuer, _stop) = start(limits).await;
    let addr = issuer.trim_start_matches("http://").to_owned();

    let mut open = Vec::new();
    for i in 0..2_000 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        match i % 3 {
            // Idle: connects and sends nothing.
            0 => {}
            // Half a header.
            1 => s
                .write_all(b"GET /.well-known/openid-configuration HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap(),
            // A whole header and a tenth of its body.
            _ => s
                .write_all(
                    b"POST /connect/token HTTP/1.1\r\nHost: x\r\n\
                      Content-Type: application/x-www-form-urlencoded\r\n\
                      Content-Length: 100\r\n\r\ngrant_type",
                )
                .await
                .unwrap(),
        }
        open.push(s);
    }

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let started = Instant::now();
    let discovery = http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(discovery.status(), 200);
    assert!(took < Duration::from_secs(1), "discovery took {took:?}");

    // Every half-open connection is closed by the server: evicted to make room, or at its
    // header or body deadline.
    let waits = futures_join_all(
        open.into_iter()
            .map(|s| closed_by_server(s, Duration::from_secs(15))),
    )
    .await;
    let still_open = waits.iter().filter(|w| w.is_none()).count();
    assert_eq!(still_open, 0, "{still_open} of 2,000 stayed open");
    let slowest = waits.iter().flatten().max().copied().unwrap_or_default();
    eprintln!(
        "2,000 half-open connections: discovery answered in {took:?}; the last of them closed by the server after {slowest:?}"
    );
    assert!(
        slowest < Duration::from_secs(6),
        "the last closed after {slowest:?}"
    );
}

#[tokio::test]
async fn a_body_sent_too_slowly_is_answered_408_and_an_idle_connection_closed() {
    let limits = Limits {
        header_timeout: Duration::from_millis(500),
        body_timeout: Duration::from_millis(500),
        max_connections: 100,
        shutdown_grace: Duration::from_secs(1),
    };
    let (issuer, _stop) = start(limits).await;
    let addr = issuer.trim_start_matches("http://").to_owned();

    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(
        b"POST /connect/token HTTP/1.1\r\nHost: x\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant",
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server neither answered nor closed");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("not received within"), "{answer}");

    // A keep-alive connection left idle after a request is closed at the header deadline.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /.well-known/openid-configuration HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let closed = closed_by_server(s, Duration::from_secs(5)).await;
    assert!(
        closed.is_some(),
        "the idle keep-alive connection stayed open"
    );

    // A normal request is not affected.
    let ok = reqwest::get(format!("{issuer}/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

/// Awaits all, concurrently (no futures crate in this workspace's test deps).
async fn futures_join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// A response still being sent (a live event stream) keeps its connection: at the limit the
/// server closes connections waiting for their clients, never one it is answering.
#[tokio::test]
async fn a_response_being_streamed_is_not_closed_to_make_room() {
    // A body that sends one chunk, then never ends.
    let app = axum::Router::new().route(
        "/stream",
        axum::routing::get(|| async {
            let (tx, rx) =
                tokio::sync::mpsc::channel::<Result<axum::body::Bytes, std::io::Error>>(1);
            tokio::spawn(async move {
                let _ = tx
                    .send(Ok(axum::body::Bytes::from_static(b"event\n")))
                    .await;
                // Keep the sender (and so the stream) alive.
                tokio::time::sleep(Duration::from_secs(3600)).await;
                drop(tx);
            });
            axum::body::Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = Limits {
        header_timeout: Duration::from_secs(30),
        body_timeout: Duration::from_secs(30),
        max_connections: 3,
        shutdown_grace: Duration::from_secs(1),
    };
    tokio::spawn(server::serve(listener, app, limits, std::future::pending()));

    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Five idle connections against a limit of three: the oldest idle ones go.
    let mut idle = Vec::new();
    for _ in 0..5 {
        idle.push(TcpStream::connect(addr).await.unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let closed = closed_by_server(idle.remove(0), Duration::from_secs(3)).await;
    assert!(closed.is_some(), "the oldest idle connection was closed");
    // The stream is still open: nothing to read, and no end of file.
    let still = tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf)).await;
    assert!(
        still.is_err(),
        "the streaming connection was closed: {still:?}"
    );
}
