//! The committed `build/` directory is the golden output: compiling the seed workflows must
//! reproduce it byte for byte. `cargo run -p compiler` regenerates it after a deliberate
//! change; `git diff build/` then shows exactly what changed in the emitted definitions.

use std::path::PathBuf;

use compiler::compile;
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
    let agents = compiler::linked_agents();
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

/// Every committed definition in `build/` (what deploys; kept equal to the compiler's output
/// by `build_directory_matches_the_compiler_output`).
fn committed_definitions() -> Vec<Value> {
    let mut definitions = Vec::new();
    for entry in std::fs::read_dir(build_dir()).expect("build/") {
        let path = entry.expect("entry").path();
        if path.to_string_lossy().ends_with(".asl.json") {
            let text = std::fs::read_to_string(&path).expect("read");
            definitions.push(serde_json::from_str(&text).expect("ASL is JSON"));
        }
    }
    assert!(!definitions.is_empty(), "no definitions in build/");
    definitions
}

fn asl(name: &str) -> Value {
    serde_json::from_str(&seed_artefacts()[&format!("{name}.asl.json")]).expect("ASL is JSON")
}

#[test]
fn agent_tasks_use_substituted_arns_and_pass_the_run_context() {
    let def = asl("campaign-creation");
    let analyze = &def["States"]["analyze"];
    assert_eq!(analyze["Resource"], "${AgentAnalystArn}");
    assert_eq!(analyze["Parameters"]["envelope.$"], "$");
    let context = &analyze["Parameters"]["context"];
    assert_eq!(context["run_id.$"], "$$.Execution.Name");
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
    assert_eq!(rejected["Next"], "run-failed");
}

#[test]
fn choices_of_a_pick_one_gate_are_passed_to_the_approval_request() {
    let def = asl("movie-production");
    let gate = &def["States"]["pick_concept"]["Parameters"]["Payload"]["gate"];
    assert_eq!(gate["choices"].as_array().map(Vec::len), Some(4));
}

#[test]
fn a_gate_summary_reaches_the_approval_request_as_labelled_json_pointers() {
    let def = asl("enterprise-coordinator");
    let gate = &def["States"]["finance_approval"]["Parameters"]["Payload"]["gate"];
    assert_eq!(
        gate["summary"][0],
        json!({ "label": "Total (USD)", "pointer": "/total" })
    );
    assert_eq!(
        gate["summary"][2],
        json!({ "label": "Department", "pointer": "/request/department" })
    );
    // A gate without a summary sends none.
    let content =
        &asl("campaign-creation")["States"]["approve_content"]["Parameters"]["Payload"]["gate"];
    assert!(content.get("summary").is_none());
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
    assert_eq!(def["StartAt"], "init-loops");
    assert_eq!(def["States"]["init-loops"]["Result"]["revisions"], 0);
    assert_eq!(def["States"]["init-loops"]["ResultPath"], "$.meta.loops");
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
    // Each item's envelope says where it is; its agent reads that there.
    assert_eq!(
        map["ItemSelector"],
        json!({
            "data.$": "$$.Map.Item.Value",
            "meta": { "item.$": "$$.Map.Item.Index", "tenant_id.$": "$.meta.tenant_id" }
        })
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
fn definitions_hold_only_the_workflow_and_unhandled_errors_fail_the_run_as_they_are() {
    let def = asl("self-test");
    // No bookkeeping states: the run starts at its first step and its last step ends it.
    assert_eq!(def["StartAt"], "flaky_step");
    // The run-tracker is asked only where a paused step waits.
    for (name, state) in def["States"].as_object().expect("states") {
        if state.to_string().contains("RunTrackerFunctionArn") {
            assert!(name == "run-parked" || state["Type"] == "Map", "{name}");
        }
    }
    // The last step ends the run with its result as the output: no paths to get there.
    assert_eq!(def["States"]["totals"]["End"], true);
    for path in ["ResultPath", "OutputPath"] {
        assert!(def["States"]["totals"].get(path).is_none(), "{path}");
    }
    assert!(def["States"].get("run-succeeded").is_none());
    // Nothing routes an unhandled error: the execution fails with its name and cause, which
    // the run records. Only a declared failure needs the failure state, so a workflow with
    // none has none.
    let catchers = def["States"]["risky"]["Catch"]
        .as_array()
        .expect("catchers");
    assert_eq!(catchers.len(), 2, "{catchers:?}");
    assert_eq!(catchers[0]["ErrorEquals"][0], "Switchyard.Paused");
    assert_eq!(catchers[1]["ErrorEquals"][0], "Agent.Permanent");
    // A map's item waits in place; a parallel step is caught paused whole (see below).
    assert!(def["States"]["squares"].get("Catch").is_none());
    assert_eq!(
        def["States"]["totals"]["Catch"],
        json!([{ "ErrorEquals": ["Switchyard.Paused"], "ResultPath": "$.meta.parked", "Next": "run-parked" }])
    );
    for (name, state) in def["States"].as_object().expect("states") {
        assert!(
            !state.to_string().contains("States.ALL"),
            "{name} catches everything"
        );
    }
    assert!(asl("bench-chain")["States"].get("run-failed").is_none());
    let campaign = asl("campaign-creation");
    assert_eq!(
        campaign["States"]["run-failed"]["ErrorPath"],
        "$.meta.error.Error"
    );
    assert_eq!(
        campaign["States"]["run-failed"]["CausePath"],
        "$.meta.error.Cause"
    );
    // A Choice cannot end a run: its route to the end is the one Succeed state.
    let dev = asl("dev-team");
    assert_eq!(dev["States"]["debug-when"]["Default"], "run-succeeded");
    assert_eq!(dev["States"]["run-succeeded"]["Type"], "Succeed");
}

/// Step Functions on LocalStack parses a definition at every execution start, at a cost that
/// grows with its size: the per-step benchmark's chain stays within a few states' worth of
/// its five plain tasks.
#[test]
fn definitions_restate_no_defaults_and_share_the_top_level_wait() {
    let chain = asl("bench-chain");
    let states = chain["States"].as_object().expect("states");
    let names: Vec<&str> = states.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "hop1",
            "hop2",
            "hop3",
            "hop4",
            "hop5",
            "run-parked",
            "run-resumed"
        ]
    );
    let wait = &states["run-parked"];
    assert_eq!(
        wait["Retry"],
        json!([{ "ErrorEquals": [
            "Lambda.ServiceException",
            "Lambda.TooManyRequestsException",
            "Lambda.SdkClientException"
        ] }]),
        "the defaults (1 s, 3 attempts, backoff 2.0) are not restated"
    );
}

#[test]
fn the_expected_estimate_is_exact_for_a_chain_and_the_worst_case_bounds_it() {
    let manifest: Value = serde_json::from_str(&seed_artefacts()["manifest.json"]).expect("JSON");
    let machines = manifest["state_machines"].as_array().expect("machines");
    let estimate = |workflow: &str| {
        machines
            .iter()
            .find(|m| m["workflow"] == workflow)
            .map(|m| m["estimate"].clone())
            .expect("estimated")
    };
    // Five Task states and the execution's start and end: one transition per agent.
    let chain = estimate("bench-chain");
    assert_eq!(chain["expected_state_transitions"], 5);
    assert_eq!(chain["state_transitions"], 5);
    assert_eq!(chain["expected_history_events"], 5 * 5 + 2);
    for machine in machines {
        let e = &machine["estimate"];
        assert!(
            e["expected_state_transitions"].as_u64() <= e["state_transitions"].as_u64(),
            "{machine}"
        );
    }
}

/// Every agent task of every committed definition — top level, parallel branch, map item, on
/// a loop's cycle or not — binds nothing but what Step Functions alone knows, and hands its
/// function an event the agent runtime reads as the run it is: the definition and the
/// function agree on the task's protocol by construction, not by a case each.
#[test]
fn every_agent_task_hands_its_function_an_event_the_runtime_reads() {
    /// What a task's bindings give on a sample run: the envelope whole, or a context field.
    fn bind(value: &Value, envelope: &Value) -> Value {
        match value {
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(key, v)| match key.strip_suffix(".$") {
                        Some(key) => {
                            let bound = match v.as_str() {
                                Some("$") => envelope.clone(),
                                Some("$$.Execution.Name") => json!("run-1"),
                                Some("$$.State.RetryCount") => json!(1),
                                other => panic!("`{key}.$` binds {other:?}: a path per task"),
                            };
                            (key.to_owned(), bound)
                        }
                        None => (key.clone(), bind(v, envelope)),
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    fn visit(states: &serde_json::Map<String, Value>, meta: &Value, tasks: &mut usize) {
        for (name, state) in states {
            for branch in state["Branches"].as_array().into_iter().flatten() {
                visit(branch["States"].as_object().expect("branch"), meta, tasks);
            }
            if let Some(inner) = state["ItemProcessor"]["States"].as_object() {
                // An item's envelope is what its selector makes of it.
                let selector = &state["ItemSelector"]["meta"];
                assert_eq!(selector["tenant_id.$"], "$.meta.tenant_id", "{name}");
                assert_eq!(selector["item.$"], "$$.Map.Item.Index", "{name}");
                let mut item_meta = json!({ "tenant_id": meta["tenant_id"], "item": 4 });
                if selector.get("round.$").is_some() {
                    item_meta["round"] = json!(6);
                }
                visit(inner, &item_meta, tasks);
            }
            let is_agent = state["Type"] == "Task"
                && state["Resource"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("${Agent"));
            if !is_agent {
                continue;
            }
            *tasks += 1;
            let parameters = &state["Parameters"];
            assert_eq!(parameters["envelope.$"], "$", "{name}: handed the envelope");
            let envelope = json!({ "data": { "from": name }, "meta": meta });
            let event =
                switchyard_lambda::task_event::TaskEvent::from_payload(bind(parameters, &envelope))
                    .unwrap_or_else(|e| panic!("{name}: the runtime refuses its event: {e}"));
            let context = &parameters["context"];
            let run = &event.context;
            assert_eq!(event.input, json!({ "from": name }), "{name}");
            assert_eq!(
                (run.run_id.as_str(), run.tenant_id.as_str(), run.attempt),
                ("run-1", "acme", 1),
                "{name}"
            );
            assert_eq!(json!(run.step), context["step"], "{name}");
            assert_eq!(json!(run.workflow), context["workflow"], "{name}");
            let in_map = meta.get("item").is_some();
            assert_eq!(run.item, in_map.then_some(4), "{name}");
            // Each counter is at 1 in the sample: a step on cycles is in the round of their number.
            let round = match context["round_of"].as_array() {
                Some(counters) => Some(counters.len() as u32),
                None => meta["round"].as_u64().map(|r| r as u32),
            };
            assert_eq!(run.round, round, "{name}");
        }
    }
    let mut tasks = 0;
    for def in committed_definitions() {
        let states = def["States"].as_object().expect("states");
        // Every counter at 1 (a definition with loops sets them all at its start).
        let loops = states
            .get(switchyard_ir::platform_states::INIT_LOOPS)
            .map(|init| {
                let counters = init["Result"].as_object().expect("counters");
                counters.keys().map(|c| (c.clone(), json!(1))).collect()
            })
            .unwrap_or_default();
        let meta = json!({ "tenant_id": "acme", "loops": Value::Object(loops) });
        visit(states, &meta, &mut tasks);
    }
    assert!(tasks > 40, "{tasks} agent tasks");
}

/// Every agent task of every committed definition — top level, parallel branch, map item —
/// can be paused, and no retrier retries the pause:
/// - a top-level task catches `Switchyard.Paused` first, keeping it for the shared
///   `run-parked` wait, whose router goes back to the task;
/// - a parallel branch does not catch it: its Parallel state does, into the same wait, and
///   the router goes back to the whole Parallel (its branches are admitted as one group);
/// - a map item's task catches it into its own `-parked` wait beside it, keeping the data.
#[test]
fn every_agent_task_parks_when_its_run_is_paused() {
    #[derive(Clone, Copy, PartialEq)]
    enum At<'a> {
        Top,
        Branch(&'a str),
        MapItem,
    }
    fn routes_back(states: &serde_json::Map<String, Value>, step: &str, to: &str) {
        let routes = states["run-resumed"]["Choices"].as_array().expect("routes");
        let back: Vec<&Value> = routes
            .iter()
            .filter(|r| r["StringEquals"] == json!(step))
            .collect();
        assert_eq!(back.len(), 1, "{step}: one route back");
        assert_eq!(back[0]["Variable"], "$.meta.parked.step");
        assert_eq!(back[0]["Next"], json!(to), "{step}: back to {to}");
    }
    fn visit(
        states: &serde_json::Map<String, Value>,
        top: &serde_json::Map<String, Value>,
        at: At<'_>,
        tasks: &mut usize,
    ) {
        for (name, state) in states {
            for branch in state["Branches"].as_array().into_iter().flatten() {
                let branch = branch["States"].as_object().expect("branch states");
                visit(branch, top, At::Branch(name), tasks);
            }
            if let Some(inner) = state["ItemProcessor"]["States"].as_object() {
                visit(inner, top, At::MapItem, tasks);
            }
            let is_agent = state["Type"] == "Task"
                && state["Resource"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("${Agent"));
            if !is_agent {
                continue;
            }
            *tasks += 1;
            if let At::Branch(parallel) = at {
                // Not caught here: the Parallel is caught paused, and goes again whole.
                let caught = state["Catch"].to_string();
                assert!(!caught.contains("Switchyard.Paused"), "{name}");
                let first = &top[parallel]["Catch"][0];
                assert_eq!(
                    first["ErrorEquals"],
                    json!(["Switchyard.Paused"]),
                    "{parallel}"
                );
                assert_eq!(first["ResultPath"], "$.meta.parked", "{parallel}");
                assert_eq!(first["Next"], "run-parked", "{parallel}");
                assert_eq!(state["Parameters"]["context"]["group"], json!(parallel));
                routes_back(top, name, parallel);
                continue;
            }
            let first = &state["Catch"][0];
            assert_eq!(first["ErrorEquals"], json!(["Switchyard.Paused"]), "{name}");
            if at == At::Top {
                assert_eq!(first["ResultPath"], "$.meta.parked", "{name}");
                assert_eq!(first["Next"], "run-parked", "{name}");
                let wait = &states["run-parked"];
                assert_eq!(
                    wait["Parameters"]["Payload"]["cause.$"],
                    "$.meta.parked.Cause"
                );
                assert_eq!(wait["ResultPath"], "$.meta.parked");
                assert_eq!(wait["Next"], "run-resumed");
                routes_back(states, name, name);
            } else {
                assert_eq!(first["ResultPath"], Value::Null, "{name}: the data is kept");
                let parked = format!("{name}-parked");
                assert_eq!(first["Next"], json!(parked), "{name}");
                let wait = &states[&parked];
                assert_eq!(wait["Next"], json!(name), "{name}: back to the step");
                assert_eq!(wait["Parameters"]["Payload"]["step"], json!(name));
                assert_eq!(wait["ResultPath"], Value::Null);
            }
            let wait = &states[first["Next"].as_str().expect("a wait")];
            assert_eq!(
                wait["Resource"],
                "arn:aws:states:::lambda:invoke.waitForTaskToken"
            );
            assert_eq!(wait["Parameters"]["Payload"]["phase"], "parked");
            for (i, retrier) in state["Retry"].as_array().into_iter().flatten().enumerate() {
                let errors = retrier["ErrorEquals"].to_string();
                let matches_pause =
                    errors.contains("States.ALL") || errors.contains("States.TaskFailed");
                assert!(
                    !matches_pause || (i > 0 && state["Retry"][0]["MaxAttempts"] == 0),
                    "{name}: retrier {i} would retry a pause"
                );
            }
        }
    }
    let mut tasks = 0;
    for def in committed_definitions() {
        let states = def["States"].as_object().expect("states");
        visit(states, states, At::Top, &mut tasks);
    }
    assert!(tasks > 40, "{tasks} agent tasks");
}
