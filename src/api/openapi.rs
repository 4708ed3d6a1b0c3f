//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of every route, request
//! and response body, and the error envelope. It is kept by hand beside the code
//! and held to it by tests: its paths and methods must be exactly the routes the
//! code declares (`api::route_table`), and CI runs schemathesis against the
//! running service with it.

use actix_web::HttpResponse;

use crate::routes::Routes;

/// The document, as served.
pub const DOCUMENT: &str = include_str!("openapi.json");

pub fn routes(r: &mut Routes) {
    r.resource("/api/v1/openapi.json").get(document).open();
}

async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use serde_json::Value;

    use super::DOCUMENT;
    use crate::api::paths::canonical;
    use crate::api::route_table;

    const ANY: [&str; 7] = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];

    #[test]
    fn the_document_describes_exactly_the_routes_served() {
        let doc: Value = serde_json::from_str(DOCUMENT).expect("the document is JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        let documented: BTreeMap<String, BTreeSet<String>> = doc["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .map(|(path, item)| {
                let methods = item
                    .as_object()
                    .expect("path item")
                    .keys()
                    .filter(|k| ANY.contains(&k.to_uppercase().as_str()))
                    .map(|k| k.to_uppercase())
                    .collect();
                (canonical(path).unwrap_or_else(|| path.clone()), methods)
            })
            .collect();
        let served: BTreeMap<String, BTreeSet<String>> = route_table()
            .iter()
            .map(|route| {
                let methods = match route.methods.as_slice() {
                    [] => ANY.iter().map(|m| (*m).to_owned()).collect(),
                    methods => methods.iter().map(|m| m.as_str().to_owned()).collect(),
                };
                (route.path.to_owned(), methods)
            })
            .collect();
        assert_eq!(documented, served);
    }

    #[test]
    fn every_reference_resolves() {
        let doc: Value = serde_json::from_str(DOCUMENT).expect("JSON");
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for reference in refs {
            let pointer = reference.strip_prefix('#').expect("local reference");
            assert!(doc.pointer(pointer).is_some(), "{reference} resolves");
        }
    }

    fn collect_refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r.clone());
                }
                map.values().for_each(|v| collect_refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }
}
