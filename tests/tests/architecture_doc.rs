//! `docs/architecture.md` is the map of the code for newcomers. It drifted
//! once (it missed the admin console, the policy, retention, drain, TURN,
//! metrics, the check page and nine test files), so this test fails when a
//! module, a web-client file or a test file is not named in it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Every file below `dir` whose name ends in one of `exts`, relative to `dir`.
fn files(dir: &Path, exts: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                // Installed packages (the browser tests' node_modules) are
                // not the project's code.
                if !path.ends_with("node_modules") {
                    stack.push(path);
                }
            } else if exts.iter().any(|e| path.to_string_lossy().ends_with(e))
                && let Ok(rel) = path.strip_prefix(dir)
            {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

/// The backticked words of the document, e.g. `media/engine/timers.rs`.
fn code_spans(doc: &str) -> BTreeSet<String> {
    doc.split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.trim().to_string())
        .collect()
}

/// A file is named when a code span is its path, or the tail of its path
/// after a `/` (`engine/timers.rs`, `timers.rs`).
fn named(rel: &str, spans: &BTreeSet<String>) -> bool {
    spans
        .iter()
        .any(|s| rel == s || rel.ends_with(&format!("/{s}")))
}

/// Test modules (`tests.rs`, `tests_fuzz.rs`, files in `tests/` or
/// `tests_fuzz/`) belong to their module, not to the architecture.
fn is_test_module(rel: &str) -> bool {
    rel.split('/').any(|part| part.starts_with("tests"))
}

#[test]
fn every_module_and_test_file_is_in_the_architecture_doc() {
    let root = root();
    let doc = std::fs::read_to_string(root.join("docs/architecture.md"))
        .expect("docs/architecture.md is readable");
    let spans = code_spans(&doc);

    let mut missing = Vec::new();
    for (dir, exts) in [
        ("signaling/src", &[".rs"][..]),
        ("server/src", &[".rs"][..]),
        ("web-client", &[".js", ".html", ".css"][..]),
        ("tests/tests", &[".rs"][..]),
        ("tests/src", &[".rs"][..]),
        ("tests/browser", &[".mjs"][..]),
    ] {
        let all = files(&root.join(dir), exts);
        assert!(!all.is_empty(), "no files found under {dir}");
        for rel in all {
            let test_dir = dir.starts_with("tests/");
            if !test_dir && is_test_module(&rel) {
                continue;
            }
            if !named(&rel, &spans) {
                missing.push(format!("{dir}/{rel}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/architecture.md does not name these files (add a line saying what each does):\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn the_check_sees_a_missing_file() {
    let spans = code_spans("the loop is in `engine.rs` and the heap in `engine/timers.rs`");
    assert!(named("media/engine/timers.rs", &spans));
    assert!(named("media/engine.rs", &spans));
    assert!(!named("media/engine/pinning.rs", &spans));
    assert!(!named("media/xengine.rs", &spans));
}
