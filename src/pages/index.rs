//! `/`: for someone deciding whether to leave metrics on. Every field comes
//! from [`FIELDS`], the table that validates reports; the schema is read
//! from this server's database as the page is asked for.

use askama::Template;
use askama_web::WebTemplate;
use poem::handler;
use poem::web::Data;

use lucent_core::note::VerifierKey;
use lucent_core::period::{Period, rfc3339};
use lucent_core::record::{FIELDS, FieldDef, FieldScope, example_entry, example_report};

use crate::http::answers::entry_body;
use crate::http::problem::ApiError;
use crate::published::PublishedLog;
use crate::storage::{RootRow, SchemaTable};
use crate::wire::EntryBody;

/// How many of the latest entries the page shows.
const SAMPLE: u64 = 10;

/// The migration tool's bookkeeping table, shown apart from the log's own.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

#[derive(Template, WebTemplate)]
#[template(path = "index.html")]
pub struct IndexPage {
    fields: &'static [FieldDef],
    example_report: String,
    /// The example entry, cut after each comma: a narrow screen breaks
    /// its lines there (`<wbr>`), not inside a name or a value.
    example_entry: Vec<String>,
    schema: Vec<SchemaTable>,
    origin: String,
    verifier_key: String,
    public_url: String,
    publish_period: Period,
    root: Option<RootView>,
    witnesses: Vec<WitnessView>,
    latest: Vec<EntryBody>,
}

/// The witnesses the log asks for cosignatures (`serve --witness`).
#[derive(Clone, Default)]
pub struct WitnessKeys(pub Vec<VerifierKey>);

/// A witness, as the page shows it.
struct WitnessView {
    name: String,
    key: String,
    /// The size of the latest root it cosigned.
    cosigned_size: Option<i64>,
}

/// The latest signed root, as the page shows it.
struct RootView {
    day: String,
    period_end: String,
    size: i64,
    root_hash: String,
    checkpoint: String,
}

impl From<RootRow> for RootView {
    fn from(row: RootRow) -> RootView {
        RootView {
            day: row.day,
            period_end: rfc3339(row.period_end),
            size: row.size,
            root_hash: hex::encode(&row.root_hash),
            checkpoint: row.checkpoint,
        }
    }
}

impl IndexPage {
    fn path(&self) -> &'static str {
        "./"
    }

    /// Whether and how a field is stored, in words.
    fn stored(&self, field: &FieldDef) -> &'static str {
        match field.scope {
            FieldScope::SentOnly => "no: only its hash, as deployment",
            FieldScope::SentAndStored => "yes, as sent",
            FieldScope::Record => "yes, added by the server",
            FieldScope::Entry => "yes, added at publication",
        }
    }

    /// A period shorter than a day puts each report in a shorter window.
    fn publishes_daily(&self) -> bool {
        self.publish_period == Period::DAY
    }
}

#[handler]
pub async fn page(
    log: Data<&PublishedLog>,
    publish_period: Data<&Period>,
    witness_keys: Data<&WitnessKeys>,
) -> poem::Result<IndexPage> {
    let info = log.info().await.map_err(ApiError::from)?;
    let root = log.latest_root().await.map_err(ApiError::from)?;
    let mut schema = log.schema().await.map_err(ApiError::from)?;
    // The log's own tables first; the migration tool's bookkeeping last.
    schema.sort_by_key(|table| table.name.starts_with('_'));
    let latest = match &root {
        Some(root) => log
            .last_entries(root, SAMPLE)
            .await
            .map_err(ApiError::from)?,
        None => Vec::new(),
    };
    let latest = latest
        .into_iter()
        .map(entry_body)
        .collect::<Result<Vec<_>, _>>()?;
    let progress = log.witness_progress().await.map_err(ApiError::from)?;
    let witnesses = witness_keys
        .0
        .0
        .iter()
        .map(|key| {
            let text = key.to_string();
            let cosigned_size = progress.iter().find(|p| p.witness == text).map(|p| p.size);
            WitnessView {
                name: key.name().to_owned(),
                key: text,
                cosigned_size,
            }
        })
        .collect();
    Ok(IndexPage {
        fields: FIELDS,
        example_report: example_report(),
        example_entry: String::from_utf8(example_entry().to_bytes())
            .expect("entries are ASCII")
            .split_inclusive(',')
            .map(str::to_owned)
            .collect(),
        schema,
        public_url: super::public_url(&info.origin),
        origin: info.origin,
        verifier_key: info.verifier_key,
        publish_period: *publish_period.0,
        root: root.map(RootView::from),
        witnesses,
        latest,
    })
}
