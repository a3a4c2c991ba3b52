//! Message flags for `send`/`recv` and the `shutdown` directions.
//!
//! Receive and send flags are separate types, so a send-only flag cannot be passed to a receive
//! call. A flag a backend cannot honour makes the call fail with
//! [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported); no flag is ever silently ignored.
//!
//! Non-blocking operation is not a flag here (no `MSG_DONTWAIT`): it is the separate `try_*`
//! methods of the socket traits.

use core::fmt;
use core::ops::{BitOr, BitOrAssign};

macro_rules! flag_set {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $flag:ident = $bit:expr, $label:literal;)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub struct $name(u8);

        impl $name {
            /// No flag set.
            pub const NONE: $name = $name(0);
            $($(#[$fmeta])* pub const $flag: $name = $name($bit);)*

            /// Whether every flag of `other` is set in `self`.
            pub const fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }

            /// Whether no flag is set.
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }

            /// `self` without the flags of `other`.
            pub const fn without(self, other: $name) -> $name {
                $name(self.0 & !other.0)
            }

            /// The raw bits (backend-neutral numbering, not the OS's).
            pub const fn bits(self) -> u8 {
                self.0
            }
        }

        impl BitOr for $name {
            type Output = $name;
            fn bitor(self, rhs: $name) -> $name {
                $name(self.0 | rhs.0)
            }
        }

        impl BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: $name) {
                self.0 |= rhs.0;
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "("))?;
                let mut first = true;
                $(if self.contains($name::$flag) {
                    if !first { f.write_str(" | ")?; }
                    f.write_str($label)?;
                    first = false;
                })*
                if first { f.write_str("NONE")?; }
                f.write_str(")")
            }
        }
    };
}

flag_set! {
    /// Flags for receive calls (`recv`, `recv_from`).
    RecvFlags {
        /// Return data without removing it from the receive queue (`MSG_PEEK`).
        PEEK = 1, "PEEK";
        /// Receive the urgent (out-of-band) byte (`MSG_OOB`). Unsupported on smoltcp.
        OOB = 2, "OOB";
        /// Block until the whole buffer is filled, or end of stream, or an error
        /// (`MSG_WAITALL`). Streams only.
        WAITALL = 4, "WAITALL";
    }
}

flag_set! {
    /// Flags for send calls (`send`, `send_to`).
    SendFlags {
        /// Send the urgent (out-of-band) byte (`MSG_OOB`): the last byte of the buffer is marked
        /// urgent. Unsupported on smoltcp.
        OOB = 1, "OOB";
        /// Send only to on-link destinations, bypassing routing via a gateway
        /// (`MSG_DONTROUTE`). An off-link destination fails with
        /// [`ErrorKind::NetworkUnreachable`](crate::ErrorKind::NetworkUnreachable).
        DONTROUTE = 2, "DONTROUTE";
    }
}

/// Which directions of a stream [`shutdown`](crate::StreamSocket::shutdown) closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Shutdown {
    /// No more receiving: later reads return end of stream (`Ok(0)`); data arriving later is
    /// discarded.
    Read,
    /// No more sending: a FIN is sent after the queued data; the peer reads end of stream. The
    /// other direction keeps flowing (half-close).
    Write,
    /// Both directions.
    Both,
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::format;

    #[test]
    fn flags_combine_and_print() {
        let f = RecvFlags::PEEK | RecvFlags::WAITALL;
        assert!(f.contains(RecvFlags::PEEK));
        assert!(!f.contains(RecvFlags::OOB));
        assert_eq!(f.without(RecvFlags::PEEK), RecvFlags::WAITALL);
        assert_eq!(format!("{f:?}"), "RecvFlags(PEEK | WAITALL)");
        assert_eq!(format!("{:?}", SendFlags::NONE), "SendFlags(NONE)");
        assert!(SendFlags::default().is_empty());
    }
}
