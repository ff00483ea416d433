//! The ledger (`LedgerStore`) and the Stripe events seen
//! (`WebhookEventStore`), one macro for both backends. A posting is one
//! `ledger_transactions` row whose unique `key` makes a second attempt a
//! no-op, plus its entries, all in the caller's database transaction.

macro_rules! impl_ledger_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use chrono::{DateTime, NaiveDate, Utc};
            use innkeep_actors::domain::Booking;
            use innkeep_actors::ledger::{Account, Posting, PostingKind, StoredTransaction};
            use uuid::Uuid;

            use $crate::store::columns::BOOKING_COLUMNS;
            use $crate::store::{BalanceRow, StoreResult};

            impl $store {
                /// Writes `posting` unless a transaction with its key exists; `true`
                /// if written.
                pub(crate) async fn insert_posting(
                    tx: &mut sqlx::Transaction<'static, $db>,
                    posting: &Posting,
                    now: DateTime<Utc>,
                ) -> Result<bool, sqlx::Error> {
                    let id = Uuid::now_v7();
                    let inserted = sqlx::query(
                        "INSERT INTO ledger_transactions (id, key, kind, booking_id, currency, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING",
                    )
                    .bind(id)
                    .bind(&posting.key)
                    .bind(posting.kind.as_str())
                    .bind(posting.booking_id)
                    .bind(posting.currency.as_str())
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                    if inserted.rows_affected() == 0 {
                        return Ok(false);
                    }
                    for (line, entry) in posting.entries.iter().enumerate() {
                        sqlx::query(
                            "INSERT INTO ledger_entries (transaction_id, line, account, amount) \
                             VALUES ($1, $2, $3, $4)",
                        )
                        .bind(id)
                        .bind(line as i32)
                        .bind(entry.account.to_string())
                        .bind(entry.amount)
                        .execute(&mut **tx)
                        .await?;
                    }
                    if posting.kind == PostingKind::Capture {
                        // The host is now owed a share, paid out after
                        // check-in (bookings_payout_due_idx), and the
                        // capture needs no reconciling
                        // (jobs_capture_unsettled_idx).
                        sqlx::query(
                            "UPDATE bookings SET payout_due = TRUE WHERE id = $1 AND NOT EXISTS \
                             (SELECT 1 FROM jobs j WHERE j.booking_id = $1 AND j.kind = 'payment.payout')",
                        )
                        .bind(posting.booking_id)
                        .execute(&mut **tx)
                        .await?;
                        sqlx::query(
                            "UPDATE jobs SET settled = TRUE WHERE booking_id = $1 AND kind = 'payment.capture'",
                        )
                        .bind(posting.booking_id)
                        .execute(&mut **tx)
                        .await?;
                    }
                    Ok(true)
                }
            }

            #[async_trait::async_trait]
            impl $crate::store::LedgerStore for $store {
                async fn post(
                    &self,
                    posting: &Posting,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let mut tx = self.begin_write().await?;
                    let posted = <$store>::insert_posting(&mut tx, posting, now).await?;
                    tx.commit().await?;
                    Ok(posted)
                }

                async fn host_balance_rows(
                    &self,
                    host_id: Uuid,
                    payable_from: NaiveDate,
                ) -> StoreResult<Vec<BalanceRow>> {
                    let account = Account::HostPayable(host_id).to_string();
                    let rows: Vec<(String, String, bool, i64)> = sqlx::query_as(
                        "SELECT t.currency, t.kind, b.check_in <= $2, CAST(SUM(e.amount) AS BIGINT) \
                         FROM ledger_entries e \
                         JOIN ledger_transactions t ON t.id = e.transaction_id \
                         JOIN bookings b ON b.id = t.booking_id \
                         WHERE e.account = $1 GROUP BY t.currency, t.kind, b.check_in <= $2",
                    )
                    .bind(account)
                    .bind(payable_from)
                    .fetch_all(self.reader())
                    .await?;
                    Ok(rows
                        .into_iter()
                        .map(|(currency, kind, due, amount)| BalanceRow {
                            currency,
                            payout: PostingKind::parse(&kind) == Some(PostingKind::Payout),
                            due,
                            amount,
                        })
                        .collect())
                }

                async fn ledger_snapshot(
                    &self,
                ) -> StoreResult<(Vec<Booking>, Vec<StoredTransaction>)> {
                    // One snapshot, so bookings and ledger agree.
                    let mut tx = self.begin_snapshot().await?;
                    let sql = sqlx::AssertSqlSafe(format!(
                        "SELECT {BOOKING_COLUMNS} FROM bookings \
                         WHERE status IN ('confirmed', 'completed', 'cancelled') \
                         OR id IN (SELECT booking_id FROM ledger_transactions)"
                    ));
                    let bookings = sqlx::query_as::<_, Booking>(sql)
                        .fetch_all(&mut *tx)
                        .await?;
                    let rows: Vec<(
                        Uuid,
                        String,
                        String,
                        Uuid,
                        String,
                        Option<String>,
                        Option<i64>,
                    )> = sqlx::query_as(
                        "SELECT t.id, t.key, t.kind, t.booking_id, t.currency, e.account, e.amount \
                             FROM ledger_transactions t \
                             LEFT JOIN ledger_entries e ON e.transaction_id = t.id \
                             ORDER BY t.id, e.line",
                    )
                    .fetch_all(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    let mut transactions: Vec<StoredTransaction> = Vec::new();
                    let mut last: Option<Uuid> = None;
                    for (id, key, kind, booking_id, currency, account, amount) in rows {
                        if last != Some(id) {
                            last = Some(id);
                            // The table's CHECK admits only the known kinds.
                            let kind = PostingKind::parse(&kind).ok_or_else(|| {
                                anyhow::anyhow!("ledger transaction {key} has unknown kind {kind}")
                            })?;
                            transactions.push(StoredTransaction {
                                key,
                                kind,
                                booking_id,
                                currency,
                                entries: Vec::new(),
                            });
                        }
                        if let (Some(account), Some(amount), Some(tx)) =
                            (account, amount, transactions.last_mut())
                        {
                            tx.entries.push((account, amount));
                        }
                    }
                    Ok((bookings, transactions))
                }
            }

            #[async_trait::async_trait]
            impl $crate::store::WebhookEventStore for $store {
                async fn webhook_event_seen(&self, id: &str) -> StoreResult<bool> {
                    let seen: Option<String> =
                        sqlx::query_scalar("SELECT id FROM webhook_events WHERE id = $1")
                            .bind(id)
                            .fetch_optional(self.reader())
                            .await?;
                    Ok(seen.is_some())
                }

                async fn record_webhook_event(
                    &self,
                    id: &str,
                    kind: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "INSERT INTO webhook_events (id, type, received_at) VALUES ($1, $2, $3) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(id)
                    .bind(kind)
                    .bind(now)
                    .execute(self.writer())
                    .await?;
                    Ok(done.rows_affected() == 1)
                }
            }
        };
    };
}

pub(super) use impl_ledger_store;
