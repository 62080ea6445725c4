//! Rotating the approval link secret on the live local stack: a new key is put first in the
//! SSM parameter (what `infra/deploy --rotate-link-secret` does), the functions that read it
//! start afresh, and then links sent before the rotation still decide, while new links name
//! and are signed with the new key. The parameter and the functions are put back as deployed
//! at the end, whatever happened.
//!
//! Its own test binary: cargo runs test binaries one after another, so no other end-to-end
//! test signs links while the keys change.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use serde_json::{json, Value};
use switchyard_e2e::{function_url_client, run_id, Record, Stack};
use switchyard_lambda::approval::links::LinkSigner;

const GATE: &str = "ask";

/// The link's query parameters.
fn query(link: &str) -> HashMap<String, String> {
    reqwest::Url::parse(link)
        .map(|url| url.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

fn approve_link(approval: &Record) -> Result<String, String> {
    approval["links"]["approve"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no approve link in {approval:?}"))
}

async fn put_secret(stack: &Stack, value: &str) -> i64 {
    stack
        .ssm
        .put_parameter()
        .name(stack.link_secret_parameter_name())
        .value(value)
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "put {}: {}",
                stack.link_secret_parameter_name(),
                aws_sdk_ssm::error::DisplayErrorContext(e)
            )
        })
        .version()
}

/// Gives the function these environment variables and waits for the update: its running
/// environments are replaced, so the next invocation is a cold start that reads the
/// parameter again.
async fn reconfigure(stack: &Stack, function: &str, variables: &BTreeMap<String, String>) {
    let environment = aws_sdk_lambda::types::Environment::builder()
        .set_variables(Some(variables.clone().into_iter().collect()))
        .build();
    stack
        .lambda
        .update_function_configuration()
        .function_name(function)
        .environment(environment)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "update {function}: {}",
                aws_sdk_lambda::error::DisplayErrorContext(e)
            )
        });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let config = stack
            .lambda
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .expect("the function is there");
        let done = config
            .last_update_status()
            .is_none_or(|s| s.as_str() == "Successful");
        if done && config.state().is_none_or(|s| s.as_str() == "Active") {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{function} still updating"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn decide(client: &reqwest::Client, link: &str) -> (u16, Value) {
    let response = client
        .post(link)
        .header("accept", "application/json")
        .form(&[("approver", "rotation@switchyard.test")])
        .send()
        .await
        .expect("POST reaches the callback");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_rotation_keeps_open_links_valid_and_signs_new_links_with_the_new_key() {
    let stack = Stack::connect().await;
    let base = stack
        .deployment
        .approval_callback_url
        .clone()
        .expect("deployment has the callback URL");
    let client = function_url_client(&base);
    let (deployed_value, _) = stack.link_secret_parameter().await;
    let deployed = LinkSigner::from_secret_list(&deployed_value, &base).expect("strong secrets");
    let mut readers = Vec::new();
    for function in stack.function_names().await {
        let environment = stack.function_environment(&function).await;
        if environment.contains_key("APPROVAL_LINK_SECRET_PARAMETER") {
            readers.push((function, environment));
        }
    }
    assert_eq!(
        readers.len(),
        2,
        "approval request and callback: {readers:?}"
    );

    // A link sent before the rotation, still open.
    let before = stack
        .start_gated("gate-test", "tenant-rotation", json!({ "topic": "before" }))
        .await;
    let open = stack.pending_approval(run_id(&before), GATE).await;
    let open_link = approve_link(&open).expect("a link");
    assert_eq!(
        query(&open_link).get("kid").map(String::as_str),
        Some(deployed.signing_key_id())
    );

    // Rotate: a new key first, the deployed ones after it; the readers start afresh.
    let new_secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let new_kid = LinkSigner::new(new_secret.as_bytes(), &base)
        .expect("64 characters")
        .signing_key_id()
        .to_owned();
    let version = put_secret(&stack, &format!("{new_secret},{deployed_value}")).await;
    for (function, environment) in &readers {
        let mut rotated = environment.clone();
        rotated.insert("APPROVAL_LINK_SECRET_VERSION".into(), version.to_string());
        reconfigure(&stack, function, &rotated).await;
    }

    let after = stack
        .start_gated("gate-test", "tenant-rotation", json!({ "topic": "after" }))
        .await;
    let outcome: Result<(), String> = async {
        let fresh = stack.pending_approval(run_id(&after), GATE).await;
        let new_link = approve_link(&fresh)?;
        let kid = query(&new_link).get("kid").cloned();
        if kid.as_deref() != Some(new_kid.as_str()) {
            return Err(format!(
                "a link made after the rotation names key {kid:?}, not the new {new_kid}"
            ));
        }
        let (status, body) = decide(&client, &open_link).await;
        if status != 200 || body["status"] != "approved" {
            return Err(format!("a link sent before the rotation: {status} {body}"));
        }
        let (status, body) = decide(&client, &new_link).await;
        if status != 200 || body["status"] != "approved" {
            return Err(format!("a link signed with the new key: {status} {body}"));
        }
        Ok(())
    }
    .await;

    // Back as deployed: the value infra/deploy wrote, the functions' own configuration.
    put_secret(&stack, &deployed_value).await;
    for (function, environment) in &readers {
        reconfigure(&stack, function, environment).await;
    }
    for execution in [&before, &after] {
        let _ = stack
            .sfn
            .stop_execution()
            .execution_arn(execution)
            .send()
            .await;
    }
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}
