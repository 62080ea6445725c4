//! The Switchyard compiler: the `compiler` binary (`main.rs`) discovers every linked workflow
//! and writes what `switchyard_back` renders. The back ends live in `compiler/back` so the
//! `workflow!` macro can run the same whole-definition checks at `cargo build`.

pub use switchyard_back::*;
