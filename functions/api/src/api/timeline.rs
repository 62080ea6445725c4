//! `/runs/{id}/timeline`: the run's execution history merged with its agents' attempts.

use serde_json::json;

use super::Api;
use crate::backend::Backend;
use crate::error::ApiError;
use crate::http::{ApiRequest, ApiResponse};
use crate::request;

impl<B: Backend> Api<B> {
    pub(super) async fn timeline(
        &self,
        request: &ApiRequest,
        run_id: &str,
        tenant: &str,
    ) -> Result<ApiResponse, ApiError> {
        let params = request::query(&request.query, &["limit", "cursor"])?;
        let page = request::event_page(&params)?;
        let run = self.owned_run(run_id, tenant).await?;
        let history = match &run.execution_arn {
            Some(arn) => self.backend.history(arn).await?,
            None => Vec::new(),
        };
        let steps = self.backend.steps(run_id).await?;
        let (events, next) = page.cut(crate::timeline::merge(history, &steps));
        Ok(ApiResponse::json(
            200,
            &json!({
                "run_id": run_id,
                "status": run.status,
                "events": events,
                "next_cursor": next,
            }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::api::fixtures::*;
    use crate::backend::{HistoryItem, StepRecord, StepStatus};

    #[test]
    fn the_timeline_merges_history_and_attempts() {
        let api = api();
        let run_id = gate_run(&api);
        let arn = arn(&api, &run_id);
        {
            let mut state = api.backend.state();
            state.history.insert(
                arn,
                vec![
                    HistoryItem {
                        id: 1,
                        at: 10,
                        kind: "ExecutionStarted".into(),
                        ..HistoryItem::default()
                    },
                    HistoryItem {
                        id: 2,
                        at: 30,
                        kind: "TaskStateExited".into(),
                        state: Some("approved".into()),
                        ..HistoryItem::default()
                    },
                ],
            );
            state.steps.push((
                run_id.clone(),
                StepRecord {
                    step: "approved".into(),
                    status: StepStatus::Succeeded,
                    started_at: 20,
                    finished_at: Some(25),
                    ..StepRecord::default()
                },
            ));
        }
        let (status, body) = call(&api, as_a("GET", &format!("/runs/{run_id}/timeline")));
        assert_eq!(status, 200);
        let kinds: Vec<&str> = body["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["type"].as_str())
            .collect();
        assert_eq!(
            kinds,
            [
                "ExecutionStarted",
                "AgentAttemptStarted",
                "AgentAttemptSucceeded",
                "TaskStateExited"
            ]
        );
    }
}
