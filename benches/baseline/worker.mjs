// The platform's limit: the same R2 object served with no authorization at
// all. scripts/bench.sh compares linkgate against this.
export default {
  async fetch(request, env) {
    const key = decodeURIComponent(new URL(request.url).pathname.slice(1));
    const obj = await env.LINKGATE_FILES.get(key);
    if (!obj) return new Response("not found", { status: 404 });
    const headers = new Headers();
    obj.writeHttpMetadata(headers);
    headers.set("etag", obj.httpEtag);
    headers.set("content-length", String(obj.size));
    return new Response(obj.body, { headers });
  },
};
