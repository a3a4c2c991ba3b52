//! The poll-based I/O traits of the std async ecosystem on TCP streams, so that code written
//! for them (`tokio::io::copy`, `BufReader`, codecs, hyper through `hyper-util`'s `TokioIo`,
//! `futures::io` combinators) takes a unisock-smoltcp stream as it is:
//!
//! - feature `tokio`: [`tokio::io::AsyncRead`] / [`tokio::io::AsyncWrite`];
//! - feature `futures-io`: [`futures_io::AsyncRead`] / [`futures_io::AsyncWrite`].
//!
//! Both need `std` (the traits' crates do). Implemented for [`TcpStream`] and for the halves
//! of [`split`](unisock::asynch::SplitStream::split): [`TcpReadHalf`] reads, [`TcpWriteHalf`]
//! writes. The traits are the executor's business only through the waker, so they work on any
//! executor, and whatever drives the stack (the `std` driver thread or the runner future).
//!
//! Each poll is one step of the `embedded-io-async` method: lock, copy between the caller's
//! buffer and smoltcp's, poll the interface; on `WouldBlock` the task's waker is registered on
//! that socket's direction before the lock is released. Nothing is buffered in between and
//! nothing allocates. tokio's `poll_read` zeroes only as much of the `ReadBuf`'s unfilled
//! part as there is data queued (this crate has no `unsafe` to read into uninitialised
//! memory, and zeroing all of it on every read is a memset of the caller's whole buffer). One
//! waiting task per direction (smoltcp holds one waker each, as the async API documents).
//! Flushing does nothing (written data is queued to smoltcp at once); tokio's `poll_shutdown`
//! and futures' `poll_close` shut the write direction down (FIN after the queued data), as
//! the kernel streams do; the socket is released when the stream is dropped. Vectored writes
//! queue as many of the buffers as fit in one hold of the lock (`is_write_vectored` is true).
//! Errors convert to `std::io::Error` with their kind (and OS error number, for the device's
//! errors that carry one).

use core::pin::Pin;
use core::task::{Context, Poll};

use smoltcp::phy::Device;
use unisock::Shutdown;

use crate::TcpStream;
use crate::asynch::{TcpReadHalf, TcpWriteHalf};
use crate::clock::Clock;
use crate::wait::Wait;

/// The stream a type reads from and writes to.
trait Inner<'s, 'a, D: Device, C: Clock, W: Wait> {
    fn stream(&self) -> &TcpStream<'s, 'a, D, C, W>;
}

impl<'s, 'a, D: Device, C: Clock, W: Wait> Inner<'s, 'a, D, C, W> for TcpStream<'s, 'a, D, C, W> {
    #[inline]
    fn stream(&self) -> &TcpStream<'s, 'a, D, C, W> {
        self
    }
}

impl<'s, 'a, D: Device, C: Clock, W: Wait> Inner<'s, 'a, D, C, W>
    for TcpReadHalf<'_, 's, 'a, D, C, W>
{
    #[inline]
    fn stream(&self) -> &TcpStream<'s, 'a, D, C, W> {
        self.0
    }
}

impl<'s, 'a, D: Device, C: Clock, W: Wait> Inner<'s, 'a, D, C, W>
    for TcpWriteHalf<'_, 's, 'a, D, C, W>
{
    #[inline]
    fn stream(&self) -> &TcpStream<'s, 'a, D, C, W> {
        self.0
    }
}

/// The trait implementations for one type: `read` for the reading ones, `write` for the
/// writing ones.
macro_rules! compat {
    (read $T:ty) => {
        #[cfg(feature = "tokio")]
        impl<D: Device, C: Clock, W: Wait> tokio::io::AsyncRead for $T {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> Poll<std::io::Result<()>> {
                if buf.remaining() == 0 {
                    return Poll::Ready(Ok(()));
                }
                let n = core::task::ready!(self.stream().poll_recv_readbuf(cx, buf))?;
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
        }

        #[cfg(feature = "futures-io")]
        impl<D: Device, C: Clock, W: Wait> futures_io::AsyncRead for $T {
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
            /// Yes: `poll_write_vectored` queues the buffers in one hold of the lock.
            fn is_write_vectored(&self) -> bool {
                true
            }
        );
        #[cfg(feature = "futures-io")]
        compat!(@write futures_io::AsyncWrite, poll_close, $T;);
    };
    (@write $Trait:path, $close:ident, $T:ty; $($extra:tt)*) => {
        impl<D: Device, C: Clock, W: Wait> $Trait for $T {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<std::io::Result<usize>> {
                self.stream().poll_send(cx, buf).map_err(Into::into)
            }

            /// As many of the buffers, in order, as the send ring takes, in one hold of the
            /// lock (one wake-up and one interface poll for all of them).
            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> Poll<std::io::Result<usize>> {
                self.stream().poll_send_vectored(cx, bufs).map_err(Into::into)
            }

            $($extra)*

            /// Nothing to do: written data is queued to smoltcp at once.
            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            /// Shut the write direction down (FIN after the queued data); the socket is
            /// released on drop.
            fn $close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
                Poll::Ready(self.stream().shutdown_shared(Shutdown::Write).map_err(Into::into))
            }
        }
    };
}

compat!(read TcpStream<'_, '_, D, C, W>);
compat!(write TcpStream<'_, '_, D, C, W>);
compat!(read TcpReadHalf<'_, '_, '_, D, C, W>);
compat!(write TcpWriteHalf<'_, '_, '_, D, C, W>);
