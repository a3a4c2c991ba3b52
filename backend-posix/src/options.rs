//! Socket options: [`SockOpt`] to and from `setsockopt`/`getsockopt`.
//!
//! Which options each socket type takes (others fail with `Unsupported` before any system
//! call, so nothing is silently ignored):
//!
//! | option | TCP | UDP | raw | UNIX stream | UNIX datagram |
//! |---|---|---|---|---|---|
//! | `NoDelay` (`TCP_NODELAY`) | yes | | | | |
//! | `KeepAlive` (`SO_KEEPALIVE` + `TCP_KEEPIDLE`) | yes | | | | |
//! | `Ttl` (`IP_TTL` / `IPV6_UNICAST_HOPS`) | yes | yes | yes | | |
//! | `Linger` (`SO_LINGER`) | yes | | | | |
//! | `ReuseAddr` (`SO_REUSEADDR`) | yes | yes | | | |
//! | `RecvBufferSize`, `SendBufferSize` | yes | yes | yes | yes | yes |
//! | `ReadTimeout`, `WriteTimeout` | yes | yes | yes | yes | yes |
//!
//! Durations are rounded up to the unit the kernel takes: whole seconds for `KeepAlive` and
//! `Linger`, microseconds for the timeouts (which the kernel then keeps in clock ticks, so a
//! timeout reads back rounded up to the tick, e.g. 50 ms as 52 ms with `HZ=250`). `ReadTimeout(Some(Duration::ZERO))` and
//! `WriteTimeout(Some(Duration::ZERO))` are `InvalidInput` (the kernel would read zero as
//! "forever"; use `None`). Sizes above `i32::MAX` and keep-alive idle times above 32767 s are
//! `InvalidInput`.

use core::time::Duration;

use unisock::{ErrorKind, SockOpt, SockOptName};

use crate::error::{Error, Op};
use crate::sys::Socket;

/// Which kind of socket an option is applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tcp,
    Udp,
    Raw,
    UnixStream,
    UnixDatagram,
}

impl Kind {
    fn allows(self, name: SockOptName) -> bool {
        use Kind::*;
        use SockOptName as N;
        match name {
            N::NoDelay | N::KeepAlive => self == Tcp,
            N::Ttl => matches!(self, Tcp | Udp | Raw),
            // Linux accepts these elsewhere but ignores them: refuse rather than pretend.
            N::ReuseAddr => matches!(self, Tcp | Udp),
            N::Linger => self == Tcp,
            N::RecvBufferSize | N::SendBufferSize | N::ReadTimeout | N::WriteTimeout => true,
        }
    }
}

fn unsupported(op: Op) -> Error {
    Error::invalid(
        op,
        ErrorKind::Unsupported,
        "option not available on this socket type",
    )
}

fn invalid(why: &'static str) -> Error {
    Error::invalid(Op::SetOption, ErrorKind::InvalidInput, why)
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn to_int(v: usize, why: &'static str) -> Result<libc::c_int, Error> {
    libc::c_int::try_from(v).map_err(|_| invalid(why))
}

fn timeval(d: Option<Duration>) -> Result<libc::timeval, Error> {
    let Some(d) = d else {
        return Ok(libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        });
    };
    if d.is_zero() {
        return Err(invalid(
            "a zero timeout is not allowed (use None to wait forever)",
        ));
    }
    let micros = d.as_nanos().div_ceil(1000);
    let secs = micros / 1_000_000;
    let tv_sec = libc::time_t::try_from(secs).map_err(|_| invalid("timeout too large"))?;
    Ok(libc::timeval {
        tv_sec,
        // Below 1_000_000, fits every suseconds_t.
        tv_usec: (micros % 1_000_000) as libc::suseconds_t,
    })
}

fn from_timeval(tv: libc::timeval) -> Option<Duration> {
    if tv.tv_sec == 0 && tv.tv_usec == 0 {
        return None;
    }
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let micros = u32::try_from(tv.tv_usec).unwrap_or(0);
    Some(Duration::from_secs(secs) + Duration::from_micros(u64::from(micros)))
}

/// The level and name of the TTL option for this socket's family.
fn ttl_option(sock: &Socket, op: Op) -> Result<(libc::c_int, libc::c_int), Error> {
    match sock.family().map_err(|e| Error::os(op, e))? {
        libc::AF_INET6 => Ok((libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS)),
        _ => Ok((libc::IPPROTO_IP, libc::IP_TTL)),
    }
}

/// Apply `option` to a socket of `kind`.
pub(crate) fn set(sock: &Socket, kind: Kind, option: SockOpt) -> Result<(), Error> {
    if !kind.allows(option.name()) {
        return Err(unsupported(Op::SetOption));
    }
    let os = |e| Error::os(Op::SetOption, e);
    let int = |v: bool| libc::c_int::from(v);
    match option {
        SockOpt::NoDelay(on) => sock
            .set_opt(libc::IPPROTO_TCP, libc::TCP_NODELAY, int(on))
            .map_err(os),
        SockOpt::KeepAlive(None) => sock
            .set_opt(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 0 as libc::c_int)
            .map_err(os),
        SockOpt::KeepAlive(Some(idle)) => {
            let secs = ceil_secs(idle).max(1);
            if secs > 32767 {
                return Err(invalid("keep-alive idle time above 32767 s"));
            }
            sock.set_opt(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, secs as libc::c_int)
                .map_err(os)?;
            sock.set_opt(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1 as libc::c_int)
                .map_err(os)
        }
        SockOpt::Ttl(ttl) => {
            let (level, name) = ttl_option(sock, Op::SetOption)?;
            sock.set_opt(level, name, libc::c_int::from(ttl))
                .map_err(os)
        }
        SockOpt::Linger(l) => {
            let value = match l {
                None => libc::linger {
                    l_onoff: 0,
                    l_linger: 0,
                },
                Some(d) => libc::linger {
                    l_onoff: 1,
                    l_linger: libc::c_int::try_from(ceil_secs(d))
                        .map_err(|_| invalid("linger time too large"))?,
                },
            };
            sock.set_opt(libc::SOL_SOCKET, libc::SO_LINGER, value)
                .map_err(os)
        }
        SockOpt::ReuseAddr(on) => sock
            .set_opt(libc::SOL_SOCKET, libc::SO_REUSEADDR, int(on))
            .map_err(os),
        SockOpt::RecvBufferSize(n) => {
            let n = to_int(n, "buffer size above i32::MAX")?;
            sock.set_opt(libc::SOL_SOCKET, libc::SO_RCVBUF, n)
                .map_err(os)
        }
        SockOpt::SendBufferSize(n) => {
            let n = to_int(n, "buffer size above i32::MAX")?;
            sock.set_opt(libc::SOL_SOCKET, libc::SO_SNDBUF, n)
                .map_err(os)
        }
        SockOpt::ReadTimeout(t) => sock
            .set_opt(libc::SOL_SOCKET, libc::SO_RCVTIMEO, timeval(t)?)
            .map_err(os),
        SockOpt::WriteTimeout(t) => sock
            .set_opt(libc::SOL_SOCKET, libc::SO_SNDTIMEO, timeval(t)?)
            .map_err(os),
    }
}

/// Read option `name` of a socket of `kind`.
pub(crate) fn get(sock: &Socket, kind: Kind, name: SockOptName) -> Result<SockOpt, Error> {
    if !kind.allows(name) {
        return Err(unsupported(Op::GetOption));
    }
    let os = |e| Error::os(Op::GetOption, e);
    let int = |level, opt| sock.opt::<libc::c_int>(level, opt).map_err(os);
    let size = |v: libc::c_int| usize::try_from(v).unwrap_or(0);
    Ok(match name {
        SockOptName::NoDelay => SockOpt::NoDelay(int(libc::IPPROTO_TCP, libc::TCP_NODELAY)? != 0),
        SockOptName::KeepAlive => {
            if int(libc::SOL_SOCKET, libc::SO_KEEPALIVE)? == 0 {
                SockOpt::KeepAlive(None)
            } else {
                let idle = int(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE)?;
                SockOpt::KeepAlive(Some(Duration::from_secs(u64::try_from(idle).unwrap_or(0))))
            }
        }
        SockOptName::Ttl => {
            let (level, opt) = ttl_option(sock, Op::GetOption)?;
            let ttl = int(level, opt)?;
            SockOpt::Ttl(u8::try_from(ttl).unwrap_or(u8::MAX))
        }
        SockOptName::Linger => {
            let l = sock
                .opt::<libc::linger>(libc::SOL_SOCKET, libc::SO_LINGER)
                .map_err(os)?;
            SockOpt::Linger(
                (l.l_onoff != 0)
                    .then(|| Duration::from_secs(u64::try_from(l.l_linger).unwrap_or(0))),
            )
        }
        SockOptName::ReuseAddr => {
            SockOpt::ReuseAddr(int(libc::SOL_SOCKET, libc::SO_REUSEADDR)? != 0)
        }
        SockOptName::RecvBufferSize => {
            SockOpt::RecvBufferSize(size(int(libc::SOL_SOCKET, libc::SO_RCVBUF)?))
        }
        SockOptName::SendBufferSize => {
            SockOpt::SendBufferSize(size(int(libc::SOL_SOCKET, libc::SO_SNDBUF)?))
        }
        SockOptName::ReadTimeout => SockOpt::ReadTimeout(from_timeval(
            sock.opt(libc::SOL_SOCKET, libc::SO_RCVTIMEO).map_err(os)?,
        )),
        SockOptName::WriteTimeout => SockOpt::WriteTimeout(from_timeval(
            sock.opt(libc::SOL_SOCKET, libc::SO_SNDTIMEO).map_err(os)?,
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeval_rounds_up_and_rejects_zero() {
        let tv = timeval(Some(Duration::from_nanos(1))).unwrap();
        assert_eq!((tv.tv_sec, tv.tv_usec), (0, 1));
        let tv = timeval(Some(Duration::from_millis(2500))).unwrap();
        assert_eq!((tv.tv_sec, tv.tv_usec), (2, 500_000));
        assert!(timeval(Some(Duration::ZERO)).is_err());
        assert_eq!(from_timeval(timeval(None).unwrap()), None);
        assert_eq!(
            from_timeval(timeval(Some(Duration::from_millis(1500))).unwrap()),
            Some(Duration::from_millis(1500))
        );
    }
}
