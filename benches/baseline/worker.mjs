// The platform's limit: the same R2 object served with no authorization at
// all. scripts/bench.sh compares linkgate against this.
//
// With the STEPS binding (comma-separated) it also performs the I/O that
// linkgate performs per download, so the profile run can price each
// platform call on its own: head (R2 head before the get), kv (denylist bulk
// get), queue (audit message), log (one JSON log line), cf (read the
// request's cf.country, as the audit event does). refuse answers 403 at once,
// touching no binding: the floor under any refusal in this runtime; with
// problem too (refuse,problem), the 403 has the shape of linkgate's refusal
// of a forged link (its headers and a problem+json body of the same length
// with a fresh request id), so the cost of that shape is told apart from the
// cost of deciding it.
const PROBLEM_HEADERS = {
  "content-type": "application/problem+json",
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-robots-tag": "noindex, nofollow",
};
function problem() {
  const id = Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, "0") + Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, "0");
  const body = JSON.stringify({
    type: "urn:linkgate:problem:signature_invalid",
    title: "Forbidden",
    status: 403,
    code: "signature_invalid",
    detail: "The link's signature does not match; it may have been altered.",
    request_id: id,
  });
  return new Response(body, { status: 403, headers: PROBLEM_HEADERS });
}
export default {
  async fetch(request, env, ctx) {
    const steps = new Set((env.STEPS || "").split(",").filter(Boolean));
    if (steps.has("refuse") && steps.has("problem")) return problem();
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
