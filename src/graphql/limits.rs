//! Pre-execution query limits: depth, field count, alias count and a simple cost,
//! computed on the parsed document (fragments expanded) before juniper parses,
//! validates or executes anything, so an abusive query is refused in
//! microseconds to milliseconds, on HTTP and on every WebSocket `subscribe`.
//!
//! Parser: `graphql-parser` 0.4 (public, stable API; juniper 0.18 already depends on it
//! through its `schema-language` feature, so it adds no new crate to the build).
//! juniper's own parser is `#[doc(hidden)]`, without a semver promise.
//!
//! graphql-parser is a recursive-descent parser without a depth limit: very deep
//! input (e.g. 100k `{`) would overflow the stack. `prescan()` rejects such input
//! with a linear byte scan before the parser ever sees it.

use std::collections::{HashMap, HashSet};

use graphql_parser::query::{
    Definition, Document, FragmentDefinition, OperationDefinition, Selection, SelectionSet, Value,
};

/// Configurable limits. `Default` are the values used by the spike.
#[derive(Clone, Copy, Debug)]
pub struct QueryLimits {
    /// Bytes of the query text.
    pub max_query_bytes: usize,
    /// Raw `{`/`[` nesting allowed before parsing (stack safety of the parser).
    pub max_nesting: usize,
    /// Field depth: `{ a { b } }` has depth 2. Fragments and inline fragments add no depth,
    /// their fields count at the depth of the spread.
    pub max_depth: usize,
    /// Depth allowed for operations that select ONLY introspection root fields (`__schema`,
    /// `__type`, `__typename`). GraphiQL's introspection query (graphql-js
    /// `getIntrospectionQuery`, `ofType` nested 9 times) has depth 15 and 215 fields.
    /// Such an operation reads the schema only, never data: the extra depth is
    /// for that `ofType` chain, one type per level.
    pub max_introspection_depth: usize,
    /// Introspection's lists of a type (`fields`, `inputFields`, `interfaces`,
    /// `possibleTypes`) nested in one another, in any operation. Depth alone
    /// does not bound introspection: `types { fields { type { fields { type …`
    /// multiplies its answer by the schema's size at every level while costing
    /// one per field here. GraphiQL's query nests them once; graphql-js
    /// (`MaxIntrospectionDepthRule`) refuses three, as this does.
    pub max_introspection_lists: usize,
    /// Fields after fragment expansion (a fragment spread 3 times counts 3 times).
    pub max_fields: u64,
    /// Aliased fields after fragment expansion.
    pub max_aliases: u64,
    /// Cost: every field costs 1; the cost of a field's sub-selection is multiplied by its
    /// page size (`first`/`last`/`limit` argument, or a default for known list fields).
    pub max_cost: u64,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            max_query_bytes: 64 * 1024,
            max_nesting: 64,
            max_depth: 12,
            max_introspection_depth: 16,
            max_introspection_lists: 2,
            max_fields: 500,
            max_aliases: 50,
            max_cost: 5_000,
        }
    }
}

/// Introspection fields that list a type's members (see
/// [`QueryLimits::max_introspection_lists`]).
const INTROSPECTION_LISTS: &[&str] = &["fields", "inputFields", "interfaces", "possibleTypes"];

/// Page size assumed for list fields that are queried without `first`/`last`/`limit`:
/// the connections' default page (20), and the few lists that are short by nature.
fn default_list_size(field_name: &str) -> u64 {
    match field_name {
        "properties" | "bookings" | "reviews" => 20,
        "unavailable" | "amenities" => 10,
        _ => 1,
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryStats {
    pub depth: usize,
    /// Introspection lists nested in one another ([`INTROSPECTION_LISTS`]).
    pub introspection_lists: usize,
    pub fields: u64,
    pub aliases: u64,
    pub cost: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LimitError {
    TooLarge { bytes: usize, max: usize },
    TooDeep { depth: usize, max: usize },
    IntrospectionTooDeep { lists: usize, max: usize },
    TooManyFields { fields: u64, max: u64 },
    TooManyAliases { aliases: u64, max: u64 },
    TooCostly { cost: u64, max: u64 },
    Syntax(String),
    UnknownFragment(String),
}

impl LimitError {
    /// Value for `errors[].extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "QUERY_TOO_LARGE",
            Self::TooDeep { .. } | Self::IntrospectionTooDeep { .. } => "QUERY_TOO_DEEP",
            Self::TooManyFields { .. } => "QUERY_TOO_MANY_FIELDS",
            Self::TooManyAliases { .. } => "QUERY_TOO_MANY_ALIASES",
            Self::TooCostly { .. } => "QUERY_TOO_COMPLEX",
            Self::Syntax(_) => "GRAPHQL_PARSE_FAILED",
            Self::UnknownFragment(_) => "GRAPHQL_VALIDATION_FAILED",
        }
    }

    /// A GraphQL-over-HTTP style error object: `{"message", "extensions": {"code", ...}}`.
    pub fn to_graphql_error(&self) -> serde_json::Value {
        serde_json::json!({
            "message": self.to_string(),
            "extensions": { "code": self.code() },
        })
    }
}

impl std::fmt::Display for LimitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge { bytes, max } => write!(f, "query is {bytes} bytes, limit is {max}"),
            Self::TooDeep { depth, max } => write!(f, "query depth {depth} exceeds limit {max}"),
            Self::IntrospectionTooDeep { lists, max } => write!(
                f,
                "introspection nests fields, inputFields, interfaces or possibleTypes \
                 {lists} deep, limit {max}"
            ),
            Self::TooManyFields { fields, max } => {
                write!(f, "query has {fields} fields, limit is {max}")
            }
            Self::TooManyAliases { aliases, max } => {
                write!(f, "query has {aliases} aliases, limit is {max}")
            }
            Self::TooCostly { cost, max } => write!(f, "query cost {cost} exceeds limit {max}"),
            Self::Syntax(e) => write!(f, "syntax error: {e}"),
            Self::UnknownFragment(n) => write!(f, "unknown fragment `{n}`"),
        }
    }
}

impl std::error::Error for LimitError {}

/// Checks `query` against `limits`. `variables` are used to read `first: $n` page sizes.
/// Every operation of the document is checked (not just the selected one), so a
/// document cannot smuggle an expensive operation past the check with `operationName`.
pub fn check_query(
    query: &str,
    variables: Option<&serde_json::Value>,
    limits: &QueryLimits,
) -> Result<QueryStats, LimitError> {
    check(query, variables, limits).map(|(stats, _)| stats)
}

/// [`check_query`], and whether its outcome read a variable (a page size
/// from `first: $n`): an outcome that read none holds for every request
/// that sends the same document.
pub fn check(
    query: &str,
    variables: Option<&serde_json::Value>,
    limits: &QueryLimits,
) -> Result<(QueryStats, bool), LimitError> {
    if query.len() > limits.max_query_bytes {
        return Err(LimitError::TooLarge {
            bytes: query.len(),
            max: limits.max_query_bytes,
        });
    }
    prescan(query, limits.max_nesting)?;
    let doc: Document<'_, &str> =
        graphql_parser::parse_query(query).map_err(|e| LimitError::Syntax(e.to_string()))?;

    let mut walker = Walker {
        fragments: HashMap::new(),
        memo: HashMap::new(),
        open: HashSet::new(),
        variables,
        read_variables: std::cell::Cell::new(false),
    };
    for def in &doc.definitions {
        if let Definition::Fragment(f) = def {
            walker.fragments.insert(f.name, f);
        }
    }

    let mut total = QueryStats::default();
    for def in &doc.definitions {
        let Definition::Operation(op) = def else {
            continue;
        };
        let set = match op {
            OperationDefinition::SelectionSet(s) => s,
            OperationDefinition::Query(q) => &q.selection_set,
            OperationDefinition::Mutation(m) => &m.selection_set,
            OperationDefinition::Subscription(s) => &s.selection_set,
        };
        let s = walker.selection_set(set)?;
        let introspection_only = set
            .items
            .iter()
            .all(|sel| matches!(sel, Selection::Field(f) if f.name.starts_with("__")));
        let max_depth = if introspection_only {
            limits.max_introspection_depth
        } else {
            limits.max_depth
        };
        if s.depth > max_depth {
            return Err(LimitError::TooDeep {
                depth: s.depth,
                max: max_depth,
            });
        }
        if s.introspection_lists > limits.max_introspection_lists {
            return Err(LimitError::IntrospectionTooDeep {
                lists: s.introspection_lists,
                max: limits.max_introspection_lists,
            });
        }
        total.depth = total.depth.max(s.depth);
        total.introspection_lists = total.introspection_lists.max(s.introspection_lists);
        total.fields = total.fields.saturating_add(s.fields);
        total.aliases = total.aliases.saturating_add(s.aliases);
        total.cost = total.cost.saturating_add(s.cost);
    }

    if total.aliases > limits.max_aliases {
        return Err(LimitError::TooManyAliases {
            aliases: total.aliases,
            max: limits.max_aliases,
        });
    }
    if total.fields > limits.max_fields {
        return Err(LimitError::TooManyFields {
            fields: total.fields,
            max: limits.max_fields,
        });
    }
    if total.cost > limits.max_cost {
        return Err(LimitError::TooCostly {
            cost: total.cost,
            max: limits.max_cost,
        });
    }
    Ok((total, walker.read_variables.get()))
}

/// Linear scan of `{` / `[` / `(` nesting, skipping strings, block strings and comments.
/// Keeps the recursive parser from overflowing the stack on hostile input. A comment ends
/// at `\r` as at `\n`, as graphql-parser and juniper end it: skipping further would leave
/// brackets they read uncounted. A string ends there too (juniper refuses a carriage
/// return in one; ending early only counts more).
fn prescan(query: &str, max_nesting: usize) -> Result<(), LimitError> {
    let b = query.as_bytes();
    let (mut i, mut depth, mut max_seen) = (0usize, 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'#' => {
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if b[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < b.len() && !b[i..].starts_with(b"\"\"\"") {
                    i += if b[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < b.len() && !matches!(b[i], b'"' | b'\n' | b'\r') {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                max_seen = max_seen.max(depth);
                if depth > max_nesting {
                    return Err(LimitError::TooDeep {
                        depth: max_seen,
                        max: max_nesting,
                    });
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

struct Walker<'q, 'd> {
    fragments: HashMap<&'q str, &'d FragmentDefinition<'q, &'q str>>,
    /// Stats of each fragment's selection set, computed once: a "fragment bomb"
    /// (each fragment spreading the next one 10 times) is checked in linear time.
    memo: HashMap<&'q str, QueryStats>,
    /// Fragments on the current path (cycle guard; juniper's validation reports the cycle).
    open: HashSet<&'q str>,
    variables: Option<&'d serde_json::Value>,
    /// Whether a page size was read from a variable.
    read_variables: std::cell::Cell<bool>,
}

impl<'q, 'd> Walker<'q, 'd> {
    fn selection_set(
        &mut self,
        set: &'d SelectionSet<'q, &'q str>,
    ) -> Result<QueryStats, LimitError> {
        let mut acc = QueryStats::default();
        for sel in &set.items {
            let s = match sel {
                Selection::Field(field) => {
                    let child = self.selection_set(&field.selection_set)?;
                    let page = self.page_size(field.name, &field.arguments);
                    let list = INTROSPECTION_LISTS.contains(&field.name);
                    QueryStats {
                        depth: child.depth + 1,
                        introspection_lists: child.introspection_lists + usize::from(list),
                        fields: child.fields.saturating_add(1),
                        aliases: child.aliases + u64::from(field.alias.is_some()),
                        cost: child.cost.saturating_mul(page).saturating_add(1),
                    }
                }
                Selection::InlineFragment(f) => self.selection_set(&f.selection_set)?,
                Selection::FragmentSpread(spread) => self.fragment(spread.fragment_name)?,
            };
            acc.depth = acc.depth.max(s.depth);
            acc.introspection_lists = acc.introspection_lists.max(s.introspection_lists);
            acc.fields = acc.fields.saturating_add(s.fields);
            acc.aliases = acc.aliases.saturating_add(s.aliases);
            acc.cost = acc.cost.saturating_add(s.cost);
        }
        Ok(acc)
    }

    fn fragment(&mut self, name: &'q str) -> Result<QueryStats, LimitError> {
        if let Some(s) = self.memo.get(name) {
            return Ok(*s);
        }
        if !self.open.insert(name) {
            return Ok(QueryStats::default()); // cycle: juniper's validation rejects it
        }
        let def = *self
            .fragments
            .get(name)
            .ok_or_else(|| LimitError::UnknownFragment(name.to_owned()))?;
        #[cfg(test)]
        tests::FRAGMENT_WALKS.with(|walks| walks.set(walks.get() + 1));
        let s = self.selection_set(&def.selection_set)?;
        self.open.remove(name);
        self.memo.insert(name, s);
        Ok(s)
    }

    fn page_size(&self, field_name: &str, args: &[(&'q str, Value<'q, &'q str>)]) -> u64 {
        for (name, value) in args {
            if matches!(*name, "first" | "last" | "limit") {
                let n = match value {
                    Value::Int(n) => n.as_i64(),
                    Value::Variable(v) => {
                        self.read_variables.set(true);
                        self.variables
                            .and_then(|vars| vars.get(*v))
                            .and_then(serde_json::Value::as_i64)
                    }
                    _ => None,
                };
                if let Some(n) = n {
                    return n.clamp(1, 10_000) as u64;
                }
            }
        }
        default_list_size(field_name)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    thread_local! {
        /// How many fragment bodies this thread's checks walked: each
        /// fragment once (`Walker::memo`), however often it is spread.
        pub(super) static FRAGMENT_WALKS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    fn nested(depth: usize) -> String {
        // { a { a { ... { id } } } }
        let mut q = String::new();
        for _ in 0..depth - 1 {
            q.push_str("{ a ");
        }
        q.push_str("{ id }");
        for _ in 0..depth - 1 {
            q.push_str(" }");
        }
        q
    }

    #[test]
    fn counts_depth_aliases_fields_cost() {
        let q = r#"
            query Q($n: Int) {
              me { id name }
              cheap: items(first: 2) { id title }
              dear: items(first: $n) { ...Bits }
            }
            fragment Bits on Item { id owner { name } }
        "#;
        let vars = serde_json::json!({"n": 100});
        let s = check_query(q, Some(&vars), &QueryLimits::default()).unwrap();
        // me{id name}=3 fields; cheap{id title}=3; dear{id owner{name}}=4
        assert_eq!(s.fields, 10);
        assert_eq!(s.aliases, 2);
        assert_eq!(s.depth, 3);
        // me: 1+2 = 3; cheap: 1 + 2*2 = 5; dear: 1 + 100*(1 + (1+1)) = 301
        assert_eq!(s.cost, 309);
    }

    #[test]
    fn refuses_depth_50_plain_and_through_fragments() {
        let limits = QueryLimits::default();
        let err = check_query(&nested(50), None, &limits).unwrap_err();
        assert_eq!(err, LimitError::TooDeep { depth: 50, max: 12 });
        assert_eq!(err.code(), "QUERY_TOO_DEEP");

        // 50 levels, each in its own fragment: raw nesting is only 2, so only the walk catches it.
        let mut q = String::from("{ ...F0 }\n");
        for i in 0..49 {
            q.push_str(&format!(
                "fragment F{i} on Item {{ a {{ ...F{} }} }}\n",
                i + 1
            ));
        }
        q.push_str("fragment F49 on Item { id }\n");
        FRAGMENT_WALKS.with(|walks| walks.set(0));
        let err = check_query(&q, None, &limits).unwrap_err();
        assert_eq!(err, LimitError::TooDeep { depth: 50, max: 12 });
        assert_eq!(FRAGMENT_WALKS.with(std::cell::Cell::get), 50);
    }

    #[test]
    fn refuses_1000_aliases_and_fragment_bombs_fast() {
        let limits = QueryLimits::default();
        let mut q = String::from("{");
        for i in 0..1000 {
            q.push_str(&format!(" a{i}: me {{ id }}"));
        }
        q.push('}');
        let err = check_query(&q, None, &limits).unwrap_err();
        assert_eq!(
            err,
            LimitError::TooManyAliases {
                aliases: 1000,
                max: 50
            }
        );

        // Aliases hidden in a fragment spread 20 times: 20 x 10 = 200 aliases.
        let mut q = String::from("{ ");
        for i in 0..20 {
            q.push_str(&format!("x{i}: me {{ ...A }} "));
        }
        q.push_str("}\nfragment A on User {");
        for i in 0..10 {
            q.push_str(&format!(" n{i}: name"));
        }
        q.push('}');
        let err = check_query(&q, None, &limits).unwrap_err();
        assert_eq!(
            err,
            LimitError::TooManyAliases {
                aliases: 20 + 200,
                max: 50
            }
        );

        // Fragment bomb: F0 spreads F1 ten times, ... 10 levels => 10^10 fields; checked in linear time.
        let mut q = String::from("{ me { ...F0 } }\n");
        for i in 0..10 {
            q.push_str(&format!(
                "fragment F{i} on User {{ {} }}\n",
                format!("...F{} ", i + 1).repeat(10)
            ));
        }
        q.push_str("fragment F10 on User { id }\n");
        FRAGMENT_WALKS.with(|walks| walks.set(0));
        let err = check_query(&q, None, &limits).unwrap_err();
        assert!(matches!(err, LimitError::TooManyFields { .. }), "{err:?}");
        // Each of the 11 fragments walked once, not 10^10 times.
        assert_eq!(FRAGMENT_WALKS.with(std::cell::Cell::get), 11);
    }

    #[test]
    fn refuses_deep_raw_nesting_without_parsing() {
        // 100k nested `{` would overflow graphql-parser's recursion; the prescan refuses it.
        let q = "{ a ".repeat(100_000);
        let err = check_query(
            &q,
            None,
            &QueryLimits {
                max_query_bytes: usize::MAX,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(err.code(), "QUERY_TOO_DEEP");
        // Braces inside strings and comments do not count.
        let q = format!(
            "{{ item(id: \"{}\") {{ id }} }} # {}",
            "{".repeat(500),
            "[".repeat(500)
        );
        check_query(&q, None, &QueryLimits::default()).unwrap();
        // A comment or an unclosed string ends at a carriage return, as
        // the parsers end them: what follows counts.
        let deep = "{".repeat(100);
        for hidden in [format!("# x\r{deep}"), format!("{{ a(s: \"x\r{deep}")] {
            let err = check_query(&hidden, None, &QueryLimits::default()).unwrap_err();
            assert_eq!(err.code(), "QUERY_TOO_DEEP", "{hidden:?}");
        }
    }

    #[test]
    fn cost_limit_uses_page_size_variables() {
        let q = "query($n: Int){ items(first: $n) { id owner { name } } }";
        let limits = QueryLimits::default();
        check_query(q, Some(&serde_json::json!({"n": 10})), &limits).unwrap();
        let err = check_query(q, Some(&serde_json::json!({"n": 5000})), &limits).unwrap_err();
        assert_eq!(err.code(), "QUERY_TOO_COMPLEX");
    }

    /// `{ __type(name: "Query") { ofType { … { name } } } }`, `depth` deep.
    fn of_type_chain(depth: usize) -> String {
        let chain = depth - 2;
        format!(
            "{{ __type(name: \"Query\") {}{{ name }}{} }}",
            "{ ofType ".repeat(chain),
            " }".repeat(chain)
        )
    }

    #[test]
    fn depth_limits_hold_at_their_exact_boundaries() {
        let limits = QueryLimits::default();
        assert_eq!(check_query(&nested(12), None, &limits).unwrap().depth, 12);
        assert_eq!(
            check_query(&nested(13), None, &limits).unwrap_err(),
            LimitError::TooDeep { depth: 13, max: 12 }
        );
        // Introspection alone: the schema's `ofType` chain, to 16.
        assert_eq!(
            check_query(&of_type_chain(16), None, &limits)
                .unwrap()
                .depth,
            16
        );
        assert_eq!(
            check_query(&of_type_chain(17), None, &limits).unwrap_err(),
            LimitError::TooDeep { depth: 17, max: 16 }
        );
        // Beside a data field it is an ordinary operation again.
        let mixed = of_type_chain(13).replacen('{', "{ me { id }", 1);
        assert_eq!(
            check_query(&mixed, None, &limits).unwrap_err(),
            LimitError::TooDeep { depth: 13, max: 12 }
        );
    }

    #[test]
    fn introspection_lists_nest_twice_at_most_however_shallow() {
        let limits = QueryLimits::default();
        let lists = |n: usize| {
            format!(
                "{{ __schema {{ types {}{{ name }}{} }} }}",
                "{ fields { type ".repeat(n),
                " } }".repeat(n)
            )
        };
        let two = check_query(&lists(2), None, &limits).unwrap();
        assert_eq!((two.depth, two.introspection_lists), (7, 2));
        // Three, 9 deep: within both depth limits, and still refused.
        let err = check_query(&lists(3), None, &limits).unwrap_err();
        assert_eq!(err, LimitError::IntrospectionTooDeep { lists: 3, max: 2 });
        assert_eq!(err.code(), "QUERY_TOO_DEEP");
        // Through fragments, with other lists, beside data: the same.
        let q = "{ me { id } __type(name: \"Query\") { ...A } }
            fragment A on __Type { interfaces { possibleTypes { ...B } } }
            fragment B on __Type { inputFields { name } }";
        assert_eq!(
            check_query(q, None, &limits).unwrap_err(),
            LimitError::IntrospectionTooDeep { lists: 3, max: 2 }
        );
    }

    #[test]
    fn graphiql_introspection_query_passes_but_deep_introspection_does_not() {
        let q = include_str!("../../tests/fixtures/graphiql-introspection.graphql");
        let s = check_query(q, None, &QueryLimits::default()).unwrap();
        assert_eq!(
            s,
            QueryStats {
                depth: 15,
                introspection_lists: 1,
                fields: 215,
                aliases: 0,
                cost: 215
            }
        );
        // Introspection mixed with normal fields gets the normal depth limit.
        let mixed = q.replacen("__schema {", "me { id } __schema {", 1);
        assert_eq!(
            check_query(&mixed, None, &QueryLimits::default()).unwrap_err(),
            LimitError::TooDeep { depth: 15, max: 12 }
        );
        // The classic introspection DoS nests `fields { type { fields ...` far deeper.
        let deep = format!(
            "{{ __schema {{ types {} }} }}",
            "{ fields { type ".repeat(10) + "{ name }" + &" } }".repeat(10)
        );
        assert_eq!(
            check_query(&deep, None, &QueryLimits::default())
                .unwrap_err()
                .code(),
            "QUERY_TOO_DEEP"
        );
    }
}
