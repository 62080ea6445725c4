//! Security properties of the deployment template (`build/template.json`, which the golden
//! test keeps equal to what the compiler emits).

use std::path::PathBuf;

use serde_json::Value;

fn template() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../build/template.json");
    let text = std::fs::read_to_string(&path).expect("build/template.json");
    serde_json::from_str(&text).expect("the template is JSON")
}

fn resources_of(template: &Value, kind: &str) -> Vec<(String, Value)> {
    template["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id.clone(), r.clone()))
        .collect()
}

#[test]
fn public_function_urls_have_reserved_concurrency() {
    let template = template();
    let urls = resources_of(&template, "AWS::Lambda::Url");
    assert_eq!(urls.len(), 2, "the approval callback and the API");
    for (_, url) in urls {
        let function = url["Properties"]["TargetFunctionArn"]["Fn::GetAtt"][0]
            .as_str()
            .expect("a function of the stack");
        let reserved =
            &template["Resources"][function]["Properties"]["ReservedConcurrentExecutions"];
        assert_eq!(
            reserved["Fn::If"][1]["Ref"], "PublicFunctionConcurrency",
            "{function}: {reserved}"
        );
    }
}

#[test]
fn the_payload_bucket_is_private_and_tls_only() {
    let template = template();
    let bucket = &template["Resources"]["PayloadBucket"]["Properties"];
    for setting in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(
            bucket["PublicAccessBlockConfiguration"][setting], true,
            "{setting}"
        );
    }
    let policy = &template["Resources"]["PayloadBucketPolicy"]["Properties"]["PolicyDocument"];
    let deny = &policy["Statement"][0];
    assert_eq!(deny["Effect"], "Deny");
    assert_eq!(deny["Condition"]["Bool"]["aws:SecureTransport"], "false");
}

#[test]
fn email_may_only_be_sent_as_the_configured_sender() {
    let template = template();
    let mut ses_statements = 0;
    for (id, role) in resources_of(&template, "AWS::IAM::Role") {
        for policy in role["Properties"]["Policies"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for statement in policy["PolicyDocument"]["Statement"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if !statement["Action"].to_string().contains("ses:") {
                    continue;
                }
                ses_statements += 1;
                assert_ne!(statement["Resource"], "*", "{id}");
                assert_eq!(
                    statement["Condition"]["StringEquals"]["ses:FromAddress"]["Ref"],
                    "ApprovalEmailFrom",
                    "{id}"
                );
            }
        }
    }
    assert_eq!(ses_statements, 1);
}

/// The functions that sign or verify approval links.
const LINK_FUNCTIONS: [&str; 2] = ["FnApprovalRequest", "FnApprovalCallback"];

/// A function's environment variables, whichever branch of the DynamoDB-endpoint condition.
fn variables_of(function: &Value) -> Vec<serde_json::Map<String, Value>> {
    let variables = &function["Properties"]["Environment"]["Variables"];
    match variables.get("Fn::If").and_then(Value::as_array) {
        Some(branches) => branches[1..]
            .iter()
            .filter_map(|b| b.as_object().cloned())
            .collect(),
        None => variables.as_object().cloned().into_iter().collect(),
    }
}

#[test]
fn the_link_secret_is_neither_a_template_parameter_nor_in_any_environment() {
    let template = template();
    let parameters = template["Parameters"].as_object().expect("parameters");
    for (name, parameter) in parameters {
        assert_ne!(parameter["NoEcho"], true, "{name}: a secret parameter");
    }
    assert!(!parameters.contains_key("ApprovalLinkSecret"));
    assert_eq!(
        parameters["ApprovalLinkSecretParameter"]["Default"], "/switchyard/approval-link-secret",
        "the template takes the SSM parameter's name"
    );
    let mut holders = Vec::new();
    for (id, function) in resources_of(&template, "AWS::Lambda::Function") {
        for variables in variables_of(&function) {
            assert!(
                !variables.contains_key("APPROVAL_LINK_SECRET"),
                "{id} has the secret in its environment"
            );
            if let Some(name) = variables.get("APPROVAL_LINK_SECRET_PARAMETER") {
                assert_eq!(name["Ref"], "ApprovalLinkSecretParameter", "{id}");
                holders.push(id.clone());
            }
        }
    }
    holders.dedup();
    holders.sort();
    let mut expected = LINK_FUNCTIONS.map(String::from).to_vec();
    expected.sort();
    assert_eq!(
        holders, expected,
        "only the link functions know the parameter"
    );
}

#[test]
fn only_the_link_functions_may_read_the_secret_parameter_and_nothing_else_in_ssm() {
    let template = template();
    let mut readers = Vec::new();
    for (id, role) in resources_of(&template, "AWS::IAM::Role") {
        for policy in role["Properties"]["Policies"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for statement in policy["PolicyDocument"]["Statement"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let actions = statement["Action"].to_string();
                assert!(
                    !actions.contains("kms:"),
                    "{id}: aws/ssm needs no kms grant"
                );
                if !actions.contains("ssm:") {
                    continue;
                }
                assert_eq!(
                    statement["Action"],
                    serde_json::json!(["ssm:GetParameter"]),
                    "{id}"
                );
                assert_eq!(
                    statement["Resource"]["Fn::Sub"],
                    "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${ApprovalLinkSecretParameter}",
                    "{id}: exactly the one parameter"
                );
                readers.push(id.clone());
            }
        }
    }
    readers.sort();
    assert_eq!(readers, ["RoleApprovalCallback", "RoleApprovalRequest"]);
}

/// Every (actions, resource text) a role's policies allow.
fn grants_of(role: &Value) -> Vec<(Vec<String>, String)> {
    let mut grants = Vec::new();
    for policy in role["Properties"]["Policies"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for statement in policy["PolicyDocument"]["Statement"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let actions = match &statement["Action"] {
                Value::Array(actions) => actions
                    .iter()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect(),
                Value::String(action) => vec![action.clone()],
                _ => Vec::new(),
            };
            grants.push((actions, statement["Resource"].to_string()));
        }
    }
    grants
}

/// `GET /runs/{id}` reads the run and the caller's key in one `BatchGetItem`
/// (`State::run_and_key`): the API's role must allow it on both tables, and only it reads keys.
#[test]
fn the_api_may_read_a_run_and_a_key_together_and_nothing_else_reads_keys() {
    let template = template();
    let mut checked = 0;
    for (id, role) in resources_of(&template, "AWS::IAM::Role") {
        for (actions, resource) in grants_of(&role) {
            let table = |suffix: &str| resource.contains(&format!("}}{suffix}\""));
            if table("api-keys") {
                assert_eq!(id, "RoleApi", "{id} may read API keys");
                assert_eq!(actions, ["dynamodb:GetItem", "dynamodb:BatchGetItem"]);
                checked += 1;
            }
            if id == "RoleApi" && table("runs") {
                assert!(
                    actions.iter().any(|a| a == "dynamodb:BatchGetItem"),
                    "{actions:?}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 2, "the API's grants on both tables were found");
}

#[test]
fn only_agents_use_the_model_cache_and_only_the_api_reads_their_traces() {
    let template = template();
    let cache = &template["Resources"]["ModelCacheTable"]["Properties"];
    assert_eq!(
        cache["TimeToLiveSpecification"],
        serde_json::json!({ "AttributeName": "expires_at", "Enabled": true }),
        "cached replies expire"
    );
    let agents: Vec<String> = resources_of(&template, "AWS::Lambda::Function")
        .into_iter()
        .filter(|(_, f)| {
            variables_of(f)
                .iter()
                .all(|v| v.contains_key("TRACE_REDACT"))
        })
        .map(|(id, _)| id.replacen("Fn", "Role", 1))
        .collect();
    assert!(agents.contains(&"RoleCachedBrief".to_owned()), "{agents:?}");
    for (id, role) in resources_of(&template, "AWS::IAM::Role") {
        let is_agent = agents.contains(&id);
        for (actions, resource) in grants_of(&role) {
            if resource.contains("model-cache") {
                assert!(is_agent, "{id} may touch the model cache");
                assert_eq!(actions, ["dynamodb:GetItem", "dynamodb:PutItem"], "{id}");
            }
            if resource.contains("/traces/") {
                let expected = match (is_agent, id.as_str()) {
                    (true, _) => "s3:PutObject",
                    (false, "RoleApi") => "s3:GetObject",
                    _ => panic!("{id} may touch conversation traces"),
                };
                assert_eq!(actions, [expected], "{id}");
            }
        }
    }
    // The platform functions never get the agents' redaction list.
    for id in [
        "FnApi",
        "FnRunTracker",
        "FnApprovalRequest",
        "FnApprovalCallback",
    ] {
        for variables in variables_of(&template["Resources"][id]) {
            assert!(!variables.contains_key("TRACE_REDACT"), "{id}");
        }
    }
}
