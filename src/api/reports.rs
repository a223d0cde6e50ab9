//! `POST /v1/reports`: the write endpoint (SPEC sections 1 and 5).

use std::sync::OnceLock;

use poem::web::Data;
use poem::{Request, RequestBody};
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::{ApiResponse, OpenApi, impl_apirequest_for_payload};

use lucent_core::period::rfc3339;
use lucent_core::record::{FIELDS, FieldDef, Report};

use crate::http::problem::{ApiError, Problems, SubmitProblems};
use crate::sequencer::{OutcomeKind, Promised, Sequencer, SubmitError};
use crate::wire::PromiseBody;

/// The largest report body accepted, in bytes.
pub const MAX_BODY: usize = 4096;

#[derive(ApiResponse)]
pub enum SubmitResponse {
    /// Accepted and durable: the promise.
    #[oai(status = 202)]
    Accepted(Json<PromiseBody>),
    /// The same report again today: the first answer again.
    #[oai(status = 200)]
    Replayed(Json<PromiseBody>),
}

/// A report body: read with a size limit (chunked bodies included), then
/// parsed and validated field by field by [`Report::parse`].
pub struct ReportBody(Report);

impl Payload for ReportBody {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        content_type
            .split(';')
            .next()
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference("Report".into())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<ReportBody, _>("Report".into(), |_| report_schema());
    }
}

impl ParsePayload for ReportBody {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        // A declared length over the limit is refused before any byte of the
        // body arrives: a slow sender would otherwise hold the request until
        // it times out.
        let declared = request
            .header(poem::http::header::CONTENT_LENGTH)
            .and_then(|length| length.parse::<u64>().ok());
        if declared.is_some_and(|length| length > MAX_BODY as u64) {
            return Err(ApiError::BodyTooLarge { limit: MAX_BODY }.into());
        }
        let bytes = body
            .take()?
            .into_bytes_limit(MAX_BODY)
            .await
            .map_err(|e| match e {
                poem::error::ReadBodyError::PayloadTooLarge => {
                    ApiError::BodyTooLarge { limit: MAX_BODY }
                }
                _ => ApiError::BadRequest("the body could not be read".into()),
            })?;
        Ok(ReportBody(
            Report::parse(&bytes).map_err(ApiError::InvalidReport)?,
        ))
    }
}

impl_apirequest_for_payload!(ReportBody);

/// The field's rule and purpose, for the schema's description.
fn description(def: &FieldDef) -> &'static str {
    static DESCRIPTIONS: OnceLock<Vec<&'static str>> = OnceLock::new();
    let all = DESCRIPTIONS.get_or_init(|| {
        FIELDS
            .iter()
            .map(|f| &*String::leak(format!("{}. Rule: {}.", capitalize(f.purpose), f.rule)))
            .collect()
    });
    let position = FIELDS
        .iter()
        .position(|f| f.name == def.name)
        .expect("a field of FIELDS");
    all[position]
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The report schema, from the same table that validates reports.
fn report_schema() -> MetaSchema {
    let sent: Vec<&FieldDef> = FIELDS.iter().filter(|f| f.is_sent()).collect();
    let mut schema = MetaSchema::new("object");
    schema.description =
        Some("A daily usage report. Exactly these fields; unknown and duplicate keys are refused.");
    schema.required = sent.iter().map(|f| f.name).collect();
    schema.additional_properties = Some(Box::new(MetaSchemaRef::Inline(Box::new(MetaSchema::ANY))));
    schema.properties = sent
        .iter()
        .map(|f| {
            let mut property = MetaSchema::new(f.json_type);
            property.description = Some(description(f));
            property.example = Some(match f.json_type {
                "integer" => {
                    serde_json::Value::from(f.example.parse::<u64>().expect("integer example"))
                }
                _ => serde_json::Value::from(f.example),
            });
            if f.json_type == "integer" {
                property.minimum = Some(0.0);
                property.maximum = Some(lucent_core::record::MAX_COUNT as f64);
            }
            (f.name, MetaSchemaRef::Inline(Box::new(property)))
        })
        .collect();
    schema.additional_properties = None;
    schema
}

pub struct ReportsApi;

#[OpenApi]
impl ReportsApi {
    /// Submit the daily report of a deployment.
    ///
    /// Answers 202 with a signed promise once the report is on disk; the same
    /// report again the same day answers 200 with the same promise.
    #[oai(path = "/v1/reports", method = "post", operation_id = "submitReport")]
    async fn submit(
        &self,
        sequencer: Data<&Sequencer>,
        body: ReportBody,
    ) -> Result<SubmitResponse, Problems<SubmitProblems>> {
        let promised = sequencer.submit(body.0).await.map_err(|e| match e {
            SubmitError::Saturated => ApiError::Saturated,
            SubmitError::StorageUnavailable => ApiError::StorageUnavailable,
            SubmitError::Failed => ApiError::Internal,
        })?;
        let kind = promised.outcome.kind;
        let promise = promise_body(promised)?;
        Ok(match kind {
            OutcomeKind::Accepted => SubmitResponse::Accepted(Json(promise)),
            OutcomeKind::Replayed => SubmitResponse::Replayed(Json(promise)),
            OutcomeKind::Conflict => return Err(ApiError::Conflict(Box::new(promise)).into()),
        })
    }
}

/// The promise as the API answers it.
fn promise_body(promised: Promised) -> Result<PromiseBody, ApiError> {
    let Promised { outcome, promise } = promised;
    let record = String::from_utf8(outcome.record).map_err(|_| ApiError::Internal)?;
    Ok(PromiseBody {
        day: outcome.day.to_string(),
        deployment: outcome.deployment.to_string(),
        record,
        record_hash: outcome.record_hash.to_hex(),
        publish_after: rfc3339(outcome.publish_after),
        promise,
    })
}
