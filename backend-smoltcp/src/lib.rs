//! unisock backend over smoltcp (work in progress).
