//! What the async programs (`async-echo-server`, `async-echo-client`) share: choosing the
//! async stack from `--backend` and `--reactor`, and running generic async work on a
//! single-threaded tokio runtime.
//!
//! The work is written once, generic over [`unisock::asynch::Stack`] ([`AsyncWork`]). On
//! `--backend posix` it runs on `unisock_posix::asynch::TokioStack` (tokio's reactor) or
//! `AsyncIoStack` (async-io's reactor, which runs under any executor, tokio's included). On
//! `--backend smoltcp` it runs on `&unisock_smoltcp::Stack` (its async implementation; the
//! stack's driver thread polls the interface, sockets wake their own tasks), over TAP or the
//! in-process loopback as the smoltcp options say.

use std::fmt;

use crate::cli::{Backend, StackArgs};

/// The reactor the posix backend's async sockets are registered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Reactor {
    /// tokio's `AsyncFd` (the default: measured the faster, and allocation-free).
    Tokio,
    /// async-io's `Async` (runs under any executor; here under tokio's).
    AsyncIo,
}

impl fmt::Display for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reactor::Tokio => "tokio",
            Reactor::AsyncIo => "async-io",
        })
    }
}

/// A program's async work, written once for every async stack.
pub trait AsyncWork {
    /// Run on `stack` (leaked: it lives as long as the program, so tasks may borrow it),
    /// inside a tokio `LocalSet` (so the work may `spawn_local` non-`Send` tasks).
    fn run<S>(self, label: String, stack: &'static S) -> impl Future<Output = Result<(), String>>
    where
        S: unisock::asynch::Stack<Error: fmt::Display> + 'static;
}

/// Build the async stack the options name and run `work` on a current-thread tokio runtime.
pub fn run<W: AsyncWork>(stack: &StackArgs, reactor: Reactor, work: W) -> Result<(), String> {
    match stack.backend {
        Backend::Posix => {
            if let Some(option) = stack.smoltcp.first_given() {
                return Err(format!(
                    "{option} only applies to --backend smoltcp (the posix backend uses the kernel's interfaces)"
                ));
            }
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("tokio runtime: {e}"))?;
            let local = tokio::task::LocalSet::new();
            let label = format!("posix/{reactor}");
            match reactor {
                Reactor::Tokio => {
                    static STACK: unisock_posix::asynch::TokioStack =
                        unisock_posix::asynch::TokioStack::new();
                    local.block_on(&rt, work.run(label, &STACK))
                }
                Reactor::AsyncIo => {
                    static STACK: unisock_posix::asynch::AsyncIoStack =
                        unisock_posix::asynch::AsyncIoStack::new();
                    local.block_on(&rt, work.run(label, &STACK))
                }
            }
        }
        Backend::Smoltcp => {
            if reactor != Reactor::Tokio {
                return Err(
                    "--reactor only applies to --backend posix (smoltcp wakes tasks itself)"
                        .to_string(),
                );
            }
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("tokio runtime: {e}"))?;
            let local = tokio::task::LocalSet::new();
            let label = "smoltcp".to_string();
            // The stack lives as long as the program (its driver thread polls the interface).
            match crate::cli::build_smoltcp(&stack.smoltcp).map_err(|e| e.to_string())? {
                crate::cli::SmoltcpBuilt::Tap(net) => {
                    let net = Box::leak(Box::new(net));
                    let stack: &'static _ = Box::leak(Box::new(net.stack()));
                    local.block_on(&rt, work.run(label, stack))
                }
                crate::cli::SmoltcpBuilt::Loopback(net) => {
                    let net = Box::leak(Box::new(net));
                    let stack: &'static _ = Box::leak(Box::new(net.stack()));
                    local.block_on(&rt, work.run(label, stack))
                }
            }
        }
    }
}
