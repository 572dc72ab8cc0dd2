//! The audit pipeline: every decision is one JSON log line and one Queue
//! message; the Queue consumer writes batches into D1.
//!
//! Nothing here is on the response path: the queue send runs in
//! `waitUntil`, and a broken pipeline is logged, never fatal to a download.
//! Concurrent requests share `sendBatch` calls (see [`Outbox`]), cut by
//! count and by bytes so that no batch exceeds the Queues limits whatever the
//! events hold. Refusals of requests that never authenticated are counted
//! per isolate and window ([`Aggregator`]) and written as a few counted
//! events, so a flood costs less than serving files and cannot fill D1.

use std::cell::RefCell;
use std::time::Duration;

use worker::wasm_bindgen::JsValue;
use worker::{event, Context, Delay, Env, MessageBatch, MessageExt, RawMessage, ScheduleContext, ScheduledEvent};

use linkgate_core::audit::{batches, Aggregator, AuditEvent, MAX_BATCH_BYTES, MAX_BATCH_MESSAGES};
use linkgate_core::json::{self, Object};

use super::AUDIT_BINDING;

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
    static AGGREGATE: RefCell<Aggregator> = RefCell::new(Aggregator::new());
}

/// Log the event and hand it to the queue (if bound) off the response path;
/// unauthenticated refusals are only counted here (see [`Aggregator`]).
pub fn emit(env: &Env, ctx: &Context, ev: &AuditEvent, aggregate_ms: u64) {
    let now = crate::now_ms();
    if ev.is_unauthenticated() && aggregate_ms > 0 {
        if AGGREGATE.with(|a| a.borrow_mut().add(ev, now)) {
            let (env, window) = (env.clone(), Duration::from_millis(aggregate_ms));
            ctx.wait_until(async move {
                Delay::from(window).await;
                let now_secs = crate::now_ms() / 1000;
                let events = AGGREGATE.with(|a| a.borrow_mut().drain(now_secs));
                let lines: Vec<String> = events.iter().map(AuditEvent::to_json).collect();
                for line in &lines {
                    worker::console_log!("{line}");
                }
                if let Some(queue) = events_queue(&env) {
                    send(&queue, &lines).await;
                }
            });
        }
        return;
    }
    let value = ev.to_json();
    // Straight to console.log (console_log! would copy it through format!).
    worker::web_sys::console::log_1(&JsValue::from_str(&value));
    let Some(queue) = events_queue(env) else { return };
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

// The audit queue's binding, `undefined` if not bound, in one call:
// workers-rs' `env.queue()` takes five (a lookup, checks, the constructor's
// name) and a transcoded binding name. The name is `super::EVENTS_BINDING`.
#[worker::wasm_bindgen::prelude::wasm_bindgen(inline_js = r#"
export function linkgate_events_queue(env) { return env.LINKGATE_EVENTS; }
"#)]
extern "C" {
    fn linkgate_events_queue(env: &JsValue) -> Option<worker::js_sys::Object>;
}

fn events_queue(env: &Env) -> Option<JsValue> {
    linkgate_events_queue(env.as_ref()).map(JsValue::from)
}

async fn collect(queue: JsValue) {
    Delay::from(COLLECT_WINDOW).await;
    // Taken and released in one step: later events start the next collector.
    let events = OUTBOX.with(|o| {
        let mut o = o.borrow_mut();
        o.collecting_since = None;
        std::mem::take(&mut o.pending)
    });
    send(&queue, &events).await;
}

/// `sendBatch` in batches within the Queues limits (count and bytes). Sent as
/// text: the JSON is encoded once, here, and stored as sent.
async fn send(queue: &JsValue, events: &[String]) {
    let sizes: Vec<usize> = events.iter().map(String::len).collect();
    let mut rest = events;
    for n in batches(&sizes, MAX_BATCH_MESSAGES, MAX_BATCH_BYTES) {
        let (batch, tail) = rest.split_at(n.min(rest.len()));
        rest = tail;
        if let Err(e) = super::js::queue_send_texts(queue, batch).await {
            let line = Object::new()
                .str("event", "audit_queue_failed")
                .num("messages", batch.len() as u64)
                .str("error", &e.to_string())
                .finish();
            worker::console_error!("{line}");
        }
    }
}

/// Column order of the INSERT below.
const COLUMNS: [&str; 26] = [
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
    "count",
    "actor",
    "subject",
    "detail",
    "identity",
    "context",
];

/// The INSERT of a JSON array of events (SQLite's `json_each` unpacks it):
/// one statement per batch rather than one per event (D1 allows at most 100
/// bound parameters per statement, which rules out a multi-row VALUES).
fn insert_sql() -> String {
    let columns = COLUMNS.join(", ");
    let values: Vec<String> = COLUMNS.iter().map(|c| format!("json_extract(value, '$.{c}')")).collect();
    format!("INSERT INTO events ({columns}) SELECT {} FROM json_each(?1)", values.join(", "))
}

async fn insert(db: &worker::D1Database, bodies: &[&str]) -> worker::Result<()> {
    let array = format!("[{}]", bodies.join(","));
    db.prepare(insert_sql()).bind(&[JsValue::from_str(&array)])?.run().await.map(|_| ())
}

/// Queue consumer: one D1 statement per batch. If it fails, each message is
/// written on its own, so one bad message never holds back the others; what
/// cannot be written is retried and, after the queue's retries, lands in the
/// dead-letter queue (`linkgate-events-dlq`). Every failure is logged.
#[event(queue)]
pub async fn consume(batch: MessageBatch<JsValue>, env: Env, _ctx: Context) -> worker::Result<()> {
    let db = env.d1(AUDIT_BINDING)?;
    // Each body must be a JSON object sent as text; it is then stored as
    // sent. (Read raw: workers-rs' typed messages go through serde.)
    let (good, bad): (Vec<_>, Vec<_>) = batch
        .raw_iter()
        .map(|m| (m.body().as_string().filter(|b| json::parse(b).is_ok_and(|v| v.as_obj().is_some())), m))
        .partition(|(body, _)| body.is_some());
    let good: Vec<(String, RawMessage)> = good.into_iter().filter_map(|(b, m)| Some((b?, m))).collect();
    for (_, m) in &bad {
        worker::console_error!(
            "{}",
            Object::new().str("event", "audit_message_unparsable").str("id", &m.id()).finish()
        );
        m.retry();
    }
    let bodies: Vec<&str> = good.iter().map(|(b, _)| b.as_str()).collect();
    if bodies.is_empty() || insert(&db, &bodies).await.is_ok() {
        good.iter().for_each(|(_, m)| m.ack());
        return Ok(());
    }
    for (body, m) in &good {
        match insert(&db, &[body.as_str()]).await {
            Ok(()) => m.ack(),
            Err(e) => {
                let line = Object::new()
                    .str("event", "audit_store_failed")
                    .str("id", &m.id())
                    .str("error", &e.to_string())
                    .finish();
                worker::console_error!("{line}");
                m.retry();
            }
        }
    }
    Ok(())
}

/// Daily cleanup (cron trigger in wrangler.toml): events older than
/// `LINKGATE_AUDIT_RETENTION_DAYS` are deleted (0 keeps everything).
#[event(scheduled)]
pub async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let days = match super::config(&env).as_ref() {
        Ok(cfg) => cfg.audit_retention_days,
        Err(_) => return,
    };
    if let Err(e) = prune(&env, days).await {
        worker::console_error!(
            "{}",
            Object::new().str("event", "audit_prune_failed").str("error", &e.to_string()).finish()
        );
    }
}

async fn prune(env: &Env, days: u64) -> worker::Result<()> {
    if days == 0 {
        return Ok(());
    }
    let now = crate::now_ms() / 1000;
    let cutoff = now.saturating_sub(days.saturating_mul(86_400));
    let db = env.d1(AUDIT_BINDING)?;
    let stmt = db.prepare("DELETE FROM events WHERE time < ?1").bind(&[JsValue::from_f64(cutoff as f64)])?;
    // Run directly: workers-rs reads the result's `meta` through serde.
    let r = super::js::call(stmt.inner().as_ref(), "run", &[]).await?;
    let deleted = super::js::d1_changes(&r);
    let line = Object::new().str("event", "audit_pruned").num("before", cutoff).num("rows", deleted).finish();
    worker::console_log!("{line}");
    Ok(())
}
