//! `/runs/{id}/logs`: the run's log lines, by level and step.

use serde_json::json;
use switchyard_state::now_ms;

use super::Api;
use crate::backend::Backend;
use crate::error::ApiError;
use crate::http::{ApiRequest, ApiResponse};
use crate::request;

/// Log lines are searched from a little before a run starts to a little after it ends:
/// function clocks and log ingestion are not exact.
const LOG_WINDOW_SLACK_MS: u64 = 60_000;

impl<B: Backend> Api<B> {
    pub(super) async fn logs(
        &self,
        request: &ApiRequest,
        run_id: &str,
        tenant: &str,
    ) -> Result<ApiResponse, ApiError> {
        let params = request::query(&request.query, &["level", "step", "limit", "cursor"])?;
        let page = request::event_page(&params)?;
        let level = request::log_level(&params)?;
        let step = params.get("step").filter(|s| !s.is_empty());
        let run = self.owned_run(run_id, tenant).await?;
        let from = run.created_at.saturating_sub(LOG_WINDOW_SLACK_MS);
        let to = run.finished_at.unwrap_or_else(now_ms) + LOG_WINDOW_SLACK_MS;
        let events = self.backend.log_events(run_id, from, to).await?;
        let lines =
            crate::logs::run_lines(events, run_id, level.as_deref(), step.map(String::as_str));
        let (lines, next) = page.cut(lines);
        Ok(ApiResponse::json(
            200,
            &json!({ "run_id": run_id, "lines": lines, "next_cursor": next }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::api::fixtures::*;
    use switchyard_state::now_ms;

    use crate::backend::LogEvent;

    #[test]
    fn logs_are_the_runs_lines_filtered() {
        let api = api();
        let run_id = gate_run(&api);
        let now = now_ms();
        api.backend.state().logs = vec![
            LogEvent { function: "switchyard-on-approved".into(), at: now, message: json!({ "level": "INFO", "run_id": run_id, "step": "approved", "message": "agent started" }).to_string() },
            LogEvent { function: "switchyard-on-approved".into(), at: now, message: json!({ "level": "ERROR", "run_id": run_id, "step": "approved", "message": "agent failed" }).to_string() },
        ];
        let (status, body) = call(
            &api,
            as_a("GET", &format!("/runs/{run_id}/logs")).with_query("level=warn&step=approved"),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["lines"].as_array().map(Vec::len), Some(1));
        assert_eq!(body["lines"][0]["message"], "agent failed");
        let (status, body) = call(
            &api,
            as_a("GET", &format!("/runs/{run_id}/logs")).with_query("level=chatty"),
        );
        assert_eq!((status, body["field"].as_str()), (400, Some("level")));
    }
}
