//! Accounts and refresh tokens (`UserStore`), one macro for both backends.
//! A refresh token is claimed by one conditional UPDATE, so of two
//! concurrent refreshes with one token exactly one wins.

macro_rules! impl_user_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            use $crate::store::columns::{USER_COLUMNS, is_unique_violation};
            use $crate::store::{NewRefreshToken, NewUser, RotateOutcome, StoreError, StoreResult};
            use $crate::domain::users::{Email, ProfilePatch, User};

            #[async_trait::async_trait]
            impl $crate::store::UserStore for $store {
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

                async fn users_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<User>> {
                    if ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                        "SELECT {USER_COLUMNS} FROM users WHERE id IN ("
                    ));
                    let mut list = qb.separated(", ");
                    for id in ids.iter().take(100) {
                        list.push_bind(*id);
                    }
                    qb.push(")");
                    Ok(qb.build_query_as::<User>().fetch_all(self.reader()).await?)
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
        };
    };
}

pub(super) use impl_user_store;
