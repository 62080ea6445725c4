//! Dependency graphs as stages: what `.depends_on(...)` in `workflow!` and a graph sent to the
//! Run API both mean, decided in one place.
//!
//! A node's stage is its longest path from a node without dependencies. A stage runs as one
//! Parallel state, which ends when all its branches end, so a node must depend on the whole
//! stage before it (else it would wait for nodes it does not read, and an output nobody reads
//! would be dropped), and every node of a stage reads the previous stage's outputs in one
//! order: the order it lists them in, which becomes that stage's branch order.

use std::collections::BTreeSet;

/// Why a dependency graph has no stages. Nodes are indices into the graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StageError {
    /// These nodes depend on each other in a cycle, in order (the first repeated at the end).
    Cycle(Vec<usize>),
    /// `node` runs after `stage` but does not depend on exactly all of it.
    Partial { node: usize, stage: Vec<usize> },
    /// `node` lists the same dependencies as `first` in another order.
    Order { node: usize, first: usize },
}

/// The stages of the graph whose node `i` depends on `deps[i]` (no repeats, no self), each
/// stage ordered as the next stage's nodes list it. Every error found, or one cycle.
pub fn stages(deps: &[Vec<usize>]) -> Result<Vec<Vec<usize>>, Vec<StageError>> {
    let level = levels(deps).map_err(|cycle| vec![StageError::Cycle(cycle)])?;
    let count = level.iter().max().map_or(0, |m| m + 1);
    let mut stages: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (node, &l) in level.iter().enumerate() {
        stages[l].push(node);
    }
    let mut errors = Vec::new();
    for s in 1..count {
        let previous: BTreeSet<usize> = stages[s - 1].iter().copied().collect();
        let mut order: Option<usize> = None;
        for &node in &stages[s] {
            if deps[node].iter().copied().collect::<BTreeSet<_>>() != previous {
                errors.push(StageError::Partial {
                    node,
                    stage: previous.iter().copied().collect(),
                });
                continue;
            }
            match order {
                None => order = Some(node),
                Some(first) if deps[first] != deps[node] => {
                    errors.push(StageError::Order { node, first })
                }
                Some(_) => {}
            }
        }
        if let Some(first) = order {
            stages[s - 1] = deps[first].clone();
        }
    }
    if errors.is_empty() {
        Ok(stages)
    } else {
        Err(errors)
    }
}

/// Each node's longest path from a node without dependencies, or a cycle.
fn levels(deps: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    let n = deps.len();
    let mut level = vec![0usize; n];
    let mut remaining: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (node, mine) in deps.iter().enumerate() {
        for &d in mine {
            dependents[d].push(node);
        }
    }
    let mut ready: Vec<usize> = (0..n).filter(|&i| remaining[i] == 0).collect();
    let mut done = 0;
    while let Some(node) = ready.pop() {
        done += 1;
        for &j in &dependents[node] {
            level[j] = level[j].max(level[node] + 1);
            remaining[j] -= 1;
            if remaining[j] == 0 {
                ready.push(j);
            }
        }
    }
    if done == n {
        return Ok(level);
    }
    // Walk dependencies from a node left over until one repeats: that is the cycle.
    let start = (0..n).find(|&i| remaining[i] > 0).unwrap_or(0);
    let mut path = vec![start];
    let mut at = start;
    while let Some(&next) = deps[at].iter().find(|&&d| remaining[d] > 0) {
        if let Some(pos) = path.iter().position(|&p| p == next) {
            let mut cycle = path[pos..].to_vec();
            cycle.push(next);
            return Err(cycle);
        }
        path.push(next);
        at = next;
    }
    Err(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dag_runs_in_stages_ordered_as_read() {
        // plan; frontend, backend on plan; qa on (backend, frontend).
        let deps = vec![vec![], vec![0], vec![0], vec![2, 1]];
        assert_eq!(stages(&deps), Ok(vec![vec![0], vec![2, 1], vec![3]]));
        assert_eq!(stages(&[vec![], vec![]]), Ok(vec![vec![0, 1]]));
    }

    #[test]
    fn partial_stages_orders_and_cycles_are_refused() {
        let partial = vec![vec![], vec![0], vec![0], vec![1]];
        assert_eq!(
            stages(&partial),
            Err(vec![StageError::Partial {
                node: 3,
                stage: vec![1, 2]
            }])
        );
        let order = vec![vec![], vec![], vec![0, 1], vec![1, 0]];
        assert_eq!(
            stages(&order),
            Err(vec![StageError::Order { node: 3, first: 2 }])
        );
        assert_eq!(
            stages(&[vec![2], vec![0], vec![1]]),
            Err(vec![StageError::Cycle(vec![0, 2, 1, 0])])
        );
    }
}
