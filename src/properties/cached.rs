//! What this process keeps of listings, and how it stays right across
//! processes: each listing in memory (`local`, the booking path's reads)
//! and its JSON in the shared cache (`get_json`), both dropped on a change
//! here (`changed`, which also tells other processes) or elsewhere
//! (`changed_elsewhere`, from PostgreSQL's NOTIFY), with a generation count
//! so that a read racing a change never keeps the old listing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::{Property, PropertyView};
use crate::cache::Cache;
use crate::error::{AppError, AppResult};
use crate::store::{PropertyStore, StoreError};

/// Why a property could not be loaded into memory.
enum Missing {
    NotFound,
    /// The store's failure, and whether it was unavailability.
    Store(String, bool),
}

/// How long a property's JSON stays in the shared cache at most.
const CACHE_TTL: Duration = Duration::from_secs(300);
/// How long a property stays in this process's memory at most.
pub const PROPERTY_TTL: Duration = Duration::from_secs(60);

fn cache_key(id: Uuid) -> String {
    format!("property:{id}")
}

/// How many change counters [`Generations`] spreads properties over.
const GENERATION_STRIPES: usize = 1024;

/// Counts the changes announced for each property (striped by id, so a
/// count may also move for another property: that only costs a reload).
///
/// A read that loads a property and a change announced meanwhile race: the
/// change drops what is cached, then the load, which read the store before
/// the change committed, caches the old listing for its whole TTL. Every
/// change bumps the count before it drops anything; a read notes the count
/// before it loads and, once it has cached what it loaded, drops it again
/// if the count moved.
struct Generations([std::sync::atomic::AtomicU64; GENERATION_STRIPES]);

impl Generations {
    fn new() -> Self {
        Self(std::array::from_fn(|_| {
            std::sync::atomic::AtomicU64::new(0)
        }))
    }

    fn stripe(&self, id: Uuid) -> &std::sync::atomic::AtomicU64 {
        let (_, low) = id.as_u64_pair();
        &self.0[(low % GENERATION_STRIPES as u64) as usize]
    }

    fn of(&self, id: Uuid) -> u64 {
        self.stripe(id).load(std::sync::atomic::Ordering::SeqCst)
    }

    fn bump(&self, id: Uuid) {
        self.stripe(id)
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Listings as this process keeps them (see the module's description).
#[derive(Clone)]
pub struct PropertyCache {
    store: Arc<dyn PropertyStore>,
    cache: Arc<dyn Cache>,
    /// Properties as the booking path reads them (price, rules, host), kept
    /// in this process: booking and availability requests make no store
    /// round trip for them. Dropped on change here, on other processes'
    /// changes (PostgreSQL NOTIFY), and after [`PROPERTY_TTL`] whatever
    /// happens.
    local: moka::future::Cache<Uuid, Arc<Property>>,
    /// Changes announced per property, so a load that raced one is not kept.
    generations: Arc<Generations>,
}

impl PropertyCache {
    pub fn new(store: Arc<dyn PropertyStore>, cache: Arc<dyn Cache>) -> Self {
        Self {
            store,
            cache,
            local: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(PROPERTY_TTL)
                .build(),
            generations: Arc::new(Generations::new()),
        }
    }

    /// A listed property, the snapshot this process holds (the same `Arc`
    /// until the property changes); unknown and unlisted ones are both
    /// 404. Many requests for one property not in memory make one store
    /// call (the rest wait for it): a popular listing just dropped from
    /// memory does not send a herd to the database.
    pub async fn listed_shared(&self, id: Uuid) -> AppResult<Arc<Property>> {
        let load = async {
            match self.store.property(id).await {
                Ok(Some(property)) => Ok(Arc::new(property)),
                Ok(None) => Err(Missing::NotFound),
                Err(e) => Err(Missing::Store(
                    e.to_string(),
                    matches!(e, StoreError::Unavailable(_)),
                )),
            }
        };
        let before = self.generations.of(id);
        let property = self.local.try_get_with(id, load).await;
        if self.generations.of(id) != before {
            // What was just loaded (or joined) may predate the change.
            self.local.invalidate(&id).await;
        }
        let property = property.map_err(|e| match e.as_ref() {
            Missing::NotFound => AppError::NotFound("property"),
            Missing::Store(cause, true) => {
                tracing::warn!(%cause, "database unavailable");
                AppError::Unavailable("the database is unavailable; retry shortly")
            }
            Missing::Store(cause, false) => AppError::Internal(anyhow::anyhow!("{cause}")),
        })?;
        if property.listed {
            Ok(property)
        } else {
            Err(AppError::NotFound("property"))
        }
    }

    /// The properties among `ids`, listed or not (a booking's property
    /// stays readable to its guest), from this process's memory where it
    /// has them and in one store call for the rest.
    pub async fn by_ids(&self, ids: &[Uuid]) -> AppResult<HashMap<Uuid, Property>> {
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match self.local.get(id).await {
                Some(hit) => {
                    found.insert(*id, Property::clone(&hit));
                }
                None => missing.push(*id),
            }
        }
        if !missing.is_empty() {
            let before: Vec<u64> = missing.iter().map(|id| self.generations.of(*id)).collect();
            for property in self.store.properties_by_ids(&missing).await? {
                self.local
                    .insert(property.id, Arc::new(property.clone()))
                    .await;
                found.insert(property.id, property);
            }
            for (id, before) in missing.iter().zip(before) {
                if self.generations.of(*id) != before {
                    self.local.invalidate(id).await;
                }
            }
        }
        Ok(found)
    }

    /// Another process changed the property (or its calendar): drop what
    /// this process keeps of it, its JSON too (without Redis that cache is
    /// this process's own, and would otherwise serve the old listing for
    /// up to its TTL). The generation moves at once; the returned task
    /// drops the copies.
    pub fn changed_elsewhere(&self, id: Uuid) -> tokio::task::JoinHandle<()> {
        self.generations.bump(id);
        let local = self.local.clone();
        let cache = self.cache.clone();
        tokio::spawn(async move {
            local.invalidate(&id).await;
            cache.delete(&cache_key(id)).await;
        })
    }

    /// The property changed (its listing, or its rating): every cached copy
    /// goes, here and in other processes.
    pub async fn changed(&self, id: Uuid) {
        self.generations.bump(id);
        self.local.invalidate(&id).await;
        self.cache.delete(&cache_key(id)).await;
        if let Err(e) = self.store.announce_property_change(id).await {
            // Other processes still drop it within PROPERTY_TTL.
            tracing::warn!(property_id = %id, error = %e, "announcing a property change failed");
        }
    }

    /// The property's JSON as served, from the cache when it is there. The
    /// hot read path of the API: no store round trip on a hit.
    pub async fn get_json(&self, id: Uuid) -> AppResult<Vec<u8>> {
        let key = cache_key(id);
        if let Some(hit) = self.cache.get(&key).await {
            return Ok(hit);
        }
        let before = self.generations.of(id);
        let view = PropertyView::from(Property::clone(&*self.listed_shared(id).await?));
        let json = serde_json::to_vec(&view).map_err(anyhow::Error::from)?;
        self.cache.set(&key, json.clone(), CACHE_TTL).await;
        if self.generations.of(id) != before {
            // A change was announced while this ran: what was cached may
            // be the old listing (see `Generations`).
            self.cache.delete(&key).await;
        }
        Ok(json)
    }
}
