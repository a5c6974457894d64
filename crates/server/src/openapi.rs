//! The OpenAPI 3.1 document, generated from the route table and the types'
//! JSON Schemas (schemars; OpenAPI 3.1 speaks JSON Schema 2020-12).
//!
//! Request bodies use the *deserialize* contract of each type (what it
//! accepts) and responses the *serialize* contract (what it produces);
//! where the two differ for a named type, the response one is called
//! `<Name>.out`.

use std::collections::BTreeMap;

use axum::http::Method;
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::problem::{Kind, Problem};
use crate::table::{Access, Op};

const COMPONENTS: &str = "#/components/schemas/";

fn generator(serialize: bool) -> SchemaGenerator {
    let mut s = SchemaSettings::draft2020_12();
    s.definitions_path = "/components/schemas".into();
    s.meta_schema = None;
    if serialize {
        s = s.for_serialize();
    }
    s.into_generator()
}

/// Renames `$ref`s to `from` into `to`, everywhere in `v`.
fn rename_refs(v: &mut Value, renames: &BTreeMap<String, String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref")
                && let Some(name) = r.strip_prefix(COMPONENTS)
                && let Some(new) = renames.get(name)
            {
                *r = format!("{COMPONENTS}{new}");
            }
            for x in m.values_mut() {
                rename_refs(x, renames);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rename_refs(x, renames)),
        _ => {}
    }
}

/// Query parameters from a struct's schema.
fn query_params(schema: Value, defs: &Map<String, Value>) -> Vec<Value> {
    let resolved = match schema.get("$ref").and_then(|r| r.as_str()) {
        Some(r) => r
            .strip_prefix(COMPONENTS)
            .and_then(|n| defs.get(n))
            .cloned()
            .unwrap_or(Value::Null),
        None => schema,
    };
    let required: Vec<String> = resolved
        .get("required")
        .and_then(|r| r.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    if let Some(props) = resolved.get("properties").and_then(|p| p.as_object()) {
        for (name, s) in props {
            let mut s = s.clone();
            let description = s
                .as_object_mut()
                .and_then(|o| o.remove("description"))
                .unwrap_or(Value::Null);
            strip_null(&mut s);
            let mut p = json!({
                "name": name,
                "in": "query",
                "required": required.contains(name),
                "schema": s,
            });
            if !description.is_null() {
                p["description"] = description;
            }
            out.push(p);
        }
    }
    out
}

/// Query parameters are never JSON null: drop `null` from their types.
fn strip_null(s: &mut Value) {
    if let Some(o) = s.as_object_mut() {
        if let Some(Value::Array(types)) = o.get_mut("type") {
            types.retain(|t| t != "null");
            if types.len() == 1 {
                let t = types[0].clone();
                o.insert("type".into(), t);
            }
        }
        if let Some(Value::Array(any)) = o.get_mut("anyOf") {
            any.retain(|x| x.get("type").and_then(|t| t.as_str()) != Some("null"));
            if any.len() == 1 {
                let only = any[0].clone();
                o.remove("anyOf");
                if let Value::Object(m) = only {
                    for (k, v) in m {
                        o.insert(k, v);
                    }
                }
            }
        }
    }
}

fn method_key(m: &Method) -> &'static str {
    match *m {
        Method::POST => "post",
        Method::PUT => "put",
        Method::DELETE => "delete",
        Method::PATCH => "patch",
        _ => "get",
    }
}

/// The document for the whole API (every route of the table).
pub fn spec() -> Value {
    document(&crate::router::ops())
}

/// The document for these routes.
pub fn document(ops: &[Op]) -> Value {
    let mut req = generator(false);
    let mut resp = generator(true);
    let problem = resp.subschema_for::<Problem>();
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    // Pass 1: schemas (responses kept aside until the names are settled).
    struct Pending {
        path: String,
        method: &'static str,
        op: Value,
        response: Option<Value>,
    }
    let mut pending = Vec::new();
    for op in ops {
        let mut params: Vec<Value> = op
            .path_params
            .iter()
            .map(|(name, d)| {
                json!({"name": name, "in": "path", "required": true, "description": d,
                       "schema": {"type": "string", "minLength": 1}})
            })
            .collect();
        if let Some(q) = op.query {
            let s = q(&mut req).to_value();
            params.extend(query_params(s, req.definitions()));
        }
        if op.idempotent {
            params.push(json!({
                "name": "Idempotency-Key", "in": "header", "required": false,
                "description": "Makes retries safe: the same key with the same body returns the first result and writes nothing.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"}
            }));
        }
        let mut o = json!({
            "operationId": op.id,
            "summary": op.summary,
            "tags": [op.tag],
        });
        if !op.description.is_empty() {
            o["description"] = json!(op.description);
        }
        if !params.is_empty() {
            o["parameters"] = Value::Array(params);
        }
        if let Some(b) = op.body {
            o["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": b(&mut req).to_value()}}
            });
        }
        o["security"] = match op.access {
            Access::Public => json!([]),
            _ => json!([{"bearerAuth": []}, {"sessionCookie": []}]),
        };
        if let Access::Needs(p) = op.access {
            o["x-tocsin-permission"] = json!(p.as_str());
            o["x-tocsin-roles"] = json!(p.roles().iter().map(|r| r.as_str()).collect::<Vec<_>>());
        }
        let response = op.response.map(|r| r(&mut resp).to_value());
        pending.push(Pending {
            path: op.path.to_owned(),
            method: method_key(&op.method),
            op: o,
            response,
        });
    }
    // Settle names: a response schema that differs from the request schema
    // of the same name becomes `<Name>.out`.
    let req_defs = req.take_definitions(true);
    let mut resp_defs = resp.take_definitions(true);
    let renames: BTreeMap<String, String> = resp_defs
        .iter()
        .filter(|(k, v)| req_defs.get(*k).is_some_and(|r| r != *v))
        .map(|(k, _)| (k.clone(), format!("{k}.out")))
        .collect();
    let mut components = req_defs;
    for (k, mut v) in std::mem::take(&mut resp_defs) {
        rename_refs(&mut v, &renames);
        let name = renames.get(&k).cloned().unwrap_or(k);
        components.insert(name, v);
    }
    let mut problem = problem.to_value();
    rename_refs(&mut problem, &renames);
    for (p, op) in pending.iter_mut().zip(ops) {
        let mut responses = Map::new();
        let mut ok = json!({"description": op.summary});
        if op.text {
            ok["content"] = json!({"text/plain": {"schema": {"type": "string"}}});
        } else if let Some(mut r) = p.response.take() {
            rename_refs(&mut r, &renames);
            ok["content"] = json!({op.media.unwrap_or("application/json"): {"schema": r}});
        }
        responses.insert(op.success.as_u16().to_string(), ok);
        let mut by_status: BTreeMap<u16, Vec<Kind>> = BTreeMap::new();
        for k in op.error_kinds() {
            by_status.entry(k.status().as_u16()).or_default().push(k);
        }
        for (status, kinds) in by_status {
            let described = kinds
                .iter()
                .map(|k| format!("{} (`{}`)", k.title(), k.type_uri()))
                .collect::<Vec<_>>()
                .join("; ");
            responses.insert(
                status.to_string(),
                json!({"description": described,
                       "content": {"application/problem+json": {"schema": problem.clone()}}}),
            );
        }
        p.op["responses"] = Value::Object(responses);
        paths
            .entry(p.path.clone())
            .or_default()
            .insert(p.method.to_owned(), p.op.clone());
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "tocsin",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The HTTP JSON API of tocsin, a system of record for the duty to warn. Errors are RFC 9457 problem details with a stable `type` per kind. Authenticate with `Authorization: Bearer <token>` (machines, the CLI) or the session cookie from `POST /api/v1/session` (browsers; state changes then need the `X-CSRF-Token` header).",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API token (`tocsin token issue`, `tocsin login`)."},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// Every `{name}` of a route's path is a declared path parameter, and
    /// nothing else is: the OpenAPI document is invalid otherwise (a
    /// client generator or schemathesis refuses the operation).
    #[test]
    fn every_path_parameter_is_declared() {
        for op in crate::router::ops() {
            let in_path: BTreeSet<&str> = op
                .path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            let declared: BTreeSet<&str> = op.path_params.iter().map(|(n, _)| *n).collect();
            assert_eq!(in_path, declared, "route {} ({})", op.id, op.path);
        }
    }
}
