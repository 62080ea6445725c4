//! The self-test workflow: exercises retry, catch, parallel and map on a deployment, so
//! `switchyard` users (and the end-to-end suite) can check a stack works end to end.

use serde::{Deserialize, Serialize};
use switchyard_sdk::{agent, workflow, AgentContext, AgentError};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelfTestInput {
    /// How many attempts of the `flaky` step fail before one succeeds.
    pub fail_times: u32,
    pub numbers: Vec<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recovered {
    pub numbers: Vec<i64>,
    /// Attempts the flaky step needed.
    pub flaky_attempts: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flaked {
    pub input: SelfTestInput,
    pub attempts: u32,
}

/// Fails with a retryable error until attempt `fail_times`, then passes its input on.
#[agent]
pub async fn flaky(input: SelfTestInput, ctx: AgentContext) -> Result<Flaked, AgentError> {
    if ctx.run.attempt < input.fail_times {
        return Err(AgentError::Retryable(format!(
            "attempt {} of a flaky step",
            ctx.run.attempt
        )));
    }
    Ok(Flaked {
        attempts: ctx.run.attempt + 1,
        input,
    })
}

/// Always fails permanently: the workflow's `catch` must route around it.
#[agent]
pub async fn always_fails(input: Flaked) -> Result<Recovered, AgentError> {
    Err(AgentError::Permanent(format!(
        "refusing {} numbers on purpose",
        input.input.numbers.len()
    )))
}

/// The fallback of `risky`: receives the failed step's input.
#[agent]
pub async fn recover(input: Flaked) -> Result<Recovered, AgentError> {
    Ok(Recovered {
        numbers: input.input.numbers,
        flaky_attempts: input.attempts,
    })
}

/// Squares one number.
#[agent]
pub async fn square(n: i64) -> Result<i64, AgentError> {
    n.checked_mul(n)
        .ok_or_else(|| AgentError::InvalidInput(format!("{n} squared overflows")))
}

/// Sums numbers.
#[agent]
pub async fn sum(numbers: Vec<i64>) -> Result<i64, AgentError> {
    Ok(numbers.iter().sum())
}

/// The largest number, or 0.
#[agent]
pub async fn largest(numbers: Vec<i64>) -> Result<i64, AgentError> {
    Ok(numbers.into_iter().max().unwrap_or(0))
}

workflow! {
    /// Retry, catch, map and parallel on a live deployment.
    pub SelfTest(SelfTestInput) {
        flaky_step = flaky.retry(on = ["Agent.Retryable"], interval = 1, max_attempts = 3, backoff = 1.0) -> risky;
        risky = always_fails.catch(on = ["Agent.Permanent"], then = recovered) -> squares;
        recovered = recover -> squares;
        squares = map(numbers, max_concurrency = 2, max_items = 10) { square_one = square } -> totals;
        totals = parallel { total = sum, max = largest } -> end;
    }
}
