//! Conversions to and from descriptors and `std::net` types.
//!
//! Every socket type is `AsFd` + `AsRawFd`, converts into an [`OwnedFd`] (the crate stops
//! counting it) and from one (the crate starts counting it). `From<OwnedFd>` is safe but the
//! descriptor must be a socket of the matching kind; anything else makes later calls fail with
//! errors (`StaleHandle`, `InvalidInput`), never undefined behaviour. A listener's descriptor is
//! switched to non-blocking mode on the way in and back to blocking on the way out; other
//! descriptors are taken as they are, and should be in blocking mode (on a non-blocking one, a
//! blocking call that cannot complete fails with `TimedOut`).
//!
//! The TCP and UDP types convert to and from their `std::net` counterparts (through the
//! descriptor; this is the only place the crate touches `std::net`).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

use crate::family::Family;
use crate::stream::{Listener, Stream};
use crate::{Datagram, RawSocket, TcpListener, TcpSocket, TcpStream, UdpSocket, sys};

macro_rules! fd_conversions {
    ($([$($g:tt)*] $ty:ty, $wrap:expr, $unwrap:expr;)*) => {$(
        impl<$($g)*> AsFd for $ty {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.sock.borrow()
            }
        }

        impl<$($g)*> AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                self.sock.raw()
            }
        }

        impl<$($g)*> From<$ty> for OwnedFd {
            fn from(s: $ty) -> OwnedFd {
                #[allow(clippy::redundant_closure_call)]
                ($unwrap)(s)
            }
        }

        impl<$($g)*> IntoRawFd for $ty {
            fn into_raw_fd(self) -> RawFd {
                OwnedFd::from(self).into_raw_fd()
            }
        }

        impl<$($g)*> From<OwnedFd> for $ty {
            /// Take ownership of a socket descriptor of this kind (see the module docs).
            fn from(fd: OwnedFd) -> Self {
                #[allow(clippy::redundant_closure_call)]
                ($wrap)(sys::Socket::from_owned(fd))
            }
        }

        impl<$($g)*> FromRawFd for $ty {
            /// # Safety
            /// `fd` must be an open socket descriptor of this kind, owned by the caller and
            /// not used or closed elsewhere afterwards.
            unsafe fn from_raw_fd(fd: RawFd) -> Self {
                // SAFETY: the caller guarantees `fd` is open and exclusively owned.
                Self::from(unsafe { OwnedFd::from_raw_fd(fd) })
            }
        }
    )*};
}

fd_conversions! {
    [] TcpSocket, |sock| TcpSocket { sock }, |s: TcpSocket| s.sock.into_owned();
    [F: Family] Stream<F>, Stream::from_socket, |s: Stream<F>| s.sock.into_owned();
    [F: Family] Listener<F>, Listener::from_listening, |s: Listener<F>| {
        // Back to the blocking mode descriptors normally have; F_SETFL cannot fail on an open
        // descriptor.
        let _ = s.sock.set_nonblocking(false);
        s.sock.into_owned()
    };
    [F: Family] Datagram<F>, Datagram::from_socket, |s: Datagram<F>| s.sock.into_owned();
    [] RawSocket, |sock| RawSocket { sock }, |s: RawSocket| s.sock.into_owned();
}

impl From<std::net::TcpStream> for TcpStream {
    fn from(s: std::net::TcpStream) -> TcpStream {
        TcpStream::from(OwnedFd::from(s))
    }
}

impl From<TcpStream> for std::net::TcpStream {
    fn from(s: TcpStream) -> std::net::TcpStream {
        std::net::TcpStream::from(OwnedFd::from(s))
    }
}

impl From<std::net::TcpListener> for TcpListener {
    fn from(s: std::net::TcpListener) -> TcpListener {
        TcpListener::from(OwnedFd::from(s))
    }
}

impl From<TcpListener> for std::net::TcpListener {
    fn from(s: TcpListener) -> std::net::TcpListener {
        std::net::TcpListener::from(OwnedFd::from(s))
    }
}

impl From<std::net::UdpSocket> for UdpSocket {
    fn from(s: std::net::UdpSocket) -> UdpSocket {
        UdpSocket::from(OwnedFd::from(s))
    }
}

impl From<UdpSocket> for std::net::UdpSocket {
    fn from(s: UdpSocket) -> std::net::UdpSocket {
        std::net::UdpSocket::from(OwnedFd::from(s))
    }
}

macro_rules! poll_sources {
    ($([$($g:tt)*] $ty:ty;)*) => {$(
        impl<$($g)*> unisock::poll::AsSource for $ty {
            type Source = RawFd;

            /// The descriptor ([`PosixStack::poll_sockets`](unisock::Stack::poll_sockets)
            /// polls it).
            fn source(&self) -> RawFd {
                self.sock.raw()
            }
        }
    )*};
}

poll_sources! {
    [F: Family] Stream<F>;
    [F: Family] Listener<F>;
    [F: Family] Datagram<F>;
    [] RawSocket;
}
