//! The deployed backend: DynamoDB (runs, steps, approvals, API keys), Step Functions and
//! CloudWatch Logs, through the stores the Lambda functions use where they exist.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use futures::stream::{self, StreamExt, TryStreamExt};
use switchyard_lambda::approval::{ApprovalStore, DecisionError, DecisionRequest, RUN_INDEX};
use switchyard_lambda::store::{RunOutcome, RunStore};
use switchyard_lambda::{required_var, ConfigError};
use switchyard_sdk::RunContext;

use crate::backend::{
    Approval, Backend, BackendError, Execution, ExecutionStatus, HistoryItem, LogEvent, Page,
    PageCursor, PageRequest, RunEnd, RunFilter, RunRecord, StepRecord,
};
use crate::keys::ApiKeys;
use crate::{APPROVALS_BY_TENANT, RUNS_BY_TENANT};

type Item = HashMap<String, AttributeValue>;

/// Log groups searched for a run's lines: every Switchyard function's.
const LOG_GROUP_PREFIX: &str = "/aws/lambda/switchyard-";
/// Requests in flight at once when one answer needs many reads.
const READ_CONCURRENCY: usize = 8;
/// Bounds one logs request: groups searched at once, and events read in all.
const LOG_GROUP_CONCURRENCY: usize = 8;
const MAX_LOG_EVENTS: usize = 10_000;
/// Bytes of log messages one request reads, over every group (the function has 256 MB).
const MAX_LOG_BYTES: usize = 16 * 1024 * 1024;
/// Bounds one filtered listing: DynamoDB pages read before answering with a cursor.
const MAX_LISTING_PAGES: usize = 10;
/// Items DynamoDB reads per page of a filtered listing (filters apply after the read).
const FILTERED_PAGE_SIZE: u32 = 100;

fn unavailable(e: impl std::fmt::Display) -> BackendError {
    BackendError::Unavailable(e.to_string())
}

fn dynamodb_error<E, R>(e: aws_sdk_dynamodb::error::SdkError<E, R>) -> BackendError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e))
}

fn sfn_error<E, R>(e: aws_sdk_sfn::error::SdkError<E, R>) -> BackendError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    unavailable(aws_sdk_sfn::error::DisplayErrorContext(e))
}

fn logs_error<E, R>(e: aws_sdk_cloudwatchlogs::error::SdkError<E, R>) -> BackendError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    unavailable(aws_sdk_cloudwatchlogs::error::DisplayErrorContext(e))
}

pub struct AwsBackend {
    dynamodb: aws_sdk_dynamodb::Client,
    sfn: aws_sdk_sfn::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    run_store: RunStore,
    approval_store: ApprovalStore,
    keys: ApiKeys,
    runs_table: String,
    steps_table: String,
    approvals_table: String,
    /// `arn:...:stateMachine:switchyard-`; the workflow name completes it.
    state_machine_prefix: String,
}

impl AwsBackend {
    /// Tables from `RUNS_TABLE`, `STEPS_TABLE`, `APPROVALS_TABLE`, `API_KEYS_TABLE`; state
    /// machines from `STATE_MACHINE_ARN_PREFIX`.
    pub fn from_env(config: &aws_config::SdkConfig) -> Result<AwsBackend, ConfigError> {
        let approvals_table = required_var("APPROVALS_TABLE")?;
        Ok(AwsBackend {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sfn: aws_sdk_sfn::Client::new(config),
            logs: aws_sdk_cloudwatchlogs::Client::new(config),
            run_store: RunStore::from_env(config)?,
            approval_store: ApprovalStore::new(config, approvals_table.clone()),
            keys: ApiKeys::from_env(config)?,
            runs_table: required_var("RUNS_TABLE")?,
            steps_table: required_var("STEPS_TABLE")?,
            approvals_table,
            state_machine_prefix: required_var("STATE_MACHINE_ARN_PREFIX")?,
        })
    }

    /// A tenant's items of `table` through its `index` (`tenant_id`, `created_at`), newest
    /// first, where every `filters` attribute equals its value. Reads at most
    /// [`MAX_LISTING_PAGES`] pages; the cursor resumes after the last item returned (or
    /// read, when the budget ran out first).
    async fn newest_first(
        &self,
        listing: Listing<'_>,
        page: &PageRequest,
    ) -> Result<Page<Item>, BackendError> {
        let mut names = HashMap::new();
        let mut values = HashMap::from([(
            ":tenant".to_owned(),
            AttributeValue::S(listing.tenant.to_owned()),
        )]);
        let mut conditions = Vec::new();
        for (i, (attribute, value)) in listing.filters.iter().enumerate() {
            names.insert(format!("#f{i}"), (*attribute).to_owned());
            values.insert(format!(":f{i}"), AttributeValue::S(value.clone()));
            conditions.push(format!("#f{i} = :f{i}"));
        }
        let page_size = if conditions.is_empty() {
            page.limit
        } else {
            page.limit.max(FILTERED_PAGE_SIZE)
        };
        let mut start = page.after.as_ref().map(|cursor| {
            HashMap::from([
                (
                    listing.id_attribute.to_owned(),
                    AttributeValue::S(cursor.id.clone()),
                ),
                (
                    "tenant_id".to_owned(),
                    AttributeValue::S(listing.tenant.to_owned()),
                ),
                (
                    "created_at".to_owned(),
                    AttributeValue::N(cursor.created_at.to_string()),
                ),
            ])
        });
        let mut items = Vec::new();
        for _ in 0..MAX_LISTING_PAGES {
            let output = self
                .dynamodb
                .query()
                .table_name(listing.table)
                .index_name(listing.index)
                .key_condition_expression("tenant_id = :tenant")
                .set_filter_expression((!conditions.is_empty()).then(|| conditions.join(" AND ")))
                .set_expression_attribute_names((!names.is_empty()).then(|| names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(false)
                .limit(page_size as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(dynamodb_error)?;
            let read = output.items();
            for (i, item) in read.iter().enumerate() {
                items.push(item.clone());
                if items.len() == page.limit as usize {
                    let last_of_all = i + 1 == read.len() && output.last_evaluated_key().is_none();
                    let next = if last_of_all {
                        None
                    } else {
                        cursor_of(item, listing.id_attribute)
                    };
                    return Ok(Page { items, next });
                }
            }
            match output.last_evaluated_key() {
                Some(key) => start = Some(key.clone()),
                None => return Ok(Page { items, next: None }),
            }
        }
        let next = start
            .as_ref()
            .and_then(|key| cursor_of(key, listing.id_attribute));
        Ok(Page { items, next })
    }

    /// Approval requests by id, read through the approvals store (its one parser).
    async fn approvals_by_id(&self, ids: Vec<String>) -> Result<Vec<Approval>, BackendError> {
        let found: Vec<Option<Approval>> = stream::iter(ids)
            .map(|id| async move {
                match self.approval_store.get(&id).await {
                    Ok(record) => Ok(Some(Approval::from(record))),
                    // Deleted between the index read and this one.
                    Err(DecisionError::NotFound(_)) => Ok(None),
                    Err(e) => Err(unavailable(e)),
                }
            })
            .buffered(READ_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
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

/// One tenant-scoped listing through a `by-tenant` index.
struct Listing<'a> {
    table: &'a str,
    index: &'a str,
    tenant: &'a str,
    /// The table's key attribute, which the cursor carries.
    id_attribute: &'static str,
    filters: Vec<(&'static str, String)>,
}

fn cursor_of(item: &Item, id_attribute: &str) -> Option<PageCursor> {
    Some(PageCursor {
        id: text(item, id_attribute)?,
        created_at: number(item, "created_at")?,
    })
}

fn text(item: &Item, key: &str) -> Option<String> {
    item.get(key).and_then(|v| v.as_s().ok()).cloned()
}

fn number(item: &Item, key: &str) -> Option<u64> {
    let n = item.get(key).and_then(|v| v.as_n().ok())?;
    // Totals are written by ADD and may come back as `12.0`.
    n.parse::<u64>()
        .ok()
        .or_else(|| n.parse::<f64>().ok().map(|f| f.max(0.0) as u64))
}

fn decimal(item: &Item, key: &str) -> f64 {
    item.get(key)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or_default()
}

fn run_record(item: &Item) -> Option<RunRecord> {
    Some(RunRecord {
        run_id: text(item, "run_id")?,
        tenant_id: text(item, "tenant_id").unwrap_or_default(),
        workflow: text(item, "workflow").unwrap_or_default(),
        status: text(item, "status").unwrap_or_else(|| "running".to_owned()),
        current_step: text(item, "current_step"),
        created_at: number(item, "created_at").unwrap_or_default(),
        updated_at: number(item, "updated_at"),
        finished_at: number(item, "finished_at"),
        input_summary: text(item, "input_summary"),
        output_summary: text(item, "output_summary"),
        failure_error: text(item, "failure_error"),
        failure_cause: text(item, "failure_cause"),
        tokens_in: number(item, "tokens_in").unwrap_or_default(),
        tokens_out: number(item, "tokens_out").unwrap_or_default(),
        cost_usd: decimal(item, "cost_usd"),
        step_attempts: number(item, "step_attempts").unwrap_or_default(),
        execution_arn: text(item, "execution_arn"),
    })
}

fn step_record(item: &Item) -> Option<StepRecord> {
    Some(StepRecord {
        step_key: text(item, "step_key")?,
        step: text(item, "step").unwrap_or_default(),
        item: number(item, "item"),
        attempt: number(item, "attempt").unwrap_or_default(),
        agent: text(item, "agent"),
        status: text(item, "status").unwrap_or_default(),
        started_at: number(item, "started_at"),
        finished_at: number(item, "finished_at"),
        latency_ms: number(item, "latency_ms"),
        tokens_in: number(item, "tokens_in").unwrap_or_default(),
        tokens_out: number(item, "tokens_out").unwrap_or_default(),
        cost_usd: decimal(item, "cost_usd"),
        model: text(item, "model"),
        error_name: text(item, "error_name"),
        error_message: text(item, "error_message"),
    })
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
        self.keys.tenant_of(key_hash).await.map_err(unavailable)
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

    async fn record_started(&self, run: &RunRecord) -> Result<(), BackendError> {
        let context = RunContext {
            run_id: run.run_id.clone(),
            tenant_id: run.tenant_id.clone(),
            workflow: run.workflow.clone(),
            ..RunContext::default()
        };
        self.run_store
            .run_started(
                &context,
                run.execution_arn.as_deref().unwrap_or_default(),
                run.input_summary.as_deref().unwrap_or_default(),
            )
            .await
            .map_err(unavailable)
    }

    async fn run(&self, run_id: &str) -> Result<Option<RunRecord>, BackendError> {
        let output = self
            .dynamodb
            .get_item()
            .table_name(&self.runs_table)
            .key("run_id", AttributeValue::S(run_id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(dynamodb_error)?;
        Ok(output.item().and_then(run_record))
    }

    async fn runs(
        &self,
        tenant: &str,
        filter: &RunFilter,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, BackendError> {
        let mut filters = Vec::new();
        if let Some(status) = &filter.status {
            filters.push(("status", status.clone()));
        }
        if let Some(workflow) = &filter.workflow {
            filters.push(("workflow", workflow.clone()));
        }
        let listing = Listing {
            table: &self.runs_table,
            index: RUNS_BY_TENANT,
            tenant,
            id_attribute: "run_id",
            filters,
        };
        let page = self.newest_first(listing, page).await?;
        Ok(Page {
            items: page.items.iter().filter_map(run_record).collect(),
            next: page.next,
        })
    }

    async fn steps(&self, run_id: &str) -> Result<Vec<StepRecord>, BackendError> {
        let mut steps = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .dynamodb
                .query()
                .table_name(&self.steps_table)
                .key_condition_expression("run_id = :run")
                .expression_attribute_values(":run", AttributeValue::S(run_id.to_owned()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(dynamodb_error)?;
            steps.extend(output.items().iter().filter_map(step_record));
            start = output.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        steps.sort_by(|a, b| (a.started_at, &a.step_key).cmp(&(b.started_at, &b.step_key)));
        Ok(steps)
    }

    async fn approvals_of_run(&self, run_id: &str) -> Result<Vec<Approval>, BackendError> {
        let mut ids = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .dynamodb
                .query()
                .table_name(&self.approvals_table)
                .index_name(RUN_INDEX)
                .key_condition_expression("run_id = :run")
                .expression_attribute_values(":run", AttributeValue::S(run_id.to_owned()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(dynamodb_error)?;
            ids.extend(output.items().iter().filter_map(|i| text(i, "request_id")));
            start = output.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        let mut approvals = self.approvals_by_id(ids).await?;
        approvals.sort_by(|a, b| (a.created_at, &a.request_id).cmp(&(b.created_at, &b.request_id)));
        Ok(approvals)
    }

    async fn approvals_of_tenant(
        &self,
        tenant: &str,
        status: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<Approval>, BackendError> {
        let listing = Listing {
            table: &self.approvals_table,
            index: APPROVALS_BY_TENANT,
            tenant,
            id_attribute: "request_id",
            filters: status
                .map(|s| ("status", s.to_owned()))
                .into_iter()
                .collect(),
        };
        let page = self.newest_first(listing, page).await?;
        let ids = page
            .items
            .iter()
            .filter_map(|i| text(i, "request_id"))
            .collect();
        Ok(Page {
            items: self.approvals_by_id(ids).await?,
            next: page.next,
        })
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
        let outcome = match end {
            RunEnd::Succeeded { output_summary } => RunOutcome::Succeeded { output_summary },
            RunEnd::Failed { error, cause } => RunOutcome::Failed { error, cause },
        };
        self.run_store
            .run_finished(run_id, outcome)
            .await
            .map_err(unavailable)
    }

    async fn cancel_run(&self, run_id: &str) -> Result<bool, BackendError> {
        let now = switchyard_lambda::store::now_ms().to_string();
        let result = self
            .dynamodb
            .update_item()
            .table_name(&self.runs_table)
            .key("run_id", AttributeValue::S(run_id.to_owned()))
            .update_expression("SET #status = :cancelled, finished_at = :now, updated_at = :now")
            .condition_expression("#status = :running")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":cancelled", AttributeValue::S("cancelled".into()))
            .expression_attribute_values(":running", AttributeValue::S("running".into()))
            .expression_attribute_values(":now", AttributeValue::N(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(dynamodb_error(e)),
        }
    }

    async fn expire_approval(&self, request_id: &str, from: &str) -> Result<(), BackendError> {
        self.approval_store
            .mark_expired(request_id, Some(from))
            .await
            .map_err(unavailable)
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
    ) -> Result<Approval, DecisionError> {
        self.approval_store
            .decide(request, Some(tenant))
            .await
            .map(Approval::from)
    }
}
