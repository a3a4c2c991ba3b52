//! The `frames_scaled` fuzz target (`unisock_fuzz::conn_frames`): as `frames`, with 96 KiB
//! socket buffers and window scaling negotiated.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| unisock_fuzz::conn_frames::run(data, true));
