//! A readable API reference rendered by wuye itself from its OpenAPI document: nothing is
//! downloaded at build or run time (Swagger UI's build script would fetch from the internet).

use axum::extract::State;
use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

use super::AppState;

fn method_rows(doc: &Value) -> Vec<(String, String, Value)> {
    let mut rows = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            if let Some(ops) = item.as_object() {
                for (method, op) in ops {
                    rows.push((method.to_uppercase(), path.clone(), op.clone()));
                }
            }
        }
    }
    rows
}

fn schema_name(v: &Value) -> String {
    if let Some(r) = v.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_owned();
    }
    if let Some(t) = v.get("type") {
        let t = match t {
            Value::String(s) => s.clone(),
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("|"),
            _ => String::new(),
        };
        if t.contains("array") {
            return format!("[{}]", v.get("items").map(schema_name).unwrap_or_default());
        }
        return t;
    }
    if let Some(one) = v.get("oneOf").and_then(Value::as_array) {
        return one.iter().map(schema_name).collect::<Vec<_>>().join(" | ");
    }
    String::new()
}

pub async fn page(State(st): State<AppState>) -> Markup {
    let doc = serde_json::to_value(st.openapi.as_ref()).unwrap_or(Value::Null);
    let title = doc
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("API");
    let desc = doc
        .pointer("/info/description")
        .and_then(Value::as_str)
        .unwrap_or("");
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="/static/app.css";
            }
            body {
                header.top { a.brand href="/" { "物业 wuye" } nav { a href="/api/v1/openapi.json" { "openapi.json" } } }
                main {
                    h1 { (title) }
                    p { (desc) }
                    @for (method, path, op) in method_rows(&doc) {
                        section.endpoint id=(format!("{}-{}", method, path)) {
                            h3 { code.method { (method) } " " code { (path) } }
                            @if let Some(s) = op.get("summary").and_then(Value::as_str) { p { (s) } }
                            @if let Some(s) = op.get("description").and_then(Value::as_str) { p.muted { (s) } }
                            @if let Some(params) = op.get("parameters").and_then(Value::as_array) {
                                table.list {
                                    thead { tr { th { "parameter" } th { "in" } th { "type" } th { "description" } } }
                                    tbody { @for p in params {
                                        tr {
                                            td { code { (p.get("name").and_then(Value::as_str).unwrap_or("")) } @if p.get("required").and_then(Value::as_bool) == Some(true) { " *" } }
                                            td { (p.get("in").and_then(Value::as_str).unwrap_or("")) }
                                            td { (p.get("schema").map(schema_name).unwrap_or_default()) }
                                            td { (p.get("description").and_then(Value::as_str).unwrap_or("")) }
                                        }
                                    } }
                                }
                            }
                            @if let Some(body) = op.pointer("/requestBody/content").and_then(Value::as_object) {
                                p { "Body: " @for (ct, c) in body { code { (ct) } " " (c.get("schema").map(schema_name).unwrap_or_default()) } }
                            }
                            @if let Some(resps) = op.get("responses").and_then(Value::as_object) {
                                ul { @for (status, r) in resps {
                                    li { code { (status) } " " (r.get("description").and_then(Value::as_str).unwrap_or(""))
                                        @if let Some(s) = r.pointer("/content/application~1json/schema") { " → " code { (schema_name(s)) } } }
                                } }
                            }
                        }
                    }
                    h2 { "Schemas" }
                    @for (name, s) in &schemas {
                        section.endpoint id=(name) {
                            h3 { code { (name) } }
                            @if let Some(props) = s.get("properties").and_then(Value::as_object) {
                                table.list { tbody { @for (field, fs) in props {
                                    tr { td { code { (field) } } td { (schema_name(fs)) } td { (fs.get("description").and_then(Value::as_str).unwrap_or("")) } }
                                } } }
                            }
                        }
                    }
                }
            }
        }
    }
}
