//! What every resolver of one request (or one subscription) gets: the
//! service layer, who is asking, and the per-request batch loaders.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use actix_web::web;
use uuid::Uuid;

use super::seats::SubscriptionCounts;
use crate::auth::tokens::Session;
use crate::error::AppError;
use crate::properties::Property;
use crate::reviews::Review;
use crate::services::Services;
use crate::users::User;

/// Batches the `User` lookups of one request (`property.host`,
/// `booking.guest`) into one store call per selection level.
pub struct UserBatch {
    services: web::Data<Services>,
    calls: Arc<AtomicUsize>,
}

impl dataloader::BatchFn<Uuid, Option<User>> for UserBatch {
    async fn load(&mut self, keys: &[Uuid]) -> HashMap<Uuid, Option<User>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut found = match self.services.users.by_ids(keys).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "loading users failed");
                HashMap::new()
            }
        };
        // An entry for every key: the loader panics on a missing one.
        keys.iter().map(|id| (*id, found.remove(id))).collect()
    }
}

/// The same for `Property` (`booking.property`).
pub struct PropertyBatch {
    services: web::Data<Services>,
    calls: Arc<AtomicUsize>,
}

impl dataloader::BatchFn<Uuid, Option<Property>> for PropertyBatch {
    async fn load(&mut self, keys: &[Uuid]) -> HashMap<Uuid, Option<Property>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut found = match self.services.properties.by_ids(keys).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "loading properties failed");
                HashMap::new()
            }
        };
        keys.iter().map(|id| (*id, found.remove(id))).collect()
    }
}

/// The same for a property's newest reviews: keys are (property, how many).
pub struct ReviewBatch {
    services: web::Data<Services>,
    calls: Arc<AtomicUsize>,
}

impl dataloader::BatchFn<(Uuid, u32), Vec<Review>> for ReviewBatch {
    async fn load(&mut self, keys: &[(Uuid, u32)]) -> HashMap<(Uuid, u32), Vec<Review>> {
        let mut found: HashMap<(Uuid, u32), Vec<Review>> =
            keys.iter().map(|key| (*key, Vec::new())).collect();
        // One call per page size asked for (a page asks for one).
        let mut sizes: Vec<u32> = keys.iter().map(|(_, n)| *n).collect();
        sizes.sort_unstable();
        sizes.dedup();
        for size in sizes {
            let properties: Vec<Uuid> = keys
                .iter()
                .filter(|(_, n)| *n == size)
                .map(|(p, _)| *p)
                .collect();
            self.calls.fetch_add(1, Ordering::Relaxed);
            match self.services.reviews.latest_of(&properties, size).await {
                Ok(reviews) => {
                    for review in reviews {
                        if let Some(list) = found.get_mut(&(review.property_id, size)) {
                            list.push(review);
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "loading reviews failed"),
            }
        }
        found
    }
}

/// Non-caching loaders: they batch the lookups made while one selection
/// set resolves, and keep nothing, so a long subscription never serves
/// what it read at its first event.
pub type UserLoader = dataloader::non_cached::Loader<Uuid, Option<User>, UserBatch>;
pub type PropertyLoader = dataloader::non_cached::Loader<Uuid, Option<Property>, PropertyBatch>;
pub type ReviewLoader = dataloader::non_cached::Loader<(Uuid, u32), Vec<Review>, ReviewBatch>;

/// Cloned for every operation of a WebSocket connection: only `Arc`s.
#[derive(Clone)]
pub struct Context {
    pub services: web::Data<Services>,
    pub viewer: Option<Session>,
    /// The client's address, for the same per-address limits as REST.
    pub client: Option<IpAddr>,
    /// The loaders, made when a field first needs one: most operations
    /// (one property, a booking request) need none.
    users: OnceLock<UserLoader>,
    properties: OnceLock<PropertyLoader>,
    reviews: OnceLock<ReviewLoader>,
    /// Calls to the service layer that reach the store, for this request:
    /// the root fields' and the loaders' batches.
    pub store_calls: Arc<AtomicUsize>,
    /// Open subscriptions per subscriber, across connections.
    pub subscriptions: Arc<SubscriptionCounts>,
}

impl juniper::Context for Context {}

impl Context {
    pub fn new(
        services: web::Data<Services>,
        subscriptions: Arc<SubscriptionCounts>,
        viewer: Option<Session>,
        client: Option<IpAddr>,
    ) -> Self {
        Self {
            services,
            viewer,
            client,
            users: OnceLock::new(),
            properties: OnceLock::new(),
            reviews: OnceLock::new(),
            store_calls: Arc::new(AtomicUsize::new(0)),
            subscriptions,
        }
    }

    /// Batches `User` lookups (`property.host`, `booking.guest`).
    pub fn users(&self) -> &UserLoader {
        self.loader(&self.users, |services, calls| UserBatch { services, calls })
    }

    /// Batches `Property` lookups (`booking.property`).
    pub fn properties(&self) -> &PropertyLoader {
        self.loader(&self.properties, |services, calls| PropertyBatch {
            services,
            calls,
        })
    }

    /// Batches a page's `property.reviews`.
    pub fn reviews(&self) -> &ReviewLoader {
        self.loader(&self.reviews, |services, calls| ReviewBatch {
            services,
            calls,
        })
    }

    /// The loader in `cell`, made with the batch `make` gives on first use.
    fn loader<'a, K, V, F>(
        &self,
        cell: &'a OnceLock<dataloader::non_cached::Loader<K, V, F>>,
        make: impl FnOnce(web::Data<Services>, Arc<AtomicUsize>) -> F,
    ) -> &'a dataloader::non_cached::Loader<K, V, F>
    where
        K: Eq + std::hash::Hash + Clone + std::fmt::Debug,
        V: Clone,
        F: dataloader::BatchFn<K, V>,
    {
        cell.get_or_init(|| {
            dataloader::non_cached::Loader::new(make(
                self.services.clone(),
                self.store_calls.clone(),
            ))
            .with_max_batch_size(100)
        })
    }

    /// The signed-in user; `UNAUTHENTICATED` otherwise.
    pub fn viewer(&self) -> Result<Session, AppError> {
        self.viewer.ok_or(AppError::Unauthorized(
            "sign in: send Authorization: Bearer <access_token>",
        ))
    }

    /// Counts one call to the store made by a root field.
    pub fn store_call(&self) {
        self.store_calls.fetch_add(1, Ordering::Relaxed);
    }
}
