//! The read side: the log as its latest signed root publishes it, for the
//! API and the pages alike. Every index, size and page asked for is checked
//! here, once, against the published size; nothing a root does not cover is
//! ever read. The answers are the log's own values: HTTP turns them into
//! wire types (`src/http/answers.rs`) or pages.

use std::sync::Arc;

use lucent_core::Hash;
use lucent_core::merkle::{consistency_proof, inclusion_proof};
use lucent_core::record::{Day, Entry, record_hash};
use lucent_core::tiles::{TILE_WIDTH, TilePath, encode_entry_bundle, tile_width_at};

use crate::stats::{Stats, StatsAt, StatsCache};
use crate::storage::tiles::{ComputeError, TileNodes};
use crate::storage::{
    Entries, LogInfo, LogReader, RootRow, Roots, SchemaTable, StorageError, StoredEntry,
    WitnessProgress,
};

/// Most entries or roots one answer holds.
pub const MAX_PAGE: u32 = 1000;

/// Why a read found nothing to answer with.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Nothing published answers it (yet).
    #[error("{0}")]
    NotPublished(String),
    /// A parameter that no log could answer.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<ComputeError> for ReadError {
    fn from(e: ComputeError) -> ReadError {
        match e {
            ComputeError::Storage(e) => e.into(),
            ComputeError::Proof(reason) => ReadError::Invalid(reason),
        }
    }
}

pub type Result<T, E = ReadError> = std::result::Result<T, E>;

/// A page of entries, and where the next one starts.
#[derive(Debug)]
pub struct EntryPage {
    pub entries: Vec<StoredEntry>,
    /// The last index of this page when more follow.
    pub next_after: Option<u64>,
}

/// The evidence that a record is in the log: its entry, the first root that
/// covers it, and its inclusion proof in that root.
#[derive(Debug)]
pub struct Receipt {
    pub entry: StoredEntry,
    pub root: RootRow,
    pub proof: Vec<Hash>,
}

/// The log's identity and its published size.
#[derive(Debug)]
pub struct LogSummary {
    pub info: LogInfo,
    pub size: u64,
}

/// The page size asked for, `default` if none, within 1 to [`MAX_PAGE`].
fn page_limit(asked: Option<u32>, default: u32) -> u32 {
    asked.unwrap_or(default).clamp(1, MAX_PAGE)
}

/// The published log, read through the read-only pool.
#[derive(Clone)]
pub struct PublishedLog {
    read: Arc<dyn LogReader>,
    /// Computed once per root (see `server::spawn_stats_refresh`).
    stats: Arc<StatsCache>,
}

impl PublishedLog {
    pub fn new(read: Arc<dyn LogReader>) -> PublishedLog {
        PublishedLog {
            read,
            stats: Arc::default(),
        }
    }

    /// The size of the latest signed root (0 before the first).
    pub async fn size(&self) -> Result<u64> {
        let latest = self.latest_signed_root().await?;
        Ok(latest.map_or(0, |root| root.entries()))
    }

    /// The latest root as the log signed it, without cosignatures.
    pub async fn latest_signed_root(&self) -> Result<Option<RootRow>> {
        Ok(self.read.root(Roots::Latest).await?)
    }

    /// The latest root each witness has cosigned.
    pub async fn witness_progress(&self) -> Result<Vec<WitnessProgress>> {
        Ok(self.read.witness_progress().await?)
    }

    pub async fn summary(&self) -> Result<LogSummary> {
        Ok(LogSummary {
            info: self.info().await?,
            size: self.size().await?,
        })
    }

    /// The log's identity.
    pub async fn info(&self) -> Result<LogInfo> {
        Ok(self.read.log_info().await?)
    }

    pub async fn latest_root(&self) -> Result<Option<RootRow>> {
        let latest = self.latest_signed_root().await?;
        Ok(self.cosigned(latest.into_iter().collect()).await?.pop())
    }

    /// At most `limit` (1 000 by default) roots from the `start`-th.
    pub async fn roots(&self, start: Option<u64>, limit: Option<u32>) -> Result<Vec<RootRow>> {
        let limit = page_limit(limit, MAX_PAGE);
        let start = start.unwrap_or(0);
        let roots = self.read.roots(Roots::Page { start, limit }).await?;
        self.cosigned(roots).await
    }

    /// The last root that closes within `day`.
    pub async fn root_of_day(&self, day: Day) -> Result<RootRow> {
        let root = self.read.root(Roots::LastOfDay(day)).await?;
        let root = root.ok_or_else(|| ReadError::NotPublished(format!("no root closes {day}")))?;
        Ok(self.cosigned(vec![root]).await?.remove(0))
    }

    /// The roots, oldest first, with the cosignatures known now appended to
    /// their checkpoints.
    async fn cosigned(&self, mut roots: Vec<RootRow>) -> Result<Vec<RootRow>> {
        let (Some(first), Some(last)) = (roots.first(), roots.last()) else {
            return Ok(roots);
        };
        let period_ends = first.period_end..=last.period_end;
        let mut cosignatures = self
            .read
            .cosignatures(period_ends)
            .await?
            .into_iter()
            .peekable();
        for root in &mut roots {
            while let Some(cosignature) = cosignatures.next_if(|c| c.period_end <= root.period_end)
            {
                if cosignature.period_end == root.period_end {
                    root.checkpoint.push_str(&cosignature.line);
                    root.checkpoint.push('\n');
                    root.cosignatures.push(cosignature);
                }
            }
        }
        Ok(roots)
    }

    /// At most `limit` (100 by default) entries from `start`.
    pub async fn entries(&self, start: Option<u64>, limit: Option<u32>) -> Result<EntryPage> {
        let size = self.size().await?;
        let start = start.unwrap_or(0).min(size);
        let end = start
            .saturating_add(u64::from(page_limit(limit, 100)))
            .min(size);
        let entries = self.read.entries(Entries::Range { start, end }).await?;
        let next_after = (end < size && !entries.is_empty()).then(|| end - 1);
        Ok(EntryPage {
            entries,
            next_after,
        })
    }

    /// The last `count` entries that `root`, a signed root, covers.
    pub async fn last_entries(&self, root: &RootRow, count: u64) -> Result<Vec<StoredEntry>> {
        let size = root.entries();
        let start = size.saturating_sub(count);
        Ok(self
            .read
            .entries(Entries::Range { start, end: size })
            .await?)
    }

    pub async fn entry(&self, index: u64) -> Result<StoredEntry> {
        let size = self.size().await?;
        let missing =
            || ReadError::NotPublished(format!("entry {index} is not published (size {size})"));
        if index >= size {
            return Err(missing());
        }
        let end = index + 1;
        let stored = self
            .read
            .entries(Entries::Range { start: index, end })
            .await?;
        stored.into_iter().next().ok_or_else(missing)
    }

    /// A page of the entries whose `deployment` starts with `prefix` (2 to
    /// 8 lowercase hex digits), after index `after`.
    pub async fn entries_by_deployment(
        &self,
        prefix: &str,
        after: Option<u64>,
        limit: Option<u32>,
    ) -> Result<EntryPage> {
        let is_hex = |b: u8| matches!(b, b'0'..=b'9' | b'a'..=b'f');
        if !(2..=8).contains(&prefix.len()) || !prefix.bytes().all(is_hex) {
            return Err(ReadError::Invalid(
                "a prefix is 2 to 8 lowercase hex digits".into(),
            ));
        }
        let limit = page_limit(limit, 100);
        let size = self.size().await?;
        let after = after.map(|after| after.min(size));
        let entries = self
            .read
            .entries(Entries::Deployment {
                prefix: prefix.to_owned(),
                after,
                end: size,
                limit,
            })
            .await?;
        let next_after = (entries.len() == limit as usize)
            .then(|| entries.last().map(|e| e.index))
            .flatten();
        Ok(EntryPage {
            entries,
            next_after,
        })
    }

    /// Refuses sizes beyond the published one.
    async fn check_size(&self, size: u64) -> Result<()> {
        let published = self.size().await?;
        if size > published {
            return Err(ReadError::Invalid(format!(
                "size {size} is larger than the published size {published}"
            )));
        }
        Ok(())
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        self.check_size(size).await?;
        if index >= size {
            return Err(ReadError::Invalid(format!(
                "index {index} is not below size {size}"
            )));
        }
        Ok(TileNodes::compute(&*self.read, |nodes| inclusion_proof(index, size, nodes)).await?)
    }

    /// The consistency proof between the trees of `old` and `new` entries.
    pub async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        self.check_size(new).await?;
        if old > new {
            return Err(ReadError::Invalid(format!(
                "old size {old} is larger than new size {new}"
            )));
        }
        Ok(TileNodes::compute(&*self.read, |nodes| consistency_proof(old, new, nodes)).await?)
    }

    /// The receipt of the published record with this hash. A pending record
    /// is not found, exactly like one never received, so that nobody can
    /// poll a guessed record to learn whether, or when, a deployment
    /// reported (SPEC section 5).
    pub async fn receipt(&self, wanted: &Hash) -> Result<Receipt> {
        let found = self
            .read
            .entries(Entries::Record(*wanted))
            .await?
            .into_iter()
            .find(|stored| {
                Entry::parse(&stored.entry)
                    .is_ok_and(|entry| record_hash(&entry.record.to_bytes()) == *wanted)
            });
        let Some(entry) = found else {
            return Err(ReadError::NotPublished(
                "no published record has this hash".into(),
            ));
        };
        let root = self.read.root(Roots::Covering(entry.index)).await?;
        let root = root.ok_or_else(|| StorageError::Corrupt("an entry no root covers".into()))?;
        let root = self.cosigned(vec![root]).await?.remove(0);
        let (index, size) = (entry.index, root.entries());
        let proof =
            TileNodes::compute(&*self.read, |nodes| inclusion_proof(index, size, nodes)).await?;
        Ok(Receipt { entry, root, proof })
    }

    /// A hash tile or an entry bundle of the published tree, at any width
    /// that tree has.
    pub async fn tile(&self, path: TilePath) -> Result<Vec<u8>> {
        let size = self.size().await?;
        let not_published = || {
            ReadError::NotPublished(format!(
                "{path} is not part of the published tree (size {size})"
            ))
        };
        match path {
            TilePath::Hash {
                level,
                index,
                width,
            } => {
                if width > tile_width_at(level, index, size) {
                    return Err(not_published());
                }
                let mut bytes = self
                    .read
                    .tile(level, index)
                    .await?
                    .ok_or_else(not_published)?;
                bytes.truncate(usize::from(width) * 32);
                Ok(bytes)
            }
            TilePath::Entries { index, width } => {
                // An entry bundle spans the leaves its level-0 tile hashes;
                // the one width rule for both leaves no sum to overflow.
                if width > tile_width_at(0, index, size) {
                    return Err(not_published());
                }
                let start = index * u64::from(TILE_WIDTH);
                let end = start + u64::from(width);
                let entries = self.read.entries(Entries::Range { start, end }).await?;
                if entries.len() as u64 != end - start {
                    return Err(StorageError::Corrupt(format!(
                        "entries {start}..{end} are not all stored"
                    ))
                    .into());
                }
                encode_entry_bundle(entries.iter().map(|e| &e.entry)).map_err(|e| {
                    StorageError::Corrupt(format!("entries {start}..{end}: {e}")).into()
                })
            }
        }
    }

    /// The aggregates at the latest signed root, or at the last root of a
    /// day (`None` if no root closes within it).
    pub async fn stats(&self, at: StatsAt) -> Result<Option<Arc<Stats>>> {
        Ok(self.stats.get(&self.read, at).await?)
    }

    /// The aggregates at the latest signed root (all zero before the first).
    pub async fn latest_stats(&self) -> Result<Arc<Stats>> {
        let stats = self.stats(StatsAt::Latest).await?;
        Ok(stats.expect("the latest stats exist, empty before the first root"))
    }

    /// Every table of the database, as the engine describes it.
    pub async fn schema(&self) -> Result<Vec<SchemaTable>> {
        Ok(self.read.schema().await?)
    }
}
