//! The calendar import service: add, list, remove and sync a property's
//! feeds, for its host; and the periodic refresh of all of them.

use std::collections::HashSet;

use futures_util::StreamExt;
use std::sync::Arc;

use innkeep_actors::ports::{CalendarOp, NewBlock, OpOutcome};
use innkeep_actors::{CalendarRegistry, Clock};
use uuid::Uuid;

use super::fetch::{Fetcher, Reach, looks_like_http};
use super::{CalendarImport, ImportInput, Span, block_reason, parse_feed};
use crate::error::{AppError, AppResult, Validator};
use crate::properties::PropertyService;
use crate::store::{ImportStore, SyncCounts};

/// A property has at most this many imports.
pub const MAX_IMPORTS: usize = 20;
/// How often each import is synced.
pub const SYNC_EVERY_MINUTES: i64 = 15;
/// Imports one periodic pass syncs at most (the rest are due next pass).
pub const SYNC_BATCH: u32 = 256;
/// Feeds fetched at once by a pass.
pub const SYNC_AT_ONCE: usize = 16;

fn sync_every() -> chrono::Duration {
    chrono::Duration::minutes(SYNC_EVERY_MINUTES)
}

/// Feed URLs are at most this long.
pub const URL_MAX_CHARS: usize = crate::schema::URL_MAX_CHARS;

#[derive(Clone)]
pub struct ImportService {
    store: Arc<dyn ImportStore>,
    properties: PropertyService,
    calendars: Arc<CalendarRegistry>,
    fetcher: Fetcher,
    clock: Arc<dyn Clock>,
}

impl ImportService {
    pub fn new(
        store: Arc<dyn ImportStore>,
        properties: PropertyService,
        calendars: Arc<CalendarRegistry>,
        clock: Arc<dyn Clock>,
        reach: Reach,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            store,
            properties,
            calendars,
            fetcher: Fetcher::new(reach)?,
            clock,
        })
    }

    /// Adds a feed to the host's property and syncs it at once: the answer
    /// says how that went (`ok`, or `failed` with the reason).
    pub async fn create(
        &self,
        host: Uuid,
        property_id: Uuid,
        input: ImportInput,
    ) -> AppResult<CalendarImport> {
        self.properties.hosted_by(host, property_id).await?;
        // Refused at once: what is not an http(s) URL at all, or holds a
        // control character (PostgreSQL refuses a NUL in text); the
        // OpenAPI pattern says the same. Anything else (a URL that does not parse,
        // an address not allowed, a feed that is not one) is an import
        // that failed, with the reason.
        let mut v = Validator::default();
        let url = input.url;
        // One line of text as every other (length, no control character),
        // kept as given (not trimmed).
        let one_line = crate::schema::text(&url, URL_MAX_CHARS, false, false);
        if v.check("url", one_line).is_some() && !looks_like_http(&url) {
            v.fail("url", "must be an http:// or https:// URL");
        }
        v.finish()?;
        if self.store.imports_of(property_id).await?.len() >= MAX_IMPORTS {
            return Err(AppError::conflict(format!(
                "a property has at most {MAX_IMPORTS} calendar imports"
            )));
        }
        let import = CalendarImport {
            id: Uuid::now_v7(),
            property_id,
            url,
            status: "pending".into(),
            last_synced_at: None,
            last_error: None,
            conflicts: sqlx::types::Json(Vec::new()),
            created_at: self.clock.now(),
            events: 0,
            skipped: 0,
            warnings: sqlx::types::Json(Vec::new()),
        };
        self.store.insert_import(&import).await?;
        self.sync(&import).await?;
        self.found(import.id).await
    }

    pub async fn list(&self, host: Uuid, property_id: Uuid) -> AppResult<Vec<CalendarImport>> {
        self.properties.hosted_by(host, property_id).await?;
        Ok(self.store.imports_of(property_id).await?)
    }

    /// Frees the import's blocks and removes it (a failure before the
    /// import is gone leaves it to delete again). A sync running meanwhile
    /// may block nights in between: they are freed again once the import
    /// is gone, and a sync that finishes later finds it gone after its own
    /// writes and takes back what it blocked (`sync`), so no block outlives
    /// its import whichever finishes last.
    pub async fn delete(&self, host: Uuid, property_id: Uuid, import_id: Uuid) -> AppResult<()> {
        let import = self.owned(host, property_id, import_id).await?;
        self.remove_blocks(property_id, import.id).await?;
        self.store.delete_import(import.id).await?;
        self.remove_blocks(property_id, import.id).await
    }

    /// Frees every night the import `import_id` blocks.
    async fn remove_blocks(&self, property_id: Uuid, import_id: Uuid) -> AppResult<()> {
        for (block_id, _, _) in self
            .store
            .import_blocks(property_id, &block_reason(import_id))
            .await?
        {
            self.calendars
                .apply(property_id, CalendarOp::RemoveBlock { block_id })
                .await?;
        }
        Ok(())
    }

    /// Syncs one import now.
    pub async fn refresh(
        &self,
        host: Uuid,
        property_id: Uuid,
        import_id: Uuid,
    ) -> AppResult<CalendarImport> {
        let import = self.owned(host, property_id, import_id).await?;
        self.sync(&import).await?;
        self.found(import.id).await
    }

    /// Syncs the imports that are due (the periodic job): at most
    /// [`SYNC_BATCH`], [`SYNC_AT_ONCE`] at a time; the rest next pass. How
    /// many synced cleanly.
    pub async fn refresh_due(&self) -> AppResult<usize> {
        let now = self.clock.now();
        let due = self
            .store
            .claim_due_imports(now, now + sync_every(), SYNC_BATCH)
            .await?;
        let synced: Vec<bool> = futures_util::stream::iter(due)
            .map(|import| async move {
                match self.sync(&import).await {
                    Ok(synced) => synced,
                    Err(e) => {
                        tracing::warn!(import_id = %import.id, error = %e, "calendar import sync failed");
                        false
                    }
                }
            })
            .buffer_unordered(SYNC_AT_ONCE)
            .collect()
            .await;
        Ok(synced.into_iter().filter(|ok| *ok).count())
    }

    async fn owned(
        &self,
        host: Uuid,
        property_id: Uuid,
        import_id: Uuid,
    ) -> AppResult<CalendarImport> {
        self.properties.hosted_by(host, property_id).await?;
        match self.store.import(import_id).await? {
            Some(import) if import.property_id == property_id => Ok(import),
            _ => Err(AppError::NotFound("calendar import")),
        }
    }

    async fn found(&self, id: Uuid) -> AppResult<CalendarImport> {
        self.store
            .import(id)
            .await?
            .ok_or(AppError::NotFound("calendar import"))
    }

    /// Fetches the feed and makes the import's blocks its events: blocks of
    /// events gone are removed, new events blocked; an event that overlaps
    /// a booking or another block is a conflict, and nothing else moves
    /// for it. A feed that cannot be had or read leaves the blocks as they
    /// were and marks the import `failed`. Whether it synced.
    async fn sync(&self, import: &CalendarImport) -> AppResult<bool> {
        let today = self.clock.today();
        let read = match self.fetcher.fetch(&import.url).await {
            // Off the request and worker threads: reading a feed of a
            // mebibyte, its recurrences expanded, is CPU work.
            Ok(text) => tokio::task::spawn_blocking(move || parse_feed(&text, today))
                .await
                .unwrap_or_else(|e| {
                    tracing::error!(import_id = %import.id, error = %e, "calendar feed reader failed");
                    Err("the feed could not be read".into())
                }),
            Err(e) => Err(e),
        };
        let feed = match read {
            Ok(feed) => feed,
            Err(error) => {
                tracing::info!(import_id = %import.id, error, "calendar import failed");
                let now = self.clock.now();
                self.store
                    .record_failure(import.id, &error, now, now + sync_every())
                    .await?;
                return Ok(false);
            }
        };
        let wanted = feed.ranges;
        let reason = block_reason(import.id);
        let property_id = import.property_id;
        let held = self.store.import_blocks(property_id, &reason).await?;
        let wanted_spans: HashSet<(chrono::NaiveDate, chrono::NaiveDate)> =
            wanted.iter().map(|r| (r.start, r.end)).collect();
        let held_spans: HashSet<(chrono::NaiveDate, chrono::NaiveDate)> =
            held.iter().map(|(_, s, e)| (*s, *e)).collect();
        // Free first, so an event that moved can take its new nights.
        for (block_id, start, end) in &held {
            if !wanted_spans.contains(&(*start, *end)) {
                self.calendars
                    .apply(
                        property_id,
                        CalendarOp::RemoveBlock {
                            block_id: *block_id,
                        },
                    )
                    .await?;
            }
        }
        let mut conflicts = Vec::new();
        for range in wanted {
            if held_spans.contains(&(range.start, range.end)) {
                continue;
            }
            let op = CalendarOp::InsertBlock(NewBlock {
                id: Uuid::now_v7(),
                property_id,
                start: range.start,
                end: range.end,
                reason: Some(reason.clone()),
            });
            if !matches!(
                self.calendars.apply(property_id, op).await?,
                OpOutcome::Applied(_)
            ) {
                conflicts.push(Span {
                    start: range.start,
                    end: range.end,
                });
            }
        }
        // Deleted while this sync ran: what it blocked goes with it.
        if self.store.import(import.id).await?.is_none() {
            self.remove_blocks(property_id, import.id).await?;
            return Ok(false);
        }
        let counts = SyncCounts {
            events: i32::try_from(feed.events).unwrap_or(i32::MAX),
            skipped: i32::try_from(feed.skipped).unwrap_or(i32::MAX),
            warnings: &feed.warnings,
        };
        let now = self.clock.now();
        self.store
            .record_sync(import.id, &conflicts, counts, now, now + sync_every())
            .await?;
        Ok(true)
    }
}
