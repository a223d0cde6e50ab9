//! `/docs`: the API reference, drawn on the server from the served OpenAPI
//! description (`/openapi.json`) like the other pages: lucent's own page,
//! style sheet and navigation under the pages' strict CSP, nothing fetched
//! from anywhere else, readable without JavaScript and on a phone.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use poem::handler;
use poem::web::Data;
use serde_json::Value;

/// The reference, drawn once from the description.
#[derive(Template, WebTemplate, Clone)]
#[template(path = "docs.html")]
pub struct DocsPage {
    intro: String,
    operations: Vec<Operation>,
    schemas: Vec<Schema>,
}

#[derive(Clone)]
struct Operation {
    id: String,
    method: String,
    path: String,
    /// The path's segments, so that a narrow screen breaks it at a slash.
    segments: Vec<String>,
    summary: String,
    parameters: Vec<Field>,
    /// The schema of the request body, if there is one.
    body: Option<String>,
    responses: Vec<Answer>,
    max_bytes: Option<u64>,
}

#[derive(Clone)]
struct Answer {
    status: String,
    description: String,
    content: String,
    /// The schema of the answer, if it is one of the named ones.
    schema: Option<String>,
}

#[derive(Clone)]
struct Schema {
    name: String,
    description: String,
    properties: Vec<Field>,
}

/// A parameter or a property.
#[derive(Clone)]
struct Field {
    name: String,
    /// Where a parameter goes (path, query), or a property's type.
    kind: String,
    required: bool,
    description: String,
}

impl DocsPage {
    fn path(&self) -> &'static str {
        "docs"
    }

    /// The reference of the OpenAPI description `spec` (JSON).
    pub fn new(spec: &str) -> DocsPage {
        let spec: Value = serde_json::from_str(spec).expect("the served description is JSON");
        let mut operations = Vec::new();
        for (path, item) in spec["paths"].as_object().into_iter().flatten() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                operations.push(Operation::new(method, path, operation));
            }
        }
        let schemas = spec["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, schema)| Schema {
                name: name.clone(),
                description: text(&schema["description"]),
                properties: properties(schema),
            })
            .collect();
        DocsPage {
            intro: text(&spec["info"]["description"]),
            operations,
            schemas,
        }
    }
}

impl Operation {
    fn new(method: &str, path: &str, operation: &Value) -> Operation {
        let parameters = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| Field {
                name: text(&p["name"]),
                kind: format!("{}, {}", text(&p["in"]), type_name(&p["schema"])),
                required: p["required"].as_bool().unwrap_or(false),
                description: text(&p["description"]),
            })
            .collect();
        let body = operation["requestBody"]["content"]
            .as_object()
            .and_then(|content| content.values().next())
            .map(|media| type_name(&media["schema"]));
        let responses = operation["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(status, answer)| {
                let content = answer["content"].as_object();
                Answer {
                    status: status.clone(),
                    description: text(&answer["description"]),
                    content: content
                        .map(|c| c.keys().cloned().collect::<Vec<_>>().join(", "))
                        .unwrap_or_default(),
                    schema: content
                        .and_then(|c| c.values().next())
                        .and_then(|media| schema_name(&media["schema"])),
                }
            })
            .collect();
        Operation {
            id: text(&operation["operationId"]),
            method: method.to_uppercase(),
            path: path.to_owned(),
            segments: path.split('/').map(str::to_owned).collect(),
            summary: text(&operation["summary"]),
            parameters,
            body,
            responses,
            max_bytes: operation["x-max-answer-bytes"].as_u64(),
        }
    }
}

/// A schema's properties, required ones first as the description lists.
fn properties(schema: &Value) -> Vec<Field> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    schema["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, property)| Field {
            name: name.clone(),
            kind: type_name(property),
            required: required.contains(&name.as_str()),
            description: text(&property["description"]),
        })
        .collect()
}

/// A schema's name (for a reference) or type.
fn type_name(schema: &Value) -> String {
    if let Some(name) = schema_name(schema) {
        return name;
    }
    match (schema["type"].as_str(), schema["format"].as_str()) {
        (Some("array"), _) => format!("array of {}", type_name(&schema["items"])),
        (Some(kind), Some(format)) => format!("{kind} ({format})"),
        (Some(kind), None) => kind.to_owned(),
        (None, _) => schema["allOf"]
            .as_array()
            .and_then(|all| all.first())
            .map(type_name)
            .unwrap_or_else(|| "any".into()),
    }
}

/// The name a `$ref` to `#/components/schemas/…` gives.
fn schema_name(schema: &Value) -> Option<String> {
    schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .map(str::to_owned)
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

#[handler]
pub async fn page(docs: Data<&Arc<DocsPage>>) -> DocsPage {
    DocsPage::clone(&docs)
}

#[cfg(test)]
mod tests {
    use super::DocsPage;

    #[test]
    fn every_operation_and_schema_of_the_description_is_drawn() {
        let spec = crate::api::openapi_json();
        let docs = DocsPage::new(&spec);
        let report = docs
            .operations
            .iter()
            .find(|op| op.id == "submitReport")
            .expect("the report operation");
        assert_eq!(
            (report.method.as_str(), report.path.as_str()),
            ("POST", "/v1/reports")
        );
        assert_eq!(report.body.as_deref(), Some("Report"));
        assert!(
            report
                .responses
                .iter()
                .any(|r| r.status == "202" && r.schema.as_deref() == Some("PromiseBody"))
        );
        let parsed: serde_json::Value = serde_json::from_str(&spec).unwrap();
        let operations: usize = parsed["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| item.as_object().unwrap().len())
            .sum();
        assert_eq!(docs.operations.len(), operations);
        assert_eq!(
            docs.schemas.len(),
            parsed["components"]["schemas"].as_object().unwrap().len()
        );
    }
}
