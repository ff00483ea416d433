//! The dev payment gateway's records (`DevGatewayStore`): its intents and
//! refunds, kept by idempotency key as Stripe keeps them, one macro for
//! both backends. Never real money.

macro_rules! impl_dev_gateway_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use chrono::{DateTime, Utc};
            use innkeep_actors::domain::PaymentStatus;
            use uuid::Uuid;

            use $crate::store::columns::{DEV_INTENT_COLUMNS, nth_of_three, push_dev_intent};
            use $crate::store::{DevIntent, StoreResult};

            impl $store {
                /// Records the dev intents of bookings in their own (or
                /// shared) transaction, in one statement (nothing for a key
                /// recorded already).
                pub(crate) async fn insert_local_intents(
                    tx: &mut sqlx::Transaction<'static, $db>,
                    intents: &[&innkeep_actors::ports::LocalIntent],
                ) -> Result<(), sqlx::Error> {
                    let rows: Vec<DevIntent> = intents.iter().map(|i| DevIntent::from(*i)).collect();
                    insert_dev_intents(&mut **tx, &rows).await
                }
            }

            /// Records `intents` (none whose key or id is recorded already).
            async fn insert_dev_intents<'e>(
                executor: impl sqlx::Executor<'e, Database = $db>,
                intents: &[DevIntent],
            ) -> Result<(), sqlx::Error> {
                if intents.is_empty() {
                    return Ok(());
                }
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                    "INSERT INTO dev_payment_intents ({DEV_INTENT_COLUMNS}) "
                ));
                qb.push_values(intents, |mut row, intent| push_dev_intent!(row, intent));
                qb.push(" ON CONFLICT DO NOTHING");
                qb.build().execute(executor).await?;
                Ok(())
            }

            #[async_trait::async_trait]
            impl $crate::store::DevGatewayStore for $store {
                async fn dev_intent_create(&self, intent: &DevIntent) -> StoreResult<DevIntent> {
                    insert_dev_intents(self.writer(), std::slice::from_ref(intent)).await?;
                    let stored = sqlx::query_as::<_, DevIntent>(
                        "SELECT id, idempotency_key, booking_id, amount, currency, capture_method, status, \
                         amount_refunded, created_at FROM dev_payment_intents WHERE idempotency_key = $1",
                    )
                    .bind(&intent.idempotency_key)
                    .fetch_one(self.writer())
                    .await?;
                    Ok(stored)
                }

                async fn dev_intent(&self, id: &str) -> StoreResult<Option<DevIntent>> {
                    Ok(sqlx::query_as::<_, DevIntent>(
                        "SELECT id, idempotency_key, booking_id, amount, currency, capture_method, status, \
                         amount_refunded, created_at FROM dev_payment_intents WHERE id = $1",
                    )
                    .bind(id)
                    .fetch_optional(self.writer())
                    .await?)
                }

                async fn dev_intent_update(
                    &self,
                    id: &str,
                    from: &[PaymentStatus],
                    to: PaymentStatus,
                ) -> StoreResult<bool> {
                    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
                    let at = |i: usize| nth_of_three(&from, i);
                    let done = sqlx::query(
                        "UPDATE dev_payment_intents SET status = $2 WHERE id = $1 AND status IN ($3, $4, $5)",
                    )
                    .bind(id)
                    .bind(to.as_str())
                    .bind(at(0))
                    .bind(at(1))
                    .bind(at(2))
                    .execute(self.writer())
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn dev_refund(
                    &self,
                    intent_id: &str,
                    amount: i64,
                    key: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<Option<String>> {
                    let mut tx = self.begin_write().await?;
                    let existing: Option<String> =
                        sqlx::query_scalar("SELECT id FROM dev_refunds WHERE key = $1")
                            .bind(key)
                            .fetch_optional(&mut *tx)
                            .await?;
                    if let Some(id) = existing {
                        tx.commit().await?;
                        return Ok(Some(id));
                    }
                    let moved = sqlx::query(
                        "UPDATE dev_payment_intents SET amount_refunded = amount_refunded + $2 \
                         WHERE id = $1 AND status = 'succeeded' AND amount_refunded + $2 <= amount",
                    )
                    .bind(intent_id)
                    .bind(amount)
                    .execute(&mut *tx)
                    .await?;
                    if moved.rows_affected() == 0 {
                        return Ok(None);
                    }
                    let id = format!("re_dev_{}", Uuid::now_v7().simple());
                    sqlx::query(
                        "INSERT INTO dev_refunds (key, id, intent_id, amount, created_at) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(key)
                    .bind(&id)
                    .bind(intent_id)
                    .bind(amount)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(Some(id))
                }
            }
        };
    };
}

pub(super) use impl_dev_gateway_store;
