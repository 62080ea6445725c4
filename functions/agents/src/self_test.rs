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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PayloadRequest {
    /// Roughly how many bytes the produced output holds.
    pub bytes: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Blob {
    pub label: String,
    pub chunks: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlobDigest {
    pub label: String,
    pub chunks: u32,
    pub bytes: u64,
}

const CHUNK_BYTES: usize = 1024;

/// Produces an output far over Step Functions' 256 KiB payload limit.
#[agent]
pub async fn produce_blob(request: PayloadRequest) -> Result<Blob, AgentError> {
    let chunks = (request.bytes as usize).div_ceil(CHUNK_BYTES);
    Ok(Blob {
        label: "blob".into(),
        chunks: (0..chunks)
            .map(|i| format!("{i:08}").repeat(CHUNK_BYTES / 8))
            .collect(),
    })
}

/// Measures what it received, proving the large output arrived whole.
#[agent]
pub async fn digest_blob(blob: Blob) -> Result<BlobDigest, AgentError> {
    Ok(BlobDigest {
        chunks: blob.chunks.len() as u32,
        bytes: blob.chunks.iter().map(|c| c.len() as u64).sum(),
        label: blob.label,
    })
}

workflow! {
    /// A multi-megabyte output crossing from one agent to the next, routed on one of its
    /// fields on the way.
    pub PayloadTest(PayloadRequest) {
        produce = produce_blob -> check;
        check = branch { label == "blob" => digest, _ => fail };
        digest = digest_blob -> end;
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateRequest {
    pub topic: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateOutcome {
    pub topic: String,
    /// Which path the gate took: `approved`, `rejected` or `timed-out`.
    pub path: String,
}

/// Records that the gate approved.
#[agent]
pub async fn on_approved(request: GateRequest) -> Result<GateOutcome, AgentError> {
    Ok(GateOutcome {
        topic: request.topic,
        path: "approved".into(),
    })
}

/// Records that the gate rejected.
#[agent]
pub async fn on_rejected(request: GateRequest) -> Result<GateOutcome, AgentError> {
    Ok(GateOutcome {
        topic: request.topic,
        path: "rejected".into(),
    })
}

/// Records that nobody decided in time.
#[agent]
pub async fn on_timed_out(request: GateRequest) -> Result<GateOutcome, AgentError> {
    Ok(GateOutcome {
        topic: request.topic,
        path: "timed-out".into(),
    })
}

workflow! {
    /// One short gate whose approve, reject and timeout paths each lead somewhere visible.
    pub GateTest(GateRequest) {
        ask = approval(
            subject = "Approve the gate test",
            timeout = 8,
            on_reject = rejected,
            on_timeout = timed_out,
        ) -> approved;
        approved = on_approved -> end;
        rejected = on_rejected -> end;
        timed_out = on_timed_out -> end;
    }
}
