//! Interleaved measurement, statistics, the markdown table and the JSON report.
//!
//! Every comparison runs its two cases alternately (A B, B A, A B, ...: the order flips every
//! round) after one unrecorded warm-up of each, so that slow drifts of the machine (other tenants,
//! frequency, page cache) hit both sides alike. Each sample is a rate (higher is better); the
//! ratio of a round is unisock's sample over the baseline's sample of the same round, and the
//! table reports the median of those ratios with their min..max spread.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// A benchmark failure: what was being done and why it failed.
pub type BenchResult<T> = Result<T, String>;

/// Attach context to any error with a `Debug` form.
pub trait Ctx<T> {
    /// Turn the error into a message that says what was being done.
    fn ctx(self, what: &str) -> BenchResult<T>;
}

impl<T, E: std::fmt::Debug> Ctx<T> for Result<T, E> {
    fn ctx(self, what: &str) -> BenchResult<T> {
        self.map_err(|e| format!("{what}: {e:?}"))
    }
}

/// min / median / max of a sample set.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    /// Smallest sample.
    pub min: f64,
    /// Median sample.
    pub median: f64,
    /// Largest sample.
    pub max: f64,
}

impl Stats {
    /// Statistics of `samples` (all zero for an empty set).
    pub fn of(samples: &[f64]) -> Stats {
        if samples.is_empty() {
            return Stats::default();
        }
        let mut v = samples.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Stats {
            min: v[0],
            median,
            max: v[n - 1],
        }
    }
}

/// One line of the results: a workload case, its unisock samples and (optionally) the
/// baseline's.
#[derive(Debug, Clone)]
pub struct Row {
    /// Workload group, e.g. "1 TCP bulk".
    pub workload: String,
    /// The case within the workload, e.g. "64 KiB writes".
    pub case: String,
    /// Unit of the samples, e.g. "Gbit/s".
    pub unit: &'static str,
    /// Name of the measured side (usually "unisock-posix" or "unisock-smoltcp").
    pub subject: String,
    /// Name of the baseline (empty if there is none).
    pub baseline: String,
    /// Samples of the measured side.
    pub a: Vec<f64>,
    /// Samples of the baseline, one per round (empty if there is none).
    pub b: Vec<f64>,
    /// Free-form note (settings, counts).
    pub note: String,
}

impl Row {
    /// Per-round ratios a/b.
    pub fn ratios(&self) -> Vec<f64> {
        self.a
            .iter()
            .zip(&self.b)
            .filter(|(_, b)| **b > 0.0)
            .map(|(a, b)| a / b)
            .collect()
    }
}

/// Run `a` and `b` alternately for `rounds` rounds after one warm-up of each, and return their
/// samples. Each closure returns one sample (a rate). Stops early, with what it has, if
/// `budget` has elapsed after at least 3 rounds (keeps every run bounded in time).
pub fn interleave(
    rounds: usize,
    budget: Duration,
    mut a: impl FnMut() -> BenchResult<f64>,
    mut b: impl FnMut() -> BenchResult<f64>,
) -> BenchResult<(Vec<f64>, Vec<f64>)> {
    a()?;
    b()?;
    let start = Instant::now();
    let mut sa = Vec::with_capacity(rounds);
    let mut sb = Vec::with_capacity(rounds);
    for round in 0..rounds {
        // Alternate which side goes first, so neither always runs right after the other.
        if round % 2 == 0 {
            sa.push(a()?);
            sb.push(b()?);
        } else {
            sb.push(b()?);
            sa.push(a()?);
        }
        if round >= 2 && start.elapsed() > budget {
            eprintln!("  (time budget reached after {} rounds)", round + 1);
            break;
        }
    }
    Ok((sa, sb))
}

/// Run `a` alone for `rounds` rounds after one warm-up (a measurement without a baseline).
pub fn repeat(
    rounds: usize,
    budget: Duration,
    mut a: impl FnMut() -> BenchResult<f64>,
) -> BenchResult<Vec<f64>> {
    a()?;
    let start = Instant::now();
    let mut sa = Vec::with_capacity(rounds);
    for round in 0..rounds {
        sa.push(a()?);
        if round >= 2 && start.elapsed() > budget {
            break;
        }
    }
    Ok(sa)
}

fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 1e6 {
        format!("{:.3}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn fmt_stats(s: &Stats) -> String {
    format!(
        "{} / **{}** / {}",
        fmt_num(s.min),
        fmt_num(s.median),
        fmt_num(s.max)
    )
}

/// Print one row as soon as it is measured (progress on stderr).
pub fn progress(row: &Row) {
    let a = Stats::of(&row.a);
    if row.ratios().is_empty() {
        eprintln!(
            "  {} | {}: {} {} (median)",
            row.workload,
            row.case,
            fmt_num(a.median),
            row.unit
        );
    } else {
        let b = Stats::of(&row.b);
        let r = Stats::of(&row.ratios());
        eprintln!(
            "  {} | {}: {} {} vs {} {}: ratio {:.3} ({:.3}..{:.3})",
            row.workload,
            row.case,
            fmt_num(a.median),
            row.unit,
            fmt_num(b.median),
            row.unit,
            r.median,
            r.min,
            r.max
        );
    }
}

/// The markdown table of all rows.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str(
        "| workload | case | unit | subject: min / **median** / max | baseline: min / **median** / max | ratio median (min..max) | n | note |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    for row in rows {
        let a = Stats::of(&row.a);
        let ratios = row.ratios();
        let b = if row.b.is_empty() {
            "—".to_string()
        } else {
            format!("{}: {}", row.baseline, fmt_stats(&Stats::of(&row.b)))
        };
        let ratio = if ratios.is_empty() {
            "—".to_string()
        } else {
            let r = Stats::of(&ratios);
            format!("**{:.3}** ({:.3}..{:.3})", r.median, r.min, r.max)
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {}: {} | {} | {} | {} | {} |",
            row.workload,
            row.case,
            row.unit,
            row.subject,
            fmt_stats(&a),
            b,
            ratio,
            row.a.len(),
            row.note
        );
    }
    out
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_nums(v: &[f64]) -> String {
    let parts: Vec<String> = v
        .iter()
        .map(|x| {
            if x.is_finite() {
                format!("{x}")
            } else {
                "null".into()
            }
        })
        .collect();
    format!("[{}]", parts.join(","))
}

fn json_stats(s: &Stats) -> String {
    format!(
        "{{\"min\":{},\"median\":{},\"max\":{}}}",
        s.min, s.median, s.max
    )
}

/// The machine-readable report: every row with its raw samples and statistics.
pub fn json(rows: &[Row], settings: &str) -> String {
    let mut out = String::from("{\n  \"settings\": ");
    out.push_str(&json_str(settings));
    out.push_str(",\n  \"rows\": [\n");
    for (i, row) in rows.iter().enumerate() {
        let ratios = row.ratios();
        let _ = write!(
            out,
            "    {{\"workload\":{},\"case\":{},\"unit\":{},\"subject\":{},\"baseline\":{},\"note\":{},\
             \"subject_samples\":{},\"baseline_samples\":{},\"ratios\":{},\
             \"subject_stats\":{},\"baseline_stats\":{},\"ratio_stats\":{}}}",
            json_str(&row.workload),
            json_str(&row.case),
            json_str(row.unit),
            json_str(&row.subject),
            json_str(&row.baseline),
            json_str(&row.note),
            json_nums(&row.a),
            json_nums(&row.b),
            json_nums(&ratios),
            json_stats(&Stats::of(&row.a)),
            json_stats(&Stats::of(&row.b)),
            json_stats(&Stats::of(&ratios)),
        );
        out.push_str(if i + 1 < rows.len() { ",\n" } else { "\n" });
    }
    out.push_str("  ]\n}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_sets() {
        let s = Stats::of(&[3.0, 1.0, 2.0]);
        assert_eq!((s.min, s.median, s.max), (1.0, 2.0, 3.0));
        let s = Stats::of(&[4.0, 1.0, 3.0, 2.0]);
        assert_eq!((s.min, s.median, s.max), (1.0, 2.5, 4.0));
    }

    #[test]
    fn counting_allocator_counts() {
        let before = crate::alloc::allocations();
        let v = std::hint::black_box(vec![1u8; 100]);
        assert!(crate::alloc::allocations() > before);
        drop(v);
    }

    #[test]
    fn ratios_are_per_round() {
        let row = Row {
            workload: "w".into(),
            case: "c".into(),
            unit: "u",
            subject: "a".into(),
            baseline: "b".into(),
            a: vec![2.0, 3.0],
            b: vec![1.0, 6.0],
            note: String::new(),
        };
        assert_eq!(row.ratios(), vec![2.0, 0.5]);
        assert!(json(&[row], "s").contains("\"ratios\":[2,0.5]"));
    }
}
