//! The poll-based I/O traits of the std async ecosystem on the async streams, so that code
//! written for them (`tokio::io::copy`, `BufReader`, codecs, hyper through `hyper-util`'s
//! `TokioIo`, `futures::io` combinators) takes a unisock stream as it is:
//!
//! - feature `tokio`: [`tokio::io::AsyncRead`] / [`tokio::io::AsyncWrite`];
//! - feature `futures-io`: [`futures_io::AsyncRead`] / [`futures_io::AsyncWrite`].
//!
//! Implemented for [`TcpStream`](super::TcpStream) and [`UnixStream`](super::UnixStream) on
//! either reactor (the traits do not depend on the reactor: a tokio-registered stream
//! implements futures' traits too), and for the halves of
//! [`split`](unisock::asynch::SplitStream::split): [`ReadHalf`] reads, [`WriteHalf`] writes,
//! each waiting on its own direction.
//!
//! Each poll is the non-blocking call of the `embedded-io-async` method (one `recv` /
//! `send` with `MSG_DONTWAIT`), and on `WouldBlock` a wait for the reactor's readiness event:
//! nothing is buffered in between and nothing allocates. Vectored writes are one `sendmsg`
//! over all the buffers (up to 1024), and tokio's `is_write_vectored` says so, as
//! `tokio::net::TcpStream`'s does (hyper then writes its head and body without copying them
//! together). tokio's `poll_read` receives straight into the `ReadBuf`'s unfilled part (no
//! zeroing first), as `tokio::net` does. Flushing does nothing (writes go straight to the
//! kernel); tokio's `poll_shutdown` and futures' `poll_close` shut the write direction down
//! (`shutdown(SHUT_WR)`: the peer reads end of stream once the queued data is through), as
//! `tokio::net::TcpStream` and `async_io::Async<TcpStream>` do; the descriptor is closed when
//! the stream is dropped. Errors convert to `std::io::Error` with the OS error
//! number when there is one (`raw_os_error`).

use core::pin::Pin;
use core::task::{Context, Poll};

use unisock::Shutdown;

use super::{Direction, Reactor, ReadHalf, Registered, WriteHalf};
use crate::error::Error;
use crate::family::Family;
use crate::stream::Stream;

/// One gathered send (`sendmsg`) on `s`, waiting for writability on `WouldBlock`.
#[inline]
fn poll_send_vectored<R: Reactor, F: Family>(
    s: &Registered<R, Stream<F>>,
    cx: &mut Context<'_>,
    bufs: &[std::io::IoSlice<'_>],
) -> Poll<Result<usize, Error>> {
    R::poll_io(&s.reg, cx, Direction::Write, || {
        s.inner.try_send_vectored_shared(bufs)
    })
}

/// Shut the write direction down (a second call succeeds too).
fn shutdown_write<R: Reactor, F: Family>(s: &Registered<R, Stream<F>>) -> std::io::Result<()> {
    s.inner.shutdown_shared(Shutdown::Write).map_err(Into::into)
}

/// The stream a type reads from and writes to.
trait Inner<R: Reactor, F: Family> {
    fn stream(&self) -> &Registered<R, Stream<F>>;
}

impl<R: Reactor, F: Family> Inner<R, F> for Registered<R, Stream<F>> {
    #[inline]
    fn stream(&self) -> &Registered<R, Stream<F>> {
        self
    }
}

impl<R: Reactor, F: Family> Inner<R, F> for ReadHalf<'_, R, F> {
    #[inline]
    fn stream(&self) -> &Registered<R, Stream<F>> {
        self.0
    }
}

impl<R: Reactor, F: Family> Inner<R, F> for WriteHalf<'_, R, F> {
    #[inline]
    fn stream(&self) -> &Registered<R, Stream<F>> {
        self.0
    }
}

/// The trait implementations for one type: `read` for the reading ones, `write` for the
/// writing ones.
macro_rules! compat {
    (read $T:ty) => {
        #[cfg(feature = "tokio")]
        impl<R: Reactor, F: Family> tokio::io::AsyncRead for $T {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> Poll<std::io::Result<()>> {
                if buf.remaining() == 0 {
                    return Poll::Ready(Ok(()));
                }
                let s = self.stream();
                // Straight into the unfilled part, as tokio::net does: zeroing it first (the
                // safe `initialize_unfilled`) would cost a memset of the whole remaining
                // buffer on every read (hyper's read buffer grows to hundreds of KiB).
                // SAFETY: `recv` only writes to the slice (never de-initialises it).
                let dst = unsafe { buf.unfilled_mut() };
                let n = core::task::ready!(R::poll_io(&s.reg, cx, Direction::Read, || {
                    s.inner.try_recv_uninit_shared(dst)
                }))?;
                // SAFETY: the kernel wrote the first `n` bytes of the unfilled part.
                unsafe { buf.assume_init(n) };
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
        }

        #[cfg(feature = "futures-io")]
        impl<R: Reactor, F: Family> futures_io::AsyncRead for $T {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<std::io::Result<usize>> {
                self.stream().poll_recv(cx, buf).map_err(Into::into)
            }
        }
    };
    (write $T:ty) => {
        #[cfg(feature = "tokio")]
        compat!(@write tokio::io::AsyncWrite, poll_shutdown, $T;
            /// Yes: `poll_write_vectored` is one `sendmsg`.
            fn is_write_vectored(&self) -> bool {
                true
            }
        );
        #[cfg(feature = "futures-io")]
        compat!(@write futures_io::AsyncWrite, poll_close, $T;);
    };
    (@write $Trait:path, $close:ident, $T:ty; $($extra:tt)*) => {
        impl<R: Reactor, F: Family> $Trait for $T {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<std::io::Result<usize>> {
                self.stream().poll_send(cx, buf).map_err(Into::into)
            }

            /// All the buffers (up to 1024 of them) in one `sendmsg`.
            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> Poll<std::io::Result<usize>> {
                poll_send_vectored(self.stream(), cx, bufs).map_err(Into::into)
            }

            $($extra)*

            /// Nothing to do: writes go straight to the kernel.
            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            /// `shutdown(SHUT_WR)`; the descriptor is closed on drop.
            fn $close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
                Poll::Ready(shutdown_write(self.stream()))
            }
        }
    };
}

compat!(read Registered<R, Stream<F>>);
compat!(write Registered<R, Stream<F>>);
compat!(read ReadHalf<'_, R, F>);
compat!(write WriteHalf<'_, R, F>);
