//! Stream integrity under injected faults (see `unisock_conformance::faults::integrity`): the
//! CI matrix (4 MiB per run, 3 seeds each) on a virtual clock, the negative control, and the
//! TAP variant against the Linux kernel.
//!
//! Every run prints one table row: bytes, seed, fault rates, digest (match / prefix /
//! MISMATCH), how it ended, virtual and wall time, faults injected, retransmitted segments
//! seen on the wire, frames received.

use std::time::Duration;

use unisock_conformance::faults::FaultConfig;
use unisock_conformance::faults::integrity::{End, Outcome, RunConfig, run};

const MIB: u64 = 1024 * 1024;
const SEEDS: [u64; 3] = [1, 2, 3];

fn check(runs: &[RunConfig]) -> Vec<Outcome> {
    let mut table = vec![Outcome::header().to_string()];
    let mut outs = Vec::new();
    for cfg in runs {
        let out = run(cfg);
        table.push(out.to_string());
        outs.push(out);
    }
    // One block per test, so parallel tests do not interleave rows.
    eprintln!("{}", table.join("\n"));
    let broken: Vec<String> = outs
        .iter()
        .filter(|o| !o.promise_kept())
        .map(|o| format!("{o}\n    {}", o.report))
        .collect();
    assert!(broken.is_empty(), "promise broken:\n{}", broken.join("\n"));
    outs
}

fn faults(seed: u64, drop: u8, corrupt: u8, dup: u8, reorder: u8) -> FaultConfig {
    FaultConfig {
        seed,
        drop_pct: drop,
        corrupt_pct: corrupt,
        duplicate_pct: dup,
        reorder_pct: reorder,
        ..FaultConfig::default()
    }
}

fn matrix_row(drop: u8, corrupt: u8, dup: u8, reorder: u8) {
    let runs: Vec<RunConfig> = SEEDS
        .iter()
        .map(|&s| RunConfig::symmetric(4 * MIB, faults(s, drop, corrupt, dup, reorder)))
        .collect();
    check(&runs);
}

macro_rules! matrix {
    ($($name:ident: $drop:expr, $corrupt:expr, $dup:expr, $reorder:expr;)*) => {$(
        #[test]
        fn $name() {
            matrix_row($drop, $corrupt, $dup, $reorder);
        }
    )*};
}

matrix! {
    drop0_corrupt0: 0, 0, 0, 0;
    drop0_corrupt1: 0, 1, 0, 0;
    drop0_corrupt15: 0, 15, 0, 0;
    drop1_corrupt0: 1, 0, 0, 0;
    drop1_corrupt1: 1, 1, 0, 0;
    drop1_corrupt15: 1, 15, 0, 0;
    drop5_corrupt0: 5, 0, 0, 0;
    drop5_corrupt1: 5, 1, 0, 0;
    drop5_corrupt15: 5, 15, 0, 0;
    drop15_corrupt0: 15, 0, 0, 0;
    drop15_corrupt1: 15, 1, 0, 0;
    drop15_corrupt15: 15, 15, 0, 0;
    drop30_corrupt0: 30, 0, 0, 0;
    drop30_corrupt1: 30, 1, 0, 0;
    drop30_corrupt15: 30, 15, 0, 0;
    duplicate5: 0, 0, 5, 0;
    reorder5: 0, 0, 0, 5;
    combined_drop15_corrupt15_dup5_reorder5: 15, 15, 5, 5;
}

/// Added delay (20 ms each way) and an MTU clamp (576-byte IP packets) with some loss: the
/// stacks use the smaller segments and the stream still arrives whole.
#[test]
fn delay_and_mtu_clamp() {
    let runs: Vec<RunConfig> = SEEDS
        .iter()
        .map(|&s| {
            let f = FaultConfig {
                delay: Duration::from_millis(20),
                mtu: Some(576 + 14),
                ..faults(s, 5, 1, 1, 1)
            };
            RunConfig::symmetric(MIB, f)
        })
        .collect();
    let outs = check(&runs);
    for o in &outs {
        assert_eq!(
            o.client.clamped + o.server.clamped,
            0,
            "a stack ignored the clamped MTU"
        );
        assert!(
            o.virtual_time >= Duration::from_millis(40),
            "the delay was not applied"
        );
    }
}

/// The negative control: with checksum verification off on both stacks, the same corruption
/// that the matrix survives gets through TCP, and the digest and block checks catch it. With
/// verification on, the same seed arrives intact. (This shows the matrix can fail.)
#[test]
fn negative_control_checksums_off_corruption_reaches_the_digest() {
    let on = FaultConfig {
        ..faults(11, 0, 5, 0, 0)
    };
    let off = FaultConfig {
        verify_checksums: false,
        ..on
    };
    let protected = run(&RunConfig::symmetric(MIB, on));
    let exposed = run(&RunConfig::symmetric(MIB, off));
    eprintln!("{}\n{protected}\n{exposed}", Outcome::header());
    assert!(
        protected.promise_kept() && protected.report.intact(),
        "{protected}"
    );
    assert!(exposed.server.corrupted > 0, "no corruption was injected");
    assert!(
        exposed.report.defect_count > 0
            && exposed.report.sent_digest != exposed.report.received_digest,
        "corruption with checksums off went unnoticed by the digest: {}",
        exposed.report
    );
    assert!(
        !exposed.promise_kept(),
        "the promise check accepted a corrupted stream"
    );
    let first = exposed.report.defects.first().expect("a located defect");
    assert!(
        first.first_bad_offset < MIB,
        "defect located inside the stream: {first:?}"
    );
    let _ = End::Complete;
}
