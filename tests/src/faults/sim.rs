//! A simulated network of smoltcp stacks on one virtual clock: [`World`].
//!
//! Each stack of the world gets a [`SimClock`] (the shared [`ManualClock`]) and a [`SimWait`].
//! When a blocking call of one stack has nothing to do, its `SimWait` polls every stack of the
//! world (so the peer answers) and, if nothing moved, advances the clock to the earliest
//! deadline: the stacks' own timers and the release times of frames held in [`Faulty`]
//! queues. Non-blocking code calls [`World::step`] for the same effect. Time therefore runs
//! as fast as the CPU allows, and a run is reproducible from its seeds.
//!
//! A world is single-threaded (`Rc`). It holds its stacks weakly (the stacks hold the waiter, which holds the world), so
//! dropping the stacks frees everything.
//!
//! [`Faulty`]: super::Faulty

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::Duration;

use smoltcp::phy::Device;
use smoltcp::time::Instant;
use unisock_smoltcp::{Clock, ManualClock, Stack, Wait};

use super::{FaultControl, Faulty, WireEnd};

/// A smoltcp stack on a faulty wire end, in a [`World`].
pub type SimStack = Stack<'static, Faulty<WireEnd>, SimClock, SimWait>;

/// The shared virtual clock of a world.
#[derive(Debug, Clone, Default)]
pub struct SimClock(Arc<ManualClock>);

impl Clock for SimClock {
    fn now(&self) -> Instant {
        self.0.now()
    }
}

impl SimClock {
    /// Move the clock forward.
    pub fn advance(&self, d: Duration) {
        self.0.advance(d);
    }
}

/// A stack of the world, seen through what the world needs of it.
trait Member {
    /// Poll; `None` if the stack is gone. `Some(true)` if something changed.
    fn poll(&self) -> Option<bool>;
    /// The stack's next deadline from now.
    fn delay(&self) -> Option<Duration>;
}

struct Weakly<D: Device, W: Wait>(Weak<Stack<'static, D, SimClock, W>>);

impl<D: Device, W: Wait> Member for Weakly<D, W> {
    fn poll(&self) -> Option<bool> {
        self.0.upgrade().map(|s| s.poll())
    }
    fn delay(&self) -> Option<Duration> {
        self.0.upgrade().and_then(|s| s.poll_delay())
    }
}

struct Inner {
    clock: SimClock,
    members: RefCell<Vec<Box<dyn Member>>>,
    wires: RefCell<Vec<FaultControl>>,
    /// The longest single advance when nothing has a deadline.
    idle_step: Duration,
}

/// A set of stacks sharing a virtual clock (see the [module docs](self)).
#[derive(Clone)]
pub struct World(Rc<Inner>);

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World").field("now", &self.now()).finish()
    }
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

impl World {
    /// An empty world at time zero.
    pub fn new() -> World {
        World(Rc::new(Inner {
            clock: SimClock::default(),
            members: RefCell::new(Vec::new()),
            wires: RefCell::new(Vec::new()),
            idle_step: Duration::from_millis(100),
        }))
    }

    /// The clock to give a stack of this world.
    pub fn clock(&self) -> SimClock {
        self.0.clock.clone()
    }

    /// The waiter to give a stack of this world.
    pub fn waiter(&self) -> SimWait {
        SimWait(Rc::downgrade(&self.0))
    }

    /// The virtual time now.
    pub fn now(&self) -> Instant {
        self.0.clock.now()
    }

    /// Virtual time since the start, as a duration.
    pub fn elapsed(&self) -> Duration {
        Duration::from_micros(self.now().total_micros().max(0) as u64)
    }

    /// Make `stack` a member: it is polled by every step.
    pub fn add<D: Device + 'static, W: Wait + 'static>(
        &self,
        stack: &Rc<Stack<'static, D, SimClock, W>>,
    ) {
        self.0
            .members
            .borrow_mut()
            .push(Box::new(Weakly(Rc::downgrade(stack))));
    }

    /// Watch a fault queue: its release times are deadlines too.
    pub fn add_wire(&self, control: FaultControl) {
        self.0.wires.borrow_mut().push(control);
    }

    /// Poll every stack; if nothing changed, advance the clock to the earliest deadline (at
    /// most `limit`, and at most the idle step when there is none). Returns whether anything
    /// changed.
    pub fn step(&self, limit: Option<Duration>) -> bool {
        self.0.step(limit)
    }
}

impl Inner {
    fn step(&self, limit: Option<Duration>) -> bool {
        let mut changed = false;
        let mut next: Option<Duration> = limit;
        let mut min = |d: Duration| next = Some(next.map_or(d, |n| n.min(d)));
        for m in self.members.borrow().iter() {
            changed |= m.poll().unwrap_or(false);
            if let Some(d) = m.delay() {
                min(d);
            }
        }
        if changed {
            return true;
        }
        let now = self.clock.now();
        for w in self.wires.borrow().iter() {
            if let Some(at) = w.next_release() {
                let d = if at > now {
                    at - now
                } else {
                    smoltcp::time::Duration::ZERO
                };
                min(Duration::from_micros(d.total_micros()));
            }
        }
        let d = next.unwrap_or(self.idle_step).min(self.idle_step);
        self.clock.advance(d.max(Duration::from_micros(1)));
        false
    }
}

/// The waiter of a world's stacks (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct SimWait(Weak<Inner>);

impl Wait for SimWait {
    fn wait(&self, timeout: Option<Duration>) {
        if let Some(world) = self.0.upgrade() {
            world.step(timeout);
        }
    }
}
