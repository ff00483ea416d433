//! Reviews (`ReviewStore`), one macro for both backends. A guest's review
//! moves its property's rating in the review's own transaction: one
//! conditional `UPDATE … SET rating_sum = rating_sum + $r`, exact under
//! concurrent reviews (a row lock on PostgreSQL, the single writer on
//! SQLite). One review per side per booking is the table's unique key.

macro_rules! impl_review_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            use $crate::domain::reviews::{About, NewReview, Review};
            use $crate::store::columns::is_unique_violation;
            use $crate::store::{StoreError, StoreResult};

            /// A review's columns with its author's name (`r` and `u`).
            const REVIEW_SELECT: &str = "SELECT r.id, r.booking_id, r.property_id, r.author_id, \
                 u.name AS author_name, r.subject_id, r.about, r.rating, r.comment, r.created_at, \
                 r.response_comment, r.response_at FROM reviews r JOIN users u ON u.id = r.author_id";

            #[async_trait::async_trait]
            impl $crate::store::ReviewStore for $store {
                async fn insert_review(&self, review: &NewReview) -> StoreResult<Review> {
                    let mut tx = self.begin_write().await?;
                    let inserted = sqlx::query(
                        "INSERT INTO reviews (id, booking_id, property_id, author_id, subject_id, \
                         about, rating, comment, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(review.id)
                    .bind(review.booking_id)
                    .bind(review.property_id)
                    .bind(review.author_id)
                    .bind(review.subject_id)
                    .bind(review.about.as_str())
                    .bind(review.rating)
                    .bind(&review.comment)
                    .bind(review.created_at)
                    .execute(&mut *tx)
                    .await;
                    match inserted {
                        Err(e) if is_unique_violation(&e) => {
                            return Err(StoreError::Conflict(
                                "this booking has been reviewed from your side already".into(),
                            ));
                        }
                        other => {
                            other?;
                        }
                    }
                    if review.about == About::Stay {
                        sqlx::query(
                            "UPDATE properties SET rating_sum = rating_sum + $2, \
                             review_count = review_count + 1 WHERE id = $1",
                        )
                        .bind(review.property_id)
                        .bind(i64::from(review.rating))
                        .execute(&mut *tx)
                        .await?;
                    }
                    let sql = sqlx::AssertSqlSafe(format!("{REVIEW_SELECT} WHERE r.id = $1"));
                    let stored = sqlx::query_as::<_, Review>(sql)
                        .bind(review.id)
                        .fetch_one(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(stored)
                }

                async fn review(&self, id: Uuid) -> StoreResult<Option<Review>> {
                    let sql = sqlx::AssertSqlSafe(format!("{REVIEW_SELECT} WHERE r.id = $1"));
                    Ok(sqlx::query_as::<_, Review>(sql)
                        .bind(id)
                        .fetch_optional(self.reader())
                        .await?)
                }

                async fn respond_to_review(
                    &self,
                    id: Uuid,
                    comment: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<Option<Review>> {
                    let answered = sqlx::query(
                        "UPDATE reviews SET response_comment = $2, response_at = $3 \
                         WHERE id = $1 AND response_comment IS NULL",
                    )
                    .bind(id)
                    .bind(comment)
                    .bind(now)
                    .execute(self.writer())
                    .await?;
                    if answered.rows_affected() == 0 {
                        return Ok(None);
                    }
                    let sql = sqlx::AssertSqlSafe(format!("{REVIEW_SELECT} WHERE r.id = $1"));
                    Ok(sqlx::query_as::<_, Review>(sql)
                        .bind(id)
                        .fetch_optional(self.writer())
                        .await?)
                }

                async fn property_reviews(
                    &self,
                    property_id: Uuid,
                    before: Option<Uuid>,
                    limit: u32,
                ) -> StoreResult<Vec<Review>> {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(REVIEW_SELECT);
                    qb.push(" WHERE r.about = 'stay' AND r.property_id = ").push_bind(property_id);
                    if let Some(before) = before {
                        qb.push(" AND r.id < ").push_bind(before);
                    }
                    qb.push(" ORDER BY r.id DESC LIMIT ").push_bind(i64::from(limit) + 1);
                    Ok(qb.build_query_as::<Review>().fetch_all(self.reader()).await?)
                }

                async fn guest_reviews(
                    &self,
                    guest_id: Uuid,
                    before: Option<Uuid>,
                    limit: u32,
                ) -> StoreResult<Vec<Review>> {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(REVIEW_SELECT);
                    qb.push(" WHERE r.about = 'guest' AND r.subject_id = ").push_bind(guest_id);
                    if let Some(before) = before {
                        qb.push(" AND r.id < ").push_bind(before);
                    }
                    qb.push(" ORDER BY r.id DESC LIMIT ").push_bind(i64::from(limit) + 1);
                    Ok(qb.build_query_as::<Review>().fetch_all(self.reader()).await?)
                }

                async fn latest_reviews(
                    &self,
                    properties: &[Uuid],
                    per_property: u32,
                ) -> StoreResult<Vec<Review>> {
                    if properties.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "SELECT id, booking_id, property_id, author_id, author_name, subject_id, \
                         about, rating, comment, created_at, response_comment, response_at FROM (\
                         SELECT r.id, r.booking_id, r.property_id, r.author_id, u.name AS author_name, \
                         r.subject_id, r.about, r.rating, r.comment, r.created_at, r.response_comment, \
                         r.response_at, ROW_NUMBER() OVER (PARTITION BY r.property_id ORDER BY r.id DESC) AS n \
                         FROM reviews r JOIN users u ON u.id = r.author_id \
                         WHERE r.about = 'stay' AND r.property_id IN (",
                    );
                    let mut list = qb.separated(", ");
                    for id in properties.iter().take(100) {
                        list.push_bind(*id);
                    }
                    qb.push(")) latest WHERE n <= ").push_bind(i64::from(per_property));
                    qb.push(" ORDER BY property_id, id DESC");
                    Ok(qb.build_query_as::<Review>().fetch_all(self.reader()).await?)
                }
            }
        };
    };
}

pub(super) use impl_review_store;
