//! The runs table. A run is created `running` by the API's start call or by its execution's
//! start event, whichever comes first (the second fills in only what is missing); a client
//! may move it between `running` and `paused`; it leaves those once, by its execution's end
//! event or a cancel, and is never rewritten after. Nothing else writes a run's item while it
//! runs: its steps are their own items.

use aws_sdk_dynamodb::types::AttributeValue;

use super::listing::{newest_first, newest_since, Listing};
use super::{applied, decode, lost_condition, n, now_ms, s, State, StateError};
use crate::record::{
    Admission, Page, PageRequest, RunEnd, RunOutcome, RunRecord, RunSpending, RunStatus, RunTotals,
};
use crate::schema::{Table, BY_TENANT, RUNS_BY_STATUS};

const TABLE: Table = Table::Runs;

/// Narrows a tenant's run listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunFilter {
    pub status: Option<RunStatus>,
    pub workflow: Option<String>,
}

pub struct Runs<'a> {
    pub(super) state: &'a State,
}

impl Runs<'_> {
    fn name(&self) -> &str {
        self.state.table(TABLE)
    }

    /// Records `run` as running: creates it, or fills in what the other recorder did not
    /// know. A run that already finished is left alone (`Ok(false)`).
    pub async fn start(&self, run: &RunRecord) -> Result<bool, StateError> {
        let mut expression = String::from(
            "SET #status = :running, tenant_id = :tenant, workflow = :workflow, \
             updated_at = :now, created_at = if_not_exists(created_at, :created)",
        );
        let mut request = self
            .state
            .client
            .update_item()
            .table_name(self.name())
            .key("run_id", s(&run.run_id))
            .condition_expression("attribute_not_exists(#status) OR #status = :running")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":running", s(RunStatus::Running.as_str()))
            .expression_attribute_values(":tenant", s(&run.tenant_id))
            .expression_attribute_values(":workflow", s(&run.workflow))
            .expression_attribute_values(":now", n(now_ms()))
            .expression_attribute_values(":created", n(run.created_at));
        if let Some(arn) = &run.execution_arn {
            expression.push_str(", execution_arn = :arn");
            request = request.expression_attribute_values(":arn", s(arn));
        }
        if let Some(input) = &run.input_summary {
            expression.push_str(", input_summary = :input");
            request = request.expression_attribute_values(":input", s(input));
        }
        if let Some(budget) = &run.budget {
            let budget =
                serde_dynamo::to_attribute_value(budget).map_err(|source| StateError::Encode {
                    table: TABLE.spec().suffix,
                    source,
                })?;
            expression.push_str(", budget = :budget");
            request = request.expression_attribute_values(":budget", budget);
        }
        match request.update_expression(expression).send().await {
            Ok(_) => Ok(true),
            Err(e) if lost_condition(&e) => {
                tracing::warn!(run_id = %run.run_id, "run already finished; start not recorded");
                Ok(false)
            }
            Err(e) => Err(StateError::dynamodb(TABLE, "record a start", e)),
        }
    }

    /// Records how a run ended, once: a run that already left `running` keeps its record
    /// (`Ok(false)`). `run` carries what identifies it (tenant, workflow, start, execution),
    /// written only where the record lacks it: an end may arrive before the start did.
    pub async fn end(
        &self,
        run: &RunRecord,
        end: &RunEnd,
        totals: &RunTotals,
    ) -> Result<bool, StateError> {
        let mut fields: Vec<(&str, &str)> = Vec::new();
        match end {
            RunEnd::Succeeded {
                output_summary,
                output,
            } => {
                fields.push(("output_summary", output_summary));
                if let Some(output) = output {
                    fields.push(("output", output));
                }
            }
            RunEnd::Failed { error, cause } => {
                fields.push(("failure_error", error));
                fields.push(("failure_cause", cause));
            }
            RunEnd::Cancelled => {}
        }
        let left = self
            .leave_running(run, end.status(), &fields, Some(totals))
            .await?;
        if !left {
            tracing::info!(run_id = %run.run_id, "run already ended; its record stands");
        }
        Ok(left)
    }

    /// Pauses a running run; `Ok(false)` if it was not running (paused already, or ended).
    pub async fn pause(&self, run_id: &str) -> Result<bool, StateError> {
        self.toggle(run_id, RunStatus::Running, RunStatus::Paused, "paused_at")
            .await
    }

    /// Resumes a paused run; `Ok(false)` if it was not paused.
    pub async fn resume(&self, run_id: &str) -> Result<bool, StateError> {
        self.toggle(run_id, RunStatus::Paused, RunStatus::Running, "resumed_at")
            .await
    }

    async fn toggle(
        &self,
        run_id: &str,
        from: RunStatus,
        to: RunStatus,
        times: &'static str,
    ) -> Result<bool, StateError> {
        let now = now_ms();
        let result = self
            .state
            .client
            .update_item()
            .table_name(self.name())
            .key("run_id", s(run_id))
            .update_expression(
                "SET #status = :to, updated_at = :now, \
                 #times = list_append(if_not_exists(#times, :none), :at)",
            )
            .condition_expression("#status = :from")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#times", times)
            .expression_attribute_values(":from", s(from.as_str()))
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":at", AttributeValue::L(vec![n(now)]))
            .send()
            .await;
        applied(result, TABLE, "pause or resume a run")
    }

    /// The run's status alone, read consistently: what an agent task checks before it starts
    /// its agent (`None` for a run with no record yet, one started outside the API).
    pub async fn status(&self, run_id: &str) -> Result<Option<RunStatus>, StateError> {
        let output = self
            .state
            .client
            .get_item()
            .table_name(self.name())
            .key("run_id", s(run_id))
            .projection_expression("#status")
            .expression_attribute_names("#status", "status")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StateError::dynamodb(TABLE, "read a run's status", e))?;
        let status = output
            .item()
            .and_then(|item| item.get("status"))
            .and_then(|v| v.as_s().ok())
            .and_then(|text| text.parse().ok());
        Ok(status)
    }

    /// Whether a step's first attempt may start: not while its run is paused. One
    /// consistent read of the run's status, with its budget and what it spent so far, so
    /// the attempt's model exchanges need not read the run item again.
    pub async fn admission(&self, run_id: &str) -> Result<Admission, StateError> {
        let mut attributes = vec!["#status"];
        attributes.extend_from_slice(RunSpending::ATTRIBUTES);
        let output = self
            .state
            .client
            .get_item()
            .table_name(self.name())
            .key("run_id", s(run_id))
            .projection_expression(attributes.join(", "))
            .expression_attribute_names("#status", "status")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StateError::dynamodb(TABLE, "read a run's status and budget", e))?;
        let Some(item) = output.item else {
            return Ok(Admission::Unrecorded);
        };
        let paused = item
            .get("status")
            .and_then(|v| v.as_s().ok())
            .is_some_and(|text| text == RunStatus::Paused.as_str());
        if paused {
            return Ok(Admission::Held);
        }
        Ok(Admission::Go(self.spending_of(run_id, item)?))
    }

    fn spending_of(
        &self,
        run_id: &str,
        item: std::collections::HashMap<String, AttributeValue>,
    ) -> Result<RunSpending, StateError> {
        serde_dynamo::from_item(item).map_err(|source| StateError::Corrupt {
            table: TABLE.spec().suffix,
            key: run_id.to_owned(),
            source,
        })
    }

    /// [`Runs::admission`] for a parallel branch: its siblings (the entry `group` into the
    /// parallel step) are admitted as one. The first to ask while the run is not paused
    /// admits the group; every later one is admitted with it even if the run has been
    /// paused since. Asked while paused with the group not admitted, the answer is
    /// [`Admission::Held`] for every one of them. So a pause never holds one branch while a
    /// sibling runs, and the parallel step, caught paused, can run again whole.
    ///
    /// One conditional write (the admitted groups are a string set on the run item),
    /// serialised with the pause's own write; a read after it only when it is refused.
    pub async fn admit_group(&self, run_id: &str, group: &str) -> Result<Admission, StateError> {
        // Refused, then read as not paused: resumed in between; ask again.
        for _ in 0..3 {
            if let Some(spending) = self.try_admit_group(run_id, group).await? {
                return Ok(Admission::Go(spending));
            }
            match self.admission(run_id).await? {
                Admission::Go(_) => continue,
                refused => return Ok(refused),
            }
        }
        self.admission(run_id).await
    }

    /// One conditional admission of `group`: `None` when refused.
    async fn try_admit_group(
        &self,
        run_id: &str,
        group: &str,
    ) -> Result<Option<RunSpending>, StateError> {
        let result = self
            .state
            .client
            .update_item()
            .table_name(self.name())
            .key("run_id", s(run_id))
            .update_expression("ADD admitted_groups :groups")
            .condition_expression(
                "attribute_exists(run_id) AND (#status <> :paused OR contains(admitted_groups, :group))",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":paused", s(RunStatus::Paused.as_str()))
            .expression_attribute_values(":group", s(group))
            .expression_attribute_values(":groups", AttributeValue::Ss(vec![group.to_owned()]))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => {
                let item = output.attributes.unwrap_or_default();
                Ok(Some(self.spending_of(run_id, item)?))
            }
            // No record (a run started outside the API), or paused before the group was
            // admitted: a read says which.
            Err(e) if lost_condition(&e) => Ok(None),
            Err(e) => Err(StateError::dynamodb(
                TABLE,
                "admit a parallel step's branches",
                e,
            )),
        }
    }

    /// The run's budget and what it spent so far, read consistently: what an agent reads
    /// before its first model exchange when the step's start did not (`None` for a run with
    /// no record yet).
    pub async fn spending(&self, run_id: &str) -> Result<Option<RunSpending>, StateError> {
        let output = self
            .state
            .client
            .get_item()
            .table_name(self.name())
            .key("run_id", s(run_id))
            .projection_expression(RunSpending::ATTRIBUTES.join(", "))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StateError::dynamodb(TABLE, "read a run's budget", e))?;
        output
            .item
            .map(|item| {
                serde_dynamo::from_item(item).map_err(|source| StateError::Corrupt {
                    table: TABLE.spec().suffix,
                    key: run_id.to_owned(),
                    source,
                })
            })
            .transpose()
    }

    /// Adds what an attempt spent to its run's totals, atomically (attempts of a parallel
    /// step or a map add at once): only a run that has a budget and has not ended keeps
    /// them, so `Ok(false)` otherwise.
    pub async fn spend(&self, run_id: &str, tokens: u64, usd: f64) -> Result<bool, StateError> {
        let result = self
            .state
            .client
            .update_item()
            .table_name(self.name())
            .key("run_id", s(run_id))
            .update_expression("ADD spent_tokens :tokens, spent_usd :usd")
            .condition_expression("attribute_exists(budget) AND #status IN (:running, :paused)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":running", s(RunStatus::Running.as_str()))
            .expression_attribute_values(":paused", s(RunStatus::Paused.as_str()))
            .expression_attribute_values(":tokens", n(tokens))
            .expression_attribute_values(":usd", n(usd))
            .send()
            .await;
        applied(result, TABLE, "add to a run's spending")
    }

    /// Removes the record of a run whose execution did not start: still `running`, so neither
    /// paused nor ended (`Ok(false)` otherwise, and it stays).
    pub async fn discard(&self, run_id: &str) -> Result<bool, StateError> {
        let result = self
            .state
            .client
            .delete_item()
            .table_name(self.name())
            .key("run_id", s(run_id))
            .condition_expression("#status = :running")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":running", s(RunStatus::Running.as_str()))
            .send()
            .await;
        applied(result, TABLE, "discard an unstarted run")
    }

    /// Moves an active (running or paused) run to cancelled; `Ok(false)` if it had ended.
    pub async fn cancel(&self, run_id: &str) -> Result<bool, StateError> {
        let run = RunRecord {
            run_id: run_id.to_owned(),
            ..RunRecord::default()
        };
        self.leave_running(&run, RunStatus::Cancelled, &[], None)
            .await
    }

    /// The one way a run ends (leaves `running` or `paused`), once: `to`, its finish time,
    /// `fields` and `totals`. With a tenant in `run`, a missing record is created (the end
    /// arrived first); without one, only an existing active record moves.
    async fn leave_running(
        &self,
        run: &RunRecord,
        to: RunStatus,
        fields: &[(&str, &str)],
        totals: Option<&RunTotals>,
    ) -> Result<bool, StateError> {
        let mut expression =
            String::from("SET #status = :to, finished_at = :now, updated_at = :now");
        let mut request = self
            .state
            .client
            .update_item()
            .table_name(self.name())
            .key("run_id", s(&run.run_id))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":running", s(RunStatus::Running.as_str()))
            .expression_attribute_values(":paused", s(RunStatus::Paused.as_str()))
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":now", n(now_ms()));
        if run.tenant_id.is_empty() {
            request = request.condition_expression("#status IN (:running, :paused)");
        } else {
            request = request
                .condition_expression(
                    "attribute_not_exists(#status) OR #status IN (:running, :paused)",
                )
                .expression_attribute_values(":tenant", s(&run.tenant_id))
                .expression_attribute_values(":workflow", s(&run.workflow))
                .expression_attribute_values(":created", n(run.created_at));
            expression.push_str(
                ", tenant_id = if_not_exists(tenant_id, :tenant), \
                 workflow = if_not_exists(workflow, :workflow), \
                 created_at = if_not_exists(created_at, :created)",
            );
            if let Some(arn) = &run.execution_arn {
                expression.push_str(", execution_arn = if_not_exists(execution_arn, :arn)");
                request = request.expression_attribute_values(":arn", s(arn));
            }
            if let Some(input) = &run.input_summary {
                expression.push_str(", input_summary = if_not_exists(input_summary, :input)");
                request = request.expression_attribute_values(":input", s(input));
            }
        }
        // Through placeholders: a field may be a DynamoDB reserved word (`output` is).
        for (i, (attribute, value)) in fields.iter().enumerate() {
            expression.push_str(&format!(", #f{i} = :f{i}"));
            request = request
                .expression_attribute_names(format!("#f{i}"), *attribute)
                .expression_attribute_values(format!(":f{i}"), s(*value));
        }
        if let Some(totals) = totals {
            expression.push_str(
                ", tokens_in = :tin, tokens_out = :tout, cost_usd = :cost, step_attempts = :attempts",
            );
            request = request
                .expression_attribute_values(":tin", n(totals.tokens_in))
                .expression_attribute_values(":tout", n(totals.tokens_out))
                .expression_attribute_values(":cost", n(totals.cost_usd))
                .expression_attribute_values(":attempts", n(totals.step_attempts));
        }
        applied(
            request.update_expression(expression).send().await,
            TABLE,
            "end a run",
        )
    }

    pub async fn get(&self, run_id: &str) -> Result<Option<RunRecord>, StateError> {
        let item = self.state.get_item(TABLE, run_id, "read a run").await?;
        item.map(|item| decode(TABLE, &item)).transpose()
    }

    /// Up to `limit` runs whose records say they have not ended (`running` or `paused`),
    /// oldest first per status, across tenants (the reconciler's sweep), read through the
    /// status index.
    pub async fn running(&self, limit: u32) -> Result<Vec<RunRecord>, StateError> {
        let mut ids = Vec::new();
        for status in RunStatus::ACTIVE {
            let mut start = None;
            while ids.len() < limit as usize {
                let output = self
                    .state
                    .client
                    .query()
                    .table_name(self.name())
                    .index_name(RUNS_BY_STATUS.name)
                    .key_condition_expression("#status = :status")
                    .expression_attribute_names("#status", RUNS_BY_STATUS.hash.name)
                    .expression_attribute_values(":status", s(status.as_str()))
                    .scan_index_forward(true)
                    .limit(limit as i32)
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(|e| StateError::dynamodb(TABLE, "list running runs", e))?;
                ids.extend(
                    output
                        .items()
                        .iter()
                        .filter_map(|item| item.get("run_id")?.as_s().ok().cloned()),
                );
                start = output.last_evaluated_key().cloned();
                if start.is_none() {
                    break;
                }
            }
        }
        ids.truncate(limit as usize);
        let mut runs = Vec::new();
        for id in ids {
            // The index lags the table: keep what has still not ended.
            if let Some(run) = self.get(&id).await?.filter(|r| r.status.is_active()) {
                runs.push(run);
            }
        }
        Ok(runs)
    }

    /// A tenant's runs, newest first.
    pub async fn of_tenant(
        &self,
        tenant: &str,
        filter: &RunFilter,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, StateError> {
        let mut filters = Vec::new();
        if let Some(status) = filter.status {
            filters.push(("status", status.as_str().to_owned()));
        }
        if let Some(workflow) = &filter.workflow {
            filters.push(("workflow", workflow.clone()));
        }
        let listing = Listing {
            table: TABLE,
            name: self.name(),
            index: BY_TENANT,
            tenant,
            filters,
        };
        let page = newest_first(&self.state.client, listing, page).await?;
        Ok(Page {
            items: page
                .items
                .iter()
                .map(|item| decode(TABLE, item))
                .collect::<Result<_, _>>()?,
            next: page.next,
        })
    }

    /// A tenant's runs started at or after `since_ms` (of `workflow` alone, if given), newest
    /// first, as outcomes: at most `limit` runs read, `true` when there were more.
    pub async fn outcomes_since(
        &self,
        tenant: &str,
        since_ms: u64,
        workflow: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<RunOutcome>, bool), StateError> {
        let listing = Listing {
            table: TABLE,
            name: self.name(),
            index: BY_TENANT,
            tenant,
            filters: workflow
                .map(|w| ("workflow", w.to_owned()))
                .into_iter()
                .collect(),
        };
        let (items, more) = newest_since(
            &self.state.client,
            listing,
            since_ms,
            RunOutcome::ATTRIBUTES,
            limit,
        )
        .await?;
        let outcomes = items
            .iter()
            .map(|item| decode(TABLE, item))
            .collect::<Result<_, _>>()?;
        Ok((outcomes, more))
    }
}
