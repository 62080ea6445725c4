//! The self-test workflow: exercises retry, catch, parallel and map on a deployment, so
//! `switchyard` users (and the end-to-end suite) can check a stack works end to end.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchyard_sdk::{agent, workflow, AgentContext, AgentError, JsonShape, Prompt, Tool};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct SelfTestInput {
    /// How many attempts of the `flaky` step fail before one succeeds.
    pub fail_times: u32,
    pub numbers: Vec<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct Recovered {
    pub numbers: Vec<i64>,
    /// Attempts the flaky step needed.
    pub flaky_attempts: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
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
        // Its agents ask no model, so its runs spend nothing: a declared budget to read.
        budget(tokens = 100_000, usd = 1.0);
        flaky_step = flaky.retry(on = ["Agent.Retryable"], interval = 1, max_attempts = 3, backoff = 1.0) -> risky;
        risky = always_fails.catch(on = ["Agent.Permanent"], then = recovered) -> squares;
        recovered = recover -> squares;
        squares = map(numbers, max_concurrency = 2, max_items = 10) { square_one = square } -> totals;
        totals = parallel { total = sum, max = largest } -> end;
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct PauseTestInput {
    /// How long each step takes, in milliseconds (at most [`MAX_STEP_DELAY_MS`]): time
    /// enough to pause a run between two of them.
    pub delay_ms: u64,
    pub numbers: Vec<i64>,
}

/// One map item of the pause test: a number and how long squaring it takes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct PacedNumber {
    pub n: i64,
    pub delay_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct Paced {
    pub items: Vec<PacedNumber>,
}

/// The longest a pause-test step waits.
pub const MAX_STEP_DELAY_MS: u64 = 5_000;

async fn take_time(delay_ms: u64) {
    tokio::time::sleep(std::time::Duration::from_millis(
        delay_ms.min(MAX_STEP_DELAY_MS),
    ))
    .await;
}

/// Takes its time and hands its input on: a top-level step before `pace_step`, so that a
/// run paused while it works parks a top-level step that is not the first.
#[agent]
pub async fn hold(input: PauseTestInput) -> Result<PauseTestInput, AgentError> {
    take_time(input.delay_ms).await;
    Ok(input)
}

/// Takes its time, then pairs each number with the delay its square will take.
#[agent]
pub async fn pace(input: PauseTestInput) -> Result<Paced, AgentError> {
    take_time(input.delay_ms).await;
    Ok(Paced {
        items: input
            .numbers
            .into_iter()
            .map(|n| PacedNumber {
                n,
                delay_ms: input.delay_ms,
            })
            .collect(),
    })
}

/// Takes its time, then squares one number.
#[agent]
pub async fn slow_square(item: PacedNumber) -> Result<i64, AgentError> {
    take_time(item.delay_ms).await;
    item.n
        .checked_mul(item.n)
        .ok_or_else(|| AgentError::InvalidInput(format!("{} squared overflows", item.n)))
}

workflow! {
    /// Slow steps — two, a map one item at a time, a parallel pair — to pause and resume a
    /// run between them. `pace_step` retries on `States.TaskFailed`, which must not retry a
    /// pause.
    pub PauseTest(PauseTestInput) {
        hold_step = hold -> pace_step;
        pace_step = pace.retry(on = ["States.TaskFailed"], interval = 1, max_attempts = 2, backoff = 1.0) -> squares;
        squares = map(items, max_concurrency = 1, max_items = 20) { slow_square_one = slow_square } -> totals;
        totals = parallel { total = sum, max = largest } -> end;
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct PayloadRequest {
    /// Roughly how many bytes the produced output holds.
    pub bytes: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct Blob {
    pub label: String,
    pub chunks: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct GateRequest {
    pub topic: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
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

/// The run input of `shape-test`: its JSON differs from its Rust names in every way serde
/// allows, so a run proves the emitted paths follow serde (`orderTotal`, `type`, `prio`,
/// `is-vip` at the top level, `{"kind": "sms"}`), not the Rust identifiers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
#[serde(rename_all = "camelCase")]
pub struct ShapeRequest {
    pub order_total: f64,
    pub r#type: String,
    #[serde(rename = "prio")]
    pub priority: Priority,
    pub channel: Channel,
    #[serde(flatten)]
    pub meta: ShapeMeta,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
#[serde(rename_all = "kebab-case")]
pub struct ShapeMeta {
    pub region: String,
    pub is_vip: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonShape)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Priority {
    High,
    Low,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonShape)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Channel {
    Email,
    Sms,
    Push { token: String },
}

/// Which step a `shape-test` run ended in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct ShapeRoute {
    pub route: String,
    pub order_total: f64,
}

/// Reports the step it runs as: the route the run took.
#[agent]
pub async fn report_route(
    input: ShapeRequest,
    ctx: AgentContext,
) -> Result<ShapeRoute, AgentError> {
    Ok(ShapeRoute {
        route: ctx.run.step,
        order_total: input.order_total,
    })
}

workflow! {
    /// Routes on renamed, raw-identifier and flattened fields and on tagged enums, through an
    /// approval gate: each run ends in the step the Rust conditions name.
    pub ShapeTest(ShapeRequest) {
        classify = branch {
            order_total > 1000.0 && r#type == "wholesale" => by_priority,
            meta.is_vip => by_channel,
            _ => standard,
        };
        by_priority = match priority { Priority::High => sign_off, Priority::Low => standard };
        sign_off = approval(subject = "Approve an urgent wholesale order", timeout = 300) -> after_sign_off;
        after_sign_off = branch { order_total > 5000.0 && approval.decision == "approve" => urgent, _ => standard };
        by_channel = match channel { Channel::Email => emailed, Channel::Sms => texted, _ => standard };
        urgent = report_route -> end;
        standard = report_route -> end;
        emailed = report_route -> end;
        texted = report_route -> end;
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct CacheTestInput {
    /// What the brief is about.
    pub topic: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct Brief {
    pub title: String,
    pub summary: String,
    pub words: u32,
}

/// The arguments of `cached_brief`'s tool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct WordCountArgs {
    pub text: String,
}

/// How long `cached_brief`'s replies are kept in the tenant's response cache.
pub const CACHE_TEST_TTL: Duration = Duration::from_secs(3600);

/// Asks the model for a brief, offering it a tool, with the response cache on: both rounds
/// (the tool call and the answer) are kept, so a second run on the same topic, by the same
/// tenant within the hour, is answered from the cache without calling the provider.
#[agent]
pub async fn cached_brief(input: CacheTestInput, ctx: AgentContext) -> Result<Brief, AgentError> {
    let prompt = Prompt::new(
        "You write short briefs. Count the words of your summary with the tool first.",
        format!("{}\nWrite a brief on this topic.", input.topic),
    );
    let brief =
        ctx.model
            .chat(prompt)
            .tool(Tool::new(
                "word_count",
                "Counts the words of a text",
                |args: WordCountArgs| async move {
                    Ok::<_, String>(args.text.split_whitespace().count())
                },
            ))
            .cache(CACHE_TEST_TTL)
            .ask::<Brief>()
            .await?;
    Ok(brief)
}

workflow! {
    /// One agent asking the model with the response cache on: run it twice with the same
    /// input and the second run's exchanges are cached (see its step's trace).
    pub CacheTest(CacheTestInput) {
        brief = cached_brief -> end;
    }
}
