//! Shared code of the fuzz targets: the fault-injection module of the conformance suite,
//! included by path (so the fuzz workspace does not build the whole suite), and helpers.

#[path = "../../tests/src/faults/mod.rs"]
pub mod faults;
