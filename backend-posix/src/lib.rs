//! unisock backend for the Linux kernel (work in progress).
