//! embassy-executor on `mps2-an386` with the board's embassy-time driver: two tasks sleeping
//! with `embassy_time::Timer` at different periods, checked against the clock.
//!
//! Task `fast` ticks every 50 ms ten times, task `slow` every 120 ms five times; each checks
//! that its wake-up came no earlier than its deadline and at most [`LATE_MS`] after it (the
//! driver wakes on the 1 kHz SysTick), and a third task waits for both (polling their counters
//! every 10 ms), then prints the totals and exits 0. Exit status 1 if a wake-up was early or late, 2 if the
//! tasks did not finish within 5 s, 3 if the core peripherals are gone.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m_rt::entry;
use embassy_executor::{Executor, SpawnError, SpawnToken, Spawner};
use embassy_time::{Duration, Instant, Timer};
use mps2_board::semihosting::println;
use mps2_board::{exit, stack_used};

/// How late a timer wake-up may come. The driver itself wakes within one SysTick (1 ms); the
/// rest is slack for QEMU, whose virtual clock runs on while the host serves the other task's
/// semihosting output or deschedules the emulator. A broken alarm (a wake-up only at some other
/// task's event, or never) misses this by far; the latest wake-up seen is printed.
const LATE_MS: u64 = 10;
/// The latest wake-up seen, in milliseconds after its deadline.
static MAX_LATE: AtomicU32 = AtomicU32::new(0);
/// Ticks each task has done.
static FAST_TICKS: AtomicU32 = AtomicU32::new(0);
static SLOW_TICKS: AtomicU32 = AtomicU32::new(0);

/// Sleep `period` `count` times, each wake-up checked against its deadline; counts in `ticks`.
async fn tick(name: &str, period: Duration, count: u32, ticks: &AtomicU32) {
    let start = Instant::now();
    for i in 1..=count {
        let deadline = start + period * i;
        Timer::at(deadline).await;
        let now = Instant::now();
        let late = now.as_millis().saturating_sub(deadline.as_millis());
        if now < deadline || late > LATE_MS {
            println!(
                "timers: {name} tick {i} woke at {} ms, deadline {} ms",
                now.as_millis(),
                deadline.as_millis()
            );
            exit(1)
        }
        MAX_LATE.fetch_max(late as u32, Ordering::Relaxed);
        println!("timers: {name} tick {i} at {} ms", now.as_millis());
        ticks.fetch_add(1, Ordering::Relaxed);
    }
}

#[embassy_executor::task]
async fn fast() {
    tick("fast", Duration::from_millis(50), 10, &FAST_TICKS).await;
}

#[embassy_executor::task]
async fn slow() {
    tick("slow", Duration::from_millis(120), 5, &SLOW_TICKS).await;
}

#[embassy_executor::task]
async fn supervise() {
    let start = Instant::now();
    while FAST_TICKS.load(Ordering::Relaxed) < 10 || SLOW_TICKS.load(Ordering::Relaxed) < 5 {
        if start.elapsed() > Duration::from_secs(5) {
            println!("timers: tasks did not finish within 5 s");
            exit(2)
        }
        Timer::after(Duration::from_millis(10)).await;
    }
    println!(
        "timers: done, fast 10 ticks and slow 5 ticks in {} ms, latest wake-up {} ms after its deadline",
        start.elapsed().as_millis(),
        MAX_LATE.load(Ordering::Relaxed)
    );
    println!("timers: stack high-water mark {} bytes", stack_used());
    exit(0)
}

/// Spawn `token`, or exit 1 if its task is already running (each task has one slot).
fn spawn<S>(spawner: Spawner, token: Result<SpawnToken<S>, SpawnError>) {
    match token {
        Ok(token) => spawner.spawn(token),
        Err(e) => {
            println!("timers: spawn: {e:?}");
            exit(1)
        }
    }
}

fn spawn_all(spawner: Spawner) {
    spawn(spawner, fast());
    spawn(spawner, slow());
    spawn(spawner, supervise());
}

#[entry]
fn main() -> ! {
    static mut EXECUTOR: Option<Executor> = None;
    let Some(cp) = cortex_m::Peripherals::take() else {
        exit(3)
    };
    mps2_board::start_clock(cp.SYST);
    println!("READY timers: two tasks on embassy-executor, 1 kHz SysTick time driver");
    EXECUTOR.insert(Executor::new()).run(spawn_all)
}
