//! The executor of a request's async work.
//!
//! wasm-bindgen-futures runs every future through a promise built around a
//! closure, a global queue, and a `queueMicrotask` per wake-up: about 80 µs
//! of a cached download's CPU under the profiler (docs/performance.md, "CPU
//! per request in the isolate"). Here a request's future is polled at once,
//! inside the fetch call: if it finishes without waiting, its `Response` is
//! returned with no promise at all. If it waits, it is parked and one
//! promise is returned. The promise callback that wakes it (the `then` of a
//! [`wait`], already a microtask of that request) polls it again on the spot,
//! and a two-line snippet settles the promise when it finishes.
//!
//! A wake-up that arrives while a task is being polled (the task waking
//! itself, or another task) is never polled inside that poll: it is noted
//! and run once the outermost poll returns, so no two polls ever overlap.
//! Background work (`waitUntil`) keeps wasm-bindgen-futures' executor.
//!
//! [`wait`] awaits a JS promise without the two closures (each registered
//! with a `FinalizationRegistry`, then unregistered) that a `JsFuture`
//! builds per promise: one callback, made once per wasm instance, reports
//! every settled promise by number. Every promise the worker awaits goes
//! through it; it only wakes the waker it was polled with, so it works under
//! any executor, `waitUntil` work included.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use worker::wasm_bindgen::closure::Closure;
use worker::wasm_bindgen::prelude::wasm_bindgen;
use worker::wasm_bindgen::{JsCast, JsValue};

type Job = Pin<Box<dyn Future<Output = JsValue>>>;

enum Slot {
    /// Waiting for a wake-up since the time given (ms).
    Parked(Job, Waker, u64),
    /// Being polled; `woken` if a wake-up came meanwhile.
    Running { woken: bool },
}

/// The tasks alive in this isolate, by id: one per request waiting on I/O,
/// so a short list (a `BTreeMap` cost 3 KB of gzipped wasm for nothing).
struct Tasks(Vec<(u32, Slot)>);

impl Tasks {
    fn get_mut(&mut self, id: u32) -> Option<&mut Slot> {
        self.0.iter_mut().find(|(i, _)| *i == id).map(|(_, slot)| slot)
    }

    fn insert(&mut self, id: u32, slot: Slot) {
        match self.get_mut(id) {
            Some(old) => *old = slot,
            None => self.0.push((id, slot)),
        }
    }

    /// Drop the tasks parked for longer than [`MAX_PARKED_MS`]: a request the
    /// runtime cancelled (its client went away) can leave a store call that
    /// never settles, and nothing else would ever wake or free its task.
    fn sweep(&mut self, now: u64) {
        self.0.retain(|(_, slot)| match slot {
            Slot::Parked(_, _, since) => now.saturating_sub(*since) <= MAX_PARKED_MS,
            Slot::Running { .. } => true,
        });
    }

    fn remove(&mut self, id: u32) {
        if let Some(at) = self.0.iter().position(|(i, _)| *i == id) {
            self.0.swap_remove(at);
        }
    }
}

/// A request waits on store calls (KV, R2, the edge cache, a Durable Object,
/// an origin or identity provider with its own timeout), never for minutes:
/// a task parked this long belongs to a cancelled request.
const MAX_PARKED_MS: u64 = 10 * 60 * 1000;
/// Sweep only when this many tasks are alive (a short list is never swept).
const SWEEP_ABOVE: usize = 256;

thread_local! {
    static TASKS: RefCell<Tasks> = const { RefCell::new(Tasks(Vec::new())) };
    static NEXT_ID: Cell<u32> = const { Cell::new(0) };
    /// How many polls are on the stack (0 outside any).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Tasks woken during a poll, run when the outermost one returns.
    static READY: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

#[wasm_bindgen(inline_js = r#"
const waiting = new Map();
export function linkgate_task_promise(id) { return new Promise((resolve) => waiting.set(id, resolve)); }
export function linkgate_task_settle(id, value) { const resolve = waiting.get(id); waiting.delete(id); if (resolve) resolve(value); }
"#)]
extern "C" {
    fn linkgate_task_promise(id: u32) -> JsValue;
    fn linkgate_task_settle(id: u32, value: JsValue);
}

/// A task's wake-up handle: its id (the tasks live in `TASKS`).
struct Id(u32);

impl Wake for Id {
    fn wake(self: Arc<Self>) {
        wake(self.0);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        wake(self.0);
    }
}

/// Run `fut`: its value if it finishes without waiting, else a promise of it.
/// The future must not fail: a request's errors are already responses.
pub fn spawn(fut: impl Future<Output = JsValue> + 'static) -> JsValue {
    let id = NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id.wrapping_add(1));
        id
    });
    let waker = Waker::from(Arc::new(Id(id)));
    TASKS.with(|t| {
        let mut tasks = t.borrow_mut();
        if tasks.0.len() > SWEEP_ABOVE {
            tasks.sweep(crate::now_ms());
        }
        tasks.insert(id, Slot::Running { woken: false });
    });
    let value = match poll(id, Box::pin(fut), waker) {
        Some(done) => done,
        None => linkgate_task_promise(id),
    };
    run_ready();
    value
}

fn wake(id: u32) {
    let job = TASKS.with(|t| {
        let mut tasks = t.borrow_mut();
        match tasks.get_mut(id) {
            Some(Slot::Running { woken }) => {
                *woken = true;
                None
            }
            Some(Slot::Parked(..)) if DEPTH.with(Cell::get) > 0 => {
                READY.with(|r| r.borrow_mut().push(id));
                None
            }
            Some(slot @ Slot::Parked(..)) => match std::mem::replace(slot, Slot::Running { woken: false }) {
                Slot::Parked(job, waker, _) => Some((job, waker)),
                Slot::Running { .. } => None,
            },
            // Finished (a late wake-up from a future it dropped).
            None => None,
        }
    });
    if let Some((job, waker)) = job {
        if let Some(value) = poll(id, job, waker) {
            linkgate_task_settle(id, value);
        }
        run_ready();
    }
}

/// Poll task `id` (marked running) until it finishes, or parks with no
/// wake-up pending: its value if it finished.
fn poll(id: u32, mut job: Job, waker: Waker) -> Option<JsValue> {
    DEPTH.with(|d| d.set(d.get().saturating_add(1)));
    let mut cx = Context::from_waker(&waker);
    let done = loop {
        if let Poll::Ready(value) = job.as_mut().poll(&mut cx) {
            TASKS.with(|t| t.borrow_mut().remove(id));
            break Some(value);
        }
        let again = TASKS.with(|t| match t.borrow_mut().get_mut(id) {
            Some(Slot::Running { woken }) if *woken => {
                *woken = false;
                true
            }
            _ => false,
        });
        if !again {
            break None;
        }
    };
    if done.is_none() {
        TASKS.with(|t| t.borrow_mut().insert(id, Slot::Parked(job, waker, crate::now_ms())));
    }
    DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    done
}

/// Run the tasks woken during a poll, once no poll is on the stack.
fn run_ready() {
    if DEPTH.with(Cell::get) > 0 {
        return;
    }
    while let Some(id) = READY.with(|r| r.borrow_mut().pop()) {
        wake(id);
    }
}

// Promises awaited by number: `linkgate_await` attaches one pair of
// callbacks to `p` that keep its outcome in `settled` and report the number
// to the isolate's one `notify` function. Both are taken when the promise is
// registered, and a new wasm instance (worker-build makes one after a
// critical error, with numbers starting again at 0) gets fresh ones: a
// promise of the old instance can never settle a number of the new one.
#[wasm_bindgen(inline_js = r#"
let settled = new Map();
let notify = null;
export function linkgate_await_init(f) { notify = f; settled = new Map(); }
export function linkgate_await(p, n) {
  const outcomes = settled, report = notify;
  Promise.resolve(p).then(
    (v) => { outcomes.set(n, v); report(n, true); },
    (e) => { outcomes.set(n, e); report(n, false); });
}
export function linkgate_await_take(n) { const v = settled.get(n); settled.delete(n); return v; }
"#)]
extern "C" {
    fn linkgate_await_init(notify: &worker::js_sys::Function);
    fn linkgate_await(p: &JsValue, n: u32);
    fn linkgate_await_take(n: u32) -> JsValue;
}

enum Waiting {
    /// Not settled; the waker of the last poll.
    Pending(Option<Waker>),
    /// Settled: fulfilled (`true`) or rejected; the value waits in JS.
    Settled(bool),
}

thread_local! {
    /// The promises being awaited, by number (a few per waiting request).
    static WAITS: RefCell<Vec<(u32, Waiting)>> = const { RefCell::new(Vec::new()) };
    static NEXT_WAIT: Cell<u32> = const { Cell::new(0) };
    /// Whether `linkgate_await_init` has run in this isolate.
    static NOTIFY_SET: Cell<bool> = const { Cell::new(false) };
}

/// A promise settled: note how, and wake its waiter. A number nobody waits
/// for (its future was dropped) has its value discarded.
fn settled(n: u32, fulfilled: bool) {
    let waker = WAITS.with(|w| {
        let mut w = w.borrow_mut();
        match w.iter_mut().find(|(i, _)| *i == n) {
            Some((_, state)) => match std::mem::replace(state, Waiting::Settled(fulfilled)) {
                Waiting::Pending(waker) => Ok(waker),
                Waiting::Settled(_) => Ok(None),
            },
            None => Err(()),
        }
    });
    match waker {
        // Woken outside the borrow: waking may poll a task at once.
        Ok(waker) => waker.into_iter().for_each(Waker::wake),
        Err(()) => drop(linkgate_await_take(n)),
    }
}

/// The outcome of a JS promise (or of any value, as `await` treats it).
pub struct Wait(u32);

/// Await `p`: `Ok` with its value, or `Err` with its rejection.
pub fn wait(p: &JsValue) -> Wait {
    if !NOTIFY_SET.with(|s| s.replace(true)) {
        // One callback for the isolate's life.
        let notify = Closure::<dyn Fn(u32, bool)>::new(settled).into_js_value();
        linkgate_await_init(notify.unchecked_ref());
    }
    let n = NEXT_WAIT.with(|c| {
        let n = c.get();
        c.set(n.wrapping_add(1));
        n
    });
    WAITS.with(|w| w.borrow_mut().push((n, Waiting::Pending(None))));
    linkgate_await(p, n);
    Wait(n)
}

impl Future for Wait {
    type Output = Result<JsValue, JsValue>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let n = self.0;
        let fulfilled = WAITS.with(|w| {
            let mut w = w.borrow_mut();
            let at = w.iter().position(|(i, _)| *i == n)?;
            match w.get_mut(at) {
                Some((_, Waiting::Settled(fulfilled))) => {
                    let fulfilled = *fulfilled;
                    w.swap_remove(at);
                    Some(fulfilled)
                }
                Some((_, Waiting::Pending(waker))) => {
                    *waker = Some(cx.waker().clone());
                    None
                }
                None => None,
            }
        });
        match fulfilled {
            Some(true) => Poll::Ready(Ok(linkgate_await_take(n))),
            Some(false) => Poll::Ready(Err(linkgate_await_take(n))),
            None => Poll::Pending,
        }
    }
}

impl Drop for Wait {
    /// A dropped wait forgets its number; a value already settled is discarded.
    fn drop(&mut self) {
        let n = self.0;
        let was_settled = WAITS.with(|w| {
            let mut w = w.borrow_mut();
            let at = w.iter().position(|(i, _)| *i == n)?;
            let (_, state) = w.swap_remove(at);
            Some(matches!(state, Waiting::Settled(_)))
        });
        if was_settled == Some(true) {
            drop(linkgate_await_take(n));
        }
    }
}
