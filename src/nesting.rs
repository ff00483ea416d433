//! How deep untrusted JSON may nest, checked by a linear scan before any
//! recursive code sees it: REST bodies and GraphQL POST bodies (`ApiJson`),
//! GraphQL `variables` sent with GET, WebSocket messages and Stripe
//! events. (GraphQL documents have their own scan, `graphql::limits`.)
//!
//! serde_json stops at 128 levels by itself, but only while no crate in
//! the build turns on its `unbounded_depth` feature (features are unified
//! across the build), and what walks the value after it is recursive too:
//! serde_path_to_error, juniper's `InputValue`, serialising variables
//! again, and dropping a `serde_json::Value`. A named bound, well below
//! what any of them can take, does not depend on any of that.

use std::fmt;

/// `[`/`{` open at once in a JSON text at most: far deeper than any body
/// of ours or event of Stripe's, far shallower than what overflows a stack.
pub const MAX_JSON_NESTING: usize = 64;

/// JSON nested deeper than [`MAX_JSON_NESTING`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep;

impl fmt::Display for TooDeep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JSON nested more than {MAX_JSON_NESTING} levels deep")
    }
}

impl std::error::Error for TooDeep {}

/// Refuses `json` if it opens more than [`MAX_JSON_NESTING`] arrays or
/// objects at once, not counting brackets inside strings. Text that is not
/// JSON is left for the parser to refuse: up to where it stops, the scan
/// counts at least the nesting it sees.
pub fn check_json(json: &[u8]) -> Result<(), TooDeep> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in json {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_NESTING {
                    return Err(TooDeep);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        "[".repeat(depth) + &"]".repeat(depth)
    }

    #[test]
    fn nesting_up_to_the_bound_passes_and_one_more_does_not() {
        assert_eq!(check_json(nested(MAX_JSON_NESTING).as_bytes()), Ok(()));
        assert_eq!(
            check_json(nested(MAX_JSON_NESTING + 1).as_bytes()),
            Err(TooDeep)
        );
        // Objects count as arrays do, and siblings do not add up.
        let objects = r#"{"a":"#.repeat(MAX_JSON_NESTING) + "1" + &"}".repeat(MAX_JSON_NESTING);
        assert_eq!(check_json(objects.as_bytes()), Ok(()));
        assert_eq!(check_json(format!("[{objects}]").as_bytes()), Err(TooDeep));
        let wide = format!("[{}]", "[[]],".repeat(10_000) + "1");
        assert_eq!(check_json(wide.as_bytes()), Ok(()));
        // Unclosed brackets count all the same (the parser would recurse
        // before it found out).
        assert_eq!(check_json("[".repeat(100_000).as_bytes()), Err(TooDeep));
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let text = format!(
            r#"{{"a": "{}", "b": "\"{}\\", "c": [1]}}"#,
            "[".repeat(1_000),
            "{".repeat(1_000)
        );
        assert_eq!(check_json(text.as_bytes()), Ok(()));
        // An escaped quote does not end the string; an escaped backslash does.
        let escaped = format!(r#"["\"{}"]"#, "[".repeat(100));
        assert_eq!(check_json(escaped.as_bytes()), Ok(()));
        let ended = format!(r#"["\\"{}"]"#, "[".repeat(100));
        assert_eq!(check_json(ended.as_bytes()), Err(TooDeep));
    }
}
