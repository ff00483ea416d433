//! Listings and their search (`PropertyStore`), one macro for both
//! backends. The search filters whose SQL differs (amenities, bbox, grid
//! cell) are the backend's `push_has_amenity`, `push_in_bbox` and
//! `push_in_cell`; `ORDER_FENCE` keeps an
//! ordered inner query from being merged into the outer one.

macro_rules! impl_property_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use chrono::{DateTime, NaiveDate, Utc};
            use uuid::Uuid;

            use innkeep_actors::domain::DateRange;

            use $crate::domain::properties::{BBox, Property, PropertyQuery, Sort};
            use $crate::store::columns::{PROPERTY_COLUMNS, RATING_KEY};
            use $crate::store::{StoreError, StoreResult};

            #[async_trait::async_trait]
            impl $crate::store::PropertyStore for $store {
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

                async fn properties_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<Property>> {
                    if ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                        "SELECT {PROPERTY_COLUMNS} FROM properties WHERE id IN ("
                    ));
                    let mut list = qb.separated(", ");
                    for id in ids.iter().take(100) {
                        list.push_bind(*id);
                    }
                    qb.push(")");
                    // Planned for these values every time (an unnamed
                    // statement): a plan cached for one city would be wrong
                    // for a bbox over half a continent.
                    Ok(qb
                        .build_query_as::<Property>()
                        .persistent(false)
                        .fetch_all(self.reader())
                        .await?)
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
                    let columns = PROPERTY_COLUMNS.replace("id, host_id", "p.id, p.host_id");
                    // Keyset pagination: the cursor is the sort key and id of the
                    // last row served; rows strictly after it come next.
                    let (key, descending) = match q.sort {
                        Sort::Newest => (None, true),
                        Sort::PriceAsc => (Some(PRICE_KEY), false),
                        Sort::PriceDesc => (Some(PRICE_KEY), true),
                        Sort::Rating => (Some(RATING_KEY), true),
                    };
                    let (cmp, dir) = if descending { ("<", "DESC") } else { (">", "ASC") };
                    let order = |key: Option<&str>| match key {
                        Some(key) => format!(" ORDER BY {key} {dir}, p.id {dir}"),
                        None => format!(" ORDER BY p.id {dir}"),
                    };
                    let limit = i64::from(q.limit) + 1;
                    // A box of a few grid cells, with dates, by price: each
                    // cell's listings are read in price order from
                    // `properties_cell_price_idx` (which holds every column
                    // filtered on), probing their calendars as they go, and
                    // stop at a page's worth; the cells' pages are merged
                    // (PostgreSQL: a Merge Append). A city-centre box reads
                    // a few dozen index entries, not its thousand listings.
                    // The LIMIT in each cell is what keeps the planner from
                    // probing every listing of the cell and sorting after.
                    let grid = match (&q.stay, key) {
                        (Some(stay), Some(PRICE_KEY)) => {
                            q.bbox.as_ref().and_then(BBox::grid_cells).map(|cells| (stay, cells))
                        }
                        _ => None,
                    };
                    if let Some((stay, cells)) = grid {
                        let mut qb = sqlx::QueryBuilder::<$db>::new(format!("SELECT {columns} FROM ("));
                        for (i, cell) in cells.into_iter().enumerate() {
                            if i > 0 {
                                qb.push(" UNION ALL ");
                            }
                            qb.push(format!(
                                "SELECT * FROM (SELECT p.id, {PRICE_KEY} AS sort_key FROM properties p \
                                 WHERE p.listed AND "
                            ));
                            Self::push_in_cell(&mut qb, cell);
                            push_filters(&mut qb, q, key, cmp);
                            push_free(&mut qb, stay);
                            qb.push(order(key))
                                .push(" LIMIT ")
                                .push_bind(limit)
                                .push(format!(") cell{i}"));
                        }
                        qb.push(format!(" ORDER BY sort_key {dir}, id {dir} LIMIT "))
                            .push_bind(limit)
                            .push(") page JOIN properties p ON p.id = page.id")
                            .push(order(Some("page.sort_key")));
                        return Ok(qb.build_query_as::<Property>().fetch_all(self.reader()).await?);
                    }
                    // With dates and any other bbox, the listings that pass
                    // every other filter are put in order first (an inner
                    // query the planner keeps apart), and only then are their
                    // calendars probed, one by one, until the page is full: a
                    // box of a thousand listings sorted by price probes
                    // twenty-odd calendars, not a thousand. The inner query
                    // selects only the id and the sort key, which the covering
                    // location index holds with every column it filters on
                    // (`properties_location_cover_idx`), so the box's
                    // candidates are read from the index alone; the page's rows
                    // are joined in last. (A bbox comes from the GiST index,
                    // which gives no order; the other filters' indexes give
                    // one, and there the planner already probes lazily.)
                    let fenced = q.stay.is_some() && q.bbox.is_some();
                    let mut qb = if fenced {
                        let (inner_key, page_key) = match key {
                            Some(key) => (format!(", {key} AS sort_key"), ", p.sort_key"),
                            None => (String::new(), ""),
                        };
                        sqlx::QueryBuilder::<$db>::new(format!(
                            "SELECT {columns} FROM (SELECT p.id{page_key} FROM \
                             (SELECT p.id{inner_key} FROM properties p WHERE p.listed"
                        ))
                    } else {
                        sqlx::QueryBuilder::<$db>::new(format!(
                            "SELECT {columns} FROM properties p WHERE p.listed"
                        ))
                    };
                    push_filters(&mut qb, q, key, cmp);
                    if let Some(stay) = q.stay.as_ref().filter(|_| !fenced) {
                        push_free(&mut qb, stay);
                    }
                    qb.push(order(key));
                    if let Some(stay) = q.stay.as_ref().filter(|_| fenced) {
                        qb.push(Self::ORDER_FENCE).push(") p WHERE TRUE");
                        push_free(&mut qb, stay);
                        qb.push(order(key.map(|_| "p.sort_key")));
                    }
                    qb.push(" LIMIT ").push_bind(limit);
                    if fenced {
                        qb.push(") page JOIN properties p ON p.id = page.id");
                        qb.push(order(key.map(|_| "page.sort_key")));
                    }
                    // A price range or an amenity is planned for its values
                    // every time (an unnamed statement): a generic plan would
                    // guess their selectivity, and a wide range walked in the
                    // wrong index reads the catalogue. The other filters'
                    // estimates do not depend on the values, so their
                    // statements are prepared once per connection and their
                    // plans reused (planning cost more than running them).
                    let custom = q.min_price.is_some() || q.max_price.is_some() || !q.amenities.is_empty();
                    Ok(qb
                        .build_query_as::<Property>()
                        .persistent(!custom)
                        .fetch_all(self.reader())
                        .await?)
                }

                async fn announce_property_change(&self, id: Uuid) -> anyhow::Result<()> {
                    self.announce_change(id);
                    Ok(())
                }
            }

            /// The sort key of the price sorts.
            const PRICE_KEY: &str = "p.price_per_night";

            /// Every filter of a search but its free dates, after a
            /// `WHERE p.listed`; the cursor compares `key` (or the id) with
            /// `cmp`.
            fn push_filters(
                qb: &mut sqlx::QueryBuilder<$db>,
                q: &PropertyQuery,
                key: Option<&str>,
                cmp: &str,
            ) {
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
                    <$store>::push_has_amenity(qb, amenity.clone());
                }
                if let Some(b) = &q.bbox {
                    qb.push(" AND ");
                    <$store>::push_in_bbox(qb, b);
                }
                if let Some(stay) = &q.stay {
                    // Bookable for that many nights.
                    let nights = i32::try_from((stay.end - stay.start).num_days()).unwrap_or(i32::MAX);
                    qb.push(" AND p.min_nights <= ").push_bind(nights)
                        .push(" AND p.max_nights >= ").push_bind(nights);
                }
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
            }

            /// Free for the stay: no active range of `p` ends after check-in
            /// and starts before check-out (`calendar_entries_ahead_idx`).
            fn push_free(qb: &mut sqlx::QueryBuilder<$db>, stay: &DateRange) {
                qb.push(" AND NOT EXISTS (SELECT 1 FROM calendar_entries c \
                          WHERE c.property_id = p.id AND c.active AND c.end_date > ")
                    .push_bind(stay.start)
                    .push(" AND c.start_date < ")
                    .push_bind(stay.end)
                    .push(")");
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
    };
}

pub(super) use impl_property_store;
