//! The calendar port of the engine (`CalendarStore`): loading a property's
//! active ranges and applying a batch of calendar changes in one
//! transaction, one macro for both backends.
//!
//! The overlap guard is one statement on both stores: on SQLite
//! `INSERT … SELECT … WHERE NOT EXISTS (overlap)`, exact under its single
//! writer; on PostgreSQL `INSERT … ON CONFLICT DO NOTHING` against the
//! exclusion constraint, which catches a concurrent writer's row too and
//! turns an overlap into "no row" instead of an aborted batch (a NOT EXISTS
//! there, planned generically, became a sequential scan of every entry).

/// A new booking of a shared commit's batch that is nothing else: its
/// batch's index, its row, its payment intent and when it was decided.
pub(super) type Lone<'a> = (
    usize,
    &'a innkeep_actors::domain::Booking,
    Option<&'a innkeep_actors::ports::LocalIntent>,
    chrono::DateTime<chrono::Utc>,
);

/// The writer connection the calendar committer keeps between back-to-back
/// shared commits. SQLite's writer is a pool of one, and sqlx pings every
/// connection given back to a pool: a round trip to the connection's
/// thread that the next commit waited for. The committer gives it back
/// when it runs out of work (`CalendarStore::idle`), before any other kind
/// of calendar write, and after [`HeldWriter::MAX_USES`] commits in a row,
/// so the store's other writers wait at most that many commits for it.
pub(super) struct HeldWriter<DB: sqlx::Database>(
    pub(super) tokio::sync::Mutex<Option<(sqlx::pool::PoolConnection<DB>, u32)>>,
);

impl<DB: sqlx::Database> Default for HeldWriter<DB> {
    fn default() -> Self {
        Self(tokio::sync::Mutex::new(None))
    }
}

impl<DB: sqlx::Database> HeldWriter<DB> {
    /// Commits in a row on one holding.
    pub(super) const MAX_USES: u32 = 8;

    /// Gives the connection back to the pool, if it is held.
    pub(super) async fn release(&self) {
        let held = self.0.lock().await.take();
        drop(held);
    }
}

macro_rules! impl_calendar_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use chrono::{DateTime, NaiveDate, Utc};
            use innkeep_actors::domain::{Booking, DateRange};
            use innkeep_actors::ports::{
                CalendarEntry, CalendarOp, EntryKind, LocalIntent, OpOutcome, PortError, PropertyOps,
            };
            use uuid::Uuid;

            use $crate::store::calendar_sql::Lone;
            use $crate::store::columns::{BOOKING_COLUMNS, DEV_INTENT_COLUMNS, push_booking, push_dev_intent};

            #[async_trait::async_trait]
            impl innkeep_actors::ports::CalendarStore for $store {
                async fn load_calendar(&self, property_id: Uuid) -> Result<Vec<CalendarEntry>, PortError> {
                    let rows: Vec<(Uuid, NaiveDate, NaiveDate, String)> = sqlx::query_as(
                        "SELECT id, start_date, end_date, kind FROM calendar_entries \
                         WHERE property_id = $1 AND active ORDER BY start_date",
                    )
                    .bind(property_id)
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::store::port_error)?;
                    Ok(rows
                        .into_iter()
                        .filter_map(|(id, start, end, kind)| {
                            let kind = if kind == "block" { EntryKind::Block } else { EntryKind::Booking };
                            DateRange::new(start, end).map(|range| CalendarEntry { id, range, kind })
                        })
                        .collect())
                }

                async fn apply_calendar(
                    &self,
                    property_id: Uuid,
                    ops: &[CalendarOp],
                    now: DateTime<Utc>,
                ) -> Result<Vec<OpOutcome>, PortError> {
                    innkeep_actors::ports::apply_one(self, property_id, ops, now).await
                }

                async fn idle(&self) {
                    self.release_writer().await;
                }

                /// The batches of several properties in one transaction
                /// (the cross-property committer's): one commit for all.
                async fn apply_calendars(
                    &self,
                    batches: &[PropertyOps<'_>],
                ) -> Result<Vec<Vec<OpOutcome>>, PortError> {
                    let fail = $crate::store::port_error;
                    // Batches that are one new booking each (what stays spread
                    // over many properties make): their rows go in one query
                    // (SQLite: a multi-statement transaction; PostgreSQL: one
                    // statement), not three statements a booking.
                    let lone = lone_bookings(batches);
                    if !lone.is_empty() && lone.len() == batches.len() {
                        let inserted = if <$store>::ONE_QUERY_CHUNKS && lone.len() <= MAX_ROWS {
                            Some(commit_lone_at_once(self.held_writer(), self.writer(), &lone).await.map_err(fail)?)
                        } else {
                            self.release_writer().await;
                            // One statement is a transaction of its own.
                            let mut conn = self.writer().acquire().await.map_err(fail)?;
                            <$store>::insert_lone(&mut conn, &lone).await.map_err(fail)?
                        };
                        if let Some(inserted) = inserted {
                            return Ok(lone_outcomes(self, &lone, &inserted));
                        }
                    }
                    self.release_writer().await;
                    let mut tx = self.begin_write().await.map_err(fail)?;
                    let mut all: Vec<Option<Vec<OpOutcome>>> = vec![None; batches.len()];
                    if lone.len() > 1 {
                        for (i, outcome) in insert_bookings_together(&mut tx, &lone).await.map_err(fail)? {
                            all[i] = Some(vec![outcome]);
                        }
                    }
                    for (i, batch) in batches.iter().enumerate() {
                        if all[i].is_none() {
                            all[i] = Some(apply_ops(&mut tx, batch).await?);
                        }
                    }
                    tx.commit().await.map_err(fail)?;
                    let all: Vec<Vec<OpOutcome>> = all.into_iter().map(Option::unwrap_or_default).collect();
                    for (batch, outcomes) in batches.iter().zip(&all) {
                        if outcomes.iter().any(|o| matches!(o, OpOutcome::Applied(_))) {
                            self.announce_change(batch.property_id);
                        }
                    }
                    Ok(all)
                }
            }

            impl $store {
                /// Gives back the writer connection the committer holds, if
                /// it does, before a write that takes it from the pool.
                async fn release_writer(&self) {
                    if let Some(held) = self.held_writer() {
                        held.release().await;
                    }
                }
            }

            /// The batches that are exactly one new booking, at most one per
            /// property: rows of one statement do not see each other, so
            /// the database's overlap check between them would be blind (the
            /// actor has checked, but the store is the last guard).
            fn lone_bookings<'a>(batches: &'a [PropertyOps<'a>]) -> Vec<Lone<'a>> {
                let mut seen = std::collections::HashSet::with_capacity(batches.len());
                batches
                    .iter()
                    .enumerate()
                    .filter_map(|(i, batch)| match batch.ops {
                        [CalendarOp::InsertBooking(b, intent)] if seen.insert(batch.property_id) => {
                            Some((i, &**b, intent.as_deref(), batch.now))
                        }
                        _ => None,
                    })
                    .collect()
            }

            /// Rows a multi-row statement takes at most. Chunks are powers
            /// of two, so each statement has one of a few shapes and stays
            /// prepared on its connection.
            const MAX_ROWS: usize = 128;

            /// Inserts the lone bookings in one statement where the store
            /// has one (`insert_lone`); otherwise their calendar entries in
            /// one guarded statement per chunk (`insert_entries`: an entry
            /// that overlaps an active one is left out), then the bookings
            /// that got their nights and their intents. The outcome of each,
            /// by batch index.
            async fn insert_bookings_together(
                tx: &mut sqlx::Transaction<'static, $db>,
                lone: &[Lone<'_>],
            ) -> Result<Vec<(usize, OpOutcome)>, sqlx::Error> {
                if let Some(inserted) = <$store>::insert_lone(tx, lone).await? {
                    return Ok(lone.iter().map(|(i, b, _, _)| (*i, lone_outcome(b, &inserted))).collect());
                }
                let mut outcomes = Vec::with_capacity(lone.len());
                let mut rest = lone;
                while !rest.is_empty() {
                    let size = 1 << rest.len().min(MAX_ROWS).ilog2();
                    let (chunk, after) = rest.split_at(size);
                    rest = after;
                    let entries: Vec<NewEntry<'_>> = chunk
                        .iter()
                        .map(|(_, b, _, now)| NewEntry::booking(b, *now))
                        .collect();
                    let inserted = if <$store>::ONE_QUERY_CHUNKS {
                        insert_chunk_at_once(tx, chunk, &entries).await?
                    } else {
                        let inserted = insert_entries(tx, &entries).await?;
                        let accepted: Vec<&Lone<'_>> = chunk.iter().filter(|(_, b, _, _)| inserted.contains(&b.id)).collect();
                        let rows: Vec<&Booking> = accepted.iter().map(|(_, b, _, _)| *b).collect();
                        insert_bookings(tx, &rows).await?;
                        let intents: Vec<&LocalIntent> = accepted.iter().filter_map(|(_, _, intent, _)| *intent).collect();
                        <$store>::insert_local_intents(tx, &intents).await?;
                        inserted
                    };
                    outcomes.extend(chunk.iter().map(|(i, b, _, _)| (*i, lone_outcome(b, &inserted))));
                }
                Ok(outcomes)
            }

            /// What became of each lone booking, in their batches' order;
            /// the properties whose bookings went in are announced.
            fn lone_outcomes(store: &$store, lone: &[Lone<'_>], inserted: &std::collections::HashSet<Uuid>) -> Vec<Vec<OpOutcome>> {
                lone.iter()
                    .map(|(_, b, _, _)| {
                        let outcome = lone_outcome(b, inserted);
                        if matches!(outcome, OpOutcome::Applied(_)) {
                            store.announce_change(b.property_id);
                        }
                        vec![outcome]
                    })
                    .collect()
            }

            /// What became of lone booking `b`: its nights went in or not.
            fn lone_outcome(b: &Booking, inserted: &std::collections::HashSet<Uuid>) -> OpOutcome {
                if inserted.contains(&b.id) {
                    OpOutcome::Applied(Some(Box::new(b.clone())))
                } else {
                    OpOutcome::Overlap
                }
            }

            /// A chunk's calendar entries, bookings and dev intents in one
            /// query (`ONE_QUERY_CHUNKS`). The ids whose entries went in.
            async fn insert_chunk_at_once(
                tx: &mut sqlx::Transaction<'static, $db>,
                chunk: &[Lone<'_>],
                entries: &[NewEntry<'_>],
            ) -> Result<std::collections::HashSet<Uuid>, sqlx::Error> {
                let mut qb = sqlx::QueryBuilder::<$db>::new("");
                push_chunk(&mut qb, chunk, entries);
                Ok(qb.build_query_scalar().fetch_all(&mut **tx).await?.into_iter().collect())
            }

            /// Lone bookings (at most `MAX_ROWS`) as a whole transaction in
            /// one query, `BEGIN IMMEDIATE` to `COMMIT`: one round trip to
            /// the database thread instead of five, on the connection
            /// `held` keeps between commits (where the store has one). A
            /// failed query is rolled back; a connection dropped mid-query
            /// (the caller gone) is closed rather than returned to the pool
            /// inside a transaction.
            async fn commit_lone_at_once(
                held: Option<&$crate::store::calendar_sql::HeldWriter<$db>>,
                pool: &sqlx::Pool<$db>,
                lone: &[Lone<'_>],
            ) -> Result<std::collections::HashSet<Uuid>, sqlx::Error> {
                struct CloseUnlessDone(Option<sqlx::pool::PoolConnection<$db>>);
                impl Drop for CloseUnlessDone {
                    fn drop(&mut self) {
                        if let Some(conn) = self.0.as_mut() {
                            conn.close_on_drop();
                        }
                    }
                }
                let entries: Vec<NewEntry<'_>> = lone.iter().map(|(_, b, _, now)| NewEntry::booking(b, *now)).collect();
                let mut qb = sqlx::QueryBuilder::<$db>::new("BEGIN IMMEDIATE; ");
                push_chunk(&mut qb, lone, &entries);
                qb.push("; COMMIT");
                let mut slot = match held {
                    Some(held) => Some(held.0.lock().await),
                    None => None,
                };
                let kept = slot.as_mut().and_then(|slot| slot.take());
                let (conn, uses) = match kept {
                    Some((conn, uses)) if uses < $crate::store::calendar_sql::HeldWriter::<$db>::MAX_USES => (conn, uses),
                    other => {
                        // Back to the pool first: its other writers queue
                        // for it before this commit does.
                        drop(other);
                        (pool.acquire().await?, 0)
                    }
                };
                let mut guard = CloseUnlessDone(Some(conn));
                let Some(conn) = guard.0.as_mut() else {
                    return Err(sqlx::Error::PoolClosed);
                };
                let result = qb.build_query_scalar::<Uuid>().fetch_all(&mut **conn).await;
                // Rolled back after a failure, the connection is clean; if
                // ROLLBACK fails too (no transaction open, or a broken
                // connection), it is closed.
                let clean = result.is_ok() || sqlx::query("ROLLBACK").execute(&mut **conn).await.is_ok();
                if clean {
                    // Kept for the next commit where the store holds one,
                    // else back to the pool.
                    let conn = guard.0.take();
                    if let Some(slot) = slot.as_mut() {
                        **slot = conn.map(|conn| (conn, uses + 1));
                    }
                }
                Ok(result?.into_iter().collect())
            }

            /// A chunk's three statements, `;`-separated: its calendar
            /// entries (`push_entries`), then its bookings and dev intents,
            /// each only where its entry went in (booking and entry share
            /// the id), so an entry refused for overlap leaves out the rest.
            fn push_chunk(qb: &mut sqlx::QueryBuilder<$db>, chunk: &[Lone<'_>], entries: &[NewEntry<'_>]) {
                push_entries(qb, entries);
                qb.push("; ");
                push_where_entered(qb, "bookings", BOOKING_COLUMNS, "id", chunk.iter().map(|(_, b, _, _)| *b), |mut row, b| {
                    push_booking!(row, b)
                });
                let intents: Vec<$crate::store::DevIntent> =
                    chunk.iter().filter_map(|(_, _, intent, _)| intent.map(Into::into)).collect();
                if !intents.is_empty() {
                    qb.push("; ");
                    push_where_entered(qb, "dev_payment_intents", DEV_INTENT_COLUMNS, "booking_id", &intents, |mut row, i| {
                        push_dev_intent!(row, i)
                    });
                    qb.push(" ON CONFLICT DO NOTHING");
                }
            }

            /// `rows` into `table` (`columns`, pushed by `push`), each only if
            /// a calendar entry has the id in its `key` column.
            fn push_where_entered<T>(
                qb: &mut sqlx::QueryBuilder<$db>,
                table: &str,
                columns: &str,
                key: &str,
                rows: impl IntoIterator<Item = T>,
                push: impl FnMut(sqlx::query_builder::Separated<'_, $db, &'static str>, T),
            ) {
                qb.push(format!("WITH r ({columns}) AS ("));
                qb.push_values(rows, push);
                qb.push(format!(
                    ") INSERT INTO {table} ({columns}) SELECT {columns} FROM r \
                     WHERE EXISTS (SELECT 1 FROM calendar_entries c WHERE c.id = r.{key})"
                ));
            }

            /// One property's batch, inside the open transaction.
            async fn apply_ops(
                tx: &mut sqlx::Transaction<'static, $db>,
                batch: &PropertyOps<'_>,
            ) -> Result<Vec<OpOutcome>, PortError> {
                let fail = $crate::store::port_error;
                let PropertyOps { property_id, ops, now } = *batch;
                let mut outcomes = Vec::with_capacity(ops.len());
                for op in ops {
                    let outcome = match op {
                        CalendarOp::InsertBooking(b, intent) => {
                            if insert_entry(tx, NewEntry::booking(b, now))
                                .await
                                .map_err(fail)?
                            {
                                insert_bookings(tx, &[&**b]).await.map_err(fail)?;
                                if let Some(intent) = intent {
                                    <$store>::insert_local_intents(tx, &[&**intent]).await.map_err(fail)?;
                                }
                                OpOutcome::Applied(Some(b.clone()))
                            } else {
                                OpOutcome::Overlap
                            }
                        }
                        CalendarOp::InsertBlock(block) => {
                            let entry = NewEntry {
                                id: block.id,
                                property_id,
                                start: block.start,
                                end: block.end,
                                kind: "block",
                                reason: block.reason.as_deref(),
                                now,
                            };
                            if insert_entry(tx, entry)
                                .await
                                .map_err(fail)?
                            {
                                OpOutcome::Applied(None)
                            } else {
                                OpOutcome::Overlap
                            }
                        }
                        CalendarOp::RemoveBlock { block_id } => {
                            let done = sqlx::query(
                                "DELETE FROM calendar_entries WHERE id = $1 AND property_id = $2 AND kind = 'block'",
                            )
                            .bind(block_id)
                            .bind(property_id)
                            .execute(&mut **tx)
                            .await
                            .map_err(fail)?;
                            if done.rows_affected() > 0 { OpOutcome::Applied(None) } else { OpOutcome::NotApplied }
                        }
                        CalendarOp::Transition(t) => {
                            let from = |i: usize| t.from.get(i).or(t.from.first()).map(|s| s.as_str()).unwrap_or("");
                            let sql = sqlx::AssertSqlSafe(format!(
                                "UPDATE bookings SET status = $3, updated_at = $4, expires_at = $5, \
                                 payment_status = COALESCE($6, payment_status), \
                                 refund_amount = COALESCE($7, refund_amount) \
                                 WHERE id = $1 AND property_id = $2 AND status IN ($8, $9, $10) \
                                 RETURNING {BOOKING_COLUMNS}"
                            ));
                            let updated = sqlx::query_as::<_, Booking>(sql)
                                .bind(t.booking_id)
                                .bind(property_id)
                                .bind(t.to.as_str())
                                .bind(now)
                                .bind(t.expires_at)
                                .bind(t.payment_status.map(|s| s.as_str()))
                                .bind(t.refund_amount)
                                .bind(from(0))
                                .bind(from(1))
                                .bind(from(2))
                                .fetch_optional(&mut **tx)
                                .await
                                .map_err(fail)?;
                            match updated {
                                Some(booking) => {
                                    for posting in &t.postings {
                                        <$store>::insert_posting(tx, posting, now).await.map_err(fail)?;
                                    }
                                    for job in &t.jobs {
                                        <$store>::insert_payment_job(tx, job).await.map_err(fail)?;
                                    }
                                    for notice in &t.notices {
                                        <$store>::insert_notice(tx, notice, now).await.map_err(fail)?;
                                    }
                                    if !t.to.holds_dates() {
                                        sqlx::query("UPDATE calendar_entries SET active = FALSE WHERE id = $1")
                                            .bind(t.booking_id)
                                            .execute(&mut **tx)
                                            .await
                                            .map_err(fail)?;
                                    }
                                    OpOutcome::Applied(Some(Box::new(booking)))
                                }
                                None => OpOutcome::NotApplied,
                            }
                        }
                    };
                    outcomes.push(outcome);
                }
                Ok(outcomes)
            }

            /// An active calendar range to insert unless it overlaps one.
            struct NewEntry<'a> {
                id: Uuid,
                property_id: Uuid,
                start: NaiveDate,
                end: NaiveDate,
                kind: &'a str,
                reason: Option<&'a str>,
                now: DateTime<Utc>,
            }

            impl NewEntry<'static> {
                /// The nights of booking `b`, decided at `now`.
                fn booking(b: &Booking, now: DateTime<Utc>) -> Self {
                    Self {
                        id: b.id,
                        property_id: b.property_id,
                        start: b.check_in,
                        end: b.check_out,
                        kind: "booking",
                        reason: None,
                        now,
                    }
                }
            }

            /// Inserts `entries` in one statement, each unless it overlaps
            /// an active range (on PostgreSQL a concurrent writer's too,
            /// through the exclusion constraint); the ids inserted. The
            /// entries must be of distinct properties: rows of one statement
            /// do not see each other.
            async fn insert_entries(
                tx: &mut sqlx::Transaction<'static, $db>,
                entries: &[NewEntry<'_>],
            ) -> Result<std::collections::HashSet<Uuid>, sqlx::Error> {
                let mut qb = sqlx::QueryBuilder::<$db>::new("");
                push_entries(&mut qb, entries);
                Ok(qb.build_query_scalar().fetch_all(&mut **tx).await?.into_iter().collect())
            }

            /// The statement of `insert_entries`.
            fn push_entries(qb: &mut sqlx::QueryBuilder<$db>, entries: &[NewEntry<'_>]) {
                qb.push("WITH v (id, property_id, start_date, end_date, kind, reason, created_at) AS (");
                qb.push_values(entries, |mut row, e| {
                    row.push_bind(e.id)
                        .push_bind(e.property_id)
                        .push_bind(e.start)
                        .push_bind(e.end)
                        .push_bind(e.kind)
                        .push_bind(e.reason)
                        .push_bind(e.now);
                });
                qb.push(
                    ") INSERT INTO calendar_entries (id, property_id, start_date, end_date, kind, active, reason, created_at) \
                     SELECT v.id, v.property_id, v.start_date, v.end_date, v.kind, TRUE, v.reason, v.created_at FROM v ",
                );
                qb.push(<$store>::OVERLAP_GUARD);
                qb.push(" ON CONFLICT DO NOTHING RETURNING id");
            }

            /// One entry; `true` if inserted.
            async fn insert_entry(
                tx: &mut sqlx::Transaction<'static, $db>,
                entry: NewEntry<'_>,
            ) -> Result<bool, sqlx::Error> {
                let id = entry.id;
                Ok(insert_entries(tx, &[entry]).await?.contains(&id))
            }

            /// Inserts `bookings` in one statement.
            async fn insert_bookings(tx: &mut sqlx::Transaction<'static, $db>, bookings: &[&Booking]) -> Result<(), sqlx::Error> {
                if bookings.is_empty() {
                    return Ok(());
                }
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!("INSERT INTO bookings ({BOOKING_COLUMNS}) "));
                qb.push_values(bookings, |mut row, b| push_booking!(row, b));
                qb.build().execute(&mut **tx).await?;
                Ok(())
            }
        };
    };
}

pub(super) use impl_calendar_store;
