//! Shared code of the fuzz targets: the fault-injection parts of the conformance suite
//! (`tests/src/faults/`), included by path so the fuzz workspace does not build the whole
//! suite (the parts that need its test helpers are left out), and an input cursor.

pub mod conn_frames;
pub mod faults;
pub mod input;
