//! The approvals table: a request is created `pending` with its task token, moves to
//! `deciding` under the first decision (a conditional write: the first writer wins), then to
//! `approved` or `rejected` once its run is resumed; it is `expired` only from `pending` or
//! `deciding`. The task token is read only through [`Approvals::get`], never listed.

use super::listing::{all_of, newest_first, newest_since, Listing};
use super::{applied, decode, encode, lost_condition, n, s, State, StateError};
use crate::record::{ApprovalOutcome, ApprovalRecord, ApprovalStatus, Decided, Page, PageRequest};
use crate::schema::{Table, APPROVALS_BY_RUN, BY_TENANT};

const TABLE: Table = Table::Approvals;
/// The attribute holding the token that resumes the run; nothing else names it.
const TASK_TOKEN: &str = "task_token";

/// A request with the token that resumes its run.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredApproval {
    pub record: ApprovalRecord,
    pub task_token: String,
}

/// What [`Approvals::begin_decision`] found.
#[derive(Clone, Debug, PartialEq)]
pub enum DecisionStart {
    /// This decision is recorded (`deciding`).
    Recorded,
    /// The request was no longer `pending`; here it is as it is now.
    Lost(Option<Box<ApprovalRecord>>),
}

pub struct Approvals<'a> {
    pub(super) state: &'a State,
}

impl Approvals<'_> {
    fn name(&self) -> &str {
        self.state.table(TABLE)
    }

    /// Stores a new request (ids are fresh UUIDs: the condition makes sure).
    pub async fn create(
        &self,
        record: &ApprovalRecord,
        task_token: &str,
    ) -> Result<(), StateError> {
        let mut item = encode(TABLE, record)?;
        item.insert(TASK_TOKEN.to_owned(), s(task_token));
        self.state
            .client
            .put_item()
            .table_name(self.name())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(request_id)")
            .send()
            .await
            .map_err(|e| StateError::dynamodb(TABLE, "store a request", e))?;
        Ok(())
    }

    pub async fn get(&self, request_id: &str) -> Result<Option<StoredApproval>, StateError> {
        let Some(item) = self
            .state
            .get_item(TABLE, request_id, "read a request")
            .await?
        else {
            return Ok(None);
        };
        let record: ApprovalRecord = decode(TABLE, &item)?;
        let task_token = item
            .get(TASK_TOKEN)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        Ok(Some(StoredApproval { record, task_token }))
    }

    /// `pending → deciding` with the decision, if still pending.
    pub async fn begin_decision(
        &self,
        request_id: &str,
        decided: &Decided,
    ) -> Result<DecisionStart, StateError> {
        let mut expression = String::from(
            "SET #status = :deciding, decision = :decision, decided_by = :by, \
             approver_verified = :verified, decided_at = :at",
        );
        let mut update = self
            .state
            .client
            .update_item()
            .table_name(self.name())
            .key("request_id", s(request_id))
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s(ApprovalStatus::Pending.as_str()))
            .expression_attribute_values(":deciding", s(ApprovalStatus::Deciding.as_str()))
            .expression_attribute_values(":decision", s(decided.decision.as_str()))
            .expression_attribute_values(":by", s(&decided.decided_by))
            .expression_attribute_values(
                ":verified",
                aws_sdk_dynamodb::types::AttributeValue::Bool(decided.approver_verified),
            )
            .expression_attribute_values(":at", n(decided.decided_at));
        if let Some(notes) = decided.notes.as_ref().filter(|n| !n.is_empty()) {
            expression.push_str(", notes = :notes");
            update = update.expression_attribute_values(":notes", s(notes));
        }
        if decided.auto_approved {
            expression.push_str(", auto_approved = :auto");
            update = update.expression_attribute_values(
                ":auto",
                aws_sdk_dynamodb::types::AttributeValue::Bool(true),
            );
        }
        match update.update_expression(expression).send().await {
            Ok(_) => Ok(DecisionStart::Recorded),
            Err(e) if lost_condition(&e) => Ok(DecisionStart::Lost(
                self.get(request_id)
                    .await?
                    .map(|stored| Box::new(stored.record)),
            )),
            Err(e) => Err(StateError::dynamodb(TABLE, "record a decision", e)),
        }
    }

    /// `deciding → approved | rejected`, once the run is resumed. `Ok(false)` if it had
    /// left `deciding` already (a concurrent retry recorded it).
    pub async fn settle(&self, request_id: &str, to: ApprovalStatus) -> Result<bool, StateError> {
        self.transition(
            request_id,
            ApprovalStatus::Deciding,
            to,
            "settle a decision",
        )
        .await
    }

    /// `from → expired` (`from` is `pending` or `deciding`); `Ok(false)` if it was not `from`.
    pub async fn expire(&self, request_id: &str, from: ApprovalStatus) -> Result<bool, StateError> {
        if !from.is_open() {
            return Ok(false);
        }
        self.transition(
            request_id,
            from,
            ApprovalStatus::Expired,
            "expire a request",
        )
        .await
    }

    async fn transition(
        &self,
        request_id: &str,
        from: ApprovalStatus,
        to: ApprovalStatus,
        operation: &'static str,
    ) -> Result<bool, StateError> {
        let result = self
            .state
            .client
            .update_item()
            .table_name(self.name())
            .key("request_id", s(request_id))
            .update_expression("SET #status = :to")
            .condition_expression("#status = :from")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":from", s(from.as_str()))
            .send()
            .await;
        applied(result, TABLE, operation)
    }

    /// A run's requests, oldest first.
    pub async fn of_run(&self, run_id: &str) -> Result<Vec<ApprovalRecord>, StateError> {
        let items = all_of(
            &self.state.client,
            TABLE,
            self.name(),
            Some(APPROVALS_BY_RUN),
            "run_id",
            run_id,
            false,
            &[],
        )
        .await?;
        let mut approvals: Vec<ApprovalRecord> = items
            .iter()
            .map(|item| decode(TABLE, item))
            .collect::<Result<_, _>>()?;
        approvals.sort_by(|a, b| (a.created_at, &a.request_id).cmp(&(b.created_at, &b.request_id)));
        Ok(approvals)
    }

    /// A tenant's requests, newest first.
    pub async fn of_tenant(
        &self,
        tenant: &str,
        status: Option<ApprovalStatus>,
        page: &PageRequest,
    ) -> Result<Page<ApprovalRecord>, StateError> {
        let listing = Listing {
            table: TABLE,
            name: self.name(),
            index: BY_TENANT,
            tenant,
            filters: status
                .map(|s| ("status", s.as_str().to_owned()))
                .into_iter()
                .collect(),
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

    /// A tenant's requests created at or after `since_ms` (of `workflow` alone, if given),
    /// newest first, as outcomes: at most `limit` read, `true` when there were more. Requests
    /// record whole seconds: one created in the second `since_ms` falls in counts.
    pub async fn outcomes_since(
        &self,
        tenant: &str,
        since_ms: u64,
        workflow: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<ApprovalOutcome>, bool), StateError> {
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
            since_ms / 1000,
            ApprovalOutcome::ATTRIBUTES,
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
