//! The deployed backend: DynamoDB (runs, steps, approvals, API keys), Step Functions and
//! CloudWatch Logs, through the stores the Lambda functions use where they exist.

use futures::stream::{self, StreamExt, TryStreamExt};
use switchyard_lambda::approval::{ApprovalStore, DecisionError, DecisionRequest};
use switchyard_lambda::ConfigError;
use switchyard_state::schema::env;

use crate::backend::{
    ApprovalOutcome, ApprovalRecord, ApprovalStatus, AttemptTrace, Backend, BackendError,
    Execution, ExecutionStatus, GraphRecord, HistoryItem, LogEvent, Page, PageRequest,
    ParkedRecord, RunEnd, RunFilter, RunOutcome, RunRecord, StepRecord, StepTraceRecord,
    TraceObject, ViewLinkRecord,
};
use crate::keys::ApiKeys;

/// Log groups searched for a run's lines: every Switchyard function's.
const LOG_GROUP_PREFIX: &str = "/aws/lambda/switchyard-";
/// Bounds one logs request: groups searched at once, and events read in all.
const LOG_GROUP_CONCURRENCY: usize = 8;
const MAX_LOG_EVENTS: usize = 10_000;
/// Bytes of log messages one request reads, over every group (the function has 256 MB).
const MAX_LOG_BYTES: usize = 16 * 1024 * 1024;

fn aws_error<E, R>(service: &'static str, e: aws_sdk_sfn::error::SdkError<E, R>) -> BackendError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    BackendError::Aws {
        service,
        detail: aws_sdk_sfn::error::DisplayErrorContext(&e).to_string(),
        source: Box::new(e),
    }
}

fn sfn_error<E, R>(e: aws_sdk_sfn::error::SdkError<E, R>) -> BackendError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    aws_error("Step Functions", e)
}

fn logs_error<E, R>(e: aws_sdk_sfn::error::SdkError<E, R>) -> BackendError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    aws_error("CloudWatch Logs", e)
}

pub struct AwsBackend {
    sfn: aws_sdk_sfn::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    approvals: ApprovalStore,
    keys: ApiKeys,
    /// The payload bucket: offloaded conversation traces.
    payloads: switchyard_lambda::payload::PayloadStore,
    /// `arn:...:stateMachine:switchyard-`; the workflow name completes it.
    state_machine_prefix: String,
    /// The role graph state machines run as; `None`: this deployment builds no graphs.
    graph_role_arn: Option<String>,
}

impl AwsBackend {
    /// The tables from their variables; state machines from `STATE_MACHINE_ARN_PREFIX`.
    pub fn from_env(config: &aws_config::SdkConfig) -> Result<AwsBackend, ConfigError> {
        let approvals = ApprovalStore::from_env(config)?;
        Ok(AwsBackend {
            sfn: aws_sdk_sfn::Client::new(config),
            logs: aws_sdk_cloudwatchlogs::Client::new(config),
            keys: ApiKeys::new(approvals.state().clone()),
            payloads: switchyard_lambda::payload::PayloadStore::from_env(config),
            approvals,
            state_machine_prefix: switchyard_lambda::required_var(env::STATE_MACHINE_ARN_PREFIX)?,
            graph_role_arn: std::env::var(env::GRAPH_ROLE_ARN)
                .ok()
                .filter(|arn| !arn.is_empty()),
        })
    }

    /// `arn:<partition>:lambda:<region>:<account>:function:`, from the state machines' prefix.
    fn function_arn_prefix(&self) -> Option<String> {
        let parts: Vec<&str> = self.state_machine_prefix.split(':').collect();
        match parts.as_slice() {
            ["arn", partition, "states", region, account, "stateMachine", _] => Some(format!(
                "arn:{partition}:lambda:{region}:{account}:function:"
            )),
            _ => None,
        }
    }

    fn state(&self) -> &switchyard_state::State {
        self.approvals.state()
    }

    async fn log_groups(&self) -> Result<Vec<String>, BackendError> {
        let mut groups = Vec::new();
        let mut token = None;
        loop {
            let output = self
                .logs
                .describe_log_groups()
                .log_group_name_prefix(LOG_GROUP_PREFIX)
                .set_next_token(token)
                .send()
                .await
                .map_err(logs_error)?;
            groups.extend(
                output
                    .log_groups()
                    .iter()
                    .filter_map(|g| g.log_group_name().map(str::to_owned)),
            );
            token = output.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(groups);
            }
        }
    }

    async fn group_events(
        &self,
        group: &str,
        run_id: &str,
        from: u64,
        to: u64,
        byte_budget: usize,
    ) -> Result<Vec<LogEvent>, BackendError> {
        let function = group.trim_start_matches("/aws/lambda/").to_owned();
        let mut events = Vec::new();
        let mut bytes = 0usize;
        let mut token = None;
        loop {
            let result = self
                .logs
                .filter_log_events()
                .log_group_name(group)
                // Quoted: run ids contain `-`, which a bare term would read as "exclude".
                .filter_pattern(format!("\"{run_id}\""))
                .start_time(from as i64)
                .end_time(to as i64)
                .set_next_token(token)
                .send()
                .await;
            let output = match result {
                Ok(output) => output,
                // The group went away between listing and reading: nothing to show.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    return Ok(events)
                }
                Err(e) => return Err(logs_error(e)),
            };
            for e in output.events() {
                let message = e.message().unwrap_or_default();
                bytes += message.len();
                if bytes > byte_budget {
                    return Ok(events);
                }
                events.push(LogEvent {
                    function: function.clone(),
                    at: e.timestamp().unwrap_or_default().max(0) as u64,
                    message: message.to_owned(),
                });
            }
            token = output.next_token().map(str::to_owned);
            if token.is_none() || events.len() >= MAX_LOG_EVENTS {
                return Ok(events);
            }
        }
    }
}

fn history_item(event: &aws_sdk_sfn::types::HistoryEvent) -> HistoryItem {
    let state = event
        .state_entered_event_details()
        .map(|d| d.name().to_owned())
        .or_else(|| {
            event
                .state_exited_event_details()
                .map(|d| d.name().to_owned())
        });
    // Every failure-like event carries an error name and cause; take the one present.
    let failures = [
        event
            .execution_failed_event_details()
            .map(|d| (d.error(), d.cause())),
        event
            .execution_aborted_event_details()
            .map(|d| (d.error(), d.cause())),
        event
            .execution_timed_out_event_details()
            .map(|d| (d.error(), d.cause())),
        event
            .lambda_function_failed_event_details()
            .map(|d| (d.error(), d.cause())),
        event
            .lambda_function_timed_out_event_details()
            .map(|d| (d.error(), d.cause())),
        event
            .lambda_function_schedule_failed_event_details()
            .map(|d| (d.error(), d.cause())),
        event
            .lambda_function_start_failed_event_details()
            .map(|d| (d.error(), d.cause())),
        event
            .task_failed_event_details()
            .map(|d| (d.error(), d.cause())),
        event
            .task_timed_out_event_details()
            .map(|d| (d.error(), d.cause())),
        event
            .task_start_failed_event_details()
            .map(|d| (d.error(), d.cause())),
        event
            .task_submit_failed_event_details()
            .map(|d| (d.error(), d.cause())),
        event
            .map_run_failed_event_details()
            .map(|d| (d.error(), d.cause())),
    ];
    let (error, cause) = failures
        .into_iter()
        .flatten()
        .next()
        .map(|(e, c)| (e.map(str::to_owned), c.map(str::to_owned)))
        .unwrap_or_default();
    HistoryItem {
        id: event.id(),
        at: event.timestamp().to_millis().unwrap_or_default().max(0) as u64,
        kind: event.r#type().as_str().to_owned(),
        state,
        error,
        cause,
    }
}

impl Backend for AwsBackend {
    async fn tenant_of_key(&self, key_hash: &str) -> Result<Option<String>, BackendError> {
        Ok(self.keys.tenant_of(key_hash).await?)
    }

    async fn run_and_tenant_of_key(
        &self,
        run_id: &str,
        key_hash: &str,
    ) -> Result<(Option<RunRecord>, Option<String>), BackendError> {
        let (run, key) = self.state().run_and_key(run_id, key_hash).await?;
        let tenant = key
            .filter(|key| key.usable(switchyard_state::now_ms()))
            .map(|key| key.tenant_id);
        Ok((run, tenant))
    }

    fn execution_arn(&self, workflow: &str, run_id: &str) -> String {
        let machines = self
            .state_machine_prefix
            .replacen(":stateMachine:", ":execution:", 1);
        format!("{machines}{workflow}:{run_id}")
    }

    async fn start_execution(
        &self,
        workflow: &str,
        run_id: &str,
        input: &str,
    ) -> Result<String, BackendError> {
        let result = self
            .sfn
            .start_execution()
            .state_machine_arn(format!("{}{workflow}", self.state_machine_prefix))
            .name(run_id)
            .input(input)
            .send()
            .await;
        match result {
            Ok(started) => Ok(started.execution_arn().to_owned()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_state_machine_does_not_exist()) =>
            {
                Err(BackendError::NotDeployed(workflow.to_owned()))
            }
            Err(e) => Err(sfn_error(e)),
        }
    }

    async fn ensure_graph_machine(
        &self,
        name: &str,
        definition: &str,
        agents: &[&str],
        tenant: &str,
    ) -> Result<bool, BackendError> {
        let arn = format!("{}{name}", self.state_machine_prefix);
        match self
            .sfn
            .describe_state_machine()
            .state_machine_arn(&arn)
            .send()
            .await
        {
            Ok(_) => return Ok(false),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_state_machine_does_not_exist()) => {}
            Err(e) => return Err(sfn_error(e)),
        }
        let role = self
            .graph_role_arn
            .as_deref()
            .ok_or(BackendError::GraphsUnavailable(
            "it has no role for graph state machines (GRAPH_ROLE_ARN); redeploy with infra/deploy",
        ))?;
        let functions = self
            .function_arn_prefix()
            .ok_or(BackendError::GraphsUnavailable(
                "its STATE_MACHINE_ARN_PREFIX is not a state machine ARN prefix",
            ))?;
        let filled = crate::request::graph::with_functions(definition, agents, &functions);
        let tag = |key: &str, value: &str| {
            aws_sdk_sfn::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
        };
        let created = self
            .sfn
            .create_state_machine()
            .name(format!("{}{name}", switchyard_sdk::ir::RESOURCE_PREFIX))
            .definition(filled)
            .role_arn(role)
            .r#type(aws_sdk_sfn::types::StateMachineType::Standard)
            .tags(tag("switchyard:graph", name))
            .tags(tag("switchyard:tenant", tenant))
            .send()
            .await;
        match created {
            Ok(_) => Ok(true),
            // Another request created it first: the same graph, the same definition.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_state_machine_already_exists()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sfn_error(e)),
        }
    }

    async fn graph_known(&self, tenant: &str, workflow: &str) -> Result<bool, BackendError> {
        Ok(self.state().graphs().get(tenant, workflow).await?.is_some())
    }

    async fn graph_count(&self, tenant: &str, up_to: usize) -> Result<usize, BackendError> {
        Ok(self.state().graphs().count(tenant, up_to).await?)
    }

    async fn graph(
        &self,
        tenant: &str,
        workflow: &str,
    ) -> Result<Option<GraphRecord>, BackendError> {
        Ok(self.state().graphs().get(tenant, workflow).await?)
    }

    async fn create_view_link(&self, link: &ViewLinkRecord) -> Result<(), BackendError> {
        // 256 random bits do not collide; the conditional create makes sure of it.
        if self.state().view_links().create(link).await? {
            Ok(())
        } else {
            Err(BackendError::Keys(crate::keys::KeyError::Collision))
        }
    }

    async fn view_link(&self, token_hash: &str) -> Result<Option<ViewLinkRecord>, BackendError> {
        Ok(self.state().view_links().get(token_hash).await?)
    }

    async fn record_graph(&self, graph: &GraphRecord) -> Result<(), BackendError> {
        self.state().graphs().create(graph).await?;
        Ok(())
    }

    async fn record_started(&self, run: &RunRecord) -> Result<(), BackendError> {
        self.state().runs().start(run).await?;
        Ok(())
    }

    async fn run(&self, run_id: &str) -> Result<Option<RunRecord>, BackendError> {
        Ok(self.state().runs().get(run_id).await?)
    }

    async fn running_runs(&self, limit: u32) -> Result<Vec<RunRecord>, BackendError> {
        Ok(self.state().runs().running(limit).await?)
    }

    async fn runs(
        &self,
        tenant: &str,
        filter: &RunFilter,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, BackendError> {
        Ok(self.state().runs().of_tenant(tenant, filter, page).await?)
    }

    async fn run_outcomes(
        &self,
        tenant: &str,
        since_ms: u64,
        workflow: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<RunOutcome>, bool), BackendError> {
        Ok(self
            .state()
            .runs()
            .outcomes_since(tenant, since_ms, workflow, limit)
            .await?)
    }

    async fn steps(&self, run_id: &str) -> Result<Vec<StepRecord>, BackendError> {
        Ok(self.state().steps().of_run(run_id).await?)
    }

    async fn step_traces(
        &self,
        run_id: &str,
        step: &str,
    ) -> Result<Vec<StepTraceRecord>, BackendError> {
        Ok(self.state().steps().traces_of(run_id, step).await?)
    }

    async fn trace_object(
        &self,
        run_id: &str,
        object: &TraceObject,
    ) -> Result<AttemptTrace, BackendError> {
        Ok(self.payloads.get_trace(run_id, object).await?)
    }

    async fn agent_steps(
        &self,
        tenant: &str,
        agent: &str,
        since_ms: u64,
        limit: usize,
    ) -> Result<(Vec<StepRecord>, bool), BackendError> {
        Ok(self
            .state()
            .steps()
            .of_agent(tenant, agent, since_ms, limit)
            .await?)
    }

    async fn approvals_of_run(&self, run_id: &str) -> Result<Vec<ApprovalRecord>, BackendError> {
        Ok(self.state().approvals().of_run(run_id).await?)
    }

    async fn approvals_of_tenant(
        &self,
        tenant: &str,
        status: Option<ApprovalStatus>,
        page: &PageRequest,
    ) -> Result<Page<ApprovalRecord>, BackendError> {
        Ok(self
            .state()
            .approvals()
            .of_tenant(tenant, status, page)
            .await?)
    }

    async fn approval_outcomes(
        &self,
        tenant: &str,
        since_ms: u64,
        workflow: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<ApprovalOutcome>, bool), BackendError> {
        Ok(self
            .state()
            .approvals()
            .outcomes_since(tenant, since_ms, workflow, limit)
            .await?)
    }

    async fn execution(&self, execution_arn: &str) -> Result<Option<Execution>, BackendError> {
        let result = self
            .sfn
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await;
        let described = match result {
            Ok(described) => described,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_execution_does_not_exist()) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(sfn_error(e)),
        };
        use aws_sdk_sfn::types::ExecutionStatus as Sfn;
        let status = match described.status() {
            Sfn::Running => ExecutionStatus::Running,
            Sfn::Succeeded => ExecutionStatus::Succeeded,
            Sfn::TimedOut => ExecutionStatus::TimedOut,
            Sfn::Aborted => ExecutionStatus::Aborted,
            // Failed, waiting for a redrive, or a status newer than this SDK: not running.
            _ => ExecutionStatus::Failed,
        };
        Ok(Some(Execution {
            status,
            output: described.output().map(str::to_owned),
            error: described.error().map(str::to_owned),
            cause: described.cause().map(str::to_owned),
        }))
    }

    async fn stop_execution(&self, execution_arn: &str) -> Result<(), BackendError> {
        let result = self
            .sfn
            .stop_execution()
            .execution_arn(execution_arn)
            .error("Switchyard.Cancelled")
            .cause("cancelled through the Switchyard API")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_execution_does_not_exist()) =>
            {
                Ok(())
            }
            Err(e) => Err(sfn_error(e)),
        }
    }

    async fn end_run(&self, run_id: &str, end: &RunEnd) -> Result<(), BackendError> {
        let run = RunRecord {
            run_id: run_id.to_owned(),
            ..RunRecord::default()
        };
        let steps = self.state().steps().of_run(run_id).await?;
        self.state()
            .runs()
            .end(&run, end, &switchyard_state::RunTotals::of(&steps))
            .await?;
        Ok(())
    }

    async fn discard_run(&self, run_id: &str) -> Result<bool, BackendError> {
        Ok(self.state().runs().discard(run_id).await?)
    }

    async fn cancel_run(&self, run_id: &str) -> Result<bool, BackendError> {
        Ok(self.state().runs().cancel(run_id).await?)
    }

    async fn pause_run(&self, run_id: &str) -> Result<bool, BackendError> {
        Ok(self.state().runs().pause(run_id).await?)
    }

    async fn resume_run(&self, run_id: &str) -> Result<bool, BackendError> {
        Ok(self.state().runs().resume(run_id).await?)
    }

    async fn parked_steps(&self, run_id: &str) -> Result<Vec<ParkedRecord>, BackendError> {
        Ok(self.state().parked().of_run(run_id).await?)
    }

    async fn release_parked(&self, run_id: &str) -> Result<u32, BackendError> {
        Ok(self.approvals.waits().release(run_id).await?)
    }

    async fn end_waits(&self, run_id: &str) -> Result<u32, BackendError> {
        Ok(self.approvals.waits().end_stopped(run_id).await?)
    }

    async fn expire_approval(
        &self,
        request_id: &str,
        from: ApprovalStatus,
    ) -> Result<(), BackendError> {
        self.state().approvals().expire(request_id, from).await?;
        Ok(())
    }

    async fn history(&self, execution_arn: &str) -> Result<Vec<HistoryItem>, BackendError> {
        let mut events = Vec::new();
        let mut token = None;
        loop {
            let result = self
                .sfn
                .get_execution_history()
                .execution_arn(execution_arn)
                .include_execution_data(false)
                .max_results(1000)
                .set_next_token(token)
                .send()
                .await;
            let page = match result {
                Ok(page) => page,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_execution_does_not_exist()) =>
                {
                    return Ok(events)
                }
                Err(e) => return Err(sfn_error(e)),
            };
            events.extend(page.events().iter().map(history_item));
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(events);
            }
        }
    }

    async fn log_events(
        &self,
        run_id: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<LogEvent>, BackendError> {
        let groups = self.log_groups().await?;
        let budget = (MAX_LOG_BYTES / groups.len().max(1)).max(64 * 1024);
        let per_group: Vec<Vec<LogEvent>> = stream::iter(groups)
            .map(|group| async move { self.group_events(&group, run_id, from, to, budget).await })
            .buffer_unordered(LOG_GROUP_CONCURRENCY)
            .try_collect()
            .await?;
        let mut events: Vec<LogEvent> = per_group.into_iter().flatten().collect();
        events.truncate(MAX_LOG_EVENTS);
        Ok(events)
    }

    async fn decide(
        &self,
        request: &DecisionRequest,
        tenant: &str,
    ) -> Result<ApprovalRecord, DecisionError> {
        self.approvals.decide(request, Some(tenant)).await
    }
}
