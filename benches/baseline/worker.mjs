// The platform's limit: the same R2 object served with no authorization at
// all. scripts/bench.sh compares linkgate against this.
//
// With the STEPS binding (comma-separated) it also performs the I/O that
// linkgate performs per download, so the profile run can price each
// platform call on its own: head (R2 head before the get), kv (denylist bulk
// get), queue (audit message), log (one JSON log line), cf (read the
// request's cf.country, as the audit event does). refuse answers 403 at once,
// touching no binding: the floor under any refusal in this runtime.
export default {
  async fetch(request, env, ctx) {
    const steps = new Set((env.STEPS || "").split(",").filter(Boolean));
    if (steps.has("refuse")) return new Response("forbidden", { status: 403 });
    const key = decodeURIComponent(new URL(request.url).pathname.slice(1));
    const country = steps.has("cf") ? request.cf?.country : undefined;
    if (steps.has("kv")) {
      await env.LINKGATE_DENYLIST.get(["d:jti:00", "d:sub:t:x", "d:path:/" + key], { type: "text", cacheTtl: 30 });
    }
    if (steps.has("head")) {
      if (!(await env.LINKGATE_FILES.head(key))) return new Response("not found", { status: 404 });
    }
    const obj = await env.LINKGATE_FILES.get(key);
    if (!obj) return new Response("not found", { status: 404 });
    const headers = new Headers();
    obj.writeHttpMetadata(headers);
    headers.set("etag", obj.httpEtag);
    headers.set("content-length", String(obj.size));
    const event = JSON.stringify({ time: Date.now(), request_id: crypto.randomUUID(), path: key, outcome: "allowed", status: 200, country });
    if (steps.has("log")) console.log(event);
    if (steps.has("queue")) ctx.waitUntil(env.LINKGATE_EVENTS.send(event));
    return new Response(obj.body, { headers });
  },
  async queue(batch, env) {
    // Same shape of work as linkgate's consumer: one D1 batch per message batch.
    const stmts = batch.messages.map((m) => env.LINKGATE_AUDIT.prepare("INSERT INTO events (time, request_id, path, outcome, status) VALUES (?1, ?2, ?3, ?4, ?5)").bind(...Object.values(JSON.parse(m.body)).slice(0, 5)));
    if (stmts.length) await env.LINKGATE_AUDIT.batch(stmts);
    batch.ackAll();
  },
};
