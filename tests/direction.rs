//! Which module may name which, checked here rather than by a script
//! outside the repository: no import cycle between the modules (files) of
//! `src/` and `actors/src`, and nothing in the store names a feature
//! module above it (the store sits below users, properties, bookings, …;
//! the types it persists live in `domain`).
//!
//! Each `.rs` file is a module; an edge A -> B means A names something of
//! B through `crate::`, `$crate::` or `super::` (in a `use` or inline). A
//! module naming its own ancestor is not an edge (`mod.rs` declares its
//! children). Test modules (`#[cfg(test)] mod …` to the end of a file) and
//! comments are left out. Text only: a path a macro builds from pieces is
//! not seen.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// Every module of the crate rooted at `root` (`src`), with its file.
fn modules(root: &Path) -> BTreeMap<Module, PathBuf> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path
                .strip_prefix(root)
                .unwrap_or_else(|e| panic!("{e}"))
                .with_extension("");
            let mut parts: Module = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.first().is_some_and(|p| p == "bin") {
                continue;
            }
            if parts
                .last()
                .is_some_and(|p| p == "lib" || p == "main" || p == "mod")
            {
                parts.pop();
            }
            out.insert(parts, path);
        }
    }
    out
}

/// The code of a file without comments, string contents and its test
/// module.
fn code(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            out.push_str("\"\"");
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal ('"', '\''); a lifetime goes on as code.
            let end = text[i + 1..].find('\'').map_or(b.len(), |e| i + 2 + e);
            out.push_str("' '");
            i = end.max(i + 3);
        } else {
            let c = text[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    match find_test_module(&out) {
        Some(at) => out[..at].to_owned(),
        None => out,
    }
}

/// Where `#[cfg(test)]` followed by `mod name {` starts.
fn find_test_module(code: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = code[from..].find("#[cfg(test)]") {
        let start = from + at;
        let rest = code[start + "#[cfg(test)]".len()..].trim_start();
        let rest = rest.strip_prefix("pub ").unwrap_or(rest);
        if rest.starts_with("mod ") {
            return Some(start);
        }
        from = start + 1;
    }
    None
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths of a use tree such as `a::{b, c::{d, e as f}}`.
fn expand(tree: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if tree.is_empty() {
        return;
    }
    if let Some(open) = tree.find('{') {
        let head: Vec<String> = tree[..open]
            .split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let body = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let mut prefix = prefix.to_vec();
        prefix.extend(head);
        let (mut depth, mut cur) = (0, String::new());
        for c in body.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if c == ',' && depth == 0 {
                expand(&cur, &prefix, out);
                cur.clear();
            } else {
                cur.push(c);
            }
        }
        expand(&cur, &prefix, out);
        return;
    }
    let path = tree.split(" as ").next().unwrap_or(tree);
    let mut full = prefix.to_vec();
    full.extend(
        path.split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from),
    );
    out.push(full);
}

/// Paths named from `crate::` / `$crate::` / `super::` / `self::`, made
/// absolute (crate-relative) from module `here`.
fn refs(code: &str, here: &Module) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut rest = String::with_capacity(code.len());
    // `use` items (their trees can span lines).
    let mut i = 0;
    while i < code.len() {
        let at_word = i == 0 || !code[..i].ends_with(is_ident);
        if at_word && code[i..].starts_with("use ") {
            let end = code[i..].find(';').map_or(code.len(), |e| i + e);
            let tree = code[i + 4..end].trim();
            if ["crate", "$crate", "super", "self"]
                .iter()
                .any(|root| tree.starts_with(&format!("{root}::")) || tree == *root)
            {
                expand(tree, &[], &mut found);
            }
            i = end + 1;
            continue;
        }
        let c = code[i..].chars().next().unwrap_or(' ');
        rest.push(c);
        i += c.len_utf8();
    }
    // Inline paths.
    for root in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(at) = rest[from..].find(root) {
            let start = from + at;
            from = start + root.len();
            if rest[..start].ends_with(is_ident) {
                continue;
            }
            let mut path = vec![root.trim_end_matches(':').to_owned()];
            let mut tail = &rest[start + root.len()..];
            loop {
                let len = tail.find(|c: char| !is_ident(c)).unwrap_or(tail.len());
                if len == 0 {
                    break;
                }
                path.push(tail[..len].to_owned());
                match tail[len..].strip_prefix("::") {
                    Some(next) => tail = next,
                    None => break,
                }
            }
            found.push(path);
        }
    }
    found
        .into_iter()
        .filter_map(|mut path| {
            let mut base = here.clone();
            let root = path.first().cloned().unwrap_or_default();
            if root == "crate" || root == "$crate" {
                path.remove(0);
                return Some(path);
            }
            while let Some(first) = path.first() {
                match first.as_str() {
                    "super" => {
                        base.pop();
                    }
                    "self" => {}
                    _ => break,
                }
                path.remove(0);
            }
            (root == "super" || root == "self").then(|| {
                base.extend(path);
                base
            })
        })
        .collect()
}

/// Module -> the modules it names.
fn graph(
    root: &Path,
) -> (
    BTreeMap<Module, PathBuf>,
    BTreeMap<Module, BTreeSet<Module>>,
) {
    let mods = modules(root);
    let mut graph = BTreeMap::new();
    for (here, file) in &mods {
        let text =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let edges: &mut BTreeSet<Module> = graph.entry(here.clone()).or_default();
        for path in refs(&code(&text), here) {
            // The longest prefix that is a module, unless it is this one
            // or one of its ancestors.
            for k in (1..=path.len()).rev() {
                let target = path[..k].to_vec();
                if mods.contains_key(&target) {
                    if target != *here && !here.starts_with(&target) {
                        edges.insert(target);
                    }
                    break;
                }
            }
        }
    }
    (mods, graph)
}

/// Strongly connected groups of two or more modules (Tarjan).
fn cycles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct Tarjan<'g> {
        graph: &'g BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'g Module, usize>,
        low: BTreeMap<&'g Module, usize>,
        stack: Vec<&'g Module>,
        on: BTreeSet<&'g Module>,
        out: Vec<Vec<Module>>,
    }
    impl<'g> Tarjan<'g> {
        fn visit(&mut self, v: &'g Module) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let Some((w, _)) = self.graph.get_key_value(w) else {
                    continue;
                };
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on.remove(w);
                    group.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.out.push(group);
                }
            }
        }
    }
    let mut t = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !t.index.contains_key(v) {
            t.visit(v);
        }
    }
    t.out
}

fn crate_root(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[test]
fn no_module_names_a_module_that_names_it_back() {
    let mut found = Vec::new();
    for root in ["src", "actors/src"] {
        let (mods, graph) = graph(&crate_root(root));
        assert!(mods.len() > 10, "{root}: only {} modules found", mods.len());
        for group in cycles(&graph) {
            let files: Vec<String> = group
                .iter()
                .map(|m| mods[m].display().to_string())
                .collect();
            found.push(files.join(" <-> "));
        }
    }
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

/// The modules above the store: what it may never name.
const ABOVE_THE_STORE: [&str; 14] = [
    "auth",
    "bookings",
    "graphql",
    "http",
    "imports",
    "jobs",
    "notifications",
    "payments",
    "properties",
    "reviews",
    "seed",
    "services",
    "startup",
    "users",
];

#[test]
fn the_store_names_nothing_above_it() {
    let (mods, graph) = graph(&crate_root("src"));
    let mut found = Vec::new();
    for (module, edges) in &graph {
        if module.first().is_none_or(|m| m != "store") {
            continue;
        }
        for target in edges {
            if target
                .first()
                .is_some_and(|t| ABOVE_THE_STORE.contains(&t.as_str()))
            {
                found.push(format!(
                    "{} names {}",
                    mods[module].display(),
                    target.join("::")
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the store names modules above it:\n{}",
        found.join("\n")
    );
}

/// The checker itself: it sees a cycle and an upward name when there is
/// one (else the two tests above would pass on any code).
#[test]
fn the_checker_sees_what_it_looks_for() {
    let dir = std::env::temp_dir().join(format!("innkeep-direction-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("store")).unwrap_or_else(|e| panic!("{e}"));
    let files = [
        ("lib.rs", "pub mod a;\npub mod store;\npub mod users;\n"),
        (
            "a.rs",
            "use crate::users::{User, Name as N};\n// crate::store in a comment\n",
        ),
        (
            "users.rs",
            "pub struct User;\npub fn f() { crate::a::g(); }\n",
        ),
        ("store/mod.rs", "mod sql;\n"),
        (
            "store/sql.rs",
            "macro_rules! m { () => { use $crate::users::User; } }\n\
             fn s() -> &'static str { \"crate::a\" }\n\
             #[cfg(test)]\nmod tests { use crate::a; }\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(src.join(name), text).unwrap_or_else(|e| panic!("{e}"));
    }
    let (mods, graph) = graph(&src);
    std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(mods.len(), 5, "{mods:?}");
    let m = |path: &str| -> Module { path.split("::").map(String::from).collect() };
    assert_eq!(graph[&m("a")], BTreeSet::from([m("users")]));
    assert_eq!(graph[&m("users")], BTreeSet::from([m("a")]));
    // The string and the test module name nothing; the macro does.
    assert_eq!(graph[&m("store::sql")], BTreeSet::from([m("users")]));
    assert_eq!(cycles(&graph), vec![vec![m("a"), m("users")]]);
}
