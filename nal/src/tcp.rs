//! TCP: [`TcpSocket`], the embedded-nal socket over a unisock stack's TCP socket types, and
//! the `TcpClientStack` / `TcpFullStack` implementations of [`NalStack`].
//!
//! The socket is a state machine over the stack's types: nothing (after `socket()`), an
//! unconnected bound socket (after `bind`), a stream being connected, a connected stream, a
//! listener, or released (its connect or listen failed and the unisock socket is gone).

use core::fmt;
use core::mem;
use core::net::SocketAddr;

use embedded_nal::{TcpClientStack, TcpFullStack, nb};
use unisock::{
    Domain, Error as _, ErrorKind, RecvFlags, SockOpt, Socket as _, Stack, StreamListener,
    StreamSocket, TcpSocket as _,
};

use crate::{Error, NalStack};

/// An embedded-nal TCP socket of a [`NalStack`] over stack `S`.
///
/// Owned by the caller; dropping it (or [`TcpClientStack::close`]) closes the unisock socket
/// it holds.
pub struct TcpSocket<S: Stack> {
    state: State<S>,
    /// A byte the handshake check had to read (see `handshake_done`), delivered first.
    stash: Option<u8>,
}

enum State<S: Stack> {
    /// From `socket()`: no unisock socket yet (its family is not known).
    Unbound,
    /// From `bind(port)`: an unconnected, bound unisock socket.
    Bound(S::TcpSocket),
    /// `connect` started the handshake to this remote.
    Connecting(S::TcpStream, SocketAddr),
    /// Established with this remote.
    Connected(S::TcpStream, SocketAddr),
    /// Listening.
    Listening(S::TcpListener),
    /// A connect or listen failed and took the unisock socket with it.
    Released,
}

impl<S: Stack> State<S> {
    fn name(&self) -> &'static str {
        match self {
            State::Unbound => "unbound",
            State::Bound(_) => "bound",
            State::Connecting(..) => "connecting",
            State::Connected(..) => "connected",
            State::Listening(_) => "listening",
            State::Released => "released",
        }
    }
}

impl<S: Stack> fmt::Debug for TcpSocket<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket")
            .field("state", &self.state.name())
            .field("local", &self.local_addr().ok())
            .finish()
    }
}

impl<S: Stack> TcpSocket<S> {
    /// An embedded-nal socket over a unisock stream that is already connected (for example
    /// one set up with options, or accepted, through the unisock API). `remote` is its peer,
    /// as `connect` expects to be called with it.
    pub fn from_stream(stream: S::TcpStream, remote: SocketAddr) -> Self {
        TcpSocket {
            state: State::Connected(stream, remote),
            stash: None,
        }
    }

    /// An embedded-nal socket over a unisock listener (`accept` works on it at once).
    pub fn from_listener(listener: S::TcpListener) -> Self {
        TcpSocket {
            state: State::Listening(listener),
            stash: None,
        }
    }

    /// The local endpoint of the unisock socket underneath (`getsockname`): how to learn the
    /// port of `bind(0)`. `NotConnected` for a socket holding no unisock socket yet,
    /// `StaleHandle` for a released one.
    pub fn local_addr(&self) -> Result<SocketAddr, Error<S::Error>> {
        match &self.state {
            State::Bound(s) => Ok(s.local_addr()?),
            State::Connecting(s, _) | State::Connected(s, _) => Ok(s.local_addr()?),
            State::Listening(l) => Ok(l.local_addr()?),
            State::Unbound => Err(Error::state(
                ErrorKind::NotConnected,
                "local_addr: the socket is neither bound nor connected",
            )),
            State::Released => Err(released("local_addr")),
        }
    }

    /// Whether the connection is established (a later `connect` with the same remote returns
    /// `Ok` at once).
    pub fn is_connected(&self) -> bool {
        matches!(self.state, State::Connected(..))
    }

    /// Whether the unisock socket underneath was released by a failed connect or listen
    /// (every call but `close` then fails with `StaleHandle`).
    pub fn is_released(&self) -> bool {
        matches!(self.state, State::Released)
    }

    /// The connected unisock stream, if the socket is connected (to set options, or to use the
    /// unisock API directly).
    pub fn stream(&mut self) -> Option<&mut S::TcpStream> {
        match &mut self.state {
            State::Connected(s, _) => Some(s),
            _ => None,
        }
    }

    /// The connected unisock stream back, if the socket is connected.
    pub fn into_stream(self) -> Result<S::TcpStream, Self> {
        match self.state {
            State::Connected(s, _) if self.stash.is_none() => Ok(s),
            state => Err(TcpSocket {
                state,
                stash: self.stash,
            }),
        }
    }

    /// Advance a connecting socket: `Ok(true)` once established, `Ok(false)` while the
    /// handshake runs, the failure otherwise (the socket is then released).
    fn progress(&mut self) -> Result<bool, Error<S::Error>> {
        let State::Connecting(stream, _) = &mut self.state else {
            return Ok(matches!(self.state, State::Connected(..)));
        };
        match handshake_done(stream, &mut self.stash) {
            Ok(false) => Ok(false),
            Ok(true) => {
                if let State::Connecting(stream, remote) =
                    mem::replace(&mut self.state, State::Released)
                {
                    self.state = State::Connected(stream, remote);
                }
                Ok(true)
            }
            Err(e) => {
                self.state = State::Released;
                Err(e.into())
            }
        }
    }
}

/// Whether a connecting stream's handshake is over and succeeded (`Ok(true)`), still running
/// (`Ok(false)`), or failed (the error).
///
/// unisock's contract: `write_ready` turns true when the handshake has finished either way,
/// and the next call reports a failure. If nothing is readable (`read_ready` false), the
/// connection is up. Otherwise a 1-byte `PEEK` tells data (up), end of stream (up, then
/// closed) and the failure apart without consuming anything. If the peek contradicts
/// `read_ready` by answering `WouldBlock` (the smoltcp backend's `PEEK` does so at end of
/// stream and on a closed connection, as smoltcp's `peek_slice` skips the state checks), a
/// real 1-byte read settles it; a byte it takes is kept in `stash` and delivered first by the
/// next `receive`.
fn handshake_done<T: StreamSocket>(
    stream: &mut T,
    stash: &mut Option<u8>,
) -> Result<bool, T::Error> {
    if !stream.write_ready()? {
        return Ok(false);
    }
    if !stream.read_ready()? {
        return Ok(true);
    }
    let mut probe = [0u8; 1];
    match stream.try_recv(&mut probe, RecvFlags::PEEK) {
        Ok(_) => return Ok(true),
        Err(e) if e.socket_kind() != ErrorKind::WouldBlock => return Err(e),
        Err(_) => {}
    }
    match stream.try_read(&mut probe) {
        Ok(1) => {
            *stash = Some(probe[0]);
            Ok(true)
        }
        Ok(_) => Ok(true),
        Err(e) if e.socket_kind() == ErrorKind::WouldBlock => Ok(true),
        Err(e) => Err(e),
    }
}

fn released<E>(call: &'static str) -> Error<E> {
    // One static message per call.
    let what = match call {
        "connect" => "connect: the socket was released by a failed connect or listen; close it",
        "send" => "send: the socket was released by a failed connect or listen; close it",
        "receive" => "receive: the socket was released by a failed connect or listen; close it",
        "bind" => "bind: the socket was released by a failed connect or listen; close it",
        "listen" => "listen: the socket was released by a failed connect or listen; close it",
        "accept" => "accept: the socket was released by a failed connect or listen; close it",
        _ => "local_addr: the socket was released by a failed connect or listen; close it",
    };
    Error::state(ErrorKind::StaleHandle, what)
}

/// A non-blocking result from a unisock result: `WouldBlock` becomes `nb::Error::WouldBlock`.
fn nb_of<T, E: unisock::Error>(r: Result<T, E>) -> nb::Result<T, Error<E>> {
    r.map_err(|e| {
        if e.socket_kind() == ErrorKind::WouldBlock {
            nb::Error::WouldBlock
        } else {
            nb::Error::Other(Error::Stack(e))
        }
    })
}

impl<S: Stack> TcpClientStack for NalStack<S> {
    type TcpSocket = TcpSocket<S>;
    type Error = Error<S::Error>;

    /// A socket holding no unisock socket yet: `connect` or `bind` creates it (see the
    /// [crate docs](crate)). Never fails.
    fn socket(&mut self) -> Result<TcpSocket<S>, Self::Error> {
        Ok(TcpSocket {
            state: State::Unbound,
            stash: None,
        })
    }

    /// Start connecting (first call), then `WouldBlock` until the handshake is over: `Ok(())`
    /// when established, the stack's error (`ConnectionRefused`, `TimedOut`, ...) when it
    /// failed, after which the socket is released.
    fn connect(
        &mut self,
        socket: &mut TcpSocket<S>,
        remote: SocketAddr,
    ) -> nb::Result<(), Self::Error> {
        let unconnected = match mem::replace(&mut socket.state, State::Released) {
            State::Unbound => match self.stack.tcp_socket(Domain::of(&remote)) {
                Ok(s) => s,
                Err(e) => {
                    socket.state = State::Unbound;
                    return Err(nb::Error::Other(Error::Stack(e)));
                }
            },
            State::Bound(s) => s,
            State::Connecting(s, r) if r == remote => {
                socket.state = State::Connecting(s, r);
                return match socket.progress() {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(nb::Error::WouldBlock),
                    Err(e) => Err(nb::Error::Other(e)),
                };
            }
            State::Connected(s, r) => {
                socket.state = State::Connected(s, r);
                return if r == remote {
                    Ok(())
                } else {
                    Err(nb::Error::Other(Error::state(
                        ErrorKind::AlreadyConnected,
                        "connect: the socket is connected to another remote",
                    )))
                };
            }
            state @ State::Connecting(..) => {
                socket.state = state;
                return Err(nb::Error::Other(Error::state(
                    ErrorKind::AlreadyConnected,
                    "connect: the socket is connecting to another remote",
                )));
            }
            state @ State::Listening(_) => {
                socket.state = state;
                return Err(nb::Error::Other(Error::state(
                    ErrorKind::InvalidInput,
                    "connect: the socket is listening",
                )));
            }
            State::Released => return Err(nb::Error::Other(released("connect"))),
        };
        match unconnected.connect_nonblocking(remote) {
            Ok(stream) => socket.state = State::Connecting(stream, remote),
            // The failed connect consumed the unisock socket: the state stays Released.
            Err(e) => return Err(nb::Error::Other(Error::Stack(e))),
        }
        match socket.progress() {
            Ok(true) => Ok(()),
            Ok(false) => Err(nb::Error::WouldBlock),
            Err(e) => Err(nb::Error::Other(e)),
        }
    }

    /// `try_write`: `WouldBlock` while the send buffer is full or the handshake runs.
    fn send(&mut self, socket: &mut TcpSocket<S>, buffer: &[u8]) -> nb::Result<usize, Self::Error> {
        let stream = connected(socket, "send")?;
        if buffer.is_empty() {
            return Ok(0);
        }
        nb_of(stream.try_write(buffer))
    }

    /// `try_read`: `WouldBlock` if nothing is there or the handshake runs; end of stream is
    /// [`Error::EndOfStream`].
    fn receive(
        &mut self,
        socket: &mut TcpSocket<S>,
        buffer: &mut [u8],
    ) -> nb::Result<usize, Self::Error> {
        if buffer.is_empty() {
            connected(socket, "receive")?;
            return Ok(0);
        }
        // Only a connected socket holds a stashed byte, and `connected` never fails for one.
        let stash = socket.stash.take();
        let stream = connected(socket, "receive")?;
        if let (Some(byte), Some((first, rest))) = (stash, buffer.split_first_mut()) {
            *first = byte;
            // The rest only if more is there at once; an error shows on the next call.
            return Ok(1 + stream.try_read(rest).unwrap_or(0));
        }
        match nb_of(stream.try_read(buffer))? {
            0 => Err(nb::Error::Other(Error::EndOfStream)),
            n => Ok(n),
        }
    }

    /// Drop the socket: a connected stream closes gracefully (FIN after queued data). Never
    /// fails.
    fn close(&mut self, socket: TcpSocket<S>) -> Result<(), Self::Error> {
        drop(socket);
        Ok(())
    }
}

/// The connected stream of `socket` for `call` (`send` or `receive`), advancing a handshake
/// in progress: `WouldBlock` while it runs, the state error if the socket is not connected.
fn connected<'a, S: Stack>(
    socket: &'a mut TcpSocket<S>,
    call: &'static str,
) -> nb::Result<&'a mut S::TcpStream, Error<S::Error>> {
    socket.progress().map_err(nb::Error::Other)?;
    let send = call == "send";
    let what = match (&socket.state, send) {
        (State::Connected(..), _) | (State::Connecting(..), _) | (State::Released, _) => "",
        (State::Listening(_), true) => "send: the socket is listening",
        (State::Listening(_), false) => "receive: the socket is listening",
        (_, true) => "send: the socket is not connected",
        (_, false) => "receive: the socket is not connected",
    };
    match &mut socket.state {
        State::Connected(stream, _) => Ok(stream),
        State::Connecting(..) => Err(nb::Error::WouldBlock),
        State::Released => Err(nb::Error::Other(released(call))),
        _ => Err(nb::Error::Other(Error::state(
            ErrorKind::NotConnected,
            what,
        ))),
    }
}

impl<S: Stack> TcpFullStack for NalStack<S> {
    /// Create the unisock socket in the bind domain, with `ReuseAddr`, bound to
    /// `unspecified:local_port` (0: an ephemeral port). `InvalidInput` if the socket already
    /// holds a unisock socket.
    fn bind(&mut self, socket: &mut TcpSocket<S>, local_port: u16) -> Result<(), Self::Error> {
        match socket.state {
            State::Unbound => {}
            State::Released => return Err(released("bind")),
            _ => {
                return Err(Error::state(
                    ErrorKind::InvalidInput,
                    "bind: the socket is already bound, connected or listening",
                ));
            }
        }
        let local = self.any(local_port)?;
        let mut s = self.stack.tcp_socket(self.bind_domain)?;
        s.set_option(SockOpt::ReuseAddr(true))?;
        s.bind(local)?;
        socket.state = State::Bound(s);
        Ok(())
    }

    /// Listen with the adapter's backlog. An unbound socket listens on an ephemeral port of
    /// the bind domain. A failed listen releases the socket.
    fn listen(&mut self, socket: &mut TcpSocket<S>) -> Result<(), Self::Error> {
        let unconnected = match mem::replace(&mut socket.state, State::Released) {
            State::Unbound => {
                let local = self.any(0);
                let created = local.and_then(|local| {
                    let mut s = self.stack.tcp_socket(self.bind_domain)?;
                    s.bind(local)?;
                    Ok(s)
                });
                match created {
                    Ok(s) => s,
                    Err(e) => {
                        socket.state = State::Unbound;
                        return Err(e);
                    }
                }
            }
            State::Bound(s) => s,
            State::Released => return Err(released("listen")),
            state => {
                socket.state = state;
                return Err(Error::state(
                    ErrorKind::InvalidInput,
                    "listen: the socket is connected or already listening",
                ));
            }
        };
        socket.state = State::Listening(unconnected.listen(self.backlog)?);
        Ok(())
    }

    /// `try_accept`: `WouldBlock` if no connection is queued.
    fn accept(
        &mut self,
        socket: &mut TcpSocket<S>,
    ) -> nb::Result<(TcpSocket<S>, SocketAddr), Self::Error> {
        match &mut socket.state {
            State::Listening(l) => {
                let (stream, peer) = nb_of(l.try_accept())?;
                Ok((TcpSocket::from_stream(stream, peer), peer))
            }
            State::Released => Err(nb::Error::Other(released("accept"))),
            _ => Err(nb::Error::Other(Error::state(
                ErrorKind::InvalidInput,
                "accept: the socket is not listening",
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use core::net::SocketAddr;

    use unisock::embedded_io::{self, ErrorType};
    use unisock::{Association, RecvFlags, SendFlags, Shutdown, SockOpt, SockOptName};

    use super::*;

    /// A stream scripted for the handshake check: what readiness, `PEEK` and `read` answer.
    struct Scripted {
        write_ready: bool,
        read_ready: bool,
        peek: Result<usize, ErrorKind>,
        read: Result<Option<u8>, ErrorKind>,
        reads: usize,
    }

    fn scripted(
        write_ready: bool,
        read_ready: bool,
        peek: Result<usize, ErrorKind>,
        read: Result<Option<u8>, ErrorKind>,
    ) -> Scripted {
        Scripted {
            write_ready,
            read_ready,
            peek,
            read,
            reads: 0,
        }
    }

    impl ErrorType for Scripted {
        type Error = ErrorKind;
    }

    impl unisock::Socket for Scripted {
        type Addr = SocketAddr;
        fn local_addr(&self) -> Result<SocketAddr, ErrorKind> {
            Err(ErrorKind::Unsupported)
        }
        fn set_option(&mut self, _: SockOpt) -> Result<(), ErrorKind> {
            Err(ErrorKind::Unsupported)
        }
        fn option(&self, _: SockOptName) -> Result<SockOpt, ErrorKind> {
            Err(ErrorKind::Unsupported)
        }
    }

    impl embedded_io::Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
            self.reads += 1;
            match self.read? {
                Some(byte) => {
                    buf[0] = byte;
                    Ok(1)
                }
                None => Ok(0),
            }
        }
    }

    impl embedded_io::Write for Scripted {
        fn write(&mut self, _: &[u8]) -> Result<usize, ErrorKind> {
            Err(ErrorKind::Unsupported)
        }
        fn flush(&mut self) -> Result<(), ErrorKind> {
            Ok(())
        }
    }

    impl embedded_io::ReadReady for Scripted {
        fn read_ready(&mut self) -> Result<bool, ErrorKind> {
            Ok(self.read_ready)
        }
    }

    impl embedded_io::WriteReady for Scripted {
        fn write_ready(&mut self) -> Result<bool, ErrorKind> {
            Ok(self.write_ready)
        }
    }

    impl StreamSocket for Scripted {
        fn peer_addr(&self) -> Result<SocketAddr, ErrorKind> {
            Err(ErrorKind::Unsupported)
        }
        fn association(&self) -> Result<Association<SocketAddr>, ErrorKind> {
            Err(ErrorKind::Unsupported)
        }
        fn recv(&mut self, _: &mut [u8], _: RecvFlags) -> Result<usize, ErrorKind> {
            Err(ErrorKind::Unsupported)
        }
        fn send(&mut self, _: &[u8], _: SendFlags) -> Result<usize, ErrorKind> {
            Err(ErrorKind::Unsupported)
        }
        fn try_recv(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<usize, ErrorKind> {
            if flags.contains(RecvFlags::PEEK) {
                self.peek
            } else {
                embedded_io::Read::read(self, buf)
            }
        }
        fn try_send(&mut self, _: &[u8], _: SendFlags) -> Result<usize, ErrorKind> {
            Err(ErrorKind::Unsupported)
        }
        fn shutdown(&mut self, _: Shutdown) -> Result<(), ErrorKind> {
            Ok(())
        }
        fn abort(self) -> Result<(), ErrorKind> {
            Ok(())
        }
    }

    /// `(result, stash, reads)` of one handshake check.
    fn check(mut s: Scripted) -> (Result<bool, ErrorKind>, Option<u8>, usize) {
        let mut stash = None;
        let r = handshake_done(&mut s, &mut stash);
        (r, stash, s.reads)
    }

    const WB: ErrorKind = ErrorKind::WouldBlock;
    const REFUSED: ErrorKind = ErrorKind::ConnectionRefused;

    #[test]
    fn handshake_running_until_write_ready() {
        assert_eq!(
            check(scripted(false, true, Ok(1), Ok(None))),
            (Ok(false), None, 0)
        );
    }

    #[test]
    fn handshake_done_and_nothing_to_read_consumes_nothing() {
        assert_eq!(
            check(scripted(true, false, Err(WB), Err(WB))),
            (Ok(true), None, 0)
        );
    }

    #[test]
    fn peek_tells_data_and_failure_without_reading() {
        assert_eq!(
            check(scripted(true, true, Ok(1), Ok(Some(7)))),
            (Ok(true), None, 0)
        );
        assert_eq!(
            check(scripted(true, true, Ok(0), Ok(None))),
            (Ok(true), None, 0)
        );
        assert_eq!(
            check(scripted(true, true, Err(REFUSED), Ok(None))),
            (Err(REFUSED), None, 0)
        );
    }

    /// The smoltcp backend's PEEK answers WouldBlock at end of stream and on a refused
    /// connection although `read_ready` is true: a real read settles it.
    #[test]
    fn peek_contradicting_read_ready_is_settled_by_a_read() {
        assert_eq!(
            check(scripted(true, true, Err(WB), Ok(None))),
            (Ok(true), None, 1)
        );
        assert_eq!(
            check(scripted(true, true, Err(WB), Err(REFUSED))),
            (Err(REFUSED), None, 1)
        );
        assert_eq!(
            check(scripted(true, true, Err(WB), Err(WB))),
            (Ok(true), None, 1)
        );
        // Data that arrived between the peek and the read is kept, not lost.
        assert_eq!(
            check(scripted(true, true, Err(WB), Ok(Some(b'x')))),
            (Ok(true), Some(b'x'), 1)
        );
    }
}
