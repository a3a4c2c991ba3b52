//! The wire, the fault-injecting device wrapper, the payload verifier, the hand-built frames,
//! the virtual-clock world and the hand-played peer of the conformance suite.

#[path = "../../../tests/src/faults/faulty.rs"]
mod faulty;
#[path = "../../../tests/src/faults/frames.rs"]
pub mod frames;
#[path = "../../../tests/src/faults/pattern.rs"]
mod pattern;
#[path = "../../../tests/src/faults/peer.rs"]
pub mod peer;
#[path = "../../../tests/src/faults/rng.rs"]
mod rng;
#[path = "../../../tests/src/faults/sim.rs"]
pub mod sim;
#[path = "../../../tests/src/faults/watch.rs"]
mod watch;
#[path = "../../../tests/src/faults/wire.rs"]
mod wire;

pub use faulty::{FaultConfig, FaultControl, FaultStats, Faulty};
pub use pattern::{BLOCK, Report, Source, Verifier};
pub use rng::Rng;
pub use wire::{Wire, WireEnd};
