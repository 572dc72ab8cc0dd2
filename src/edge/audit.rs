//! The audit pipeline: every decision is one JSON log line and one Queue
//! message; the Queue consumer writes batches into D1.
//!
//! Nothing here is on the response path: the queue send runs in
//! `waitUntil`, and a broken pipeline is logged, never fatal to a download.
//! Concurrent requests share `sendBatch` calls (see [`Outbox`]).

use std::cell::RefCell;
use std::time::Duration;

use serde_json::Value;
use worker::wasm_bindgen::JsValue;
use worker::{event, Context, Delay, Env, MessageBatch, Queue};

use crate::core::audit::AuditEvent;

use super::{AUDIT_BINDING, EVENTS_BINDING};

/// Most messages per `sendBatch` (the Queues limit).
const MAX_BATCH: usize = 100;

/// How long the first event of a batch waits for company.
const COLLECT_WINDOW: Duration = Duration::from_millis(50);

/// Events waiting for the queue, shared by the requests of one isolate.
///
/// The first event that finds no collector starts one in its own request's
/// `waitUntil`: it waits [`COLLECT_WINDOW`], takes everything pending and
/// sends it with `sendBatch`, in its own request context. Events that
/// arrive meanwhile ride along; their own requests do no I/O for them. No
/// request ever waits on, or wakes, another: in workerd a continuation runs
/// in the context of whoever woke it, and I/O from a context that has
/// finished is silently dropped (which an earlier waiter-based version of
/// this lost events to). Under load the queue sees one call per window.
#[derive(Default)]
struct Outbox {
    pending: Vec<String>,
    /// When the running collector started (ms), if one is running.
    collecting_since: Option<u64>,
}

/// A collector that has not taken its events after this long is presumed
/// gone (its request cancelled) and replaced, so events never pile up.
const COLLECTOR_STALE_MS: u64 = 1000;

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
    let now = worker::Date::now().as_millis();
    let start = OUTBOX.with(|o| {
        let mut o = o.borrow_mut();
        o.pending.push(value);
        let running = o.collecting_since.is_some_and(|t| now.saturating_sub(t) < COLLECTOR_STALE_MS);
        if !running {
            o.collecting_since = Some(now);
        }
        !running
    });
    if start {
        ctx.wait_until(collect(queue));
    }
}

async fn collect(queue: Queue) {
    Delay::from(COLLECT_WINDOW).await;
    // Taken and released in one step: later events start the next collector.
    let events = OUTBOX.with(|o| {
        let mut o = o.borrow_mut();
        o.collecting_since = None;
        std::mem::take(&mut o.pending)
    });
    let mut rest = events.as_slice();
    while !rest.is_empty() {
        let (batch, tail) = rest.split_at(rest.len().min(MAX_BATCH));
        rest = tail;
        if let Err(e) = queue.send_batch(batch.iter().map(String::as_str)).await {
            worker::console_error!(
                "{}",
                serde_json::json!({"event": "audit_queue_failed", "messages": batch.len(), "error": e.to_string()})
            );
        }
    }
}

/// Column order of the INSERT below.
const COLUMNS: [&str; 20] = [
    "time",
    "request_id",
    "method",
    "jti",
    "kid",
    "sub",
    "tenant",
    "path",
    "outcome",
    "status",
    "code",
    "reason",
    "rule",
    "mode",
    "bytes",
    "cache",
    "client_ip",
    "country",
    "user_agent",
    "issued_by",
];

/// Queue consumer: one D1 statement per message batch. The events go in as
/// one JSON array parameter that SQLite's `json_each` unpacks, so a batch of
/// 100 events costs one statement rather than 100 (D1 allows at most 100
/// bound parameters per statement, which rules out a plain multi-row
/// INSERT of 20 columns). On failure the batch is retried by the queue (and
/// the failure logged).
#[event(queue)]
pub async fn consume(batch: MessageBatch<String>, env: Env, _ctx: Context) -> worker::Result<()> {
    let messages = batch.messages()?;
    let db = env.d1(AUDIT_BINDING)?;
    // Each body is checked to be a JSON object (one bad message must not fail
    // the whole statement) and then used as sent, without re-serializing.
    let mut array = String::from("[");
    let mut count = 0usize;
    for m in &messages {
        if serde_json::from_str::<serde_json::Map<String, Value>>(m.body()).is_err() {
            worker::console_error!("{}", serde_json::json!({"event": "audit_message_unparsable"}));
            continue;
        }
        if count > 0 {
            array.push(',');
        }
        array.push_str(m.body());
        count += 1;
    }
    array.push(']');
    if count == 0 {
        batch.ack_all();
        return Ok(());
    }
    let columns = COLUMNS.join(", ");
    let values: Vec<String> = COLUMNS.iter().map(|c| format!("json_extract(value, '$.{c}')")).collect();
    let sql = format!("INSERT INTO events ({columns}) SELECT {} FROM json_each(?1)", values.join(", "));
    let statement = db.prepare(sql.as_str()).bind(&[JsValue::from_str(&array)])?;
    let statements = vec![statement];
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
