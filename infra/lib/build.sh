# shellcheck shell=bash
# Shared by infra/deploy and infra/demo: how the binaries (compiler, bootstrap, switchyard)
# are built and where they are. Source it after setting `root`.
#
# Every build selects the whole workspace (`--workspace`, or `--bin NAME` without `-p`):
# cargo unifies dependency features over the packages it selects, so a `-p` build resolves
# tokio, hyper and serde differently and rebuilds the AWS SDK crates once more. One profile,
# one feature set: `tests/run` (which builds with `--workspace --bins --tests`), `infra/demo`
# and a local `infra/deploy` share every artifact, and a second build is a no-op.
#
# SWITCHYARD_PROFILE picks the cargo profile: `dev` (target/debug) by default for the local
# stack and the demo, `release` for AWS; any profile in Cargo.toml works.

# The profile's directory under the target directory.
profile_dir() {
  case "$1" in
    dev | test) echo debug ;;
    release | bench) echo release ;;
    *) echo "$1" ;;
  esac
}

# Where cargo puts artifacts (CARGO_TARGET_DIR and build.target-dir included).
cargo_target_dir() {
  (cd "$root" && cargo metadata --format-version 1 --no-deps) |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

# Builds every binary of the workspace in PROFILE (progress shown: the first build takes
# minutes) and sets bin_dir to where they are.
#
# Run from under `cargo run` or `cargo test`, this script sees that package's CARGO_PKG_*,
# CARGO_MANIFEST_DIR, ...; ring's build script reruns when those change, so cargo would
# rebuild ring and the AWS SDK on top of it (and the next plain build again): drop them.
build_binaries() {
  local profile=$1
  (
    for name in $(compgen -e); do
      case "$name" in
        CARGO_PKG_* | CARGO_MANIFEST_* | CARGO_BIN_* | CARGO_CRATE_NAME | CARGO_PRIMARY_PACKAGE | \
          CARGO_TARGET_TMPDIR | OUT_DIR) unset "$name" ;;
      esac
    done
    cd "$root" && cargo build --workspace --bins --profile "$profile"
  )
  bin_dir="$(cargo_target_dir)/$(profile_dir "$profile")"
}
