//! Links `unisock` into a program that has neither std nor an allocator.
#![no_std]
#![no_main]

use core::panic::PanicInfo;

use unisock::{ErrorKind, parse_target};

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    loop {}
}

/// The entry point the C runtime would call; never run, only linked.
#[unsafe(no_mangle)]
pub extern "C" fn main() -> i32 {
    match parse_target("localhost:8080", 80) {
        Ok(t) if t.port == 8080 => 0,
        _ => ErrorKind::InvalidInput as i32,
    }
}

/// The prebuilt `core` refers to the unwinding personality routine even with `panic = "abort"`;
/// nothing here unwinds, so an empty one satisfies the linker.
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}
