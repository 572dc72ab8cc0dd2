//! The audit pipeline: every decision is one JSON log line and one Queue
//! message; the Queue consumer writes batches into D1.
//!
//! Nothing here is on the response path: the queue send runs in
//! `waitUntil`, and a broken pipeline is logged, never fatal to a download.

use serde_json::Value;
use worker::wasm_bindgen::JsValue;
use worker::{event, Context, Env, MessageBatch};

use crate::core::audit::AuditEvent;

use super::{AUDIT_BINDING, EVENTS_BINDING};

/// Log the event and hand it to the queue (if bound) off the response path.
pub fn emit(env: &Env, ctx: &Context, ev: &AuditEvent) {
    worker::console_log!("{}", ev.to_json());
    let Ok(queue) = env.queue(EVENTS_BINDING) else { return };
    // Sent as JSON text: plain strings survive the JS structured clone
    // unchanged, whereas serde objects would arrive as JS Maps.
    let value = ev.to_json();
    let request_id = ev.request_id.clone();
    ctx.wait_until(async move {
        if let Err(e) = queue.send(value).await {
            worker::console_error!(
                "{}",
                serde_json::json!({"event": "audit_queue_failed", "request_id": request_id, "error": e.to_string()})
            );
        }
    });
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
