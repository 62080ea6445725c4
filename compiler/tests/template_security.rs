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
