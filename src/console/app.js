// linkgate admin console (docs/console.md). No framework, no third-party
// origin. The credential lives in sessionStorage only and leaves the page
// solely as `Authorization: Bearer` on calls to this worker's admin API;
// it is never written to a URL, the DOM or the console.
"use strict";
const KEY = "linkgate.credential";
const API = "/_linkgate/";
const $ = (id) => document.getElementById(id);
const state = { policy: null, files: null, rev: null, ev: null, filter: "" };

class Problem extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.code) || `http_${status}`;
    this.rule = body && body.rule;
  }
}

const cred = () => sessionStorage.getItem(KEY);

// What a scoped credential (`lgc.…`, docs/admin.md "Format") says about
// itself, read without checking its tag: only to fit the page to it (hide
// the views it may not use, start the path picker in its folder). The worker
// verifies the credential and enforces every rule on every call. `null`: the
// root token (or text that is no credential), shown every view.
const VIEW_CAPS = { mint: 1, lookup: 2, revoke: 4, events: 8, upload: 16 };
const CAP_NAMES = [[1, "mint"], [2, "look up"], [4, "revoke"], [8, "events"], [16, "upload"]];
function claimsOf(c) {
  if (!c || !c.startsWith("lgc.")) return null;
  try {
    const b64 = c.slice(4).replace(/-/g, "+").replace(/_/g, "/");
    const b = Uint8Array.from(atob(b64 + "===".slice((b64.length + 3) % 4)), (ch) => ch.charCodeAt(0));
    let i = 0;
    const u8 = () => {
      if (i >= b.length) throw new RangeError("short");
      return b[i++];
    };
    const text = (n) => {
      if (i + n > b.length) throw new RangeError("short");
      i += n;
      return new TextDecoder("utf-8", { fatal: true }).decode(b.subarray(i - n, i));
    };
    const u64 = () => {
      let v = 0;
      for (let k = 0; k < 8; k++) v = v * 256 + u8();
      return v;
    };
    if (u8() !== 1) return null;
    i += 16; // its id
    u64(); // iat
    const exp = u64();
    const caps = u8();
    const name = text(u8());
    const count = u8();
    const tenants = [];
    for (let k = 0; k < count; k++) tenants.push(text(u8()));
    const plen = u8() * 256 + u8();
    return { name, exp, caps, tenants: count ? tenants : null, prefix: plen ? text(plen) : null };
  } catch {
    return null;
  }
}
const claims = () => claimsOf(cred());
const can = (view) => {
  const c = claims();
  return !c || (c.caps & VIEW_CAPS[view]) !== 0;
};

function say(text, error) {
  const m = $("msg");
  m.textContent = text;
  m.className = error ? "error" : "ok";
}

// One admin API call; a non-2xx answer throws its problem (status + code).
async function api(method, path, body, headers = {}) {
  const c = cred();
  if (!c) throw new Problem(401, { code: "unauthorized", detail: "Sign in first." });
  const h = { authorization: `Bearer ${c}`, ...headers };
  if (body !== undefined && !(body instanceof Blob)) {
    h["content-type"] = "application/json";
    body = JSON.stringify(body);
  }
  const r = await fetch(API + path, { method, headers: h, body, cache: "no-store", credentials: "omit", redirect: "error" });
  let j = null;
  try {
    j = await r.json();
  } catch {
    j = null;
  }
  if (!r.ok) throw new Problem(r.status, j);
  return j;
}

// Form and button handlers: refusals are shown with their code, never thrown
// to the console; a 401 means the credential is no good, so it is forgotten.
function guard(fn) {
  return async (ev) => {
    if (ev && ev.type === "submit") ev.preventDefault();
    say("");
    try {
      await fn(ev);
    } catch (e) {
      if (e instanceof Problem && e.status === 401) {
        forget();
        say(`Not signed in: the credential was refused (401 ${e.code}).`, true);
      } else if (e instanceof Problem) {
        say(`Refused: ${e.status} ${e.code}${e.rule ? ` (rule ${e.rule})` : ""}. ${e.message}`, true);
      } else {
        say(`The request failed: ${e.name}.`, true);
      }
    }
  };
}

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, v);
  for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
  return e;
}

const when = (s) => (s ? new Date(s * 1000).toLocaleString() : "");
const size = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} KB` : `${n} B`);
function span(s) {
  for (const [u, d] of [["d", 86400], ["h", 3600], ["m", 60]]) if (s >= d && s % d === 0) return `${s / d}${u}`;
  return `${s}s`;
}

// A table (in a scrolling box, for narrow screens) of rows of cells.
function table(heads, rows) {
  const t = el("table", {}, el("thead", {}, el("tr", {}, ...heads.map((h) => el("th", { scope: "col" }, h)))));
  const b = el("tbody");
  for (const r of rows) b.append(el("tr", {}, ...r.map((c) => el("td", {}, c))));
  t.append(b);
  return el("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": heads.join(", ") }, t);
}

function dl(pairs) {
  const d = el("dl");
  for (const [k, v] of pairs) if (v !== undefined && v !== null && v !== "") d.append(el("dt", {}, k), el("dd", {}, v));
  return d;
}

function show(view) {
  const signedIn = !!cred();
  if (!signedIn) view = "signin";
  else if (!can(view)) view = Object.keys(VIEW_CAPS).find(can) || "mint";
  $("nav").hidden = !signedIn;
  // Views the credential has no capability for are not offered.
  for (const b of document.querySelectorAll("#nav [data-view]")) b.hidden = signedIn && !can(b.dataset.view);
  for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== `v-${view}`;
  for (const b of document.querySelectorAll("#nav [data-view]")) {
    if (b.dataset.view === view) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  }
  // Keyboard and screen-reader users land on the view: its heading, or the
  // credential field when signing in.
  const h = view === "signin" ? $("cred") : document.querySelector(`#v-${view} h2`);
  if (view !== "signin") h.tabIndex = -1;
  h.focus();
}

// Who is signed in, for a scoped credential: its name, tenants, folder,
// what it may do and until when (never the credential itself).
function who() {
  const c = claims();
  const box = $("who");
  box.hidden = !c;
  if (!c) return box.replaceChildren();
  const can_ = CAP_NAMES.filter(([bit]) => c.caps & bit).map(([, n]) => n);
  box.textContent = [
    `Signed in as ${c.name}`,
    c.tenants ? `tenant ${c.tenants.join(", ")}` : "every tenant",
    c.prefix ? `folder ${c.prefix}` : "every path",
    `may ${can_.join(", ")}`,
    `until ${when(c.exp)}`,
  ].join(" · ");
  // The path picker starts in its folder, and minting names its tenant.
  $("prefix").value = c.prefix || "/";
  $("m-tenant").placeholder = c.tenants && c.tenants.length === 1 ? `${c.tenants[0]} (this credential's)` : "";
}

function forget() {
  sessionStorage.removeItem(KEY);
  state.policy = null;
  $("who").hidden = true;
  $("prefix").value = "/";
  $("m-tenant").placeholder = "";
  for (const id of ["m-url", "l-q", "cred"]) $(id).value = "";
  // The next person signing in starts from empty forms, not this one's filters.
  for (const id of ["mint", "lookup", "revoke", "events", "upload"]) $(id).reset();
  for (const id of ["l-out", "r-list", "e-list", "chart", "m-limits", "u-out", "folders"]) $(id).replaceChildren();
  $("m-pick").replaceChildren();
  $("minted").hidden = true;
  show("signin");
}

async function loadPolicy() {
  try {
    state.policy = await api("GET", "policy");
  } catch (e) {
    // A credential without the right to read the policy still signs in.
    if (!(e instanceof Problem) || e.status !== 403) throw e;
    state.policy = null;
  }
}

// ---- Mint ------------------------------------------------------------------

async function listFiles(prefix, more) {
  // No prefix: the worker lists the credential's own folder (or the top).
  const q = new URLSearchParams(prefix ? { prefix, limit: "100" } : { limit: "100" });
  if (more && state.files) q.set("cursor", state.files);
  const page = await api("GET", `files?${q}`);
  state.files = page.cursor;
  $("m-more").hidden = !page.cursor;
  $("prefix").value = page.prefix;
  if (!more) $("m-pick").replaceChildren();
  const folders = $("folders");
  if (!more) {
    folders.replaceChildren();
    const top = (claims() || {}).prefix || "/";
    if (page.prefix !== top) {
      const up = page.prefix.replace(/[^/]+\/$/, "");
      const b = el("button", { type: "button" }, `↑ ${up}`);
      b.addEventListener("click", guard(() => listFiles(up)));
      folders.append(b);
    }
  }
  for (const f of page.folders) {
    const b = el("button", { type: "button" }, f);
    b.addEventListener("click", guard(() => listFiles(f)));
    folders.append(b);
  }
  for (const f of page.files) {
    const o = el("option", { value: f.path }, `${f.path} · ${size(f.size)} · ${f.classification || `${f.rule} (default)`}`);
    o.dataset.rule = f.rule;
    $("m-pick").append(o);
  }
  say(`${page.files.length} file(s), ${page.folders.length} folder(s) in ${page.prefix}.`);
}

function ruleFor(path) {
  const o = [...$("m-pick").options].find((x) => x.value === path);
  return o ? o.dataset.rule : state.policy && state.policy.default_classification;
}

function showLimits() {
  const box = $("m-limits");
  const p = state.policy;
  if (!p) {
    box.textContent = "The policy's limits are not readable with this credential; the worker still enforces them.";
    return;
  }
  const r = p.rules.find((x) => x.name === ruleFor($("m-path").value.trim()));
  if (!r) return box.replaceChildren();
  const lines = [
    `Classification ${r.name}: links live at most ${span(r.max_ttl_secs)}`,
    `delivery ${r.modes.join(" or ")}`,
    r.require_sub ? "a recipient (sub) is required" : null,
    r.require_ip ? `an IP binding is required (at least /${r.min_ip_prefix_v4} IPv4, /${r.min_ip_prefix_v6} IPv6)` : null,
    r.require_sealed ? "only sealed links" : null,
    r.countries ? `downloads only from ${r.countries.join(", ")}` : null,
  ].filter(Boolean);
  box.textContent = `${lines.join("; ")}.`;
  if (r.require_sealed) $("m-sealed").checked = true;
}

async function mint() {
  const path = $("m-path").value.trim();
  const ttl = $("m-ttl").value.trim();
  const body = path.endsWith("/") ? { prefix: path } : { path };
  body.ttl = /^\d+$/.test(ttl) ? Number(ttl) : ttl;
  for (const k of ["sub", "tenant", "mode"]) {
    const v = $(`m-${k}`).value.trim();
    if (v) body[k] = v;
  }
  if ($("m-uses").value) body.uses = Number($("m-uses").value);
  const ip = $("m-ip").value.split(",").map((s) => s.trim()).filter(Boolean);
  if (ip.length) body.ip = ip;
  if ($("m-sealed").checked) body.sealed = true;
  const m = await api("POST", "links", body);
  $("m-url").value = m.url;
  $("m-info").textContent = `jti ${m.jti} · expires ${when(m.expires_at)}`;
  $("minted").hidden = false;
  $("copy").focus();
  say("Link minted.");
}

async function copy() {
  const url = $("m-url").value;
  try {
    await navigator.clipboard.writeText(url);
  } catch {
    $("m-url").select();
    document.execCommand("copy");
  }
  say("Link copied to the clipboard.");
}

// ---- Look up ---------------------------------------------------------------

function linkState(i) {
  if (i.revocation) return "revoked";
  if (i.code === "expired") return "expired";
  const c = i.claims;
  if (c && c.uses && i.uses_consumed >= c.uses) return "used up";
  return i.verdict === "valid" ? "valid" : `refused (${i.code})`;
}

async function lookup() {
  const q = $("l-q").value.trim();
  let jti = /^[0-9a-fA-F]{32}$/.test(q) ? q.toLowerCase() : null;
  let i = null;
  // A link goes in the POST body, never in a URL of the console's.
  if (!jti) {
    i = await api("POST", "inspect", { link: q });
    jti = i.claims && i.claims.jti;
  }
  const out = $("l-out");
  out.replaceChildren();
  let events = [];
  let more = false;
  if (jti && can("events")) {
    const page = await api("GET", `events?${new URLSearchParams({ jti, limit: "100" })}`);
    events = page.events;
    more = !!page.cursor;
  }
  const downloads = events.filter((e) => e.outcome === "allowed" && e.method !== "HEAD").length;
  const c = (i && i.claims) || {};
  const last = events[0] || {};
  // What the audit trail says: when the edge minted it, the latest decision.
  const minted = events.find((e) => e.outcome === "admin" && e.reason === "mint");
  const decided = events.find((e) => e.outcome !== "admin");
  out.append(
    dl([
      ["State", i ? linkState(i) : "unknown: paste the link itself for its claims and state"],
      ["jti", jti],
      ["Path", c.scope || last.path],
      ["Recipient (sub)", c.sub || last.sub],
      ["Tenant", c.tenant || last.tenant],
      ["Issued", when(c.iat)],
      ["Expires", when(c.exp)],
      ["Uses", c.uses ? `${i.uses_consumed ?? 0} of ${c.uses} consumed` : i && i.claims ? "unlimited" : ""],
      ["Mode", c.mode],
      ["Key", c.kid],
      ["Revoked", i && i.revocation ? `${i.revocation.reason} (${i.revocation.scope}, ${when(i.revocation.revoked_at)})` : ""],
      ["Downloads so far", jti && can("events") ? `${downloads}${more ? "+" : ""}` : ""],
      ["Minted here", minted ? when(minted.time) : ""],
      ["Latest decision", decided ? `${decided.outcome}${decided.code ? ` (${decided.code})` : ""}, ${when(decided.time)}` : ""],
    ]),
  );
  if (events.length) out.append(eventsTable(events));
  say(`Looked up ${jti || "the link"}.`);
}

// ---- Revoke ----------------------------------------------------------------

async function revoke() {
  const scope = $("r-scope").value;
  const value = $("r-value").value.trim();
  const reason = $("r-reason").value.trim();
  // A link (its URL or token) rather than a bare jti: the worker verifies it
  // and revokes its jti, which is how a tenant's credential revokes one link.
  const body = scope === "jti" && !/^[0-9a-fA-F]{32}$/.test(value) ? { link: value, reason } : { scope, value, reason };
  const e = await api("POST", "revocations", body);
  await listRevocations();
  say(`Revoked ${e.scope} ${e.value}.`);
}

async function listRevocations(more) {
  const q = new URLSearchParams({ limit: "100" });
  if (more && state.rev) q.set("cursor", state.rev);
  const page = await api("GET", `revocations?${q}`);
  state.rev = page.cursor;
  $("r-more").hidden = !page.cursor;
  const rows = page.entries
    .filter((e) => e.scope)
    .map((e) => {
      const b = el("button", { type: "button", "aria-label": `Lift ${e.scope} ${e.value}` }, "Lift");
      b.addEventListener("click", guard(() => lift(e)));
      return [b, e.scope, e.value, e.reason, e.actor, when(e.revoked_at), when(e.expires_at) || "never"];
    });
  const box = $("r-list");
  if (!more) box.replaceChildren();
  box.append(rows.length ? table(["Action", "Scope", "Value", "Reason", "By", "Revoked", "Ends"], rows) : el("p", {}, "No active revocations."));
}

async function lift(e) {
  await api("DELETE", `revocations/${e.scope}/${encodeURIComponent(e.value)}`);
  await listRevocations();
  say(`Lifted ${e.scope} ${e.value}.`);
}

// ---- Events ----------------------------------------------------------------

function eventsTable(events) {
  return table(
    ["Time", "Outcome", "Status", "Code / action", "Path", "Recipient", "Tenant", "jti", "Client"],
    events.map((e) => [
      when(e.time),
      e.outcome,
      e.status,
      e.code || e.reason || "",
      e.path || e.subject || "",
      e.sub || "",
      e.tenant || "",
      e.jti ? e.jti.slice(0, 8) : "",
      [e.client_ip, e.country].filter(Boolean).join(" "),
    ]),
  );
}

function filters() {
  const q = new URLSearchParams();
  for (const k of ["tenant", "sub", "path", "outcome"]) {
    const v = $(`e-${k}`).value.trim();
    if (v) q.set(k, v);
  }
  for (const k of ["since", "until"]) {
    const v = $(`e-${k}`).value;
    if (v) q.set(k, String(Math.floor(new Date(v).getTime() / 1000)));
  }
  return q;
}

async function events(more) {
  const q = more ? new URLSearchParams(state.filter) : filters();
  if (!more) {
    state.filter = q.toString();
    drawChart(await api("GET", `events/hourly?${q}`));
  }
  q.set("limit", "50");
  if (more && state.ev) q.set("cursor", state.ev);
  const page = await api("GET", `events?${q}`);
  state.ev = page.cursor;
  $("e-more").hidden = !page.cursor;
  const box = $("e-list");
  if (!more) box.replaceChildren();
  box.append(page.events.length ? eventsTable(page.events) : el("p", {}, "No events."));
  say(`${page.events.length} event(s)${page.cursor ? ", older ones on the next page" : ""}.`);
}

// Bars per hour, drawn as inline SVG (no library): downloads and refusals.
function drawChart(h) {
  const NS = "http://www.w3.org/2000/svg";
  const svg = (tag, attrs, text) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const first = Math.floor(h.since / 3600) * 3600;
  const n = Math.floor(h.until / 3600) - first / 3600 + 1;
  const by = new Map(h.hours.map((x) => [x.hour, x]));
  const max = Math.max(1, ...h.hours.map((x) => Math.max(x.downloads, x.refusals)));
  const W = 600, H = 120, w = W / n;
  let down = 0, ref = 0;
  const label = () => `Downloads and refusals per hour, ${when(h.since)} to ${when(h.until)}: ${down} downloads, ${ref} refusals.`;
  const s = svg("svg", { viewBox: `0 0 ${W} ${H + 16}`, role: "img", class: "chart" });
  for (let i = 0; i < n; i++) {
    const t = first + i * 3600;
    const x = by.get(t) || { downloads: 0, refusals: 0 };
    down += x.downloads;
    ref += x.refusals;
    for (const [k, v, dx] of [["down", x.downloads, 0], ["ref", x.refusals, w / 2]]) {
      if (!v) continue;
      const bh = (v / max) * H;
      const r = svg("rect", { x: i * w + dx, y: H - bh, width: Math.max(w / 2 - 0.5, 0.5), height: bh, class: k });
      r.append(svg("title", {}, `${when(t)}: ${v} ${k === "down" ? "downloads" : "refusals"}`));
      s.append(r);
    }
  }
  s.append(svg("line", { x1: 0, y1: H, x2: W, y2: H, class: "axis" }));
  s.append(svg("text", { x: 0, y: H + 13 }, when(h.since)));
  s.append(svg("text", { x: W, y: H + 13, "text-anchor": "end" }, when(h.until)));
  s.setAttribute("aria-label", label());
  $("chart").replaceChildren(s, el("figcaption", {}, el("span", { class: "key down" }, "■"), ` downloads ${down} `, el("span", { class: "key ref" }, "■"), ` refusals ${ref}`));
}

// ---- Upload ----------------------------------------------------------------

async function upload() {
  const f = $("u-file").files[0];
  const path = $("u-path").value.trim();
  const key = path.replace(/^\/+/, "").split("/").map(encodeURIComponent).join("/");
  const headers = { "content-type": f.type || "application/octet-stream" };
  if ($("u-class").value) headers["x-linkgate-classification"] = $("u-class").value;
  const r = await api("PUT", `files/${key}`, f, headers);
  $("u-out").textContent = `Stored ${r.path} (${size(r.size)}), classification ${r.classification || "policy default"}.`;
  say("Uploaded.");
}

// ---- Wiring ----------------------------------------------------------------

function on(id, type, fn) {
  $(id).addEventListener(type, guard(fn));
}

on("signin", "submit", async () => {
  const c = $("cred").value.trim();
  $("cred").value = "";
  sessionStorage.setItem(KEY, c);
  await loadPolicy();
  who();
  show("mint");
  say("Signed in.");
});
on("signout", "click", () => {
  forget();
  say("Signed out.");
});
for (const b of document.querySelectorAll("#nav [data-view]")) {
  b.addEventListener("click", guard(async () => {
    show(b.dataset.view);
    if (b.dataset.view === "revoke") await listRevocations();
  }));
}
on("list", "submit", () => listFiles($("prefix").value.trim()));
on("m-more", "click", () => listFiles($("prefix").value, true));
$("m-pick").addEventListener("change", () => {
  $("m-path").value = $("m-pick").value;
  showLimits();
});
$("m-path").addEventListener("input", showLimits);
on("mint", "submit", mint);
on("copy", "click", copy);
on("lookup", "submit", lookup);
on("revoke", "submit", revoke);
on("r-refresh", "click", () => listRevocations());
on("r-more", "click", () => listRevocations(true));
on("events", "submit", () => events());
on("e-more", "click", () => events(true));
on("upload", "submit", upload);
on("u-file", "change", () => {
  const f = $("u-file").files[0];
  if (f && !$("u-path").value) $("u-path").value = `${$("prefix").value.replace(/\/?$/, "/")}${f.name}`;
});

if (cred()) {
  who();
  show("mint");
  guard(loadPolicy)();
} else {
  show("signin");
}
