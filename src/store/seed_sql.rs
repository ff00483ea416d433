//! Bulk writes for `innkeep seed` (`SeedStore`), one macro for both
//! backends: each table's rows go in as multi-row `INSERT`s, a batch in one
//! transaction, so a 100,000-listing catalogue takes seconds rather than
//! one request per row.

macro_rules! impl_seed_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use innkeep_actors::ports::PaymentJobKind;
            use $crate::store::columns::{BOOKING_COLUMNS, PROPERTY_COLUMNS, push_booking};
            use $crate::store::{SeedBatch, StoreResult};

            /// Rows per statement: under SQLite's 32,766 bound parameters
            /// for the widest table (25 columns).
            const ROWS: usize = 1_000;

            /// `head` (`INSERT INTO t (cols) `) with `rows`, `ROWS` to a
            /// statement, each row's values pushed by `bind`.
            async fn insert_rows<'r, T: Sync>(
                tx: &mut sqlx::Transaction<'static, $db>,
                head: &str,
                rows: &'r [T],
                mut bind: impl FnMut(sqlx::query_builder::Separated<'_, $db, &'static str>, &'r T) + Send,
            ) -> StoreResult<()> {
                for chunk in rows.chunks(ROWS) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(head);
                    qb.push_values(chunk, &mut bind);
                    qb.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            #[async_trait::async_trait]
            impl $crate::store::SeedStore for $store {
                async fn insert_seed_batch(&self, batch: &SeedBatch) -> StoreResult<()> {
                    let mut tx = self.begin_write().await?;
                    insert_rows(
                        &mut tx,
                        "INSERT INTO users (id, email, name, bio, password_hash, created_at, updated_at) ",
                        &batch.users,
                        |mut b, u| {
                            b.push_bind(u.id)
                                .push_bind(u.email.as_str())
                                .push_bind(u.name.as_str())
                                .push_bind("")
                                .push_bind(u.password_hash.as_str())
                                .push_bind(u.now)
                                .push_bind(u.now);
                        },
                    )
                    .await?;
                    insert_rows(
                        &mut tx,
                        &format!("INSERT INTO properties ({PROPERTY_COLUMNS}) "),
                        &batch.properties,
                        |mut b, p| {
                            b.push_bind(p.id)
                                .push_bind(p.host_id)
                                .push_bind(p.title.as_str())
                                .push_bind(p.description.as_str())
                                .push_bind(p.city.as_str())
                                .push_bind(p.country.as_str())
                                .push_bind(p.latitude)
                                .push_bind(p.longitude)
                                .push_bind(p.price_per_night)
                                .push_bind(p.currency.as_str())
                                .push_bind(p.cleaning_fee)
                                .push_bind(p.max_guests)
                                .push_bind(p.bedrooms)
                                .push_bind(sqlx::types::Json(&p.amenities))
                                .push_bind(p.cancellation_policy.as_str())
                                .push_bind(p.instant_book)
                                .push_bind(p.min_nights)
                                .push_bind(p.max_nights)
                                .push_bind(p.listed)
                                .push_bind(p.rating_sum)
                                .push_bind(p.review_count)
                                .push_bind(p.created_at)
                                .push_bind(p.updated_at);
                        },
                    )
                    .await?;
                    insert_rows(
                        &mut tx,
                        "INSERT INTO calendar_entries (id, property_id, start_date, end_date, kind, active, reason, created_at) ",
                        &batch.entries,
                        |mut b, e| {
                            b.push_bind(e.id)
                                .push_bind(e.property_id)
                                .push_bind(e.start)
                                .push_bind(e.end)
                                .push_bind(e.kind)
                                .push_bind(true)
                                .push_bind(e.reason)
                                .push_bind(e.created_at);
                        },
                    )
                    .await?;
                    insert_rows(
                        &mut tx,
                        &format!("INSERT INTO bookings ({BOOKING_COLUMNS}) "),
                        &batch.bookings,
                        |mut b, k| push_booking!(b, k),
                    )
                    .await?;
                    // Confirmed stays are paid for and not paid out yet: due
                    // after check-in (bookings_payout_due_idx), as a capture
                    // posted by the server marks them.
                    let owed: Vec<uuid::Uuid> = batch
                        .bookings
                        .iter()
                        .filter(|b| b.status == innkeep_actors::domain::BookingStatus::Confirmed)
                        .map(|b| b.id)
                        .collect();
                    for chunk in owed.chunks(ROWS) {
                        let mut qb = sqlx::QueryBuilder::<$db>::new(
                            "UPDATE bookings SET payout_due = TRUE WHERE id IN (",
                        );
                        let mut ids = qb.separated(", ");
                        for id in chunk {
                            ids.push_bind(*id);
                        }
                        qb.push(")");
                        qb.build().execute(&mut *tx).await?;
                    }
                    insert_rows(
                        &mut tx,
                        "INSERT INTO ledger_transactions (id, key, kind, booking_id, currency, created_at) ",
                        &batch.postings,
                        |mut b, (id, posting, at)| {
                            b.push_bind(*id)
                                .push_bind(posting.key.as_str())
                                .push_bind(posting.kind.as_str())
                                .push_bind(posting.booking_id)
                                .push_bind(posting.currency.as_str())
                                .push_bind(*at);
                        },
                    )
                    .await?;
                    let lines: Vec<(uuid::Uuid, i32, String, i64)> = batch
                        .postings
                        .iter()
                        .flat_map(|(id, posting, _)| {
                            posting.entries.iter().enumerate().map(move |(line, e)| {
                                (*id, i32::try_from(line).unwrap_or(0), e.account.to_string(), e.amount)
                            })
                        })
                        .collect();
                    insert_rows(
                        &mut tx,
                        "INSERT INTO ledger_entries (transaction_id, line, account, amount) ",
                        &lines,
                        |mut b, (id, line, account, amount)| {
                            b.push_bind(*id)
                                .push_bind(*line)
                                .push_bind(account.as_str())
                                .push_bind(*amount);
                        },
                    )
                    .await?;
                    insert_rows(
                        &mut tx,
                        "INSERT INTO jobs (id, key, kind, payload, status, attempts, max_attempts, run_at, \
                         created_at, finished_at, booking_id, result) ",
                        &batch.payouts,
                        |mut b, (booking_id, amount, at)| {
                            b.push_bind(uuid::Uuid::now_v7())
                                .push_bind(format!("booking:{booking_id}:payout"))
                                .push_bind(PaymentJobKind::Payout.job_kind())
                                .push_bind(sqlx::types::Json(serde_json::json!({ "amount": amount })))
                                .push_bind("done")
                                .push_bind(1)
                                .push_bind(innkeep_actors::payments::MAX_ATTEMPTS)
                                .push_bind(*at)
                                .push_bind(*at)
                                .push_bind(*at)
                                .push_bind(*booking_id)
                                .push_bind("tr_seed");
                        },
                    )
                    .await?;
                    insert_rows(
                        &mut tx,
                        "INSERT INTO reviews (id, booking_id, property_id, author_id, subject_id, \
                         about, rating, comment, created_at) ",
                        &batch.reviews,
                        |mut b, r| {
                            b.push_bind(r.id)
                                .push_bind(r.booking_id)
                                .push_bind(r.property_id)
                                .push_bind(r.author_id)
                                .push_bind(r.subject_id)
                                .push_bind(r.about.as_str())
                                .push_bind(r.rating)
                                .push_bind(r.comment.as_str())
                                .push_bind(r.created_at);
                        },
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }
            }
        };
    };
}

pub(super) use impl_seed_store;
