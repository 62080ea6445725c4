//! `.depends_on(...)`: steps that name what they depend on instead of where they go.
//!
//! A step starts when every step it depends on has finished, and reads their outputs: one
//! dependency's output as it is, several as the tuple of their outputs in `depends_on` order.
//! The steps of a `depends_on` graph run in stages (a step's stage is its longest path from a
//! step without dependencies), the steps of one stage at once. This pass rewrites the graph
//! into the constructs the rest of the macro already checks — one agent step per one-step
//! stage, a `parallel` step per larger stage, each stage's `-> next` the following stage — so
//! every edge gets the same rustc type assertion, and every error points at the user's tokens.
//!
//! Step Functions runs a stage as a Parallel state, which ends when all its branches end; so
//! a step must depend on the whole stage before it (otherwise it would wait for a step whose
//! output it does not read, or an output would be dropped). Such a graph is refused here, at
//! the `depends_on` that does not fit.

use std::collections::{BTreeSet, HashMap};

use syn::Ident;

use switchyard_ir::StageError;

use super::ast::{BranchDecl, KindDecl, Modifiers, StepDecl, WorkflowDecl};
use crate::ctxt::Ctxt;

/// One step's `.depends_on(...)`: the modifier's token and the steps named, by index.
struct Dependencies {
    token: Ident,
    on: Vec<usize>,
}

pub fn desugar(mut decl: WorkflowDecl, cx: &mut Ctxt) -> WorkflowDecl {
    refuse_misplaced(&mut decl, cx);
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, step) in decl.steps.iter().enumerate() {
        index.entry(step.name.to_string()).or_insert(i);
    }
    let count = decl.steps.len();
    let mut deps: Vec<Option<Dependencies>> = (0..count).map(|_| None).collect();
    for (i, mine) in deps.iter_mut().enumerate() {
        let declared = std::mem::take(&mut decl.steps[i].modifiers.depends_on);
        for (token, names) in declared {
            if mine.is_some() {
                cx.error_spanned_by(
                    &token,
                    "`.depends_on(...)` is given twice; list every dependency in one",
                );
                continue;
            }
            let mut on = Vec::new();
            for name in &names {
                let Some(&d) = index.get(&name.to_string()) else {
                    let hint = switchyard_ir::closest(
                        &name.to_string(),
                        decl.steps
                            .iter()
                            .map(|s| s.name.to_string())
                            .collect::<Vec<_>>()
                            .iter()
                            .map(String::as_str),
                    )
                    .map(|near| format!("; did you mean `{near}`?"))
                    .unwrap_or_default();
                    cx.error_spanned_by(name, format!("no step named `{name}`{hint}"));
                    continue;
                };
                if d == i {
                    cx.error_spanned_by(name, format!("`{name}` cannot depend on itself"));
                } else if on.contains(&d) {
                    cx.error_spanned_by(name, format!("`{name}` is listed twice"));
                } else if !matches!(decl.steps[d].kind, KindDecl::Agent(_)) {
                    cx.error_spanned_by(
                        name,
                        format!(
                            "`{name}` is not an agent step: a step can depend on agent steps only"
                        ),
                    );
                } else {
                    on.push(d);
                }
            }
            if names.is_empty() {
                cx.error_spanned_by(&token, "`.depends_on()` names no step");
            }
            *mine = Some(Dependencies { token, on });
        }
    }
    if deps.iter().all(Option::is_none) {
        return decl;
    }
    let mut members: BTreeSet<usize> = BTreeSet::new();
    for (i, d) in deps.iter().enumerate() {
        if let Some(d) = d {
            members.insert(i);
            members.extend(d.on.iter().copied());
        }
    }
    let on = |i: usize| {
        deps[i]
            .as_ref()
            .map(|d| d.on.as_slice())
            .unwrap_or_default()
    };
    // Components: each connected group of steps is one graph.
    let mut component: HashMap<usize, usize> = members.iter().map(|&m| (m, m)).collect();
    fn root(component: &mut HashMap<usize, usize>, mut x: usize) -> usize {
        while component[&x] != x {
            x = component[&x];
        }
        x
    }
    for &m in &members {
        for &d in on(m) {
            let (a, b) = (root(&mut component, m), root(&mut component, d));
            component.insert(a, b);
        }
    }
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for &m in &members {
        let r = root(&mut component, m);
        match groups.iter_mut().find(|(g, _)| *g == r) {
            Some((_, group)) => group.push(m),
            None => groups.push((r, vec![m])),
        }
    }
    let mut ok = true;
    let mut plans: Vec<Vec<Vec<usize>>> = Vec::new();
    for (_, group) in groups {
        // The IR's stages, over the group's steps numbered from 0.
        let local: Vec<Vec<usize>> = group
            .iter()
            .map(|&m| {
                on(m)
                    .iter()
                    .filter_map(|d| group.iter().position(|g| g == d))
                    .collect()
            })
            .collect();
        match switchyard_ir::stages(&local) {
            Ok(stages) => {
                let stages: Vec<Vec<usize>> = stages
                    .iter()
                    .map(|stage| stage.iter().map(|&i| group[i]).collect())
                    .collect();
                ok &= check_targets(&stages, &decl, cx);
                plans.push(stages);
            }
            Err(errors) => {
                ok = false;
                for error in errors {
                    report(&error, &group, &decl, &deps, cx);
                }
            }
        }
    }
    if !ok {
        return decl;
    }
    rewrite(decl, &plans, &deps)
}

/// `.depends_on` anywhere but on an agent step is an error, and is dropped.
fn refuse_misplaced(decl: &mut WorkflowDecl, cx: &mut Ctxt) {
    let refuse = |modifiers: &mut Modifiers, what: &str, cx: &mut Ctxt| {
        for (token, _) in modifiers.depends_on.drain(..) {
            cx.error_spanned_by(
                &token,
                format!("`.depends_on(...)` applies to agent steps, not to {what}"),
            );
        }
    };
    for step in &mut decl.steps {
        match &mut step.kind {
            KindDecl::Agent(_) => {}
            KindDecl::Parallel { branches, .. } => {
                for branch in branches {
                    refuse(&mut branch.modifiers, "a branch of a `parallel`", cx);
                }
                refuse(&mut step.modifiers, "a `parallel` step", cx);
            }
            KindDecl::Map { item, .. } => {
                refuse(&mut item.modifiers, "a map's item", cx);
                refuse(&mut step.modifiers, "a `map` step", cx);
            }
            _ => refuse(&mut step.modifiers, "a routing or approval step", cx),
        }
    }
}

/// A stage error at the `.depends_on(...)` it is about; `group` maps the IR's node numbers
/// back to steps.
fn report(
    error: &StageError,
    group: &[usize],
    decl: &WorkflowDecl,
    deps: &[Option<Dependencies>],
    cx: &mut Ctxt,
) {
    let name = |i: usize| decl.steps[group[i]].name.to_string();
    let list = |set: &[usize]| {
        set.iter()
            .map(|&i| format!("`{}`", name(i)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let token = |i: usize| deps[group[i]].as_ref().map(|d| &d.token);
    match error {
        StageError::Cycle(cycle) => {
            let members: BTreeSet<usize> = cycle.iter().copied().collect();
            let names: Vec<usize> = members.iter().copied().collect();
            if let Some(token) = names.iter().find_map(|&i| token(i)) {
                cx.error_spanned_by(
                    token,
                    format!(
                        "these steps depend on each other in a cycle: {}; a `depends_on` graph runs each step once (use `loop` for a bounded revise loop)",
                        list(&names)
                    ),
                );
            }
        }
        StageError::Partial { node, stage } => {
            if let (Some(token), Some(d)) = (token(*node), &deps[group[*node]]) {
                let on: Vec<String> =
                    d.on.iter()
                        .map(|&s| format!("`{}`", decl.steps[s].name))
                        .collect();
                cx.error_spanned_by(
                    token,
                    format!(
                        "`{}` runs after the stage {} but depends on {}: a step must depend on every step of the stage before it (the stage runs as one Parallel state, so a step depending on part of it would wait for steps it does not read, and an output nobody reads would be dropped)",
                        name(*node),
                        list(stage),
                        on.join(", ")
                    ),
                );
            }
        }
        StageError::Order { node, first } => {
            if let (Some(token), Some(d)) = (token(*node), &deps[group[*first]]) {
                let listed: Vec<String> =
                    d.on.iter()
                        .map(|&s| format!("`{}`", decl.steps[s].name))
                        .collect();
                cx.error_spanned_by(
                    token,
                    format!(
                        "list the dependencies in the order `{}` does ({}): both read the same tuple",
                        name(*first),
                        listed.join(", ")
                    ),
                );
            }
        }
    }
}

/// Steps with dependents go where the graph says; the last stage says where it ends.
/// `false` after an error.
fn check_targets(stages: &[Vec<usize>], decl: &WorkflowDecl, cx: &mut Ctxt) -> bool {
    let name = |i: usize| decl.steps[i].name.to_string();
    let list = |set: &[usize]| {
        set.iter()
            .map(|&i| format!("`{}`", name(i)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut ok = true;
    for stage in &stages[..stages.len().saturating_sub(1)] {
        for &i in stage {
            if let Some(next) = &decl.steps[i].next {
                cx.error_spanned_by(
                    next,
                    format!(
                        "steps depend on `{}`, so where it goes follows from them: remove `-> {next}`",
                        name(i)
                    ),
                );
                ok = false;
            }
        }
    }
    if let Some(last) = stages.last() {
        if last.len() > 1 {
            let targets: BTreeSet<String> = last
                .iter()
                .map(|&i| {
                    decl.steps[i]
                        .next
                        .as_ref()
                        .map(Ident::to_string)
                        .unwrap_or_default()
                })
                .collect();
            if let (true, Some(&first)) = (targets.len() > 1, last.first()) {
                cx.error_spanned_by(
                    &decl.steps[first].name,
                    format!(
                        "the last stage ({}) runs as one step: give its steps the same `-> target`",
                        list(last)
                    ),
                );
                ok = false;
            }
        }
    }
    ok
}

/// The graph as agent and `parallel` steps, each stage where its first step was declared.
fn rewrite(
    decl: WorkflowDecl,
    plans: &[Vec<Vec<usize>>],
    deps: &[Option<Dependencies>],
) -> WorkflowDecl {
    let WorkflowDecl {
        attrs,
        vis,
        ident,
        input,
        budgets,
        steps,
    } = decl;
    let mut slots: Vec<Option<StepDecl>> = steps.into_iter().map(Some).collect();
    let stage_name = |stage: &[usize], slots: &[Option<StepDecl>]| -> Ident {
        let names: Vec<&Ident> = stage
            .iter()
            .filter_map(|&i| slots[i].as_ref().map(|s| &s.name))
            .collect();
        match names.as_slice() {
            [one] => (*one).clone(),
            many => Ident::new(
                &many
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join("_and_"),
                many.first()
                    .map(|n| n.span())
                    .unwrap_or_else(proc_macro2::Span::call_site),
            ),
        }
    };
    // Where each stage's step goes, and the step itself.
    let mut placed: HashMap<usize, StepDecl> = HashMap::new();
    for stages in plans {
        let names: Vec<Ident> = stages.iter().map(|s| stage_name(s, &slots)).collect();
        for (s, stage) in stages.iter().enumerate() {
            // The edge into the next stage is written at its `depends_on`.
            let next = match stages.get(s + 1) {
                Some(following) => {
                    let span = following
                        .iter()
                        .find_map(|&i| deps[i].as_ref().map(|d| d.token.span()))
                        .unwrap_or_else(|| names[s + 1].span());
                    Some(Ident::new(&names[s + 1].to_string(), span))
                }
                None => stage
                    .iter()
                    .find_map(|&i| slots[i].as_ref().and_then(|step| step.next.clone())),
            };
            let at = *stage.iter().min().unwrap_or(&0);
            let step = match stage.as_slice() {
                [single] => {
                    let mut step = slots[*single].take().expect("each member is placed once");
                    step.next = next;
                    step
                }
                many => {
                    let mut branches = Vec::new();
                    for &i in many {
                        let step = slots[i].take().expect("each member is placed once");
                        if let KindDecl::Agent(agent) = step.kind {
                            branches.push(BranchDecl {
                                name: step.name,
                                agent,
                                modifiers: step.modifiers,
                            });
                        }
                    }
                    StepDecl {
                        name: names[s].clone(),
                        kind: KindDecl::Parallel {
                            token: Ident::new("parallel", names[s].span()),
                            branches,
                        },
                        modifiers: Modifiers::default(),
                        next,
                    }
                }
            };
            placed.insert(at, step);
        }
    }
    let mut steps = Vec::new();
    for (i, slot) in slots.into_iter().enumerate() {
        if let Some(step) = placed.remove(&i) {
            steps.push(step);
        } else if let Some(step) = slot {
            steps.push(step);
        }
    }
    WorkflowDecl {
        attrs,
        vis,
        ident,
        input,
        budgets,
        steps,
    }
}
