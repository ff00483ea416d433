//! SQL that both backends run as written. `impl_store!` expands to the whole
//! `impl Store` for one backend, splicing in the methods that differ (listed
//! by each backend file) and the shared ones below. A macro rather than
//! generics: sqlx's per-database trait bounds make generic code unreadable,
//! while the SQL text really is the same.
//!
//! A backend type provides `reader()`, `writer()` (pools) and
//! `begin_write()` (a transaction that holds the write lock from its start),
//! and `push_has_amenity` for the one search filter whose SQL differs.

/// Column list of `properties` in the order of `Property`'s fields.
pub(super) const PROPERTY_COLUMNS: &str = "id, host_id, title, description, city, country, \
     latitude, longitude, price_per_night, currency, cleaning_fee, max_guests, bedrooms, \
     amenities, cancellation_policy, instant_book, min_nights, max_nights, listed, \
     rating_sum, review_count, created_at, updated_at";

pub(super) const USER_COLUMNS: &str = "id, email, name, bio, created_at";

/// Integer average rating × 100, the `rating` sort key (0 when unrated).
pub(super) const RATING_KEY: &str =
    "(CASE WHEN p.review_count = 0 THEN 0 ELSE (p.rating_sum * 100) / p.review_count END)";

pub(super) fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|db| db.is_unique_violation())
}

macro_rules! impl_store {
    ($store:ty, $db:ty, { $($specific:tt)* }) => {
        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            $($specific)*

            async fn create_user(&self, user: &NewUser) -> StoreResult<User> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "INSERT INTO users (id, email, name, bio, password_hash, created_at, updated_at) \
                     VALUES ($1, $2, $3, '', $4, $5, $5) RETURNING {USER_COLUMNS}"
                ));
                let inserted = sqlx::query_as::<_, User>(sql)
                    .bind(user.id)
                    .bind(user.email.as_str())
                    .bind(user.name.as_str())
                    .bind(&user.password_hash)
                    .bind(user.now)
                    .fetch_one(self.writer())
                    .await;
                match inserted {
                    Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(
                        "an account with this email already exists".into(),
                    )),
                    other => Ok(other?),
                }
            }

            async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>> {
                let sql = sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"));
                Ok(sqlx::query_as::<_, User>(sql).bind(id).fetch_optional(self.reader()).await?)
            }

            async fn credentials_by_email(&self, email: &Email) -> StoreResult<Option<(Uuid, String)>> {
                Ok(sqlx::query_as("SELECT id, password_hash FROM users WHERE email = $1")
                    .bind(email.as_str())
                    .fetch_optional(self.reader())
                    .await?)
            }

            async fn update_user(
                &self,
                id: Uuid,
                patch: &ProfilePatch,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<User>> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "UPDATE users SET name = COALESCE($2, name), bio = COALESCE($3, bio), \
                     updated_at = $4 WHERE id = $1 RETURNING {USER_COLUMNS}"
                ));
                Ok(sqlx::query_as::<_, User>(sql)
                    .bind(id)
                    .bind(patch.name.as_ref().map(|n| n.as_str()))
                    .bind(patch.bio.as_ref().map(|b| b.as_str()))
                    .bind(now)
                    .fetch_optional(self.writer())
                    .await?)
            }

            async fn insert_refresh_token(&self, token: &NewRefreshToken) -> StoreResult<()> {
                insert_refresh_token(self.writer(), token).await
            }

            async fn rotate_refresh_token(
                &self,
                presented_hash: &[u8],
                now: DateTime<Utc>,
                next_hash: &[u8],
                next_expires_at: DateTime<Utc>,
            ) -> StoreResult<RotateOutcome> {
                let mut tx = self.begin_write().await?;
                // Claiming the token is one conditional UPDATE, so of two
                // concurrent refreshes with one token exactly one wins.
                let claimed: Option<(Uuid, Uuid)> = sqlx::query_as(
                    "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 \
                     AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
                     RETURNING user_id, family_id",
                )
                .bind(presented_hash)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((user_id, family_id)) = claimed {
                    let next = NewRefreshToken {
                        token_hash: next_hash.to_vec(),
                        user_id,
                        family_id,
                        created_at: now,
                        expires_at: next_expires_at,
                    };
                    insert_refresh_token(&mut *tx, &next).await?;
                    tx.commit().await?;
                    return Ok(RotateOutcome::Rotated { user_id, family_id });
                }
                let known: Option<(Uuid, Option<DateTime<Utc>>)> =
                    sqlx::query_as("SELECT family_id, used_at FROM refresh_tokens WHERE token_hash = $1")
                        .bind(presented_hash)
                        .fetch_optional(&mut *tx)
                        .await?;
                let outcome = match known {
                    Some((family_id, Some(_))) => {
                        revoke_family(&mut *tx, family_id, now).await?;
                        RotateOutcome::Reused { family_id }
                    }
                    _ => RotateOutcome::Invalid,
                };
                tx.commit().await?;
                Ok(outcome)
            }

            async fn revoke_refresh_family(&self, family_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
                revoke_family(self.writer(), family_id, now).await
            }

            async fn insert_property(&self, p: &Property) -> StoreResult<()> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "INSERT INTO properties ({PROPERTY_COLUMNS}) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                      $17, $18, $19, $20, $21, $22, $23)"
                ));
                bind_property_fields(sqlx::query(sql).bind(p.id).bind(p.host_id), p)
                    .bind(p.rating_sum)
                    .bind(p.review_count)
                    .bind(p.created_at)
                    .bind(p.updated_at)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn property(&self, id: Uuid) -> StoreResult<Option<Property>> {
                let sql = sqlx::AssertSqlSafe(format!("SELECT {PROPERTY_COLUMNS} FROM properties WHERE id = $1"));
                Ok(sqlx::query_as::<_, Property>(sql).bind(id).fetch_optional(self.reader()).await?)
            }

            async fn update_property(&self, p: &Property) -> StoreResult<()> {
                // The fields bind as in the INSERT; id and host_id are the key.
                let sql = "UPDATE properties SET title = $3, description = $4, city = $5, country = $6, \
                     latitude = $7, longitude = $8, price_per_night = $9, currency = $10, \
                     cleaning_fee = $11, max_guests = $12, bedrooms = $13, amenities = $14, \
                     cancellation_policy = $15, instant_book = $16, min_nights = $17, \
                     max_nights = $18, listed = $19, updated_at = $20 \
                     WHERE id = $1 AND host_id = $2";
                bind_property_fields(sqlx::query(sql).bind(p.id).bind(p.host_id), p)
                    .bind(p.updated_at)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn unlist_property(&self, id: Uuid, today: NaiveDate, now: DateTime<Utc>) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let future: Option<i32> = sqlx::query_scalar(
                    "SELECT 1 FROM calendar_entries WHERE property_id = $1 AND active \
                     AND kind = 'booking' AND end_date > $2 LIMIT 1",
                )
                .bind(id)
                .bind(today)
                .fetch_optional(&mut *tx)
                .await?;
                if future.is_some() {
                    return Err(StoreError::Conflict(
                        "the property has upcoming bookings; cancel them before unlisting".into(),
                    ));
                }
                sqlx::query("UPDATE properties SET listed = FALSE, updated_at = $2 WHERE id = $1")
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn search_properties(&self, q: &PropertyQuery) -> StoreResult<Vec<Property>> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {} FROM properties p WHERE p.listed",
                    PROPERTY_COLUMNS.replace("id, host_id", "p.id, p.host_id")
                ));
                if let Some(city) = &q.city {
                    qb.push(" AND lower(p.city) = lower(").push_bind(city.clone()).push(")");
                }
                if let Some(country) = &q.country {
                    qb.push(" AND lower(p.country) = lower(").push_bind(country.clone()).push(")");
                }
                if let Some(guests) = q.guests {
                    qb.push(" AND p.max_guests >= ").push_bind(guests);
                }
                if let Some(min) = q.min_price {
                    qb.push(" AND p.price_per_night >= ").push_bind(min);
                }
                if let Some(max) = q.max_price {
                    qb.push(" AND p.price_per_night <= ").push_bind(max);
                }
                for amenity in &q.amenities {
                    qb.push(" AND ");
                    Self::push_has_amenity(&mut qb, amenity.clone());
                }
                if let Some(b) = &q.bbox {
                    qb.push(" AND p.longitude BETWEEN ").push_bind(b.min_lon)
                        .push(" AND ").push_bind(b.max_lon)
                        .push(" AND p.latitude BETWEEN ").push_bind(b.min_lat)
                        .push(" AND ").push_bind(b.max_lat);
                }
                if let Some(stay) = &q.stay {
                    qb.push(" AND NOT EXISTS (SELECT 1 FROM calendar_entries c \
                              WHERE c.property_id = p.id AND c.active AND c.start_date < ")
                        .push_bind(stay.end)
                        .push(" AND c.end_date > ")
                        .push_bind(stay.start)
                        .push(")");
                }
                // Keyset pagination: the cursor is the sort key and id of the
                // last row served; rows strictly after it come next.
                let (key, descending) = match q.sort {
                    Sort::Newest => (None, true),
                    Sort::PriceAsc => (Some("p.price_per_night"), false),
                    Sort::PriceDesc => (Some("p.price_per_night"), true),
                    Sort::Rating => (Some(RATING_KEY), true),
                };
                let (cmp, dir) = if descending { ("<", "DESC") } else { (">", "ASC") };
                if let Some(cursor) = &q.cursor {
                    match key {
                        Some(key) => qb
                            .push(format!(" AND ({key}, p.id) {cmp} ("))
                            .push_bind(cursor.key)
                            .push(", ")
                            .push_bind(cursor.id)
                            .push(")"),
                        None => qb.push(format!(" AND p.id {cmp} ")).push_bind(cursor.id),
                    };
                }
                match key {
                    Some(key) => qb.push(format!(" ORDER BY {key} {dir}, p.id {dir}")),
                    None => qb.push(format!(" ORDER BY p.id {dir}")),
                };
                qb.push(" LIMIT ").push_bind(i64::from(q.limit) + 1);
                Ok(qb.build_query_as::<Property>().fetch_all(self.reader()).await?)
            }
        }

        async fn insert_refresh_token<'e, E>(executor: E, token: &NewRefreshToken) -> StoreResult<()>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, user_id, family_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&token.token_hash)
            .bind(token.user_id)
            .bind(token.family_id)
            .bind(token.created_at)
            .bind(token.expires_at)
            .execute(executor)
            .await?;
            Ok(())
        }

        async fn revoke_family<'e, E>(executor: E, family_id: Uuid, now: DateTime<Utc>) -> StoreResult<()>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
                .bind(family_id)
                .bind(now)
                .execute(executor)
                .await?;
            Ok(())
        }

        /// Binds the editable columns of a property, title to listed, in
        /// `PROPERTY_COLUMNS` order (after id and host_id).
        fn bind_property_fields<'q>(
            query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
            p: &'q Property,
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
            query
                .bind(&p.title)
                .bind(&p.description)
                .bind(&p.city)
                .bind(&p.country)
                .bind(p.latitude)
                .bind(p.longitude)
                .bind(p.price_per_night)
                .bind(p.currency.as_str())
                .bind(p.cleaning_fee)
                .bind(p.max_guests)
                .bind(p.bedrooms)
                .bind(sqlx::types::Json(&p.amenities))
                .bind(p.cancellation_policy.as_str())
                .bind(p.instant_book)
                .bind(p.min_nights)
                .bind(p.max_nights)
                .bind(p.listed)
        }
    };
}

pub(super) use impl_store;
