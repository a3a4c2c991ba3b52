//! The `embassy-time` driver of this board (feature `embassy-time`).
//!
//! Time is the 1 kHz SysTick counter of [`now_ms`](crate::now_ms): one embassy tick is one
//! millisecond (`embassy-time-driver`'s `tick-hz-1_000`). Alarms are one global timer queue
//! (`embassy-time-queue-utils`' default, the queue integrated in embassy-executor's tasks)
//! behind a critical section; the SysTick handler compares the counter with the earliest
//! deadline on every tick and, once it has passed, wakes the expired tasks and takes the next
//! deadline from the queue. A wake-up therefore comes at most 1 ms after its deadline.
//!
//! Not supported: tickless operation (a one-shot compare of the CMSDK timer, so that the core
//! sleeps through idle milliseconds), and resolutions finer than 1 ms.

use core::cell::{Cell, RefCell};
use core::task::Waker;

use critical_section::{CriticalSection, Mutex};
use embassy_time_driver::Driver;
use embassy_time_queue_utils::Queue;

/// The driver: the timer queue and the earliest deadline in it (`u64::MAX` for none).
struct SysTickDriver {
    queue: Mutex<RefCell<Queue>>,
    next: Mutex<Cell<u64>>,
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver {
    queue: Mutex::new(RefCell::new(Queue::new())),
    next: Mutex::new(Cell::new(u64::MAX)),
});

impl SysTickDriver {
    /// Wake what expired by `now` and remember the next deadline.
    fn expire(&self, cs: CriticalSection<'_>, now: u64) {
        let next = self.queue.borrow_ref_mut(cs).next_expiration(now);
        self.next.borrow(cs).set(next);
    }
}

impl Driver for SysTickDriver {
    fn now(&self) -> u64 {
        crate::now_ms()
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            if self.queue.borrow_ref_mut(cs).schedule_wake(at, waker) {
                // Also wakes at once what is already due (`at` in the past).
                self.expire(cs, crate::now_ms());
            }
        });
    }
}

/// Called by the SysTick handler after the counter moved to `now`.
pub(crate) fn on_tick(now: u64) {
    critical_section::with(|cs| {
        if now >= DRIVER.next.borrow(cs).get() {
            DRIVER.expire(cs, now);
        }
    });
}
