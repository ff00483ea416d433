//! Calendar imports (`calendar_imports`) and the blocks they own, one
//! macro for both backends.

macro_rules! impl_import_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use chrono::{DateTime, NaiveDate, Utc};
            use uuid::Uuid;

            use $crate::domain::imports::{CalendarImport, Span};
            use $crate::store::StoreResult;

            const IMPORT_COLUMNS: &str =
                "id, property_id, url, status, last_synced_at, last_error, conflicts, created_at, \
                 events, skipped, warnings";

            #[async_trait::async_trait]
            impl $crate::store::ImportStore for $store {
                async fn insert_import(&self, import: &CalendarImport) -> StoreResult<()> {
                    let sql = sqlx::AssertSqlSafe(format!(
                        "INSERT INTO calendar_imports ({IMPORT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                    ));
                    sqlx::query(sql)
                        .bind(import.id)
                        .bind(import.property_id)
                        .bind(&import.url)
                        .bind(&import.status)
                        .bind(import.last_synced_at)
                        .bind(&import.last_error)
                        .bind(&import.conflicts)
                        .bind(import.created_at)
                        .bind(import.events)
                        .bind(import.skipped)
                        .bind(&import.warnings)
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn import(&self, id: Uuid) -> StoreResult<Option<CalendarImport>> {
                    let sql = sqlx::AssertSqlSafe(format!(
                        "SELECT {IMPORT_COLUMNS} FROM calendar_imports WHERE id = $1"
                    ));
                    Ok(sqlx::query_as(sql).bind(id).fetch_optional(self.reader()).await?)
                }

                async fn imports_of(&self, property_id: Uuid) -> StoreResult<Vec<CalendarImport>> {
                    let sql = sqlx::AssertSqlSafe(format!(
                        "SELECT {IMPORT_COLUMNS} FROM calendar_imports WHERE property_id = $1 ORDER BY id"
                    ));
                    Ok(sqlx::query_as(sql).bind(property_id).fetch_all(self.reader()).await?)
                }

                async fn claim_due_imports(
                    &self,
                    now: DateTime<Utc>,
                    until: DateTime<Utc>,
                    limit: u32,
                ) -> StoreResult<Vec<CalendarImport>> {
                    let sql = sqlx::AssertSqlSafe($crate::store::periodic_sql::imports_claim(IMPORT_COLUMNS));
                    Ok(sqlx::query_as(sql)
                        .bind(until)
                        .bind(now)
                        .bind(i64::from(limit))
                        .fetch_all(self.writer())
                        .await?)
                }

                async fn record_sync(
                    &self,
                    id: Uuid,
                    conflicts: &[Span],
                    read: $crate::store::SyncCounts<'_>,
                    now: DateTime<Utc>,
                    next: DateTime<Utc>,
                ) -> StoreResult<()> {
                    sqlx::query(
                        "UPDATE calendar_imports SET status = 'ok', last_error = NULL, conflicts = $2, \
                         last_synced_at = $3, events = $4, skipped = $5, warnings = $6, next_sync_at = $7 \
                         WHERE id = $1",
                    )
                    .bind(id)
                    .bind(sqlx::types::Json(conflicts))
                    .bind(now)
                    .bind(read.events)
                    .bind(read.skipped)
                    .bind(sqlx::types::Json(read.warnings))
                    .bind(next)
                    .execute(self.writer())
                    .await?;
                    Ok(())
                }

                async fn record_failure(
                    &self,
                    id: Uuid,
                    error: &str,
                    now: DateTime<Utc>,
                    next: DateTime<Utc>,
                ) -> StoreResult<()> {
                    sqlx::query(
                        "UPDATE calendar_imports SET status = 'failed', last_error = $2, \
                         last_synced_at = $3, next_sync_at = $4 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(error)
                    .bind(now)
                    .bind(next)
                    .execute(self.writer())
                    .await?;
                    Ok(())
                }

                async fn delete_import(&self, id: Uuid) -> StoreResult<()> {
                    sqlx::query("DELETE FROM calendar_imports WHERE id = $1")
                        .bind(id)
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn import_blocks(
                    &self,
                    property_id: Uuid,
                    reason: &str,
                ) -> StoreResult<Vec<(Uuid, NaiveDate, NaiveDate)>> {
                    Ok(sqlx::query_as(
                        "SELECT id, start_date, end_date FROM calendar_entries \
                         WHERE property_id = $1 AND kind = 'block' AND active AND reason = $2 \
                         ORDER BY start_date",
                    )
                    .bind(property_id)
                    .bind(reason)
                    .fetch_all(self.reader())
                    .await?)
                }
            }
        };
    };
}

pub(super) use impl_import_store;
