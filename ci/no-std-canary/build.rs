fn main() {
    // No C runtime start files: `main` above is the only entry, and nothing from libc is used.
    println!("cargo:rustc-link-arg-bins=-nostartfiles");
}
