//! The audit pipeline: every decision is one JSON log line and one Queue
//! message; the Queue consumer writes batches into D1.
//!
//! Nothing here is on the response path: the queue send runs in
//! `waitUntil`, and a broken pipeline is logged, never fatal to a download.
//! Concurrent requests share `sendBatch` calls (see [`Outbox`]).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, Waker};

use serde_json::Value;
use worker::wasm_bindgen::JsValue;
use worker::{event, Context, Env, MessageBatch, Queue};

use crate::core::audit::AuditEvent;

use super::{AUDIT_BINDING, EVENTS_BINDING};

/// Most messages per `sendBatch` (the Queues limit).
const MAX_BATCH: usize = 100;

/// Events waiting for the queue, shared by the requests of one isolate.
///
/// Group commit: every request's `waitUntil` lasts until its own event has
/// been handed to the queue, but concurrent requests share `sendBatch`
/// calls. Whoever finds no send in flight sends everything pending (up to
/// 100); the others wait for that send and, if their event is still
/// pending afterwards, send the next batch themselves. So no event depends
/// on another request staying alive, none waits longer than one send, and
/// under load the queue sees one call per batch instead of one per request.
#[derive(Default)]
struct Outbox {
    pending: VecDeque<(u64, String)>,
    next_seq: u64,
    /// Every event with a sequence number below this has been sent (or its
    /// send failed and was logged).
    done_below: u64,
    sending: bool,
    waiters: Vec<Waker>,
}

thread_local! {
    static OUTBOX: RefCell<Outbox> = RefCell::new(Outbox::default());
}

/// Log the event and hand it to the queue (if bound) off the response path.
pub fn emit(env: &Env, ctx: &Context, ev: &AuditEvent) {
    let value = ev.to_json();
    worker::console_log!("{value}");
    let Ok(queue) = env.queue(EVENTS_BINDING) else { return };
    // Sent as JSON text: plain strings survive the JS structured clone
    // unchanged, whereas serde objects would arrive as JS Maps.
    let seq = OUTBOX.with(|o| {
        let mut o = o.borrow_mut();
        let seq = o.next_seq;
        o.next_seq = seq.wrapping_add(1);
        o.pending.push_back((seq, value));
        seq
    });
    ctx.wait_until(until_sent(queue, seq));
}

async fn until_sent(queue: Queue, seq: u64) {
    loop {
        let batch = OUTBOX.with(|o| {
            let mut o = o.borrow_mut();
            if o.done_below > seq || o.sending {
                return None;
            }
            o.sending = true;
            let n = o.pending.len().min(MAX_BATCH);
            Some(o.pending.drain(..n).collect::<Vec<_>>())
        });
        let Some(batch) = batch else {
            if OUTBOX.with(|o| o.borrow().done_below > seq) {
                return;
            }
            Changed::default().await;
            continue;
        };
        let upto = batch.last().map_or(0, |(s, _)| s.wrapping_add(1));
        let count = batch.len();
        let messages: Vec<String> = batch.into_iter().map(|(_, m)| m).collect();
        if let Err(e) = queue.send_batch(messages).await {
            worker::console_error!(
                "{}",
                serde_json::json!({"event": "audit_queue_failed", "messages": count, "error": e.to_string()})
            );
        }
        let waiters = OUTBOX.with(|o| {
            let mut o = o.borrow_mut();
            o.done_below = o.done_below.max(upto);
            o.sending = false;
            std::mem::take(&mut o.waiters)
        });
        for w in waiters {
            w.wake();
        }
    }
}

/// Resolves after the next completed send (or a spurious wake-up; callers
/// re-check their condition).
#[derive(Default)]
struct Changed {
    registered: bool,
}

impl Future for Changed {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        if self.registered {
            return Poll::Ready(());
        }
        self.registered = true;
        OUTBOX.with(|o| o.borrow_mut().waiters.push(cx.waker().clone()));
        Poll::Pending
    }
}

/// Column order of the INSERT below.
const COLUMNS: [&str; 20] = [
    "time", "request_id", "method", "jti", "kid", "sub", "tenant", "path", "outcome", "status", "code", "reason", "rule",
    "mode", "bytes", "cache", "client_ip", "country", "user_agent", "issued_by",
];

fn js(v: Option<&Value>) -> JsValue {
    match v {
        Some(Value::String(s)) => JsValue::from_str(s),
        Some(Value::Number(n)) => n.as_f64().map_or(JsValue::NULL, JsValue::from_f64),
        Some(Value::Bool(b)) => JsValue::from_bool(*b),
        _ => JsValue::NULL,
    }
}

/// Queue consumer: one D1 batch per message batch. On failure the batch is
/// retried by the queue (and the failure logged).
#[event(queue)]
pub async fn consume(batch: MessageBatch<String>, env: Env, _ctx: Context) -> worker::Result<()> {
    let messages = batch.messages()?;
    let db = env.d1(AUDIT_BINDING)?;
    let placeholders: Vec<String> = (1..=COLUMNS.len()).map(|i| format!("?{i}")).collect();
    let sql = format!("INSERT INTO events ({}) VALUES ({})", COLUMNS.join(", "), placeholders.join(", "));
    let mut statements = Vec::with_capacity(messages.len());
    for m in &messages {
        let Ok(body) = serde_json::from_str::<Value>(m.body()) else {
            worker::console_error!("{}", serde_json::json!({"event": "audit_message_unparsable"}));
            continue;
        };
        let args: Vec<JsValue> = COLUMNS.iter().map(|c| js(body.get(*c))).collect();
        statements.push(db.prepare(sql.as_str()).bind(&args)?);
    }
    if statements.is_empty() {
        return Ok(());
    }
    match db.batch(statements).await {
        Ok(_) => batch.ack_all(),
        Err(e) => {
            worker::console_error!(
                "{}",
                serde_json::json!({"event": "audit_store_failed", "messages": messages.len(), "error": e.to_string()})
            );
            batch.retry_all();
        }
    }
    Ok(())
}
