// The peer: what a user would copy instead of linkgate. Written after the
// shape of Cloudflare's public "Sign requests" example: a link is
// `<path>?verify=<expiry>-<base64 HMAC-SHA256(secret, path + expiry)>`,
// checked with WebCrypto (the key imported on each request, as the example
// does), one KV read for a revocation list, then the object from R2.
// No canonical paths, no scopes, no audit, no cache rules: the floor that a
// dozen lines of JS give. scripts/bench.sh runs it beside linkgate.
const encoder = new TextEncoder();

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const verify = url.searchParams.get("verify");
    if (!verify) return new Response("Missing query parameter", { status: 403 });
    const [expiry, mac] = verify.split("-");
    const key = await crypto.subtle.importKey("raw", encoder.encode(env.SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    let macBytes;
    try {
      macBytes = Uint8Array.from(atob(mac), (c) => c.charCodeAt(0));
    } catch {
      return new Response("Invalid MAC", { status: 403 });
    }
    const ok = await crypto.subtle.verify("HMAC", key, macBytes, encoder.encode(`${url.pathname}${expiry}`));
    if (!ok) return new Response("Invalid MAC", { status: 403 });
    if (Date.now() / 1000 > Number(expiry)) return new Response("URL expired", { status: 403 });
    if (await env.LINKGATE_DENYLIST.get(`revoked:${url.pathname}`)) return new Response("Revoked", { status: 403 });
    const object = await env.LINKGATE_FILES.get(decodeURIComponent(url.pathname.slice(1)));
    if (!object) return new Response("Not found", { status: 404 });
    const headers = new Headers();
    object.writeHttpMetadata(headers);
    headers.set("etag", object.httpEtag);
    headers.set("content-length", String(object.size));
    return new Response(object.body, { headers });
  },
};
