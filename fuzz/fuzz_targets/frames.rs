//! The `frames` fuzz target (`unisock_fuzz::conn_frames`): arbitrary frames into a stack with
//! a listener and an established connection, 4 KiB socket buffers, no window scaling.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| unisock_fuzz::conn_frames::run(data, false));
