//! `cargo run -p compiler -- [--out DIR] [--check] [--workflow NAME]`
//!
//! Finds every workflow declared with `workflow!` in the linked crates, validates it, and
//! writes its ASL, Mermaid diagram and the deployment manifest.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use compiler::{compile, Artefacts};

#[derive(Parser)]
#[command(about = "Compile Switchyard workflows to Step Functions state machines")]
struct Args {
    /// Where to write the artefacts.
    #[arg(long, default_value = "build")]
    out: PathBuf,
    /// Do not write: fail if the output directory is not up to date.
    #[arg(long)]
    check: bool,
    /// Compile only this workflow (its kebab-case name).
    #[arg(long, value_name = "NAME")]
    workflow: Option<String>,
}

fn main() -> ExitCode {
    switchyard_agents::link();
    let args = Args::parse();
    let mut workflows: Vec<_> = switchyard_sdk::workflows()
        .into_iter()
        .map(|w| (w.definition)())
        .collect();
    if let Some(only) = &args.workflow {
        workflows.retain(|w| &w.name == only);
        if workflows.is_empty() {
            let known: Vec<String> = switchyard_sdk::workflows()
                .iter()
                .map(|w| w.name.to_owned())
                .collect();
            eprintln!(
                "error: no workflow named `{only}`; declared: {}",
                known.join(", ")
            );
            return ExitCode::FAILURE;
        }
    }
    let agents = compiler::linked_agents();
    let artefacts = match compile(&workflows, &agents) {
        // One workflow: only its own files, so the shared manifest and template in the
        // output directory keep describing every workflow.
        Ok(mut artefacts) if args.workflow.is_some() => {
            artefacts.retain(|name, _| {
                workflows
                    .iter()
                    .any(|w| name.starts_with(&format!("{}.", w.name)))
            });
            artefacts
        }
        Ok(artefacts) => artefacts,
        Err(errors) => {
            for error in &errors {
                eprintln!("error: {error}");
            }
            eprintln!("{} error(s); nothing written", errors.len());
            return ExitCode::FAILURE;
        }
    };
    let result = if args.check {
        check(&args.out, &artefacts, args.workflow.is_none())
    } else {
        write(&args.out, &artefacts)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn write(out: &Path, artefacts: &Artefacts) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    for (name, contents) in artefacts {
        let path = out.join(name);
        std::fs::write(&path, contents)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Compares the directory with what would be written; with `complete`, files the compiler
/// would not write (a removed workflow's leftovers) count as stale too.
fn check(out: &Path, artefacts: &Artefacts, complete: bool) -> Result<(), String> {
    let mut stale = Vec::new();
    for (name, contents) in artefacts {
        match std::fs::read_to_string(out.join(name)) {
            Ok(existing) if existing == *contents => {}
            Ok(_) => stale.push(format!("{name} differs")),
            Err(_) => stale.push(format!("{name} is missing")),
        }
    }
    if complete {
        if let Ok(entries) = std::fs::read_dir(out) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !artefacts.contains_key(&name) {
                    stale.push(format!("{name} is not produced by any declared workflow"));
                }
            }
        }
    }
    if stale.is_empty() {
        println!(
            "{} is up to date ({} files)",
            out.display(),
            artefacts.len()
        );
        Ok(())
    } else {
        Err(format!(
            "{} is out of date:\n  {}\nrun `cargo run -p compiler` to regenerate it",
            out.display(),
            stale.join("\n  ")
        ))
    }
}
