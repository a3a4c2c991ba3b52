//! conformance (work in progress)
