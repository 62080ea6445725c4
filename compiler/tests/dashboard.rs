//! The template's CloudWatch dashboard (`build/template.json`, which the golden test keeps
//! equal to what the compiler emits) plots only metrics the functions emit, under the
//! dimension sets they emit them with, and is created on AWS only.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;
use switchyard_state::schema::metrics::{self, MetricSet};

fn template() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../build/template.json");
    let text = std::fs::read_to_string(&path).expect("build/template.json");
    serde_json::from_str(&text).expect("the template is JSON")
}

fn dashboards(template: &Value) -> Vec<Value> {
    template["Resources"]
        .as_object()
        .expect("resources")
        .values()
        .filter(|r| r["Type"] == "AWS::CloudWatch::Dashboard")
        .cloned()
        .collect()
}

/// `SEARCH('{Namespace,Dim,...} MetricName="Name"', 'Stat', period)` → namespace,
/// dimensions, metric name.
fn searched(expression: &str) -> (String, BTreeSet<String>, String) {
    let schema = expression
        .split_once('{')
        .and_then(|(_, rest)| rest.split_once('}'))
        .map(|(schema, _)| schema)
        .unwrap_or_else(|| panic!("no schema in {expression}"));
    let mut parts = schema.split(',').map(str::to_owned);
    let namespace = parts.next().unwrap_or_default();
    let name = expression
        .split_once("MetricName=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(name, _)| name.to_owned())
        .unwrap_or_else(|| panic!("no metric name in {expression}"));
    (namespace, parts.collect(), name)
}

fn emitted_with(set: &MetricSet) -> Vec<BTreeSet<String>> {
    set.dimensions
        .iter()
        .map(|d| d.iter().map(|n| n.to_string()).collect())
        .collect()
}

#[test]
fn the_dashboard_plots_only_emitted_metrics_by_their_emitted_dimensions() {
    let template = template();
    let dashboards = dashboards(&template);
    assert_eq!(dashboards.len(), 1, "one dashboard");
    let body = dashboards[0]["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_str()
        .expect("the body is a string with the region substituted");
    let body: Value = serde_json::from_str(body).expect("the body is JSON");
    let widgets = body["widgets"].as_array().expect("widgets");
    assert!(!widgets.is_empty());
    let mut plotted = BTreeSet::new();
    for widget in widgets {
        let properties = &widget["properties"];
        assert_eq!(properties["region"], "${AWS::Region}", "{widget}");
        let lines = properties["metrics"].as_array().expect("metrics");
        assert!(!lines.is_empty(), "{widget}");
        for line in lines {
            let expression = line[0]["expression"]
                .as_str()
                .unwrap_or_else(|| panic!("a search expression: {line}"));
            let (namespace, dimensions, name) = searched(expression);
            assert_eq!(namespace, metrics::NAMESPACE, "{expression}");
            let set = metrics::ALL
                .iter()
                .find(|set| set.metrics.iter().any(|m| m.name == name))
                .unwrap_or_else(|| panic!("{name} is not a metric the functions emit"));
            assert!(
                emitted_with(set).contains(&dimensions),
                "{name} is not emitted by {dimensions:?}: {expression}"
            );
            plotted.insert(name);
        }
    }
    let every: BTreeSet<String> = metrics::ALL
        .iter()
        .flat_map(|set| set.metrics.iter().map(|m| m.name.to_owned()))
        .collect();
    assert_eq!(plotted, every, "every emitted metric is plotted");
}

#[test]
fn the_dashboard_is_created_on_aws_only() {
    let template = template();
    let dashboard = &dashboards(&template)[0];
    let condition = dashboard["Condition"].as_str().expect("a condition");
    // LocalStack 4.8's CloudFormation has no dashboards; a local deployment names its
    // DynamoDB Local endpoint, an AWS one leaves it empty.
    assert_eq!(
        template["Conditions"][condition],
        serde_json::json!({ "Fn::Equals": [{ "Ref": "DynamoDbEndpoint" }, ""] })
    );
}
