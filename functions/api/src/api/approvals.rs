//! `/approvals`: a tenant's approval requests, and deciding one as the API key.

use serde_json::json;

use super::Api;
use crate::backend::{ApprovalRecord, Backend};
use crate::error::ApiError;
use crate::http::{ApiRequest, ApiResponse};
use crate::keys;
use crate::request::{self, encode_cursor};

impl<B: Backend> Api<B> {
    pub(super) async fn list_approvals(
        &self,
        request: &ApiRequest,
        tenant: &str,
    ) -> Result<ApiResponse, ApiError> {
        let params = request::query(&request.query, &["status", "limit", "cursor"])?;
        let status = request::approval_status(&params)?;
        let page = request::page(&params)?;
        let approvals = self
            .backend
            .approvals_of_tenant(tenant, status, &page)
            .await?;
        Ok(ApiResponse::json(
            200,
            &json!({
                "approvals": approvals.items.into_iter().map(ApprovalRecord::public).collect::<Vec<_>>(),
                "next_cursor": approvals.next.as_ref().map(encode_cursor),
            }),
        ))
    }

    pub(super) async fn submit_approval(
        &self,
        request: &ApiRequest,
        tenant: &str,
    ) -> Result<ApiResponse, ApiError> {
        let key_hash = keys::hash_key(request::api_key(request)?);
        let decision = request::decision(&request.body, request::key_identity(tenant, &key_hash))?;
        let approval = self.backend.decide(&decision, tenant).await?;
        Ok(ApiResponse::json(200, &approval.public()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::api::fixtures::*;
    use crate::http::ApiRequest;
    use crate::memory::KEY_A;
    use crate::{keys, request};

    #[test]
    fn approvals_are_listed_and_decided_per_tenant() {
        let api = api();
        {
            let mut state = api.backend.state();
            state.approvals.push(pending("run-a", "tenant-a"));
            state.approvals.push(pending("run-b", "tenant-b"));
        }
        let (_, body) = call(&api, as_a("GET", "/approvals").with_query("status=pending"));
        let listed: Vec<&str> = body["approvals"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|a| a["request_id"].as_str())
            .collect();
        assert_eq!(listed, ["req-run-a"]);
        // The task token that resumes the run never leaves the store.
        assert!(body["approvals"][0].get("task_token").is_none());
        assert_eq!(body["approvals"][0]["summary_fields"][0]["label"], "Total");
        let submit = |who: ApiRequest, id: &str| {
            call(
                &api,
                who.with_body(json!({ "request_id": id, "decision": "approve" }).to_string()),
            )
        };
        let (status, body) = submit(as_a("POST", "/approvals/submit"), "req-run-b");
        assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
        let (status, body) = submit(as_a("POST", "/approvals/submit"), "req-run-a");
        let identity = request::key_identity("tenant-a", &keys::hash_key(KEY_A));
        assert_eq!(
            (status, body["status"].as_str(), body["decided_by"].as_str()),
            (200, Some("approved"), Some(identity.as_str()))
        );
        let (status, body) = submit(as_a("POST", "/approvals/submit"), "req-run-a");
        assert_eq!(
            (status, body["error"].as_str()),
            (409, Some("already_decided"))
        );
        let (status, body) = call(
            &api,
            as_a("POST", "/approvals/submit").with_body("{\"request_id\": \"x\"}"),
        );
        assert_eq!((status, body["field"].as_str()), (400, Some("decision")));
    }
}
