//! Validation and estimates on hand-built graphs.

use switchyard_ir::*;

fn call(agent: &str) -> AgentCall {
    AgentCall {
        agent: agent.into(),
        input_type: "In".into(),
        output_type: "Out".into(),
        retry: Vec::new(),
        timeout_seconds: None,
    }
}

fn task(name: &str, next: Target) -> Step {
    Step {
        name: name.into(),
        kind: StepKind::Task {
            call: call(name),
            catch: None,
            next,
        },
        when: None,
    }
}

fn to(i: u32) -> Target {
    Target::Step(StepId(i))
}

fn workflow(steps: Vec<Step>) -> Workflow {
    Workflow {
        name: "test".into(),
        comment: None,
        input_type: "In".into(),
        start: StepId(0),
        steps,
        budget: None,
    }
}

fn kinds(wf: &Workflow) -> Vec<ErrorKind> {
    validate(wf)
        .err()
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

fn flag(name: &str) -> Condition {
    Condition::Compare {
        field: FieldPath(vec![name.into()]),
        op: CompareOp::Eq,
        value: Literal::Bool(true),
    }
}

fn branch(name: &str, yes: Target, no: Target) -> Step {
    Step {
        name: name.into(),
        kind: StepKind::Branch {
            arms: vec![Arm {
                condition: flag("ok"),
                target: yes,
            }],
            default: Some(no),
            exhaustive_enum: None,
        },
        when: None,
    }
}

fn counter(name: &str, max: u32, next: Target, exhausted: Target) -> Step {
    Step {
        name: name.into(),
        kind: StepKind::Loop {
            max_iterations: max,
            next,
            exhausted,
        },
        when: None,
    }
}

/// write → review → ok? end : budget → write (at most 3 times), else fail.
fn bounded_revise_loop() -> Workflow {
    workflow(vec![
        task("write", to(1)),
        task("review", to(2)),
        branch("verdict", Target::End, to(3)),
        counter("budget", 3, to(0), Target::Fail),
    ])
}

#[test]
fn a_chain_to_end_is_valid() {
    let wf = workflow(vec![task("a", to(1)), task("b", Target::End)]);
    assert_eq!(validate(&wf), Ok(()));
}

#[test]
fn unreachable_steps_are_reported_by_name() {
    let wf = workflow(vec![task("a", Target::End), task("orphan", Target::End)]);
    assert_eq!(kinds(&wf), vec![ErrorKind::Unreachable("orphan".into())]);
    assert_eq!(validate(&wf).unwrap_err()[0].locus, Locus::Step(StepId(1)));
}

#[test]
fn a_cycle_with_no_exit_never_terminates() {
    let wf = workflow(vec![task("a", to(1)), task("b", to(0))]);
    let errors = kinds(&wf);
    assert!(
        errors.contains(&ErrorKind::NeverTerminates("a".into())),
        "{errors:?}"
    );
    assert!(
        errors.contains(&ErrorKind::NeverTerminates("b".into())),
        "{errors:?}"
    );
}

#[test]
fn a_cycle_with_an_exit_but_no_counter_is_unbounded() {
    let wf = workflow(vec![
        task("write", to(1)),
        branch("verdict", Target::End, to(0)),
    ]);
    assert_eq!(
        kinds(&wf),
        vec![ErrorKind::UnboundedLoop(vec![
            "write".into(),
            "verdict".into(),
            "write".into()
        ])]
    );
}

#[test]
fn a_cycle_through_a_counter_is_bounded() {
    assert_eq!(validate(&bounded_revise_loop()), Ok(()));
}

#[test]
fn a_cycle_through_a_counters_exhausted_edge_is_unbounded() {
    // budget's exhausted edge goes back into the loop: nothing stops it.
    let wf = workflow(vec![
        task("write", to(1)),
        branch("verdict", Target::End, to(2)),
        counter("budget", 3, to(0), to(0)),
    ]);
    assert!(matches!(
        kinds(&wf).as_slice(),
        [ErrorKind::UnboundedLoop(_)]
    ));
}

#[test]
fn names_are_checked_against_step_functions_limits() {
    let long = "x".repeat(81);
    let wf = workflow(vec![task(&long, to(1)), task("bad:name", Target::End)]);
    let errors = kinds(&wf);
    assert!(
        errors
            .iter()
            .any(|e| matches!(e, ErrorKind::NameTooLong { len: 81, .. })),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| matches!(e, ErrorKind::NameCharacter { ch: ':', .. })),
        "{errors:?}"
    );
}

#[test]
fn derived_state_names_count_towards_the_limit() {
    // 75 characters fit, but the guard state `<name>-when` does not.
    let mut step = task(&"g".repeat(76), Target::End);
    step.when = Some(flag("ok"));
    let errors = kinds(&workflow(vec![step]));
    assert!(
        errors
            .iter()
            .any(|e| matches!(e, ErrorKind::NameTooLong { len: 81, .. })),
        "{errors:?}"
    );
}

#[test]
fn the_states_switchyard_adds_are_names_no_step_may_take() {
    // Run-time graphs may use `-` in node ids: every platform state's name is refused, and
    // only those names.
    for reserved in switchyard_ir::PLATFORM_STATES {
        let mut step = task(reserved, Target::End);
        step.kind = task("x", Target::End).kind;
        let errors = kinds(&workflow(vec![task("first", to(1)), step]));
        assert_eq!(
            errors,
            [ErrorKind::ReservedName(reserved.to_owned())],
            "{reserved}"
        );
    }
    let mut step = task("run-failed-x", Target::End);
    step.kind = task("x", Target::End).kind;
    assert_eq!(kinds(&workflow(vec![step])), []);
}

#[test]
fn retry_values_are_range_checked_each_with_its_own_locus() {
    let mut wf = workflow(vec![task("a", Target::End)]);
    if let StepKind::Task { call, .. } = &mut wf.steps[0].kind {
        call.retry.push(Retry {
            errors: vec!["States.ALL".into(), "Agent.Retryable".into()],
            interval_seconds: 0,
            max_attempts: 3,
            backoff_rate: 0.5,
            max_delay_seconds: None,
            jitter: false,
        });
    }
    let loci: Vec<Locus> = validate(&wf)
        .unwrap_err()
        .into_iter()
        .map(|e| e.locus)
        .collect();
    let at = |key| Locus::Setting(StepId(0), Setting::Retry(0, key));
    assert_eq!(
        loci,
        vec![
            at(RetryKey::Errors),
            at(RetryKey::Interval),
            at(RetryKey::Backoff)
        ]
    );
}

#[test]
fn a_branch_without_default_must_be_an_exhaustive_enum_match() {
    let mut wf = workflow(vec![branch("route", Target::End, Target::Fail)]);
    if let StepKind::Branch { default, .. } = &mut wf.steps[0].kind {
        *default = None;
    }
    assert_eq!(kinds(&wf), vec![ErrorKind::MissingDefault]);
    if let StepKind::Branch {
        exhaustive_enum, ..
    } = &mut wf.steps[0].kind
    {
        *exhaustive_enum = Some("Verdict".into());
    }
    assert_eq!(validate(&wf), Ok(()));
}

#[test]
fn approval_heartbeat_must_be_shorter_than_timeout() {
    let gate = ApprovalGate {
        subject: "ok?".into(),
        timeout_seconds: 60,
        heartbeat_seconds: Some(60),
        choices: vec!["a".into(), "a".into(), "reject".into()],
        approvers: Vec::new(),
        on_reject: Target::Fail,
        on_timeout: Target::Fail,
        next: Target::End,
        summary: Vec::new(),
    };
    let wf = workflow(vec![Step {
        name: "gate".into(),
        kind: StepKind::Approval(gate),
        when: None,
    }]);
    assert_eq!(
        kinds(&wf),
        vec![
            ErrorKind::HeartbeatUnsupported(60),
            ErrorKind::DuplicateChoice("a".into()),
            ErrorKind::ReservedChoice("reject".into()),
        ]
    );
}

#[test]
fn a_gate_summary_is_short_with_one_line_labels_of_its_own() {
    let field = |label: &str| SummaryField {
        label: label.into(),
        path: FieldPath(vec!["total".into()]),
    };
    let long = "x".repeat(MAX_SUMMARY_LABEL_CHARS + 1);
    let mut summary = vec![
        field("Total"),
        field("total"),
        field(" "),
        field(&long),
        field("Two\nlines"),
    ];
    summary.extend((0..MAX_SUMMARY_FIELDS).map(|i| field(&format!("Field {i}"))));
    let count = summary.len();
    let wf = workflow(vec![Step {
        name: "gate".into(),
        kind: StepKind::Approval(ApprovalGate {
            subject: "ok?".into(),
            timeout_seconds: 60,
            heartbeat_seconds: None,
            choices: Vec::new(),
            approvers: Vec::new(),
            on_reject: Target::Fail,
            on_timeout: Target::Fail,
            next: Target::End,
            summary,
        }),
        when: None,
    }]);
    let errors = validate(&wf).expect_err("refused");
    let at = |index| Locus::Setting(StepId(0), Setting::Summary(index));
    let found: Vec<(Locus, ErrorKind)> = errors.into_iter().map(|e| (e.locus, e.kind)).collect();
    assert_eq!(
        found,
        vec![
            (
                at(MAX_SUMMARY_FIELDS),
                ErrorKind::TooManySummaryFields(count)
            ),
            (at(1), ErrorKind::DuplicateSummaryLabel("total".into())),
            (at(2), ErrorKind::EmptySummaryLabel),
            (
                at(3),
                ErrorKind::SummaryLabelTooLong {
                    label: long.clone(),
                    len: MAX_SUMMARY_LABEL_CHARS + 1
                }
            ),
            (at(4), ErrorKind::SummaryLabelCharacter("Two\nlines".into())),
        ]
    );
}

#[test]
fn estimate_counts_loops_at_their_bound() {
    let estimate = estimate(&bounded_revise_loop());
    // The counters' init (1) + 4 passes × (write + review + verdict) + 4 counter entries × 2
    // states (three let the loop go round, the fourth is the exhaustion) + the declared
    // failure (its Pass, then the Fail state).
    assert_eq!(estimate.state_transitions, 1 + 4 * 3 + 4 * 2 + 2);
    assert!(estimate.bounded);
    assert!((estimate.transition_cost_usd - 23.0 * USD_PER_TRANSITION).abs() < 1e-12);
    // Expected: one pass, the verdict ends it through the Succeed state.
    assert_eq!(estimate.expected_state_transitions, 1 + 3 + 1);
}

#[test]
fn estimate_of_an_unbounded_map_says_so() {
    let wf = workflow(vec![Step {
        name: "each".into(),
        kind: StepKind::Map {
            items: FieldPath(vec!["items".into()]),
            item: Branch {
                name: "one".into(),
                call: call("one"),
            },
            max_concurrency: 0,
            max_items: None,
            next: Target::End,
        },
        when: None,
    }]);
    assert!(!estimate(&wf).bounded);
    let mut bounded = wf.clone();
    if let StepKind::Map { max_items, .. } = &mut bounded.steps[0].kind {
        *max_items = Some(10);
    }
    let e = estimate(&bounded);
    assert!(e.bounded);
    // The count check (a Pass and a Choice), the Map state, ten items; the map ends the run.
    assert_eq!(e.state_transitions, 2 + 1 + 10);
    assert_eq!(e.expected_state_transitions, e.state_transitions);
}

#[test]
fn the_ir_round_trips_through_json() {
    let wf = bounded_revise_loop();
    let json = serde_json::to_string(&wf).expect("serialises");
    let back: Workflow = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(back, wf);
}

fn branch_with(conditions: Vec<Condition>) -> Workflow {
    let arms = conditions
        .into_iter()
        .map(|condition| Arm {
            condition,
            target: Target::End,
        })
        .collect();
    workflow(vec![Step {
        name: "route".into(),
        kind: StepKind::Branch {
            arms,
            default: Some(Target::End),
            exhaustive_enum: None,
        },
        when: None,
    }])
}

fn compare(field: &str, op: CompareOp, value: Literal) -> Condition {
    Condition::Compare {
        field: FieldPath(vec![field.into()]),
        op,
        value,
    }
}

#[test]
fn arms_an_earlier_arm_always_takes_are_refused() {
    let shadowed = |conditions| {
        kinds(&branch_with(conditions))
            .iter()
            .filter(|k| matches!(k, ErrorKind::ShadowedArm { .. }))
            .count()
    };
    let gt = |n: f64| compare("total", CompareOp::Gt, Literal::Float(n));
    let ge = |n: i64| compare("total", CompareOp::Ge, Literal::Integer(n));
    let is = |v: &str| compare("region", CompareOp::Eq, Literal::String(v.into()));
    // `total > 500` after `total > 100`: never taken. The other order is fine.
    assert_eq!(shadowed(vec![gt(100.0), gt(500.0)]), 1);
    assert_eq!(shadowed(vec![gt(500.0), gt(100.0)]), 0);
    // Bounds: `>= 100` does not cover `> 99.5`; `> 100` is covered by `>= 100`.
    assert_eq!(shadowed(vec![ge(100), gt(99.5)]), 0);
    assert_eq!(shadowed(vec![ge(100), gt(100.0)]), 1);
    // The same condition twice, and a conjunction narrower than an earlier arm.
    assert_eq!(shadowed(vec![is("eu"), is("eu")]), 1);
    assert_eq!(
        shadowed(vec![is("eu"), Condition::And(vec![is("eu"), gt(1.0)])]),
        1
    );
    assert_eq!(
        shadowed(vec![Condition::And(vec![is("eu"), gt(1.0)]), is("eu")]),
        0
    );
    // Either disjunct of an earlier `||` covers a later arm.
    assert_eq!(
        shadowed(vec![Condition::Or(vec![is("us"), gt(10.0)]), gt(20.0)]),
        1
    );
    // Different fields: undecided, so allowed.
    assert_eq!(
        shadowed(vec![
            gt(10.0),
            compare("count", CompareOp::Gt, Literal::Integer(20))
        ]),
        0
    );
}

#[test]
fn error_names_no_task_raises_are_refused_with_a_suggestion() {
    let mut wf = bounded_revise_loop();
    if let StepKind::Task { call, .. } = &mut wf.steps[0].kind {
        call.retry = vec![Retry {
            errors: vec!["Agent.Retriable".into(), "States.Runtime".into()],
            interval_seconds: 1,
            max_attempts: 2,
            backoff_rate: 2.0,
            max_delay_seconds: Some(40_000_000),
            jitter: false,
        }];
    }
    let kinds = kinds(&wf);
    assert!(kinds.contains(&ErrorKind::UnknownErrorName {
        name: "Agent.Retriable".into(),
        suggestion: Some("Agent.Retryable".into()),
    }));
    assert!(kinds.iter().any(
        |k| matches!(k, ErrorKind::ErrorNeverRaised { name, .. } if name == "States.Runtime")
    ));
    assert!(kinds.iter().any(
        |k| matches!(k, ErrorKind::OutOfRange { what, .. } if *what == "retry max_delay (seconds)")
    ));
}

#[test]
fn model_and_budget_errors_are_caught_not_retried() {
    let mut wf = bounded_revise_loop();
    if let StepKind::Task { call, catch, .. } = &mut wf.steps[0].kind {
        call.retry = vec![Retry {
            errors: vec!["Model.InvalidOutput".into(), BUDGET_EXCEEDED.into()],
            interval_seconds: 1,
            max_attempts: 2,
            backoff_rate: 2.0,
            max_delay_seconds: None,
            jitter: false,
        }];
        *catch = Some(Catch {
            errors: vec![BUDGET_EXCEEDED.into()],
            fallback: Target::Fail,
        });
    }
    assert_eq!(kinds(&wf), [ErrorKind::RetryBudgetExceeded]);
    assert!(known_error_names().contains(&"Model.InvalidOutput"));
}

#[test]
fn a_declared_budget_sets_a_positive_limit() {
    let mut wf = bounded_revise_loop();
    wf.budget = Some(Budget {
        tokens: Some(200_000),
        usd: Some(5.0),
    });
    assert_eq!(kinds(&wf), []);
    wf.budget = Some(Budget {
        tokens: Some(0),
        usd: None,
    });
    assert!(
        matches!(&kinds(&wf)[..], [ErrorKind::InvalidBudget(p)] if p.limit == BudgetLimit::Tokens),
        "{:?}",
        kinds(&wf)
    );
}

#[test]
fn agent_names_must_make_valid_unique_aws_names() {
    assert_eq!(check_agent_name("score_lead"), vec![]);
    assert!(matches!(
        check_agent_name("café")[..],
        [ErrorKind::AgentNameCharacter { ch: 'é', .. }]
    ));
    assert!(matches!(
        check_agent_name("run_tracker")[..],
        [ErrorKind::ReservedAgentName { .. }]
    ));
    assert!(matches!(
        check_agent_name(&"a".repeat(60))[..],
        [ErrorKind::FunctionNameTooLong { .. }]
    ));
    assert_eq!(resource_key("score_lead"), resource_key("scoreLead"));
}

#[test]
fn suggestions_are_near_names_whatever_their_case() {
    let known = ["States.Timeout", "States.TaskFailed", "States.ALL"];
    assert_eq!(closest("states.timout", known), Some("States.Timeout"));
    assert_eq!(closest("States.All", known), Some("States.ALL"));
    assert_eq!(closest("Throttled", known), None);
}

#[test]
fn a_step_a_run_may_enter_again_knows_the_counters_round_its_cycles() {
    let names = |wf: &Workflow, id: u32| -> Vec<String> {
        wf.loops_around(StepId(id))
            .into_iter()
            .map(|s| s.name.clone())
            .collect()
    };
    let wf = bounded_revise_loop();
    for id in 0..4 {
        assert_eq!(names(&wf, id), ["budget"], "step {id}");
    }
    // draft → review → ok? publish : (fix_budget → fix → review, past 2: redo_budget → draft)
    let wf = workflow(vec![
        task("draft", to(1)),
        task("review", to(2)),
        branch("verdict", to(6), to(3)),
        counter("fix_budget", 2, to(4), to(5)),
        task("fix", to(1)),
        counter("redo_budget", 2, to(0), Target::Fail),
        task("publish", Target::End),
    ]);
    assert_eq!(validate(&wf), Ok(()));
    assert_eq!(names(&wf, 0), ["fix_budget", "redo_budget"]);
    assert_eq!(names(&wf, 1), ["fix_budget", "redo_budget"]);
    assert_eq!(names(&wf, 4), ["fix_budget", "redo_budget"]);
    // Entered once: before every cycle, or after them.
    assert!(names(&wf, 6).is_empty());
    let chain = workflow(vec![task("a", to(1)), task("b", Target::End)]);
    assert!(names(&chain, 0).is_empty() && names(&chain, 1).is_empty());
}
