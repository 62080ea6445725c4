//! A run's page: `POST /runs/{id}/view` (API key) makes a short-lived view link;
//! `GET /runs/{id}/page?view=…` shows the page (HTML) and `GET /runs/{id}/page/state?view=…`
//! what its script polls (JSON). The view token is checked before anything read is shown, and
//! shows that run alone; nothing here writes but the link itself.

use serde_json::json;
use switchyard_sdk::ir::{Workflow, GRAPH_WORKFLOW_PREFIX};
use switchyard_state::{now_ms, ViewLinkRecord};

use super::Api;
use crate::backend::{ApprovalRecord, Backend, ParkedRecord, RunRecord, StepRecord};
use crate::error::ApiError;
use crate::http::{ApiRequest, ApiResponse};
use crate::request;
use crate::run_page::{self, RunPage};
use crate::view_link::{self, ViewRefusal};

/// A run as its page shows it.
struct Viewed {
    run: RunRecord,
    steps: Vec<StepRecord>,
    approvals: Vec<ApprovalRecord>,
    parked: Vec<ParkedRecord>,
    workflow: Option<Workflow>,
    link: ViewLinkRecord,
    token: String,
}

impl<B: Backend> Api<B> {
    pub(super) async fn create_view_link(
        &self,
        request: &ApiRequest,
        run_id: &str,
        tenant: &str,
    ) -> Result<ApiResponse, ApiError> {
        let params = request::query(&request.query, &["ttl_seconds"])?;
        let ttl = request::view_ttl(&params)?;
        self.owned_run(run_id, tenant).await?;
        let token = view_link::generate_token().map_err(|e| {
            ApiError::Unavailable(crate::backend::BackendError::Keys(
                crate::keys::KeyError::Random(e),
            ))
        })?;
        let now = now_ms();
        let link = ViewLinkRecord {
            token_hash: view_link::hash_token(&token),
            tenant_id: tenant.to_owned(),
            run_id: run_id.to_owned(),
            created_at: now,
            expires_at: now + ttl * 1000,
        };
        self.backend.create_view_link(&link).await?;
        tracing::info!(
            run_id,
            tenant_id = tenant,
            ttl_seconds = ttl,
            "view link created"
        );
        let path = format!("/runs/{run_id}/page?view={token}");
        let url = match view_link::public_base(request) {
            Some(base) => format!("{base}{path}"),
            None => path.clone(),
        };
        Ok(ApiResponse::json(
            201,
            &json!({
                "run_id": run_id,
                "url": url,
                "path": path,
                "expires_at": link.expires_at,
            }),
        ))
    }

    /// The page, or a page saying why it cannot be shown: always HTML.
    pub(super) async fn run_page(&self, request: &ApiRequest, run_id: &str) -> ApiResponse {
        let policy = run_page::content_security_policy();
        match self.viewed(request, run_id).await {
            Ok(viewed) => {
                let state_url = format!("/runs/{run_id}/page/state?view={}", viewed.token);
                let page = page_of(&viewed, &state_url);
                ApiResponse::html(200, page.html(), policy)
            }
            Err(error) => {
                let message = if error.status() >= 500 {
                    tracing::error!(error = %error, "run page: backend unavailable");
                    "Run pages are unavailable right now; try again in a minute.".to_owned()
                } else {
                    error.to_string()
                };
                ApiResponse::html(
                    error.status(),
                    run_page::error_page(error.status(), &message),
                    policy,
                )
            }
        }
    }

    /// What the page's script polls.
    pub(super) async fn run_page_state(
        &self,
        request: &ApiRequest,
        run_id: &str,
    ) -> Result<ApiResponse, ApiError> {
        let viewed = self.viewed(request, run_id).await?;
        let page = page_of(&viewed, "");
        Ok(ApiResponse::json(200, &page.state()))
    }

    /// The run the request's view link shows, with what its page needs. The link is checked
    /// before anything read is answered; another tenant's run is as absent as a missing one.
    async fn viewed(&self, request: &ApiRequest, run_id: &str) -> Result<Viewed, ApiError> {
        let params = request::query(&request.query, &["view"])?;
        let token = params
            .get("view")
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or(ViewRefusal::Missing)?;
        if !view_link::well_formed(&token) {
            return Err(ViewRefusal::Invalid.into());
        }
        let token_hash = view_link::hash_token(&token);
        let (link, run, steps) = futures::join!(
            self.backend.view_link(&token_hash),
            self.backend.run(run_id),
            self.backend.steps(run_id)
        );
        let link = view_link::check(link?, run_id, now_ms())?;
        let run = match run? {
            Some(run) if run.tenant_id == link.tenant_id => run,
            _ => return Err(ApiError::NotFound(format!("no run `{run_id}`"))),
        };
        let steps = steps?;
        let (approvals, parked, workflow) = futures::try_join!(
            self.shown_approvals(&run),
            self.parked(&run),
            self.definition_of(&run)
        )?;
        let parked = parked.unwrap_or_default();
        Ok(Viewed {
            run,
            steps,
            approvals,
            parked,
            workflow,
            link,
            token,
        })
    }

    /// The run's workflow as the API knows it: a declared workflow's definition, or the one
    /// recorded with a graph.
    async fn definition_of(&self, run: &RunRecord) -> Result<Option<Workflow>, ApiError> {
        if let Some(workflow) = self.workflows.iter().find(|w| w.name == run.workflow) {
            return Ok(Some((workflow.definition)()));
        }
        if !run.workflow.starts_with(GRAPH_WORKFLOW_PREFIX) {
            return Ok(None);
        }
        let graph = self.backend.graph(&run.tenant_id, &run.workflow).await?;
        Ok(graph
            .and_then(|g| g.definition)
            .and_then(|text| serde_json::from_str(&text).ok()))
    }
}

fn page_of<'a>(viewed: &'a Viewed, state_url: &'a str) -> RunPage<'a> {
    RunPage {
        run: &viewed.run,
        steps: &viewed.steps,
        approvals: &viewed.approvals,
        parked: &viewed.parked,
        workflow: viewed.workflow.as_ref(),
        state_url,
        link_expires_at: viewed.link.expires_at,
        now: now_ms(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::api::fixtures::*;
    use crate::backend::{ApprovalStatus, RunStatus, StepRecord, StepStatus};
    use crate::http::ApiRequest;
    use crate::memory::MemoryBackend;

    /// A view link for `run_id` as tenant a: (url, path).
    fn view_link(api: &super::Api<MemoryBackend>, run_id: &str, query: &str) -> Value {
        let (status, body) = call(
            api,
            as_a("POST", &format!("/runs/{run_id}/view"))
                .with_query(query)
                .with_header("host", "api.example.test"),
        );
        assert_eq!(status, 201, "{body}");
        body
    }

    /// Any answer: status, content type, body.
    fn fetch(api: &super::Api<MemoryBackend>, path_and_query: &str) -> (u16, String, String) {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let response =
            futures::executor::block_on(api.handle(ApiRequest::new("GET", path).with_query(query)));
        (
            response.status,
            response.headers["content-type"].clone(),
            response.body,
        )
    }

    #[test]
    fn a_view_link_shows_the_runs_page_and_its_state() {
        let api = api();
        let run_id = gate_run(&api);
        {
            let mut state = api.backend.state();
            state.approvals.push(pending(&run_id, "tenant-a"));
            state.steps.push((
                run_id.clone(),
                StepRecord {
                    step: "ask".into(),
                    status: StepStatus::Succeeded,
                    ..StepRecord::default()
                },
            ));
        }
        let link = view_link(&api, &run_id, "ttl_seconds=120");
        let path = link["path"].as_str().expect("a path");
        assert_eq!(
            link["url"].as_str(),
            Some(format!("https://api.example.test{path}").as_str())
        );
        let expires = link["expires_at"].as_u64().expect("expiry");
        let created = api
            .backend
            .state()
            .view_links
            .values()
            .next()
            .map(|l| l.created_at);
        assert_eq!(created.map(|c| expires - c), Some(120_000));
        // Only the token's hash is stored.
        let token = path.split("view=").nth(1).expect("a token");
        assert!(!api.backend.state().view_links.contains_key(token));

        let response = futures::executor::block_on(
            api.handle(
                ApiRequest::new("GET", &format!("/runs/{run_id}/page"))
                    .with_query(&format!("view={token}")),
            ),
        );
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(response.headers["content-type"], "text/html; charset=utf-8");
        assert_eq!(response.headers["referrer-policy"], "no-referrer");
        let policy = &response.headers["content-security-policy"];
        assert!(policy.contains("script-src 'sha256-") && policy.contains("default-src 'none'"));
        let page = &response.body;
        assert!(page.contains("<h1>gate-test</h1>"), "{page}");
        assert!(page.contains("data-step=\"ask\""));
        assert!(
            page.contains("href=\"https://cb/approve\""),
            "the decision button"
        );
        assert!(
            page.contains("class=\"node kind-gate st-waiting\""),
            "{page}"
        );

        let (status, kind, body) = fetch(&api, &format!("/runs/{run_id}/page/state?view={token}"));
        assert_eq!((status, kind.as_str()), (200, "application/json"));
        let state: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(state["status"], "running");
        assert_eq!(state["ended"], false);
        assert_eq!(state["gates"], format!("req-{run_id}"));
        let ask = state["nodes"]
            .as_array()
            .and_then(|nodes| nodes.iter().find(|n| n["key"] == "ask"))
            .expect("the gate's node");
        assert_eq!(ask["state"], "waiting");
        assert_eq!(state["rows"][0]["cells"][0], "ask");
        // Reading changed nothing.
        assert_eq!(api.backend.state().runs[&run_id].status, RunStatus::Running);
        assert_eq!(
            api.backend.state().approvals[0].status,
            ApprovalStatus::Pending
        );
    }

    #[test]
    fn a_view_token_is_never_an_api_key() {
        let api = api();
        let run_id = gate_run(&api);
        let link = view_link(&api, &run_id, "");
        let token = link["path"]
            .as_str()
            .and_then(|p| p.split("view=").nth(1))
            .expect("a token")
            .to_owned();
        for (method, path) in [
            ("GET", format!("/runs/{run_id}")),
            ("GET", "/runs".to_owned()),
            ("DELETE", format!("/runs/{run_id}")),
            ("POST", format!("/runs/{run_id}/view")),
            ("GET", "/approvals".to_owned()),
        ] {
            for request in [
                ApiRequest::new(method, &path).with_header("x-api-key", &token),
                ApiRequest::new(method, &path)
                    .with_header("authorization", &format!("Bearer {token}")),
            ] {
                let (status, body) = call(&api, request);
                assert_eq!(
                    (status, body["error"].as_str()),
                    (401, Some("unauthorized")),
                    "{method} {path}"
                );
            }
        }
        // Nor does `view=` open anything else.
        let (status, body) = call(
            &api,
            ApiRequest::new("GET", &format!("/runs/{run_id}")).with_query(&format!("view={token}")),
        );
        assert_eq!(status, 401, "{body}");
        assert_eq!(api.backend.state().runs[&run_id].status, RunStatus::Running);
    }

    #[test]
    fn missing_tampered_expired_and_other_run_links_are_refused_with_a_page() {
        let api = api();
        let run_id = gate_run(&api);
        let other = gate_run(&api);
        let token = |run: &str| {
            view_link(&api, run, "")["path"]
                .as_str()
                .and_then(|p| p.split("view=").nth(1))
                .expect("a token")
                .to_owned()
        };
        let mine = token(&run_id);
        let theirs = token(&other);
        let mut tampered = mine.clone();
        tampered.replace_range(10..11, if &mine[10..11] == "A" { "B" } else { "A" });
        let expired = token(&run_id);
        {
            let mut state = api.backend.state();
            let hash = crate::view_link::hash_token(&expired);
            state.view_links.get_mut(&hash).expect("stored").expires_at = 1;
        }
        let page = |query: &str| fetch(&api, &format!("/runs/{run_id}/page{query}"));
        for (query, status, says) in [
            (String::new(), 401, "needs a view link"),
            ("?view=".to_owned(), 401, "needs a view link"),
            (format!("?view={tampered}"), 403, "not valid"),
            ("?view=sy_not-a-view-token".to_owned(), 403, "not valid"),
            (format!("?view={theirs}"), 403, "for another run"),
            (format!("?view={expired}"), 410, "expired at 1970-01-01"),
        ] {
            let (got, kind, body) = page(&query);
            assert_eq!(got, status, "{query}: {body}");
            assert_eq!(kind, "text/html; charset=utf-8");
            assert!(body.contains(says), "{query}: {body}");
            assert!(
                !body.contains("data-step"),
                "{query}: shows nothing of the run"
            );
        }
        let (status, kind, body) =
            fetch(&api, &format!("/runs/{run_id}/page/state?view={expired}"));
        assert_eq!((status, kind.as_str()), (410, "application/json"));
        assert_eq!(
            serde_json::from_str::<Value>(&body)
                .ok()
                .map(|b| b["error"].clone()),
            Some(json!("view_link_expired"))
        );
        // Another tenant's run cannot have a link made for it.
        let (status, _) = call(&api, as_b("POST", &format!("/runs/{run_id}/view")));
        assert_eq!(status, 404);
        assert_eq!(api.backend.state().runs[&run_id].status, RunStatus::Running);
    }

    #[test]
    fn a_graph_runs_page_draws_the_graph_it_recorded() {
        let api = api();
        let graph = json!({
            "graph": { "nodes": [
                { "id": "plan", "agent": "tech_lead" },
                { "id": "frontend", "agent": "frontend_dev", "depends_on": ["plan"] },
                { "id": "backend", "agent": "backend_dev", "depends_on": ["plan"] },
            ]},
            "input": { "feature": "Dark mode", "repository": "acme/web" },
        });
        let (status, started) = call(
            &api,
            as_a("POST", "/graphs/run").with_body(graph.to_string()),
        );
        assert_eq!(status, 202, "{started}");
        let run_id = started["run_id"].as_str().expect("a run id");
        let token = view_link(&api, run_id, "")["path"]
            .as_str()
            .and_then(|p| p.split("view=").nth(1))
            .expect("a token")
            .to_owned();
        let (status, _, page) = fetch(&api, &format!("/runs/{run_id}/page?view={token}"));
        assert_eq!(status, 200, "{page}");
        for node in ["plan", "frontend", "backend"] {
            assert!(
                page.contains(&format!("data-step=\"{node}\"")),
                "{node}: {page}"
            );
        }
        assert!(
            page.contains("kind-parallel"),
            "the second stage runs in parallel"
        );
    }

    #[test]
    fn link_lifetimes_are_bounded() {
        let api = api();
        let run_id = gate_run(&api);
        for bad in [
            "ttl_seconds=59",
            "ttl_seconds=86401",
            "ttl_seconds=soon",
            "other=1",
        ] {
            let (status, body) = call(
                &api,
                as_a("POST", &format!("/runs/{run_id}/view")).with_query(bad),
            );
            assert_eq!(status, 400, "{bad}: {body}");
        }
        let link = view_link(&api, &run_id, "ttl_seconds=86400");
        assert!(link["expires_at"].as_u64().is_some());
        // Without a Host the link is the path alone.
        let (_, body) = call(&api, as_a("POST", &format!("/runs/{run_id}/view")));
        assert_eq!(body["url"], body["path"]);
    }
}
