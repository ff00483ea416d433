//! The property service: listing, reading (cached), editing, unlisting,
//! search and quotes. Shared by REST and GraphQL; the calendar side
//! (blocks, availability) is `calendar.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use innkeep_actors::domain::{CalendarDate, PriceBreakdown, StayDates, price_stay};
use innkeep_actors::{CalendarRegistry, Clock};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::body::PropertyInput;
use super::cached::PropertyCache;
use super::search::{SearchParams, encode_cursor};
use super::{Property, PropertyView, Sort};
use crate::cache::Cache;
use crate::error::{AppError, AppResult, Validator};
use crate::store::PropertyStore;

/// A page of search results with their cursors.
pub struct SearchPage {
    pub rows: Vec<(String, Property)>,
    pub more: bool,
    /// The cursor of the last row the store read for this page: the next
    /// page starts after it, even when that row was dropped (its calendar
    /// took the dates meanwhile).
    pub end_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PropertyPage {
    pub data: Vec<PropertyView>,
    pub next_cursor: Option<String>,
}

/// `GET /properties/{id}/quote` query string.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuoteParams {
    #[param(value_type = String, format = Date)]
    pub check_in: CalendarDate,
    #[param(value_type = String, format = Date)]
    pub check_out: CalendarDate,
    /// Default 1.
    pub guests: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Quote {
    pub nights: u32,
    pub subtotal: i64,
    pub cleaning_fee: i64,
    pub service_fee: i64,
    pub total: i64,
    #[schema(value_type = String, example = "EUR")]
    pub currency: innkeep_actors::domain::Currency,
}

impl From<PriceBreakdown> for Quote {
    fn from(p: PriceBreakdown) -> Self {
        Self {
            nights: p.nights,
            subtotal: p.subtotal,
            cleaning_fee: p.cleaning_fee,
            service_fee: p.service_fee,
            total: p.total,
            currency: p.currency,
        }
    }
}

#[derive(Clone)]
pub struct PropertyService {
    pub(super) store: Arc<dyn PropertyStore>,
    /// The listings this process keeps, and their JSON.
    cached: PropertyCache,
    pub(super) calendars: Arc<CalendarRegistry>,
    pub(super) clock: Arc<dyn Clock>,
}

impl PropertyService {
    pub fn new(
        store: Arc<dyn PropertyStore>,
        cache: Arc<dyn Cache>,
        calendars: Arc<CalendarRegistry>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            cached: PropertyCache::new(store.clone(), cache),
            store,
            calendars,
            clock,
        }
    }

    /// A listed property; unknown and unlisted ones are both 404
    /// (`PropertyCache::listed_shared`).
    pub async fn listed(&self, id: Uuid) -> AppResult<Property> {
        self.listed_shared(id)
            .await
            .map(|property| Property::clone(&property))
    }

    /// [`Self::listed`], the snapshot this process holds.
    pub async fn listed_shared(&self, id: Uuid) -> AppResult<Arc<Property>> {
        self.cached.listed_shared(id).await
    }

    /// The properties among `ids`, listed or not (a booking's property
    /// stays readable to its guest), from memory where this process has
    /// them.
    pub async fn by_ids(&self, ids: &[Uuid]) -> AppResult<HashMap<Uuid, Property>> {
        self.cached.by_ids(ids).await
    }

    /// Another process changed the property (or its calendar): drop what
    /// this process keeps of it (`PropertyCache::changed_elsewhere`).
    pub fn changed_elsewhere(&self, id: Uuid) -> tokio::task::JoinHandle<()> {
        self.cached.changed_elsewhere(id)
    }

    /// The property changed (its listing, or its rating): every cached copy
    /// goes, here and in other processes.
    pub async fn changed(&self, id: Uuid) {
        self.cached.changed(id).await;
    }

    /// The property's JSON as served, from the cache when it is there.
    pub async fn get_json(&self, id: Uuid) -> AppResult<Vec<u8>> {
        self.cached.get_json(id).await
    }

    pub async fn create(&self, host_id: Uuid, input: PropertyInput) -> AppResult<PropertyView> {
        let property = input.into_property(None, host_id, self.clock.now())?;
        self.store.insert_property(&property).await?;
        Ok(property.into())
    }

    /// Hears of every change of the property's calendar from now on.
    pub fn subscribe(&self, id: Uuid) -> tokio::sync::watch::Receiver<u64> {
        self.calendars.subscribe(id)
    }

    pub async fn get(&self, id: Uuid) -> AppResult<PropertyView> {
        Ok(self.listed(id).await?.into())
    }

    /// The property, if `user` hosts it: 404 if unknown or unlisted, 403 if
    /// not theirs.
    pub(crate) async fn hosted_by(&self, user: Uuid, id: Uuid) -> AppResult<Property> {
        let property = self.listed(id).await?;
        if property.host_id != user {
            return Err(AppError::Forbidden(
                "only the host can change this property",
            ));
        }
        Ok(property)
    }

    pub async fn update(
        &self,
        user: Uuid,
        id: Uuid,
        input: PropertyInput,
    ) -> AppResult<PropertyView> {
        let current = self.hosted_by(user, id).await?;
        let updated = input.into_property(Some(&current), user, self.clock.now())?;
        self.store.update_property(&updated).await?;
        self.changed(id).await;
        Ok(updated.into())
    }

    pub async fn unlist(&self, user: Uuid, id: Uuid) -> AppResult<()> {
        self.hosted_by(user, id).await?;
        self.store
            .unlist_property(id, self.clock.today(), self.clock.now())
            .await?;
        self.changed(id).await;
        Ok(())
    }

    pub async fn search(&self, params: SearchParams) -> AppResult<PropertyPage> {
        let page = self.search_page(params).await?;
        Ok(PropertyPage {
            next_cursor: page.end_cursor.filter(|_| page.more),
            data: page
                .rows
                .into_iter()
                .map(|(_, p)| PropertyView::from(p))
                .collect(),
        })
    }

    /// One page of a search, each property with the cursor that pages on
    /// after it (GraphQL's edges), and whether there is more.
    ///
    /// With dates, the store answers from committed calendars; a calendar
    /// live in this process may already hold a booking of those dates that
    /// is still being written, so its view is asked too and a property it
    /// would refuse is left out: a result never offers dates the calendar
    /// would refuse. The page may then be shorter than `limit`; the cursor
    /// still moves past what was read.
    pub async fn search_page(&self, params: SearchParams) -> AppResult<SearchPage> {
        let query = params.into_query()?;
        let mut rows = self.store.search_properties(&query).await?;
        let more = rows.len() > query.limit as usize;
        rows.truncate(query.limit as usize);
        let cursor = |p: &Property| {
            let key = match query.sort {
                Sort::Newest => 0,
                Sort::PriceAsc | Sort::PriceDesc => p.price_per_night,
                Sort::Rating => p.rating_key(),
            };
            encode_cursor(query.sort, key, p.id)
        };
        let end_cursor = rows.last().map(cursor);
        let rows = rows
            .into_iter()
            .filter(|p| {
                query
                    .stay
                    .is_none_or(|stay| !self.calendars.refuses(p.id, stay))
            })
            .map(|p| (cursor(&p), p))
            .collect();
        Ok(SearchPage {
            rows,
            more,
            end_cursor,
        })
    }

    /// The stay's dates, checked against today as a booking checks them.
    pub fn stay(&self, check_in: CalendarDate, check_out: CalendarDate) -> AppResult<StayDates> {
        StayDates::parse(check_in.date(), check_out.date(), self.clock.today())
            .map_err(|e| AppError::field("check_in", e))
    }

    pub async fn quote(&self, id: Uuid, params: QuoteParams) -> AppResult<Quote> {
        let property = self.listed(id).await?;
        let stay = self.stay(params.check_in, params.check_out)?;
        Ok(price(&property, &stay, params.guests.unwrap_or(1))?.into())
    }
}

/// The price of a stay, checked against the property's rules exactly as a
/// booking will be.
pub fn price(property: &Property, stay: &StayDates, guests: i32) -> AppResult<PriceBreakdown> {
    let mut v = Validator::default();
    if guests < 1 || guests > property.max_guests {
        v.fail(
            "guests",
            format!("must be between 1 and {}", property.max_guests),
        );
    }
    let nights = i64::from(stay.nights());
    if nights < i64::from(property.min_nights) || nights > i64::from(property.max_nights) {
        v.fail(
            "check_out",
            format!(
                "stays here are {} to {} nights",
                property.min_nights, property.max_nights
            ),
        );
    }
    v.finish()?;
    price_stay(stay.nights(), property.nightly_price(), property.cleaning())
        .map_err(|e| AppError::field("check_out", e))
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use async_trait::async_trait;
    use innkeep_actors::SystemClock;
    use tokio::sync::Notify;

    use super::*;
    use crate::cache::LocalCache;
    use crate::properties::PropertyQuery;
    use crate::store::StoreResult;

    /// Properties in memory; a read of the property can be held after it
    /// has read the row, as a slow query would be.
    #[derive(Default)]
    struct HeldReads {
        rows: Mutex<HashMap<Uuid, Property>>,
        hold: Mutex<Option<(Arc<Notify>, Arc<Notify>)>>,
    }

    #[async_trait]
    impl PropertyStore for HeldReads {
        async fn insert_property(&self, property: &Property) -> StoreResult<()> {
            self.rows
                .lock()
                .unwrap()
                .insert(property.id, property.clone());
            Ok(())
        }
        async fn property(&self, id: Uuid) -> StoreResult<Option<Property>> {
            let row = self.rows.lock().unwrap().get(&id).cloned();
            let hold = self.hold.lock().unwrap().take();
            if let Some((read, release)) = hold {
                read.notify_one();
                release.notified().await;
            }
            Ok(row)
        }
        async fn properties_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<Property>> {
            let rows = self.rows.lock().unwrap();
            Ok(ids.iter().filter_map(|id| rows.get(id).cloned()).collect())
        }
        async fn update_property(&self, property: &Property) -> StoreResult<()> {
            self.insert_property(property).await
        }
        async fn unlist_property(
            &self,
            _id: Uuid,
            _today: chrono::NaiveDate,
            _now: chrono::DateTime<chrono::Utc>,
        ) -> StoreResult<()> {
            Ok(())
        }
        async fn search_properties(&self, _query: &PropertyQuery) -> StoreResult<Vec<Property>> {
            Ok(Vec::new())
        }
        async fn announce_property_change(&self, _id: Uuid) -> anyhow::Result<()> {
            Ok(())
        }
    }

    /// A read that loaded the listing before another process changed it,
    /// and finished after the change was heard, must not leave the old
    /// listing cached: the next read serves the new one.
    #[actix_web::test]
    async fn a_read_racing_a_change_elsewhere_does_not_keep_the_old_listing() {
        // The calendars are not read here: their store is an empty one.
        let calendar_store = crate::store::connect(&crate::store::StoreConfig {
            database_url: "sqlite::memory:".into(),
            connections: 1,
        })
        .await
        .unwrap();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let calendars =
            CalendarRegistry::new(calendar_store, clock.clone(), Duration::from_secs(60), 1);
        let store = Arc::new(HeldReads::default());
        let service = PropertyService::new(
            store.clone(),
            Arc::new(LocalCache::new(100)),
            calendars,
            clock,
        );
        let mut property = Property::draft(Uuid::now_v7(), chrono::Utc::now());
        property.title = "Before".into();
        store.insert_property(&property).await.unwrap();

        let (read, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        *store.hold.lock().unwrap() = Some((read.clone(), release.clone()));
        let slow = tokio::spawn({
            let service = service.clone();
            let id = property.id;
            async move { service.get_json(id).await.map(|_| ()) }
        });
        read.notified().await; // it has read "Before"
        property.title = "After".into();
        store.update_property(&property).await.unwrap();
        // The drop has run before the slow read goes on.
        service.changed_elsewhere(property.id).await.unwrap();
        release.notify_one();
        slow.await.unwrap().unwrap();

        assert_eq!(service.listed(property.id).await.unwrap().title, "After");
        let json: serde_json::Value =
            serde_json::from_slice(&service.get_json(property.id).await.unwrap()).unwrap();
        assert_eq!(json["title"], "After");
    }
}
