//! The committed `build/` directory is the golden output: compiling the seed workflows must
//! reproduce it byte for byte. `cargo run -p compiler` regenerates it after a deliberate
//! change; `git diff build/` then shows exactly what changed in the emitted definitions.

use std::path::PathBuf;

use compiler::{compile, AgentInfo};
use serde_json::{json, Value};

fn build_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../build")
}

fn seed_artefacts() -> compiler::Artefacts {
    switchyard_agents::link();
    let workflows: Vec<_> = switchyard_sdk::workflows()
        .iter()
        .map(|w| (w.definition)())
        .collect();
    let agents: Vec<AgentInfo> = switchyard_sdk::agents()
        .iter()
        .map(|a| AgentInfo {
            name: a.name.into(),
            description: a.description.into(),
            input_type: (a.input_type)(),
            output_type: (a.output_type)(),
        })
        .collect();
    compile(&workflows, &agents).unwrap_or_else(|errors| panic!("seeds must compile: {errors:?}"))
}

#[test]
fn all_five_seed_workflows_are_discovered() {
    let artefacts = seed_artefacts();
    for seed in [
        "campaign-creation",
        "sales-outreach",
        "movie-production",
        "enterprise-coordinator",
        "dev-team",
    ] {
        assert!(
            artefacts.contains_key(&format!("{seed}.asl.json")),
            "{seed} missing"
        );
        assert!(
            artefacts.contains_key(&format!("{seed}.mmd")),
            "{seed} diagram missing"
        );
    }
}

#[test]
fn build_directory_matches_the_compiler_output() {
    for (name, expected) in seed_artefacts() {
        let path = build_dir().join(&name);
        let actual = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; run `cargo run -p compiler`", path.display()));
        assert!(
            actual == expected,
            "{name} is stale; run `cargo run -p compiler` and review `git diff build/`"
        );
    }
}

#[test]
fn compiling_twice_gives_identical_bytes() {
    assert_eq!(seed_artefacts(), seed_artefacts());
}

fn asl(name: &str) -> Value {
    serde_json::from_str(&seed_artefacts()[&format!("{name}.asl.json")]).expect("ASL is JSON")
}

#[test]
fn agent_tasks_use_substituted_arns_and_pass_the_run_context() {
    let def = asl("campaign-creation");
    let analyze = &def["States"]["analyze"];
    assert_eq!(analyze["Resource"], "${AgentAnalystArn}");
    assert_eq!(analyze["Parameters"]["input.$"], "$.data");
    let context = &analyze["Parameters"]["context"];
    assert_eq!(context["run_id.$"], "$$.Execution.Name");
    assert_eq!(context["tenant_id.$"], "$.meta.tenant_id");
    assert_eq!(context["step"], "analyze");
    assert_eq!(context["attempt.$"], "$$.State.RetryCount");
    assert_eq!(analyze["Retry"][0]["MaxAttempts"], 2);
    let text = serde_json::to_string(&def).expect("serialises");
    assert!(
        !text.contains("arn:aws:lambda"),
        "no hard-coded function ARNs"
    );
}

#[test]
fn approval_gates_wait_for_a_task_token_and_route_rejects_and_timeouts() {
    let def = asl("campaign-creation");
    let gate = &def["States"]["approve_content"];
    assert_eq!(
        gate["Resource"],
        "arn:aws:states:::lambda:invoke.waitForTaskToken"
    );
    assert_eq!(
        gate["Parameters"]["Payload"]["task_token.$"],
        "$$.Task.Token"
    );
    assert_eq!(gate["TimeoutSeconds"], 86400);
    assert_eq!(gate["Catch"][0]["ErrorEquals"][0], "States.Timeout");
    assert_eq!(gate["Catch"][0]["Next"], "approve_content-expired");
    let expired = &def["States"]["approve_content-expired"];
    assert_eq!(expired["Parameters"]["phase"], "approval_expired");
    assert_eq!(expired["Next"], "approve_content-timed-out");
    let decision = &def["States"]["approve_content-decision"];
    assert_eq!(decision["Choices"][0]["StringEquals"], "reject");
    assert_eq!(decision["Choices"][0]["Next"], "rework");
    assert_eq!(decision["Default"], "prepare");
    let rejected = &def["States"]["approve_strategy-rejected"];
    assert_eq!(rejected["Result"]["Error"], "Switchyard.Rejected");
    assert_eq!(rejected["Next"], "fail-run");
}

#[test]
fn choices_of_a_pick_one_gate_are_passed_to_the_approval_request() {
    let def = asl("movie-production");
    let gate = &def["States"]["pick_concept"]["Parameters"]["Payload"]["gate"];
    assert_eq!(gate["choices"].as_array().map(Vec::len), Some(4));
}

#[test]
fn enum_match_uses_the_serde_names_of_the_variants() {
    let def = asl("movie-production");
    let choices = &def["States"]["story_verdict"]["Choices"];
    assert_eq!(choices[0]["StringEquals"], "approved");
    assert_eq!(choices[1]["StringEquals"], "needs_revision");
    assert_eq!(choices[0]["Variable"], "$.data.verdict");
    assert!(def["States"]["story_verdict"].get("Default").is_none());
}

#[test]
fn bounded_loops_count_in_meta_and_exit_when_exhausted() {
    let def = asl("movie-production");
    assert_eq!(
        def["States"]["init-run"]["Parameters"]["meta"]["loops"]["revisions"],
        0
    );
    assert_eq!(
        def["States"]["revisions"]["Parameters"]["revisions.$"],
        "States.MathAdd($.meta.loops.revisions, 1)"
    );
    let check = &def["States"]["revisions-check"];
    assert_eq!(check["Choices"][0]["NumericGreaterThan"], 3);
    assert_eq!(check["Choices"][0]["Next"], "revisions-exhausted");
    assert_eq!(check["Default"], "revise_story");
}

#[test]
fn maps_iterate_a_field_with_bounded_concurrency_and_enforce_max_items() {
    let def = asl("sales-outreach");
    let map = &def["States"]["emails"];
    assert_eq!(map["ItemsPath"], "$.data.deals");
    assert_eq!(map["MaxConcurrency"], 4);
    assert_eq!(
        map["ItemProcessor"]["States"]["write_email"]["Parameters"]["context"]["item.$"],
        "$.meta.item"
    );
    assert_eq!(def["States"]["intelligence"]["Next"], "emails-count");
    assert_eq!(
        def["States"]["emails-limit"]["Choices"][0]["NumericGreaterThan"],
        50
    );
    let retry = &map["ItemProcessor"]["States"]["write_email"]["Retry"][0];
    assert_eq!(retry["JitterStrategy"], "FULL");
    assert_eq!(retry["ErrorEquals"][0], "Agent.Retryable");
}

#[test]
fn a_conditional_step_is_skipped_unless_its_condition_holds() {
    let def = asl("enterprise-coordinator");
    let guard = &def["States"]["finance_approval-when"];
    assert_eq!(guard["Choices"][0]["Variable"], "$.data.total");
    assert_eq!(guard["Choices"][0]["NumericGreaterThan"], 5000.0);
    assert_eq!(guard["Choices"][0]["Next"], "finance_approval");
    assert_eq!(guard["Default"], "fulfil");
    assert_eq!(def["States"]["it_review"]["Next"], "finance_approval-when");
}

#[test]
fn runs_are_recorded_at_start_end_and_on_every_failure() {
    let def = asl("self-test");
    assert_eq!(def["States"]["init-run"]["Next"], "record-start");
    assert_eq!(
        def["States"]["record-start"]["Resource"],
        "${RunTrackerFunctionArn}"
    );
    assert_eq!(
        def["States"]["record-start"]["Parameters"]["phase"],
        "started"
    );
    assert_eq!(def["States"]["totals"]["Next"], "finish-run");
    assert_eq!(def["States"]["finish-run"]["Next"], "run-succeeded");
    assert_eq!(
        def["States"]["run-failed"]["ErrorPath"],
        "$.meta.error.Error"
    );
    // The declared catcher comes first; whatever it leaves is recorded as the failure.
    let catchers = def["States"]["risky"]["Catch"]
        .as_array()
        .expect("catchers");
    assert_eq!(catchers[0]["ErrorEquals"][0], "Agent.Permanent");
    assert_eq!(catchers[1]["ErrorEquals"][0], "States.ALL");
    assert_eq!(catchers[1]["Next"], "fail-run");
    for state in ["flaky_step", "squares", "totals"] {
        let last = def["States"][state]["Catch"]
            .as_array()
            .and_then(|c| c.last().cloned());
        assert_eq!(
            last.map(|c| c["Next"].clone()),
            Some(json!("fail-run")),
            "{state}"
        );
    }
}

#[test]
fn the_manifest_lists_every_function_and_state_machine() {
    let manifest: Value = serde_json::from_str(&seed_artefacts()["manifest.json"]).expect("JSON");
    let agents = manifest["agents"].as_array().expect("agents");
    assert_eq!(agents.len(), 46);
    let analyst = agents
        .iter()
        .find(|a| a["agent"] == "analyst")
        .expect("analyst");
    assert_eq!(analyst["function_name"], "switchyard-analyst");
    assert_eq!(analyst["substitution"], "AgentAnalystArn");
    let machines = manifest["state_machines"].as_array().expect("machines");
    assert_eq!(machines.len(), 10);
    let campaign = machines
        .iter()
        .find(|m| m["workflow"] == "campaign-creation")
        .expect("campaign");
    assert_eq!(campaign["approval_gates"].as_array().map(Vec::len), Some(3));
    assert!(campaign["estimate"]["state_transitions"].as_u64() > Some(20));
    assert_eq!(campaign["estimate"]["bounded"], true);
}

/// States reachable from `StartAt` through `Next`, `Default`, choice rules and catchers.
fn unreachable_states(machine: &Value) -> Vec<String> {
    let states = machine["States"].as_object().expect("States");
    let mut seen = std::collections::BTreeSet::new();
    let mut stack = vec![machine["StartAt"].as_str().expect("StartAt").to_owned()];
    while let Some(name) = stack.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let state = &states[&name];
        let mut next: Vec<&Value> = vec![&state["Next"], &state["Default"]];
        for list in ["Choices", "Catch"] {
            if let Some(items) = state[list].as_array() {
                next.extend(items.iter().map(|item| &item["Next"]));
            }
        }
        stack.extend(
            next.into_iter()
                .filter_map(Value::as_str)
                .map(str::to_owned),
        );
    }
    let mut unreachable: Vec<String> = states
        .keys()
        .filter(|k| !seen.contains(*k))
        .cloned()
        .collect();
    for state in states.values() {
        for branch in state["Branches"].as_array().into_iter().flatten() {
            unreachable.extend(unreachable_states(branch));
        }
        if state["ItemProcessor"].is_object() {
            unreachable.extend(unreachable_states(&state["ItemProcessor"]));
        }
    }
    unreachable
}

#[test]
fn no_definition_has_a_state_nothing_reaches() {
    for (name, text) in seed_artefacts() {
        if name.ends_with(".asl.json") {
            let machine: Value = serde_json::from_str(&text).expect("JSON");
            assert_eq!(unreachable_states(&machine), Vec::<String>::new(), "{name}");
        }
    }
    // A guarded map with an item limit: the guard leads to the limit check, not past it.
    let mut workflow = switchyard_sdk::workflows()
        .into_iter()
        .map(|w| (w.definition)())
        .find(|w| w.name == "self-test")
        .expect("self-test");
    let squares = workflow
        .steps
        .iter_mut()
        .find(|s| s.name == "squares")
        .expect("squares");
    squares.when = Some(switchyard_ir::Condition::Compare {
        field: switchyard_ir::FieldPath(vec!["fail_times".into()]),
        op: switchyard_ir::CompareOp::Lt,
        value: switchyard_ir::Literal::Integer(5),
    });
    let machine = compiler::asl::definition(&workflow);
    assert_eq!(unreachable_states(&machine), Vec::<String>::new());
    assert_eq!(
        machine["States"]["squares-when"]["Choices"][0]["Next"],
        "squares-count"
    );
}

#[test]
fn check_refuses_a_definition_over_one_megabyte() {
    let mut workflow = switchyard_sdk::workflows()
        .into_iter()
        .map(|w| (w.definition)())
        .find(|w| w.name == "gate-test")
        .expect("gate-test");
    assert!(compiler::check(&workflow).is_ok());
    for step in &mut workflow.steps {
        if let switchyard_ir::StepKind::Approval(gate) = &mut step.kind {
            gate.subject = "x".repeat(compiler::MAX_DEFINITION_BYTES);
        }
    }
    let errors = compiler::check(&workflow).expect_err("too large");
    assert!(
        matches!(
            errors[..],
            [switchyard_ir::ValidationError {
                kind: switchyard_ir::ErrorKind::DefinitionTooLarge { .. },
                locus: switchyard_ir::Locus::Workflow,
            }]
        ),
        "{errors:?}"
    );
}
