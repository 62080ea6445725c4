//! Every emitted definition passes `asl-validator`, an independent implementation of the
//! Amazon States Language spec (the npm package, pinned in `tests/package.json`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn validator() -> PathBuf {
    let path = repo().join("tests/node_modules/.bin/asl-validator");
    assert!(
        path.exists(),
        "asl-validator is not installed at {}; run `npm ci --prefix tests` (the README's test command does)",
        path.display()
    );
    path
}

fn validate(definition: &Path) -> (bool, String) {
    let output = Command::new(validator())
        .arg("--json-path")
        .arg(definition)
        .output()
        .expect("asl-validator runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[test]
fn every_emitted_definition_is_valid_asl() {
    let mut checked = 0;
    for entry in std::fs::read_dir(repo().join("build")).expect("build/ exists") {
        let path = entry.expect("entry").path();
        if path.to_string_lossy().ends_with(".asl.json") {
            let (ok, text) = validate(&path);
            assert!(ok, "{} is not valid ASL:\n{text}", path.display());
            checked += 1;
        }
    }
    assert_eq!(
        checked, 12,
        "one definition per seed workflow, the six self-tests and the benchmark chain"
    );
}

#[test]
fn the_validator_rejects_a_broken_definition() {
    // Proves the check above can fail: a Next pointing nowhere must be refused.
    let dir = std::env::temp_dir().join(format!("switchyard-asl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("broken.asl.json");
    std::fs::write(
        &path,
        r#"{"StartAt":"a","States":{"a":{"Type":"Pass","Next":"nowhere"}}}"#,
    )
    .expect("write");
    let (ok, text) = validate(&path);
    assert!(
        !ok,
        "a dangling Next must be rejected, validator said:\n{text}"
    );
}
