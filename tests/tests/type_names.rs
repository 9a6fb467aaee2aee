//! Two types that other modules can see never share a name (there were a
//! `store::RecordingStatus` beside `protocol::RecordingStatus`, and a
//! `room::Outbound` beside `peer::Outbound`): a reader, a grep or an import
//! should never have to guess which one is meant.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        // Test modules may name their helpers as they like.
        if name.starts_with("tests") {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, out);
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// The name of a type declared visible outside its module on this line:
/// `pub struct X`, `pub(crate) enum X`, `pub(super) type X = ..`, `pub trait X`.
fn visible_type(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix("pub")?;
    let rest = match rest.strip_prefix('(') {
        Some(r) => r.split_once(')')?.1,
        None => rest,
    };
    let rest = rest.trim_start();
    let rest = ["struct ", "enum ", "type ", "trait "]
        .iter()
        .find_map(|k| rest.strip_prefix(k))?;
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    Some(&rest[..end]).filter(|n| !n.is_empty())
}

/// Error-kind aliases (`Result<T, E = OggError>`) are a convention, not a
/// type of their own.
const CONVENTIONS: &[&str] = &["Result"];

#[test]
fn no_two_visible_types_share_a_name() {
    let root = root();
    let mut files = Vec::new();
    for dir in ["signaling/src", "server/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 20, "found only {} files", files.len());
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        // Stop at an in-file test module: its helpers are private.
        let code = text.split("#[cfg(test)]\nmod tests {").next().unwrap_or("");
        let rel = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string();
        for line in code.lines() {
            if let Some(name) = visible_type(line)
                && !CONVENTIONS.contains(&name)
            {
                seen.entry(name.to_string()).or_default().push(rel.clone());
            }
        }
    }
    let shared: Vec<String> = seen
        .iter()
        .filter(|(_, places)| places.len() > 1)
        .map(|(name, places)| format!("{name}: {}", places.join(", ")))
        .collect();
    assert!(
        shared.is_empty(),
        "types that share a name (rename one so each says what it is):\n  {}",
        shared.join("\n  ")
    );
}

#[test]
fn the_check_reads_declarations() {
    assert_eq!(visible_type("pub struct Notice {"), Some("Notice"));
    assert_eq!(
        visible_type("    pub(crate) enum Command {"),
        Some("Command")
    );
    assert_eq!(visible_type("pub(super) type Queue = X;"), Some("Queue"));
    assert_eq!(visible_type("pub trait Sink<T> {"), Some("Sink"));
    assert_eq!(visible_type("struct Private {"), None);
    assert_eq!(visible_type("pub fn structure() {}"), None);
}
