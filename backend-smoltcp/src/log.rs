//! The one internal logging shim: `log` or `defmt` (mutually exclusive features), or nothing.

#[cfg(all(feature = "log", feature = "defmt"))]
compile_error!("features `log` and `defmt` are mutually exclusive");

#[cfg(feature = "log")]
macro_rules! debug {
    ($($arg:tt)*) => { log::debug!($($arg)*) };
}

#[cfg(feature = "defmt")]
macro_rules! debug {
    ($($arg:tt)*) => { defmt::debug!($($arg)*) };
}

#[cfg(not(any(feature = "log", feature = "defmt")))]
macro_rules! debug {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {{ $( let _ = &$arg; )* }};
}

pub(crate) use debug;
