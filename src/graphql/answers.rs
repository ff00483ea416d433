//! Answers kept for documents that read one listed property's own fields.
//!
//! `query($id: ID!) { property(id: $id) { title pricePerNight … } }` is
//! what a listing page sends, over and over, for a few popular properties.
//! When a document selects nothing but `property(id)` and, under it, only
//! fields that are a function of the stored property alone (no argument,
//! no viewer, no other row: [`OWN_FIELDS`]), its answer is a function of
//! the property as the property service holds it in memory. So the answer
//! juniper produced is kept next to the snapshot (`Arc<Property>`) it came
//! from, and served again while the service still holds that very
//! snapshot (`Arc::ptr_eq`): any change to the property (an edit, a
//! review, unlisting, another process's change, the cache's TTL) replaces
//! the snapshot, and the kept answer is never served again. The snapshot
//! is looked up through the same service call the resolver makes, so an
//! unlisted or unknown property still goes to execution and its error.
//!
//! Execution (juniper's per-field futures) costs more than the rest of a
//! request together for such a document (perf, `loadtests/README.md`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::web::Bytes;
use graphql_parser::query::{Definition, Document, OperationDefinition, Selection, Value};
use juniper::{InputValue, ScalarValue};
use uuid::Uuid;

use crate::properties::Property;

/// The fields of `Property` whose value is a function of the stored
/// property alone: no argument, nothing about who asks, no other row.
/// A field is added here only if that holds for it (a unit test checks
/// that each is a field of `Property` without arguments).
pub const OWN_FIELDS: &[&str] = &[
    "__typename",
    "id",
    "title",
    "description",
    "city",
    "country",
    "latitude",
    "longitude",
    "pricePerNight",
    "currency",
    "cleaningFee",
    "maxGuests",
    "bedrooms",
    "amenities",
    "cancellationPolicy",
    "instantBook",
    "minNights",
    "maxNights",
    "listed",
    "ratingAvg",
    "reviewCount",
    "createdAt",
    "updatedAt",
];

/// Where the property's id comes from.
#[derive(Debug)]
enum IdSource {
    Literal(String),
    Variable(String),
}

/// A document whose answer is a function of one listed property.
#[derive(Debug)]
pub struct PropertyRead {
    /// This document, among all prepared ones (never reused).
    document: u64,
    id: IdSource,
}

static DOCUMENTS: AtomicU64 = AtomicU64::new(0);

impl PropertyRead {
    /// The operation `name` of `query` (a document juniper validated), if
    /// it reads one listed property's own fields and nothing else.
    pub fn of(query: &str, name: Option<&str>) -> Option<Self> {
        let doc: Document<'_, &str> = graphql_parser::parse_query(query).ok()?;
        let mut operations = doc.definitions.iter().filter_map(|d| match d {
            Definition::Operation(op) => Some(op),
            Definition::Fragment(_) => None,
        });
        let operation = match name {
            Some(name) => operations
                .find(|op| matches!(op, OperationDefinition::Query(q) if q.name == Some(name)))?,
            None => {
                let only = operations.next()?;
                if operations.next().is_some() {
                    return None;
                }
                only
            }
        };
        let set = match operation {
            OperationDefinition::SelectionSet(set) => set,
            OperationDefinition::Query(q) if q.directives.is_empty() => &q.selection_set,
            _ => return None,
        };
        let [Selection::Field(root)] = set.items.as_slice() else {
            return None;
        };
        if root.name != "property" || !root.directives.is_empty() {
            return None;
        }
        let [("id", value)] = root.arguments.as_slice() else {
            return None;
        };
        let id = match value {
            Value::Variable(name) => IdSource::Variable((*name).to_owned()),
            Value::String(text) => IdSource::Literal(text.clone()),
            _ => return None,
        };
        let own = root.selection_set.items.iter().all(|s| {
            matches!(s, Selection::Field(f)
                if f.arguments.is_empty()
                    && f.directives.is_empty()
                    && f.selection_set.items.is_empty()
                    && OWN_FIELDS.contains(&f.name))
        });
        own.then(|| Self {
            document: DOCUMENTS.fetch_add(1, Ordering::Relaxed),
            id,
        })
    }

    /// The property this request reads: `None` where the id is not a
    /// string UUID (execution answers those, with their error).
    pub fn property_id(&self, variables: Option<&InputValue>) -> Option<Uuid> {
        let text = match &self.id {
            IdSource::Literal(text) => text.as_str(),
            IdSource::Variable(name) => match variables? {
                InputValue::Object(fields) => fields
                    .iter()
                    .find(|(key, _)| key.item == *name)
                    .and_then(|(_, value)| value.item.as_scalar())
                    .and_then(|scalar| scalar.try_as_str())?,
                _ => return None,
            },
        };
        text.parse().ok()
    }
}

#[derive(Clone)]
struct Answer {
    property: Arc<Property>,
    body: Bytes,
}

/// Kept answers, by document and property, bounded by their bytes.
pub struct Answers(moka::sync::Cache<(u64, Uuid), Answer>);

impl Answers {
    /// Bytes of answers kept at most.
    const CAPACITY: u64 = 16 << 20;

    pub fn new() -> Self {
        Self(
            moka::sync::Cache::builder()
                .weigher(|_, answer: &Answer| {
                    u32::try_from(answer.body.len())
                        .unwrap_or(u32::MAX)
                        .saturating_add(64)
                })
                .max_capacity(Self::CAPACITY)
                .build(),
        )
    }

    /// The answer kept for `read` of property `id`, if it was made from
    /// `current`, the snapshot the property service holds now.
    pub fn get(&self, read: &PropertyRead, id: Uuid, current: &Arc<Property>) -> Option<Bytes> {
        self.0
            .get(&(read.document, id))
            .filter(|answer| Arc::ptr_eq(&answer.property, current))
            .map(|answer| answer.body)
    }

    /// Keeps `body`, the answer execution made from `property`.
    pub fn keep(&self, read: &PropertyRead, id: Uuid, property: Arc<Property>, body: Bytes) {
        self.0
            .insert((read.document, id), Answer { property, body });
    }
}

impl Default for Answers {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(query: &str, name: Option<&str>) -> bool {
        PropertyRead::of(query, name).is_some()
    }

    #[test]
    fn only_documents_of_one_propertys_own_fields_are_kept() {
        assert!(reads(
            "query($id: ID!) { property(id: $id) { id title pricePerNight } }",
            None
        ));
        assert!(reads(
            r#"{ p: property(id: "6b1f") { __typename name: title } }"#,
            None
        ));
        assert!(reads(
            "query A { me { id } } query B($id: ID!) { property(id: $id) { id } }",
            Some("B")
        ));
        for refused in [
            // Another row, or arguments, or who asks.
            "query($id: ID!) { property(id: $id) { id host { name } } }",
            "query($id: ID!) { property(id: $id) { reviews { rating } } }",
            "query($id: ID!) { property(id: $id) { availability { from } } }",
            // Two root fields, fragments, directives, other roots.
            "query($id: ID!) { property(id: $id) { id } me { id } }",
            "query($id: ID!) { property(id: $id) { ...F } } fragment F on Property { id }",
            "query($id: ID!) { property(id: $id) { ... on Property { id } } }",
            "query($id: ID!, $s: Boolean!) { property(id: $id) { id @include(if: $s) } }",
            "query($id: ID!) @cached { property(id: $id) { id } }",
            "query($id: ID!) { property(id: $id) @skip(if: false) { id } }",
            "{ me { id } }",
            "mutation($id: ID!) { unlistProperty(id: $id) { id } }",
            "{ property(id: 7) { id } }",
            "query A($id: ID!) { property(id: $id) { id } } query B { me { id } }",
        ] {
            assert!(!reads(refused, None), "{refused}");
        }
        assert!(!reads(
            "query A { me { id } } query B($id: ID!) { property(id: $id) { id } }",
            Some("A")
        ));
    }

    #[test]
    fn the_id_comes_from_the_literal_or_the_variable() {
        let id = Uuid::now_v7();
        let literal = PropertyRead::of(&format!(r#"{{ property(id: "{id}") {{ id }} }}"#), None);
        assert_eq!(literal.and_then(|r| r.property_id(None)), Some(id));
        let read = PropertyRead::of("query($p: ID!) { property(id: $p) { id } }", None);
        let read = read.map(|r| {
            let vars = |v: serde_json::Value| serde_json::from_value::<InputValue>(v).ok();
            (
                r.property_id(vars(serde_json::json!({"p": id.to_string()})).as_ref()),
                r.property_id(vars(serde_json::json!({"q": id.to_string()})).as_ref()),
                r.property_id(vars(serde_json::json!({"p": "not-a-uuid"})).as_ref()),
                r.property_id(vars(serde_json::json!({"p": 12})).as_ref()),
                r.property_id(None),
            )
        });
        assert_eq!(read, Some((Some(id), None, None, None, None)));
    }

    #[test]
    fn every_own_field_is_a_field_of_property_without_arguments() {
        let sdl = super::super::schema().as_sdl();
        let schema: graphql_parser::schema::Document<'_, String> =
            graphql_parser::parse_schema(&sdl).unwrap_or_else(|e| panic!("the SDL parses: {e}"));
        let property = schema
            .definitions
            .iter()
            .find_map(|d| match d {
                graphql_parser::schema::Definition::TypeDefinition(
                    graphql_parser::schema::TypeDefinition::Object(o),
                ) if o.name == "Property" => Some(o),
                _ => None,
            })
            .unwrap_or_else(|| panic!("Property is in the schema"));
        for name in OWN_FIELDS.iter().filter(|n| !n.starts_with("__")) {
            let field = property.fields.iter().find(|f| f.name == *name);
            assert!(
                field.is_some_and(|f| f.arguments.is_empty()),
                "{name} is a field of Property without arguments"
            );
        }
    }
}
