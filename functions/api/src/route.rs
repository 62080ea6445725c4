//! Method and path to endpoint. Pure, so every routing rule is unit-tested.

use crate::error::ApiError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route<'a> {
    Health,
    StartRun,
    ListRuns,
    GetRun(&'a str),
    CancelRun(&'a str),
    PauseRun(&'a str),
    ResumeRun(&'a str),
    /// `GET /runs/{id}/events`: what happened since a cursor, long-polled.
    RunEvents(&'a str),
    Timeline(&'a str),
    Logs(&'a str),
    ListApprovals,
    SubmitApproval,
    ListAgents,
    GetAgent(&'a str),
    RunGraph,
    /// The AI Orchestra service's `POST /run-graph`.
    RunGraphOrchestra,
    Metrics,
    /// `POST /runs/{id}/view`: a short-lived view link to the run's page.
    CreateViewLink(&'a str),
    /// `GET /runs/{id}/page?view=…`: the run's page (HTML), by view link.
    RunPage(&'a str),
    /// `GET /runs/{id}/page/state?view=…`: what the page's script polls (JSON), by view link.
    RunPageState(&'a str),
    /// `GET /runs/{id}/steps/{step}/trace`: the step's model exchanges, attempt by attempt.
    StepTrace(&'a str, &'a str),
}

impl Route<'_> {
    /// The health check answers without an API key, and a run's page and its state take a
    /// view link instead (which is never an API key).
    pub fn needs_key(self) -> bool {
        !matches!(
            self,
            Route::Health | Route::RunPage(_) | Route::RunPageState(_)
        )
    }

    /// A short name for logs (no ids).
    pub fn name(self) -> &'static str {
        match self {
            Route::Health => "health",
            Route::StartRun => "start_run",
            Route::ListRuns => "list_runs",
            Route::GetRun(_) => "get_run",
            Route::CancelRun(_) => "cancel_run",
            Route::PauseRun(_) => "pause_run",
            Route::ResumeRun(_) => "resume_run",
            Route::RunEvents(_) => "run_events",
            Route::Timeline(_) => "timeline",
            Route::Logs(_) => "logs",
            Route::ListApprovals => "list_approvals",
            Route::SubmitApproval => "submit_approval",
            Route::ListAgents => "list_agents",
            Route::GetAgent(_) => "get_agent",
            Route::RunGraph => "run_graph",
            Route::RunGraphOrchestra => "run_graph_orchestra",
            Route::Metrics => "metrics",
            Route::CreateViewLink(_) => "create_view_link",
            Route::RunPage(_) => "run_page",
            Route::RunPageState(_) => "run_page_state",
            Route::StepTrace(..) => "step_trace",
        }
    }
}

/// Whether `id` can be a run id: Step Functions execution names, as Switchyard and Step
/// Functions make them. Anything else cannot exist, so it is a 404 before any lookup.
pub fn is_run_id(id: &str) -> bool {
    (1..=80).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

pub fn route<'a>(method: &str, path: &'a str) -> Result<Route<'a>, ApiError> {
    let trimmed = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let segments: Vec<&str> = match trimmed.strip_prefix('/') {
        Some(rest) => rest.split('/').collect(),
        None => return Err(not_found(path)),
    };
    let method_upper = method.to_ascii_uppercase();
    let only = |allowed: &'static [&'static str], route: Route<'a>| {
        if allowed.contains(&method_upper.as_str()) {
            Ok(route)
        } else {
            Err(ApiError::MethodNotAllowed {
                method: method_upper.clone(),
                path: path.to_owned(),
                allowed,
            })
        }
    };
    match segments.as_slice() {
        ["health"] => only(&["GET"], Route::Health),
        ["runs"] => only(&["GET"], Route::ListRuns),
        ["runs", "start"] => only(&["POST"], Route::StartRun),
        ["runs", id] if is_run_id(id) => match method_upper.as_str() {
            "DELETE" => Ok(Route::CancelRun(id)),
            _ => only(&["GET", "DELETE"], Route::GetRun(id)),
        },
        ["runs", id, "cancel"] if is_run_id(id) => only(&["POST"], Route::CancelRun(id)),
        ["runs", id, "pause"] if is_run_id(id) => only(&["POST"], Route::PauseRun(id)),
        ["runs", id, "resume"] if is_run_id(id) => only(&["POST"], Route::ResumeRun(id)),
        ["runs", id, "events"] if is_run_id(id) => only(&["GET"], Route::RunEvents(id)),
        ["runs", id, "timeline"] if is_run_id(id) => only(&["GET"], Route::Timeline(id)),
        ["runs", id, "logs"] if is_run_id(id) => only(&["GET"], Route::Logs(id)),
        ["runs", id, "view"] if is_run_id(id) => only(&["POST"], Route::CreateViewLink(id)),
        ["runs", id, "page"] if is_run_id(id) => only(&["GET"], Route::RunPage(id)),
        ["runs", id, "page", "state"] if is_run_id(id) => only(&["GET"], Route::RunPageState(id)),
        ["runs", id, "steps", step, "trace"] if is_run_id(id) && !step.is_empty() => {
            only(&["GET"], Route::StepTrace(id, step))
        }
        ["approvals"] => only(&["GET"], Route::ListApprovals),
        ["approvals", "submit"] => only(&["POST"], Route::SubmitApproval),
        ["agents"] => only(&["GET"], Route::ListAgents),
        ["agents", name] => only(&["GET"], Route::GetAgent(name)),
        ["graphs", "run"] => only(&["POST"], Route::RunGraph),
        ["run-graph"] => only(&["POST"], Route::RunGraphOrchestra),
        ["metrics"] => only(&["GET"], Route::Metrics),
        _ => Err(not_found(path)),
    }
}

fn not_found(path: &str) -> ApiError {
    ApiError::NotFound(format!("no endpoint at {path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(method: &str, path: &str) -> u16 {
        route(method, path)
            .map(|_| 200)
            .unwrap_or_else(|e| e.status())
    }

    #[test]
    fn every_endpoint_routes() {
        assert_eq!(route("GET", "/health").ok(), Some(Route::Health));
        assert_eq!(route("post", "/runs/start").ok(), Some(Route::StartRun));
        assert_eq!(route("GET", "/runs").ok(), Some(Route::ListRuns));
        assert_eq!(route("GET", "/runs/").ok(), Some(Route::ListRuns));
        assert_eq!(route("GET", "/runs/r-1").ok(), Some(Route::GetRun("r-1")));
        assert_eq!(
            route("DELETE", "/runs/r-1").ok(),
            Some(Route::CancelRun("r-1"))
        );
        assert_eq!(
            route("GET", "/runs/r-1/timeline").ok(),
            Some(Route::Timeline("r-1"))
        );
        assert_eq!(
            route("POST", "/runs/r-1/cancel").ok(),
            Some(Route::CancelRun("r-1"))
        );
        assert_eq!(
            route("POST", "/runs/r-1/pause").ok(),
            Some(Route::PauseRun("r-1"))
        );
        assert_eq!(
            route("POST", "/runs/r-1/resume").ok(),
            Some(Route::ResumeRun("r-1"))
        );
        assert_eq!(
            route("GET", "/runs/r-1/events").ok(),
            Some(Route::RunEvents("r-1"))
        );
        assert_eq!(status("GET", "/runs/r-1/pause"), 405);
        assert_eq!(
            route("GET", "/runs/r-1/logs").ok(),
            Some(Route::Logs("r-1"))
        );
        assert_eq!(route("GET", "/approvals").ok(), Some(Route::ListApprovals));
        assert_eq!(
            route("POST", "/approvals/submit").ok(),
            Some(Route::SubmitApproval)
        );
        assert_eq!(route("GET", "/agents").ok(), Some(Route::ListAgents));
        assert_eq!(
            route("GET", "/agents/copywriter").ok(),
            Some(Route::GetAgent("copywriter"))
        );
        assert_eq!(route("GET", "/metrics").ok(), Some(Route::Metrics));
        assert_eq!(
            route("POST", "/runs/r-1/view").ok(),
            Some(Route::CreateViewLink("r-1"))
        );
        assert_eq!(
            route("GET", "/runs/r-1/page").ok(),
            Some(Route::RunPage("r-1"))
        );
        assert_eq!(
            route("GET", "/runs/r-1/page/state").ok(),
            Some(Route::RunPageState("r-1"))
        );
        assert_eq!(
            route("GET", "/runs/r-1/steps/draft/trace").ok(),
            Some(Route::StepTrace("r-1", "draft"))
        );
    }

    #[test]
    fn unknown_paths_are_404_and_known_paths_with_wrong_methods_405() {
        assert_eq!(status("GET", "/"), 404);
        assert_eq!(status("GET", ""), 404);
        assert_eq!(status("GET", "/nope"), 404);
        assert_eq!(status("GET", "/runs/r-1/other"), 404);
        assert_eq!(status("GET", "//runs"), 404);
        assert_eq!(status("GET", "/runs/has space"), 404);
        assert_eq!(status("GET", &format!("/runs/{}", "x".repeat(81))), 404);
        assert_eq!(status("GET", "/runs/start"), 405);
        assert_eq!(status("POST", "/runs"), 405);
        assert_eq!(status("PUT", "/runs/r-1"), 405);
        assert_eq!(status("POST", "/health"), 405);
        assert_eq!(status("GET", "/approvals/submit"), 405);
        assert_eq!(status("DELETE", "/runs/r-1/logs"), 405);
        assert_eq!(status("POST", "/agents"), 405);
        assert_eq!(status("GET", "/agents/a/b"), 404);
        assert_eq!(status("POST", "/metrics"), 405);
        assert_eq!(status("GET", "/runs/r-1/view"), 405);
        assert_eq!(status("POST", "/runs/r-1/page"), 405);
        assert_eq!(status("GET", "/runs/r-1/page/other"), 404);
        assert_eq!(status("POST", "/runs/r-1/steps/draft/trace"), 405);
        assert_eq!(status("GET", "/runs/r-1/steps//trace"), 404);
        assert_eq!(status("GET", "/runs/r-1/steps/draft"), 404);
    }

    #[test]
    fn openapi_documents_every_endpoint() {
        let spec = include_str!("../openapi.yaml");
        for (path, methods) in [
            ("/health", &["get"][..]),
            ("/runs/start", &["post"]),
            ("/runs", &["get"]),
            ("/runs/{run_id}", &["get", "delete"]),
            ("/runs/{run_id}/timeline", &["get"]),
            ("/runs/{run_id}/logs", &["get"]),
            ("/approvals", &["get"]),
            ("/approvals/submit", &["post"]),
            ("/agents", &["get"]),
            ("/agents/{name}", &["get"]),
            ("/graphs/run", &["post"]),
            ("/run-graph", &["post"]),
            ("/metrics", &["get"]),
            ("/runs/{run_id}/view", &["post"]),
            ("/runs/{run_id}/page", &["get"]),
            ("/runs/{run_id}/page/state", &["get"]),
            ("/runs/{run_id}/steps/{step}/trace", &["get"]),
        ] {
            let section = spec
                .split(&format!("\n  {path}:\n"))
                .nth(1)
                .unwrap_or_else(|| panic!("{path} is not in openapi.yaml"));
            let section = format!("\n{}", section.split("\n  /").next().unwrap_or_default());
            for method in methods {
                assert!(
                    section.contains(&format!("\n    {method}:")),
                    "{method} {path} is not documented"
                );
            }
        }
    }

    #[test]
    fn only_health_and_the_view_link_routes_take_no_key() {
        assert!(!Route::Health.needs_key());
        assert!(!Route::RunPage("r").needs_key());
        assert!(!Route::RunPageState("r").needs_key());
        assert!(Route::CreateViewLink("r").needs_key());
        assert!(Route::ListRuns.needs_key());
        assert!(Route::SubmitApproval.needs_key());
    }
}
