//! Documents prepared once: a document that passed our limits and juniper's
//! parse and validation is kept, by its text, with the operation juniper
//! validated, so the same document sent again goes straight to execution.
//! Clients send a handful of documents over and over; parsing and
//! validating them again cost more than many resolvers (perf, `property(id)`
//! under wrk).
//!
//! juniper's `ValidatedOperation` borrows the document's text and the
//! schema; a [`Yoke`] keeps it together with what it borrows (an `Arc`
//! holding both), so it can live in a shared cache.
//!
//! Only what holds for every request is kept: an outcome of the limits that
//! read a variable (a page size from `first: $n`) is checked again each
//! time, and a refused document is never kept. The cache is bounded by the
//! documents' size.

use std::sync::Arc;

use juniper::{GraphQLError, ValidatedOperation};
use yoke::{Yoke, Yokeable};

use super::Schema;
use super::answers::PropertyRead;
use super::limits::{self, LimitError, QueryLimits};
use super::mutation::Mutation;
use super::query::Query;
use super::subscription::Subscription;

/// An operation juniper validated, borrowing its document and schema.
#[derive(Yokeable)]
pub struct Operation<'a>(pub ValidatedOperation<'a, Query, Mutation, Subscription>);

/// What an [`Operation`] borrows.
struct Source {
    query: Box<str>,
    schema: Arc<Schema>,
}

/// A document ready to execute.
pub struct Prepared {
    operation: Yoke<Operation<'static>, Arc<Source>>,
    /// The `operationName` it was validated for.
    name: Option<Box<str>>,
    /// The limits read a variable: check them again for every request.
    limits_read_variables: bool,
    /// It reads one listed property's own fields: its answers are kept.
    property_read: Option<PropertyRead>,
}

impl Prepared {
    pub fn operation(&self) -> &ValidatedOperation<'_, Query, Mutation, Subscription> {
        &self.operation.get().0
    }

    pub fn property_read(&self) -> Option<&PropertyRead> {
        self.property_read.as_ref()
    }
}

/// Why a document does not run.
pub enum Refusal {
    /// Our limits (depth, fields, aliases, cost, size, syntax).
    Limits(LimitError),
    /// juniper's parse or validation.
    Invalid(GraphQLError),
}

pub struct PreparedDocuments(moka::sync::Cache<String, Arc<Prepared>>);

impl PreparedDocuments {
    /// The weight of a document: its bytes times what its parsed and
    /// validated form takes per byte, roughly (an AST node per few bytes).
    const BYTES_PER_BYTE: u32 = 16;
    /// Weight kept at most (about 2 MiB of document text).
    const CAPACITY: u64 = 32 << 20;

    pub fn new() -> Self {
        Self(
            moka::sync::Cache::builder()
                .weigher(|query: &String, _| {
                    u32::try_from(query.len())
                        .unwrap_or(u32::MAX)
                        .saturating_mul(Self::BYTES_PER_BYTE)
                })
                .max_capacity(Self::CAPACITY)
                .build(),
        )
    }

    /// The document `query`, with the operation `name`, checked against
    /// `limits` (with the request's `variables`, asked for only when the
    /// check needs them) and validated against `schema`: from the cache
    /// when it was before.
    pub fn prepare(
        &self,
        query: &str,
        name: Option<&str>,
        variables: impl FnOnce() -> Option<serde_json::Value>,
        limits: &QueryLimits,
        schema: &Arc<Schema>,
    ) -> Result<Arc<Prepared>, Refusal> {
        if let Some(prepared) = self.0.get(query).filter(|p| p.name.as_deref() == name) {
            if prepared.limits_read_variables {
                limits::check(query, variables().as_ref(), limits).map_err(Refusal::Limits)?;
            }
            return Ok(prepared);
        }
        let (_, limits_read_variables) =
            limits::check(query, variables().as_ref(), limits).map_err(Refusal::Limits)?;
        let source = Arc::new(Source {
            query: query.into(),
            schema: Arc::clone(schema),
        });
        let operation = Yoke::try_attach_to_cart(source, |source: &Source| {
            ValidatedOperation::new(&source.query, name, &source.schema).map(Operation)
        })
        .map_err(Refusal::Invalid)?;
        let prepared = Arc::new(Prepared {
            operation,
            name: name.map(Into::into),
            limits_read_variables,
            property_read: PropertyRead::of(query, name),
        });
        self.0.insert(query.to_owned(), Arc::clone(&prepared));
        Ok(prepared)
    }
}

impl Default for PreparedDocuments {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(docs: &PreparedDocuments, query: &str, variables: serde_json::Value) -> bool {
        let schema = Arc::new(super::super::schema());
        docs.prepare(
            query,
            None,
            || Some(variables),
            &QueryLimits::default(),
            &schema,
        )
        .is_ok()
    }

    #[test]
    fn a_prepared_document_is_kept_unless_a_variable_sized_it() {
        let docs = PreparedDocuments::new();
        let fixed = "query($id: ID!) { property(id: $id) { id title } }";
        assert!(prepared(&docs, fixed, serde_json::json!({"id": "1"})));
        assert!(docs.0.contains_key(fixed));
        assert!(prepared(&docs, fixed, serde_json::json!({"id": "2"})));
        // Its page size comes from a variable: kept, but the limits are
        // checked again every time, so a later, larger page is refused.
        let sized = "query($n: Int) { properties(first: $n) { edges { node { id } } } }";
        assert!(prepared(&docs, sized, serde_json::json!({"n": 10})));
        assert!(docs.0.contains_key(sized));
        let schema = Arc::new(super::super::schema());
        let refused = docs.prepare(
            sized,
            None,
            || Some(serde_json::json!({"n": 5000})),
            &QueryLimits::default(),
            &schema,
        );
        assert!(matches!(refused, Err(Refusal::Limits(e)) if e.code() == "QUERY_TOO_COMPLEX"));
        // Refused documents are not kept: not by the limits, not by juniper.
        assert!(!prepared(&docs, "{ a { b { c", serde_json::json!({})));
        assert!(!prepared(&docs, "{ noSuchField }", serde_json::json!({})));
        docs.0.run_pending_tasks();
        assert_eq!(docs.0.entry_count(), 2);
    }

    #[test]
    fn an_operation_name_selects_and_is_checked_again() {
        let docs = PreparedDocuments::new();
        let schema = Arc::new(super::super::schema());
        let limits = QueryLimits::default();
        let doc = "query A { me { id } } query B { me { email } }";
        let a = docs.prepare(doc, Some("A"), || None, &limits, &schema);
        assert!(a.is_ok());
        assert!(matches!(
            docs.prepare(doc, Some("C"), || None, &limits, &schema),
            Err(Refusal::Invalid(GraphQLError::UnknownOperationName))
        ));
        assert!(matches!(
            docs.prepare(doc, None, || None, &limits, &schema),
            Err(Refusal::Invalid(GraphQLError::MultipleOperationsProvided))
        ));
        assert!(
            docs.prepare(doc, Some("B"), || None, &limits, &schema)
                .is_ok()
        );
    }
}
