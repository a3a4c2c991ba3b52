//! Reliability testing: fault injection, the bad-input catalogue, resource exhaustion (see
//! RELIABILITY.md at the repository root for the promises and results).
//!
//! Building blocks:
//! - an in-process [`Wire`] joining two smoltcp devices, and the [`Faulty`] device wrapper
//!   that drops, corrupts, duplicates, reorders and delays frames with a seeded schedule and
//!   clamps the MTU; a [`TcpWatch`] counting retransmissions on the wire;
//! - the deterministic payload [`Source`] and its [`Verifier`] (SHA-256 of the whole stream
//!   plus per-block checksums that locate a defect);
//! - [`sim::World`], smoltcp stacks on one virtual clock; [`peer::Peer`], a hand-played TCP
//!   peer sending [`frames`] built by hand;
//! - [`setup`], the kernel (private namespace) and smoltcp-loopback set-ups with leak checks.
//!
//! Scenarios: [`integrity`] (stream integrity under faults), [`bad_input`] and [`exhaustion`]
//! (generic over `unisock::Stack`), and [`plain`] (the same wire under plain smoltcp, to tell
//! a backend defect from an upstream one).
//!
//! Everything here is reproducible: a run is determined by its seeds and, on a virtual clock,
//! by nothing else.
//!
//! Not modelled: bursty (correlated) loss, truncated frames, rate limits, link-layer
//! (Ethernet FCS) errors distinct from IP-level corruption.

pub mod bad_input;
pub mod exhaustion;
mod faulty;
pub mod frames;
pub mod integrity;
mod pattern;
pub mod peer;
pub mod plain;
mod rng;
pub mod setup;
pub mod sim;
mod watch;
mod wire;

pub use faulty::{FaultConfig, FaultControl, FaultStats, Faulty};
pub use pattern::{BLOCK, Defect, Report, Source, Verifier, short_hex};
pub use rng::Rng;
pub use watch::{Segment, TcpWatch, parse as parse_tcp};
pub use wire::{Wire, WireEnd};
