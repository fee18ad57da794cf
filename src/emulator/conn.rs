//! One accepted TCP connection served with hyper's HTTP/1, able to end in a TCP reset.

use std::io::IoSlice;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use super::routes::{self, Abort};
use super::Reply;
use super::State;

pub(crate) async fn serve(stream: TcpStream, state: Arc<State>) {
    let _ = stream.set_nodelay(true);
    let reset_on_close = Arc::new(AtomicBool::new(false));
    let io = TokioIo::new(ResettableStream { stream, reset_on_close: Arc::clone(&reset_on_close) });
    // A service error makes hyper close the connection without writing a response, which is
    // exactly what the reset and drop faults want; other errors are the client's doing.
    let _ = http1::Builder::new().serve_connection(io, service(state, reset_on_close)).await;
}

/// The same over TLS, speaking whichever of h2 and HTTP/1.1 the client chose through ALPN.
pub(crate) async fn serve_tls(stream: TcpStream, state: Arc<State>, tls: TlsAcceptor) {
    let _ = stream.set_nodelay(true);
    let reset_on_close = Arc::new(AtomicBool::new(false));
    let Ok(stream) = tls.accept(ResettableStream { stream, reset_on_close: Arc::clone(&reset_on_close) }).await else {
        return;
    };
    let io = TokioIo::new(stream);
    let _ = auto::Builder::new(TokioExecutor::new()).serve_connection(io, service(state, reset_on_close)).await;
}

fn service(
    state: Arc<State>,
    reset_on_close: Arc<AtomicBool>,
) -> impl hyper::service::Service<
    hyper::Request<hyper::body::Incoming>,
    Response = Reply,
    Error = Abort,
    Future = impl std::future::Future<Output = Result<Reply, Abort>> + Send,
> + Clone {
    service_fn(move |request| {
        let state = Arc::clone(&state);
        let reset_on_close = Arc::clone(&reset_on_close);
        async move {
            let outcome = routes::respond(state, request).await;
            if matches!(outcome, Err(Abort::Reset)) {
                reset_on_close.store(true, Ordering::Relaxed);
            }
            outcome
        }
    })
}

/// A TCP stream that, when asked, closes with RST (zero linger) instead of FIN.
struct ResettableStream {
    stream: TcpStream,
    reset_on_close: Arc<AtomicBool>,
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.reset_on_close.load(Ordering::Relaxed) {
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
