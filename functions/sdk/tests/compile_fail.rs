//! The mistakes a user can make in `#[agent]` and `workflow!`, each shown with the error
//! `cargo build` reports (`tests/ui/*.stderr`), plus one declaration using every construct
//! that must compile and run.
//!
//! Regenerate the snapshots after a deliberate change to a message or span with
//! `TRYBUILD=overwrite cargo test -p switchyard-sdk --test compile_fail`, then read the diff.

use std::path::PathBuf;

#[test]
fn ui() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let mut failing: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/ui exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .filter(|path| {
            !path
                .file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("pass_"))
        })
        .collect();
    failing.sort();
    assert!(
        failing.len() >= 18,
        "expected the whole suite, found {} cases",
        failing.len()
    );

    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass_full_language.rs");
    t.pass("tests/ui/pass_serde_shapes.rs");
    for path in &failing {
        t.compile_fail(
            path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                .expect("under the crate"),
        );
    }
}
