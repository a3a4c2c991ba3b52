//! The payload of integrity runs: a deterministic byte stream from a seed ([`Source`]), and
//! the receiver's check ([`Verifier`]): a SHA-256 of the whole stream, and a per-block
//! checksum (FNV-1a 64 over [`BLOCK`] bytes) that locates a defect to its block and first
//! wrong byte.

use std::fmt;

use sha2::{Digest, Sha256};

use super::rng::Rng;

/// Bytes per checked block.
pub const BLOCK: usize = 4096;

fn block_of(seed: u64, index: u64, out: &mut [u8; BLOCK]) {
    Rng::new(seed ^ index.wrapping_mul(0xa076_1d64_78bd_642f)).fill(out);
}

fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The sender's side: yields the stream in order and hashes what was accepted.
#[derive(Debug)]
pub struct Source {
    seed: u64,
    len: u64,
    offset: u64,
    block: Box<[u8; BLOCK]>,
    block_index: u64,
    sha: Sha256,
}

impl Source {
    /// A stream of `len` bytes from `seed`.
    pub fn new(seed: u64, len: u64) -> Source {
        let mut block = Box::new([0u8; BLOCK]);
        block_of(seed, 0, &mut block);
        Source {
            seed,
            len,
            offset: 0,
            block,
            block_index: 0,
            sha: Sha256::new(),
        }
    }

    /// The next bytes to send (at most to the end of the current block; empty when done).
    pub fn pending(&self) -> &[u8] {
        let in_block = (self.offset % BLOCK as u64) as usize;
        let left = (self.len - self.offset).min((BLOCK - in_block) as u64) as usize;
        &self.block[in_block..in_block + left]
    }

    /// Mark `n` bytes of [`pending`](Source::pending) as accepted by the socket.
    ///
    /// # Panics
    /// If `n` is more than was pending (a caller bug, not reachable from the network).
    pub fn consume(&mut self, n: usize) {
        let pending = self.pending().len();
        assert!(n <= pending, "consumed {n} of {pending} pending bytes");
        let in_block = (self.offset % BLOCK as u64) as usize;
        self.sha.update(&self.block[in_block..in_block + n]);
        self.offset += n as u64;
        let index = self.offset / BLOCK as u64;
        if index != self.block_index {
            self.block_index = index;
            block_of(self.seed, index, &mut self.block);
        }
    }

    /// Skip ahead to where `other` (a source of the same seed) is, hashing the same bytes, so
    /// a longer stream can continue a shorter one.
    ///
    /// # Panics
    /// If `other` is further than this stream's length (a caller bug).
    pub fn consume_all_from(&mut self, other: &Source) {
        assert!(other.offset <= self.len, "cannot skip beyond the end");
        while self.offset < other.offset {
            let n = self
                .pending()
                .len()
                .min((other.offset - self.offset) as usize);
            self.consume(n);
        }
    }

    /// Bytes accepted so far.
    pub fn sent(&self) -> u64 {
        self.offset
    }

    /// Whether the whole stream was accepted.
    pub fn done(&self) -> bool {
        self.offset == self.len
    }

    /// SHA-256 of the bytes accepted so far.
    pub fn digest(&self) -> [u8; 32] {
        self.sha.clone().finalize().into()
    }
}

/// A block whose content differs from what was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defect {
    /// Block index (stream offset / [`BLOCK`]).
    pub block: u64,
    /// Stream offset of the first wrong byte.
    pub first_bad_offset: u64,
}

/// The receiver's side: hashes everything received and checks each block.
#[derive(Debug)]
pub struct Verifier {
    seed: u64,
    expected_len: u64,
    received: u64,
    /// Bytes in blocks already checked.
    checked: u64,
    sha: Sha256,
    current: Vec<u8>,
    defects: Vec<Defect>,
    defect_count: u64,
}

/// At most this many defects are kept (all are counted).
const MAX_DEFECTS: usize = 16;

impl Verifier {
    /// Expect `expected_len` bytes of the stream from `seed`.
    pub fn new(seed: u64, expected_len: u64) -> Verifier {
        Verifier {
            seed,
            expected_len,
            received: 0,
            checked: 0,
            sha: Sha256::new(),
            current: Vec::with_capacity(BLOCK),
            defects: Vec::new(),
            defect_count: 0,
        }
    }

    /// Take received bytes.
    pub fn feed(&mut self, mut data: &[u8]) {
        self.sha.update(data);
        self.received += data.len() as u64;
        while !data.is_empty() {
            let take = (BLOCK - self.current.len()).min(data.len());
            self.current.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.current.len() == BLOCK {
                self.check_block();
            }
        }
    }

    fn check_block(&mut self) {
        if self.current.is_empty() {
            return;
        }
        let start = self.checked;
        let index = start / BLOCK as u64;
        self.checked += self.current.len() as u64;
        let mut want = [0u8; BLOCK];
        block_of(self.seed, index, &mut want);
        let want = &want[..self.current.len()];
        if fnv1a(want) != fnv1a(&self.current) || want != &self.current[..] {
            self.defect_count += 1;
            if self.defects.len() < MAX_DEFECTS {
                let at = want
                    .iter()
                    .zip(&self.current)
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                self.defects.push(Defect {
                    block: index,
                    first_bad_offset: start + at as u64,
                });
            }
        }
        self.current.clear();
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Whether every expected byte (or more) has arrived.
    pub fn complete(&self) -> bool {
        self.received >= self.expected_len
    }

    /// Check the last partial block and report.
    pub fn finish(mut self, sent_digest: [u8; 32]) -> Report {
        self.check_block();
        let digest: [u8; 32] = self.sha.finalize().into();
        Report {
            expected_len: self.expected_len,
            received: self.received,
            sent_digest,
            received_digest: digest,
            defects: self.defects,
            defect_count: self.defect_count,
        }
    }
}

/// The outcome of a verified transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Bytes the receiver expected.
    pub expected_len: u64,
    /// Bytes the receiver got.
    pub received: u64,
    /// SHA-256 of what the sender's socket accepted.
    pub sent_digest: [u8; 32],
    /// SHA-256 of what the receiver read.
    pub received_digest: [u8; 32],
    /// The first defective blocks.
    pub defects: Vec<Defect>,
    /// Defective blocks in all.
    pub defect_count: u64,
}

impl Report {
    /// Everything arrived, intact: lengths and digests equal, no defective block.
    pub fn intact(&self) -> bool {
        self.received == self.expected_len
            && self.sent_digest == self.received_digest
            && self.defect_count == 0
    }

    /// Whether what arrived is a correct prefix of what was sent (no byte wrong; maybe
    /// short).
    pub fn clean_prefix(&self) -> bool {
        self.defect_count == 0 && self.received <= self.expected_len
    }
}

/// Hex of the first 8 bytes of a digest (for tables).
pub fn short_hex(d: &[u8; 32]) -> String {
    d[..8].iter().map(|b| format!("{b:02x}")).collect()
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} bytes, sha256 sent {} received {}, {} defective blocks",
            self.received,
            self.expected_len,
            short_hex(&self.sent_digest),
            short_hex(&self.received_digest),
            self.defect_count
        )?;
        if let Some(d) = self.defects.first() {
            write!(
                f,
                " (first: block {} at offset {})",
                d.block, d.first_bad_offset
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(src: &mut Source, step: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while !src.done() {
            let p = src.pending();
            let n = p.len().min(step);
            out.extend_from_slice(&p[..n]);
            src.consume(n);
        }
        out
    }

    #[test]
    fn intact_stream_verifies_and_a_flipped_bit_is_located() {
        let len = 3 * BLOCK as u64 + 100;
        let mut a = Source::new(5, len);
        let data = drain(&mut a, 777);
        let mut b = Source::new(5, len);
        assert_eq!(drain(&mut b, 4096), data, "chunking changes nothing");
        let mut v = Verifier::new(5, len);
        for c in data.chunks(1000) {
            v.feed(c);
        }
        let r = v.finish(a.digest());
        assert!(r.intact(), "{r}");

        let mut bad = data.clone();
        bad[2 * BLOCK + 17] ^= 0x10;
        let mut v = Verifier::new(5, len);
        v.feed(&bad);
        let r = v.finish(a.digest());
        assert!(!r.intact());
        assert_eq!(
            r.defects,
            vec![Defect {
                block: 2,
                first_bad_offset: 2 * BLOCK as u64 + 17
            }]
        );

        let mut v = Verifier::new(5, len);
        v.feed(&data[..len as usize - 1]);
        let r = v.finish(a.digest());
        assert!(!r.intact() && r.clean_prefix(), "short stream: {r}");
        assert_ne!(Source::new(6, 10).pending(), Source::new(5, 10).pending());
    }
}
