//! The README's main command, `switchyard demo`, and `--json` output, run as the built binary
//! against the live local stack (`infra/local-up && infra/deploy --target local
//! --auto-approve` first, or `tests/run`).
//!
//! These need the deployed stack, so they are `#[ignore]`d in the unit-test pass (which runs
//! before the stack is up) and run with the end-to-end tests:
//! `cargo test -p switchyard --test demo -- --ignored`.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const GATES: [&str; 3] = ["approve_strategy", "approve_content", "approve_deployment"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the built `switchyard` from the repository root, killing it after `limit`.
fn switchyard(args: &[&str], limit: Duration) -> Ran {
    let deployed = root().join(".cache/deployed-local.json");
    assert!(
        deployed.is_file(),
        "{} is missing: start and deploy the local stack first (`infra/local-up && infra/deploy --target local --auto-approve`, or `tests/run`)",
        deployed.display()
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .current_dir(root())
        .env_remove("SWITCHYARD_API_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the switchyard binary starts");
    let reader = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = reader(Box::new(child.stdout.take().expect("stdout")));
    let stderr = reader(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for switchyard") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "switchyard {} did not finish in {limit:?}; stderr: {}",
                args.join(" "),
                stderr.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Ran {
        code: status.code(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// The output is exactly one JSON document (and nothing else).
fn one_json_document(ran: &Ran) -> Value {
    let mut documents = serde_json::Deserializer::from_str(&ran.stdout).into_iter::<Value>();
    let first = documents
        .next()
        .unwrap_or_else(|| panic!("no JSON on stdout; stderr: {}", ran.stderr))
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", ran.stdout));
    assert!(
        documents.next().is_none(),
        "more than one document on stdout: {}",
        ran.stdout
    );
    first
}

#[test]
#[ignore = "needs the deployed local stack: cargo test -p switchyard --test demo -- --ignored"]
fn the_demo_runs_the_campaign_through_its_three_gates_and_summarises_it() {
    let ran = switchyard(
        &[
            "demo",
            "--month",
            "2024-11",
            "--brand",
            "acme",
            "--auto-approve",
            "--no-deploy",
        ],
        Duration::from_secs(180),
    );
    assert_eq!(
        ran.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        ran.stdout,
        ran.stderr
    );
    let out = &ran.stdout;
    let run_id = out
        .split("run ")
        .nth(1)
        .and_then(|rest| rest.split(" started: campaign-creation").next())
        .filter(|id| !id.contains(char::is_whitespace))
        .unwrap_or_else(|| panic!("no `run <id> started: campaign-creation` line:\n{out}"))
        .to_owned();
    assert!(
        out.contains("for brand acme, month 2024-11"),
        "the start line names brand and month:\n{out}"
    );
    // Live progress: steps as they finish, and each gate with its decision.
    assert!(out.contains("✓ analyze"), "{out}");
    for gate in GATES {
        assert!(
            out.lines()
                .any(|l| l.contains(&format!("✓ {gate}: approved"))),
            "progress does not show {gate} approved:\n{out}"
        );
    }
    // The summary: the run, its step table with a total row, approvals, output, artefacts.
    assert!(
        out.contains(&format!("run {run_id}  campaign-creation  succeeded")),
        "{out}"
    );
    let total = out
        .lines()
        .find(|l| l.starts_with("total "))
        .unwrap_or_else(|| panic!("no total row:\n{out}"));
    assert!(
        total.contains("succeeded") && total.contains('$'),
        "{total}"
    );
    let approvals = out
        .split("\napprovals:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no approvals section:\n{out}"));
    for gate in GATES {
        assert!(
            approvals.contains(&format!("{gate}  approved")),
            "{gate} not in the summary:\n{approvals}"
        );
    }
    assert!(
        out.contains("\noutput:\n") && out.contains("deployment_id"),
        "{out}"
    );
    assert!(out.contains("\nartefacts:\n"), "{out}");
    let saved = root().join(".cache/demo").join(&run_id).join("run.json");
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(&saved).unwrap_or_else(|e| panic!("{}: {e}", saved.display())),
    )
    .expect("run.json is JSON");
    assert_eq!(saved["status"], "succeeded");
    assert_eq!(saved["run_id"], run_id.as_str());

    // The same run through `--json`: exactly one document each.
    let ran = switchyard(&["--json", "runs", "get", &run_id], Duration::from_secs(60));
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let run = one_json_document(&ran);
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["approvals"].as_array().map(Vec::len), Some(3));
}

#[test]
#[ignore = "needs the deployed local stack: cargo test -p switchyard --test demo -- --ignored"]
fn json_output_is_exactly_one_document() {
    let ran = switchyard(
        &["--json", "runs", "list", "--limit", "3"],
        Duration::from_secs(60),
    );
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let page = one_json_document(&ran);
    let runs = page["runs"].as_array().expect("runs");
    assert!(runs.len() <= 3, "{page}");
    assert!(page.get("next_cursor").is_some(), "{page}");
    let created: Vec<u64> = runs
        .iter()
        .filter_map(|r| r["created_at"].as_u64())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first");

    let ran = switchyard(
        &[
            "--json",
            "runs",
            "list",
            "--status",
            "succeeded",
            "--workflow",
            "campaign-creation",
            "--limit",
            "2",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let page = one_json_document(&ran);
    for run in page["runs"].as_array().expect("runs") {
        assert_eq!(run["status"], "succeeded");
        assert_eq!(run["workflow"], "campaign-creation");
    }

    // Errors too are one JSON document, with the API's code and field, and exit 1.
    let ran = switchyard(
        &["--json", "runs", "list", "--status", "sideways"],
        Duration::from_secs(60),
    );
    assert_eq!(ran.code, Some(1), "{}", ran.stdout);
    let error = one_json_document(&ran);
    assert_eq!(error["error"], "bad_request", "{error}");
    assert_eq!(error["field"], "status", "{error}");
    assert_eq!(error["status"], 400, "{error}");

    let ran = switchyard(&["--json", "workflows"], Duration::from_secs(60));
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    one_json_document(&ran);
}
