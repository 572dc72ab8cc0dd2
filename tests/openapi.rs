//! `docs/admin-api.yaml` against the code.
//!
//! The OpenAPI document is read with a small line-based reader of its own (no
//! YAML crate): the document is kept simple and regular on purpose (two-space
//! indentation, block style, no anchors), and the reader refuses anything in
//! the `paths:` section that it could misread instead of guessing.
//!
//! Checks:
//! - the document starts with `openapi: 3.1`;
//! - the (METHOD, path) pairs under `paths:` equal `core::admin::ROUTES`
//!   exactly, both ways;
//! - every operation has a unique `operationId`, a `responses` block with a
//!   `'401'` response, the `x-linkgate-capability` its route needs
//!   (`Route::capability`), and declares every `{param}` of its path
//!   template as an `in: path` parameter (and no other);
//! - every `$ref: '#/components/<section>/<Name>'` is defined, in particular
//!   every `#/components/schemas/<Name>`;
//! - the bearer security scheme is defined and applied;
//! - the schemas of the wire types (AuditEvent, RevocationEntry, Claims,
//!   Problem) name every field the code serializes, and every request field
//!   the document lists is accepted by the code's request parsers.
//!
//! `the_checker_can_fail` feeds the checker in-memory modified copies of the
//! document (a route removed, a route added, a 401 removed, a dangling
//! `$ref`, a misindented path, flow style) and asserts each is reported.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // test code: a panic is a failed test

use std::collections::{BTreeMap, BTreeSet};

use linkgate_core::admin::{self, ROUTES};

const DOC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/admin-api.yaml");

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
/// Path Item fields that are not operations.
const PATH_ITEM_FIELDS: [&str; 4] = ["summary", "description", "parameters", "servers"];

fn load() -> String {
    std::fs::read_to_string(DOC_PATH).unwrap_or_else(|e| panic!("read {DOC_PATH}: {e}"))
}

// ---------------------------------------------------------------------------
// The line-based reader.

/// One non-blank, non-comment line.
#[derive(Debug)]
struct Line {
    /// 1-based line number in the document.
    no: usize,
    indent: usize,
    /// The line without indentation and trailing spaces.
    text: String,
    /// Content of a block scalar (`|` / `>`), not YAML structure.
    block: bool,
}

/// Split `key: value` / `key:`; keys may be quoted. None for sequence items
/// and for lines that are not mappings.
fn split_key(text: &str) -> Option<(String, Option<String>)> {
    if text.starts_with("- ") || text == "-" {
        return None;
    }
    let (key, rest) = if let Some(q) = text.chars().next().filter(|c| *c == '\'' || *c == '"') {
        let close = text[1..].find(q)? + 1;
        (text[1..close].to_owned(), &text[close + 1..])
    } else if let Some(i) = text.find(": ") {
        (text[..i].to_owned(), &text[i..])
    } else if let Some(k) = text.strip_suffix(':') {
        (k.to_owned(), ":")
    } else {
        return None;
    };
    let value = rest.strip_prefix(':')?.trim();
    Some((key, if value.is_empty() { None } else { Some(value.to_owned()) }))
}

fn unquote(v: &str) -> &str {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'\'' || b[0] == b'"') && b[b.len() - 1] == b[0] {
        &v[1..v.len() - 1]
    } else {
        v
    }
}

fn starts_block_scalar(value: &str) -> bool {
    value.starts_with('|') || value.starts_with('>')
}

struct Doc {
    lines: Vec<Line>,
}

impl Doc {
    fn parse(text: &str, problems: &mut Vec<String>) -> Doc {
        let mut lines = Vec::new();
        // Indentation of the key whose block scalar we are in.
        let mut block_parent: Option<usize> = None;
        for (i, raw) in text.lines().enumerate() {
            let no = i + 1;
            let trimmed = raw.trim_start_matches(' ');
            let indent = raw.len() - trimmed.len();
            let t = trimmed.trim_end();
            if t.is_empty() {
                continue;
            }
            if t.starts_with('\t') {
                problems.push(format!("line {no}: tab in indentation"));
            }
            if let Some(p) = block_parent {
                if indent > p {
                    lines.push(Line { no, indent, text: t.to_owned(), block: true });
                    continue;
                }
                block_parent = None;
            }
            if t.starts_with('#') {
                continue;
            }
            // `- key: |` opens a block scalar for a key at indent + 2.
            let (key_indent, key_text) = match t.strip_prefix("- ") {
                Some(rest) => (indent + 2, rest),
                None => (indent, t),
            };
            if let Some((_, Some(v))) = split_key(key_text) {
                if starts_block_scalar(&v) {
                    block_parent = Some(key_indent);
                }
            }
            lines.push(Line { no, indent, text: t.to_owned(), block: false });
        }
        Doc { lines }
    }

    /// The lines under the mapping key `path` (each segment one level, two
    /// spaces, deeper), and the indentation of their direct children.
    fn section(&self, path: &[&str]) -> Option<(&[Line], usize)> {
        let mut lines: &[Line] = &self.lines;
        let mut level = 0;
        for seg in path {
            let at = lines
                .iter()
                .position(|l| !l.block && l.indent == level && split_key(&l.text).is_some_and(|(k, _)| k == *seg))?;
            let rest = &lines[at + 1..];
            let end = rest.iter().position(|l| l.indent <= level).unwrap_or(rest.len());
            lines = &rest[..end];
            level += 2;
        }
        Some((lines, level))
    }

    /// The keys (with inline values and line numbers) of the mapping at `path`.
    fn keys(&self, path: &[&str]) -> Vec<(String, Option<String>, usize)> {
        let Some((lines, level)) = self.section(path) else { return vec![] };
        lines
            .iter()
            .filter(|l| !l.block && l.indent == level)
            .filter_map(|l| split_key(&l.text).map(|(k, v)| (k, v, l.no)))
            .collect()
    }

    /// The inline value of the key at `path`.
    fn value(&self, path: &[&str]) -> Option<String> {
        let (last, parent) = path.split_last()?;
        self.keys(parent)
            .into_iter()
            .find(|(k, _, _)| k == last)
            .and_then(|(_, v, _)| v)
            .map(|v| unquote(&v).to_owned())
    }

    /// The sequence items at `path` (text after `- `), with their own nested
    /// `key: value` lines merged in (`- name: x` / `  in: path`).
    fn items(&self, path: &[&str]) -> Vec<BTreeMap<String, String>> {
        let Some((lines, level)) = self.section(path) else { return vec![] };
        let mut out: Vec<BTreeMap<String, String>> = Vec::new();
        for l in lines.iter().filter(|l| !l.block) {
            if l.indent == level {
                if let Some(rest) = l.text.strip_prefix("- ") {
                    let mut m = BTreeMap::new();
                    if let Some((k, Some(v))) = split_key(rest) {
                        m.insert(k, unquote(&v).to_owned());
                    } else {
                        m.insert(String::new(), rest.to_owned());
                    }
                    out.push(m);
                }
            } else if l.indent == level + 2 {
                if let (Some(m), Some((k, Some(v)))) = (out.last_mut(), split_key(&l.text)) {
                    m.insert(k, unquote(&v).to_owned());
                }
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------
// The checks.

/// One operation under `paths:`.
#[derive(Debug)]
struct Operation {
    method: String,
    path: String,
    line: usize,
}

/// Extract the operations from the `paths:` section (up to the next top-level
/// key), refusing lines the reader could misread.
fn operations(doc: &Doc, problems: &mut Vec<String>) -> Vec<Operation> {
    let Some((lines, _)) = doc.section(&["paths"]) else {
        problems.push("no top-level `paths:` section".into());
        return vec![];
    };
    let mut ops = Vec::new();
    let mut seen_paths = BTreeSet::new();
    let mut current: Option<String> = None;
    for l in lines {
        if l.block {
            continue;
        }
        // Anchors, aliases, merge keys and flow collections are not read.
        let item = l.text.strip_prefix("- ").unwrap_or(&l.text);
        let flowish = |v: &str| v.starts_with(['[', '{', '&', '*']);
        let suspicious = match split_key(item) {
            Some((k, v)) => k == "<<" || v.as_deref().is_some_and(flowish),
            None => l.text.starts_with("- ") && flowish(item),
        };
        if suspicious {
            problems.push(format!("line {}: flow style, anchor or alias in paths: `{}`", l.no, l.text));
        }
        if l.indent >= 6 {
            continue;
        }
        let key = split_key(&l.text);
        match (l.indent, key) {
            (2, Some((k, None))) if k.starts_with('/') => {
                if !seen_paths.insert(k.clone()) {
                    problems.push(format!("line {}: path `{k}` is listed twice", l.no));
                }
                current = Some(k);
            }
            (4, Some((k, _))) if METHODS.contains(&k.as_str()) => match &current {
                Some(p) => ops.push(Operation { method: k.to_ascii_uppercase(), path: p.clone(), line: l.no }),
                None => problems.push(format!("line {}: method `{k}` outside a path", l.no)),
            },
            (4, Some((k, _))) if PATH_ITEM_FIELDS.contains(&k.as_str()) => {}
            _ => problems.push(format!(
                "line {}: unexpected line in paths (path keys at 2 spaces, methods at 4): `{}`",
                l.no, l.text
            )),
        }
    }
    ops
}

fn route_set(routes: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    routes.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect()
}

/// Compare documented and routed pairs, both ways.
fn compare_routes(
    documented: &BTreeSet<(String, String)>,
    routed: &BTreeSet<(String, String)>,
    problems: &mut Vec<String>,
) {
    let show = |s: Vec<&(String, String)>| s.iter().map(|(m, p)| format!("{m} {p}")).collect::<Vec<_>>().join(", ");
    let missing: Vec<_> = routed.difference(documented).collect();
    let extra: Vec<_> = documented.difference(routed).collect();
    if !missing.is_empty() {
        problems.push(format!("in core::admin::ROUTES but missing from docs/admin-api.yaml: {}", show(missing)));
    }
    if !extra.is_empty() {
        problems.push(format!("in docs/admin-api.yaml but not in core::admin::ROUTES: {}", show(extra)));
    }
}

/// `(section, name)` of a parameter `$ref`, resolved to the parameter's fields.
fn resolve_parameter(doc: &Doc, item: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    match item.get("$ref").and_then(|r| r.strip_prefix("#/components/parameters/")) {
        Some(name) => {
            let mut m = BTreeMap::new();
            for f in ["name", "in"] {
                if let Some(v) = doc.value(&["components", "parameters", name, f]) {
                    m.insert(f.to_owned(), v);
                }
            }
            m
        }
        None => item.clone(),
    }
}

fn check_operation(doc: &Doc, op: &Operation, ids: &mut BTreeMap<String, String>, problems: &mut Vec<String>) {
    let at = format!("{} {} (line {})", op.method, op.path, op.line);
    let m = op.method.to_ascii_lowercase();
    let base = ["paths", op.path.as_str(), m.as_str()];
    match doc.value(&base.iter().copied().chain(["operationId"]).collect::<Vec<_>>()) {
        None => problems.push(format!("{at}: no operationId")),
        Some(id) => {
            if let Some(other) = ids.insert(id.clone(), format!("{} {}", op.method, op.path)) {
                problems.push(format!("{at}: operationId `{id}` also used by {other}"));
            }
        }
    }
    let keys: Vec<String> = doc.keys(&base).into_iter().map(|(k, _, _)| k).collect();
    if !keys.iter().any(|k| k == "responses") {
        problems.push(format!("{at}: no responses block"));
    } else {
        let responses = base.iter().copied().chain(["responses"]).collect::<Vec<_>>();
        let codes: Vec<String> = doc.keys(&responses).into_iter().map(|(k, _, _)| k).collect();
        if !codes.iter().any(|c| c == "401") {
            problems.push(format!("{at}: responses do not mention 401 (have: {})", codes.join(", ")));
        }
    }
    // The capability a scoped credential needs, as the core's route table says.
    let sample = op.path.replace("{scope}", "sub").replace("{value}", "u1").replace("{path}", "a/b.pdf");
    if let Ok(route) = admin::route(linkgate_core::Method::parse(&op.method), &sample) {
        let want = route.capability().as_str();
        match doc.value(&base.iter().copied().chain(["x-linkgate-capability"]).collect::<Vec<_>>()) {
            None => problems.push(format!("{at}: no x-linkgate-capability (the code says {want})")),
            Some(got) if unquote(&got) != want => {
                problems.push(format!("{at}: x-linkgate-capability is {got}, the code says {want}"))
            }
            Some(_) => {}
        }
    }
    // Path template parameters <-> `in: path` parameters.
    let params = base.iter().copied().chain(["parameters"]).collect::<Vec<_>>();
    let declared: BTreeSet<String> = doc
        .items(&params)
        .iter()
        .map(|i| resolve_parameter(doc, i))
        .filter(|p| p.get("in").map(String::as_str) == Some("path"))
        .filter_map(|p| p.get("name").cloned())
        .collect();
    let templated: BTreeSet<String> = op
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_owned)
        .collect();
    if declared != templated {
        problems.push(format!("{at}: path parameters declared {declared:?}, template has {templated:?}"));
    }
}

/// Every `$ref` in the document must be local and defined.
fn check_refs(doc: &Doc, problems: &mut Vec<String>) {
    for l in doc.lines.iter().filter(|l| !l.block) {
        let item = l.text.strip_prefix("- ").unwrap_or(&l.text);
        let Some((k, Some(v))) = split_key(item) else { continue };
        if k != "$ref" {
            continue;
        }
        let target = unquote(&v);
        let Some(rest) = target.strip_prefix("#/components/") else {
            problems.push(format!("line {}: $ref `{target}` is not a local #/components/ reference", l.no));
            continue;
        };
        let (section, name) = rest.split_once('/').unwrap_or((rest, ""));
        let defined = doc.keys(&["components", section]).iter().any(|(n, _, _)| n == name);
        if !defined {
            problems.push(format!("line {}: $ref `{target}`: {name} is not defined under components/{section}", l.no));
        }
    }
}

/// Every problem with `text` as the admin API document for `routes`.
fn check_document(text: &str, routes: &[(&str, &str)]) -> Vec<String> {
    let mut problems = Vec::new();
    if !text.starts_with("openapi: 3.1") {
        problems.push("the document must start with `openapi: 3.1`".into());
    }
    let doc = Doc::parse(text, &mut problems);

    let ops = operations(&doc, &mut problems);
    let documented: BTreeSet<(String, String)> = ops.iter().map(|o| (o.method.clone(), o.path.clone())).collect();
    if documented.len() != ops.len() {
        problems.push("an operation is listed twice".into());
    }
    compare_routes(&documented, &route_set(routes), &mut problems);

    let mut ids = BTreeMap::new();
    for op in &ops {
        check_operation(&doc, op, &mut ids, &mut problems);
    }

    check_refs(&doc, &mut problems);
    let schemas: BTreeSet<String> = doc.keys(&["components", "schemas"]).into_iter().map(|(k, _, _)| k).collect();
    for required in ["Problem", "Claims", "RevocationEntry", "AuditEvent"] {
        if !schemas.contains(required) {
            problems.push(format!("components/schemas/{required} is not defined"));
        }
    }

    // Bearer authentication, applied to the whole document.
    let bearer: Vec<String> = doc
        .keys(&["components", "securitySchemes"])
        .into_iter()
        .map(|(k, _, _)| k)
        .filter(|k| {
            doc.value(&["components", "securitySchemes", k, "type"]).as_deref() == Some("http")
                && doc.value(&["components", "securitySchemes", k, "scheme"]).as_deref() == Some("bearer")
        })
        .collect();
    if bearer.is_empty() {
        problems.push("no http bearer scheme under components/securitySchemes".into());
    }
    let applied = doc.items(&["security"]).iter().any(|i| i.keys().any(|k| bearer.contains(k)));
    if !applied {
        problems.push("top-level `security` does not apply the bearer scheme".into());
    }
    let description = doc
        .section(&["info", "description"])
        .map(|(ls, _)| ls.iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join(" "));
    match description {
        Some(d) if d.contains("LINKGATE_ADMIN_TOKEN") && d.contains("cacheTtl") && d.contains("60 s") => {}
        _ => problems
            .push("info.description must explain the bearer token and the revocation delay (60 s + cacheTtl)".into()),
    }
    problems
}

fn report(problems: &[String]) -> String {
    problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
}

// ---------------------------------------------------------------------------
// Tests.

#[test]
fn document_matches_routes() {
    let text = load();
    let problems = check_document(&text, ROUTES);
    assert!(problems.is_empty(), "docs/admin-api.yaml does not match the code:\n{}", report(&problems));

    // The reader really found every route (not vacuously equal).
    let mut p = Vec::new();
    let ops = operations(&Doc::parse(&text, &mut p), &mut p);
    assert_eq!(ops.len(), ROUTES.len());
    assert!(ROUTES.len() >= 7);
}

/// A copy of `text` without the block that starts at the line `header`
/// (up to the next line indented as much or less).
fn remove_block(text: &str, header: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| *l == header).unwrap_or_else(|| panic!("no line `{header}`"));
    let indent = header.len() - header.trim_start().len();
    let end = lines[start + 1..]
        .iter()
        .position(|l| !l.trim().is_empty() && l.len() - l.trim_start().len() <= indent)
        .map_or(lines.len(), |i| start + 1 + i);
    let mut out: Vec<&str> = lines[..start].to_vec();
    out.extend_from_slice(&lines[end..]);
    out.join("\n") + "\n"
}

fn expect(problems: &[String], needle: &str) {
    assert!(
        problems.iter().any(|p| p.contains(needle)),
        "expected a problem mentioning `{needle}`, got:\n{}",
        report(problems)
    );
}

#[test]
fn the_checker_can_fail() {
    let text = load();

    // A route removed from the document: reported as missing from the docs.
    let without_events = remove_block(&text, "  /_linkgate/events:");
    let problems = check_document(&without_events, ROUTES);
    expect(&problems, "missing from docs/admin-api.yaml: GET /_linkgate/events");
    assert!(!problems.iter().any(|p| p.contains("not in core::admin::ROUTES")), "{}", report(&problems));

    // One method of a shared path removed.
    // (`    get:` first occurs under /_linkgate/revocations.)
    let without_list = remove_block(&text, "    get:");
    expect(&check_document(&without_list, ROUTES), "missing from docs/admin-api.yaml: GET /_linkgate/revocations");

    // A route the code does not have: the document is fine, ROUTES lacks it.
    let fewer: Vec<(&str, &str)> =
        ROUTES.iter().copied().filter(|r| *r != ("PUT", "/_linkgate/files/{path}")).collect();
    expect(
        &check_document(&text, &fewer),
        "in docs/admin-api.yaml but not in core::admin::ROUTES: PUT /_linkgate/files/{path}",
    );

    // A route added to the document.
    let extra = text.replacen(
        "  /_linkgate/inspect:\n",
        "  /_linkgate/keys:\n    get:\n      operationId: listKeys\n      responses:\n        '401':\n          $ref: '#/components/responses/Unauthorized'\n  /_linkgate/inspect:\n",
        1,
    );
    expect(&check_document(&extra, ROUTES), "not in core::admin::ROUTES: GET /_linkgate/keys");

    // A 401 removed from one operation.
    let no_401 = text.replacen("        '401':\n          $ref: '#/components/responses/Unauthorized'\n", "", 1);
    expect(&check_document(&no_401, ROUTES), "POST /_linkgate/links (line");
    expect(&check_document(&no_401, ROUTES), "do not mention 401");

    // A route's capability missing or wrong.
    let no_cap = text.replacen("      x-linkgate-capability: links:mint\n", "", 1);
    expect(&check_document(&no_cap, ROUTES), "POST /_linkgate/links (line");
    expect(&check_document(&no_cap, ROUTES), "no x-linkgate-capability (the code says links:mint)");
    let wrong_cap =
        text.replacen("      x-linkgate-capability: events:read\n", "      x-linkgate-capability: revoke\n", 1);
    expect(&check_document(&wrong_cap, ROUTES), "x-linkgate-capability is revoke, the code says events:read");

    // A missing operationId.
    let no_id = text.replacen("      operationId: mintLink\n", "", 1);
    expect(&check_document(&no_id, ROUTES), "no operationId");

    // A dangling schema reference.
    let dangling = text.replacen("'#/components/schemas/MintedLink'", "'#/components/schemas/MintedLinkk'", 1);
    expect(&check_document(&dangling, ROUTES), "MintedLinkk is not defined under components/schemas");

    // A schema the brief requires, gone.
    let no_audit = remove_block(&text, "    AuditEvent:");
    let problems = check_document(&no_audit, ROUTES);
    expect(&problems, "components/schemas/AuditEvent is not defined");
    expect(&problems, "AuditEvent is not defined under components/schemas");

    // A path key at the wrong indentation is refused, not silently skipped.
    let misindented = text.replacen("  /_linkgate/events:\n", "   /_linkgate/events:\n", 1);
    let problems = check_document(&misindented, ROUTES);
    expect(&problems, "unexpected line in paths");

    // Flow style in the paths section.
    let flow = text.replacen("      tags:\n        - links\n", "      tags: [links]\n", 1);
    expect(&check_document(&flow, ROUTES), "flow style");

    // A path parameter that is not declared.
    let undeclared = text.replacen("        - $ref: '#/components/parameters/ValuePath'\n", "", 1);
    expect(&check_document(&undeclared, ROUTES), "path parameters declared");

    // Not an OpenAPI 3.1 document.
    expect(&check_document(&text.replacen("openapi: 3.1.0", "openapi: 3.0.3", 1), ROUTES), "openapi: 3.1");

    // The reader on a tiny document of its own.
    let tiny = "openapi: 3.1.0\npaths:\n  /a:\n    description: |\n      get: not an operation\n    get:\n      x: 1\n    post:\n      y: 2\n  /b/{id}:\n    delete:\n      z: 3\ncomponents:\n  schemas:\n    get:\n      type: object\n";
    let mut p = Vec::new();
    let ops = operations(&Doc::parse(tiny, &mut p), &mut p);
    assert!(p.is_empty(), "{}", report(&p));
    let pairs: Vec<(String, String)> = ops.into_iter().map(|o| (o.method, o.path)).collect();
    assert_eq!(pairs, [("GET".into(), "/a".into()), ("POST".into(), "/a".into()), ("DELETE".into(), "/b/{id}".into())]);
}

/// Property names of `components/schemas/<name>`.
fn schema_properties(doc: &Doc, name: &str) -> BTreeSet<String> {
    doc.keys(&["components", "schemas", name, "properties"]).into_iter().map(|(k, _, _)| k).collect()
}

fn json_keys(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_object().expect("a JSON object").keys().cloned().collect()
}

fn assert_documents(doc: &Doc, schema: &str, fields: &BTreeSet<String>) {
    let props = schema_properties(doc, schema);
    let missing: Vec<_> = fields.difference(&props).collect();
    assert!(missing.is_empty(), "components/schemas/{schema} lacks fields the code sends: {missing:?}");
}

#[test]
fn schemas_name_every_field_the_code_sends() {
    use linkgate_core::audit::AuditEvent;
    use linkgate_core::mint::{Expiry, LinkRequest};
    use linkgate_core::revocation::{Entry, RevocationScope};
    use linkgate_core::{Code, Jti, KeyId};

    let text = load();
    let doc = Doc::parse(&text, &mut Vec::new());

    // AuditEvent: every field, and nothing the code does not have.
    let audit = json_keys(&serde_json::from_str(&AuditEvent::default().to_json()).unwrap());
    assert_documents(&doc, "AuditEvent", &audit);
    let extra: Vec<_> = schema_properties(&doc, "AuditEvent").into_iter().filter(|p| !audit.contains(p)).collect();
    assert!(extra.is_empty(), "components/schemas/AuditEvent documents fields the code lacks: {extra:?}");

    // RevocationEntry: the stored entry.
    let entry = Entry {
        scope: RevocationScope::Sub,
        value: "u1".into(),
        reason: "r".into(),
        actor: "a".into(),
        revoked_at: 1,
        expires_at: None,
        tenant: Some("acme".into()),
        also: vec![linkgate_core::revocation::Also { reason: "r2".into(), actor: "b".into(), revoked_at: 2 }],
    };
    assert_documents(&doc, "RevocationEntry", &json_keys(&serde_json::from_str(entry.to_json().as_str()).unwrap()));

    // Claims: a link carrying every optional claim.
    let req = LinkRequest {
        path: "/a/b.pdf".into(),
        expiry: Some(Expiry::Ttl(600)),
        not_before: Some(1000),
        host: Some("files.example.com".into()),
        sub: Some("u1".into()),
        tenant: Some("t1".into()),
        ip: vec!["10.0.0.0/8".into()],
        uses: Some(1),
        mode: Some("stream".into()),
        filename: Some("b.pdf".into()),
        content_type: Some("application/pdf".into()),
        ..Default::default()
    };
    let claims = req.build(KeyId::parse("k1").unwrap(), Jti([7; 16]), 1000, 86_400).expect("claims");
    let claim_keys = json_keys(&claims.to_json());
    assert_eq!(claim_keys.len(), 15, "expected every claim to be present: {claim_keys:?}");
    assert_documents(&doc, "Claims", &claim_keys);

    // Problem: the admin 400 body and the edge's problem body.
    let mut problem = json_keys(&serde_json::from_str(&admin::Invalid::new("f", "d").body("r")).unwrap());
    problem.extend(json_keys(
        &serde_json::from_str(&linkgate_core::problem::body(Code::NotFound, None, Some("r"))).unwrap(),
    ));
    assert_documents(&doc, "Problem", &problem);
}

/// `{<name>: null}` merged into `base`: a known field fails (if at all) with a
/// type error, an unknown one with serde's "unknown field".
fn with_field(base: &str, name: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(base).unwrap();
    v.as_object_mut().unwrap().entry(name.to_owned()).or_insert(serde_json::Value::Null);
    v.to_string()
}

#[test]
fn request_fields_are_accepted_by_the_parsers() {
    let text = load();
    let doc = Doc::parse(&text, &mut Vec::new());
    type Check = fn(&[u8]) -> Option<admin::Invalid>;
    let cases: [(&str, &str, Check); 3] = [
        ("MintRequest", r#"{"path":"/a","ttl":60}"#, |b| admin::parse_mint(b, false).err()),
        ("InspectRequest", r#"{"token":"T"}"#, |b| admin::parse_inspect(b).err()),
        ("RevokeRequest", r#"{"scope":"all","reason":"r"}"#, |b| admin::parse_revoke(b).err()),
    ];
    for (schema, base, parse) in cases {
        let props = schema_properties(&doc, schema);
        assert!(!props.is_empty(), "components/schemas/{schema} has no properties");
        for p in &props {
            if let Some(e) = parse(with_field(base, p).as_bytes()) {
                assert!(
                    !e.detail.starts_with("unknown field"),
                    "{schema}.{p} is documented but the parser refuses it: {}",
                    e.detail
                );
            }
        }
        // And the probe itself can tell: a made-up field is refused.
        let e = parse(with_field(base, "no_such_field").as_bytes()).expect("unknown field refused");
        assert!(e.detail.starts_with("unknown field"), "{}", e.detail);
    }
}
