//! Each agent's model can be chosen at deploy time: the manifest names the template
//! parameter and the variable `infra/deploy` fills it from, and the template hands that
//! parameter to the agent's function, and only to it, as `AGENT_MODEL`.

use std::path::PathBuf;

use serde_json::Value;

fn build_file(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../build")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("a build file");
    serde_json::from_str(&text).expect("JSON")
}

#[test]
fn every_agent_function_reads_its_own_model_parameter() {
    let manifest = build_file("manifest.json");
    let template = build_file("template.json");
    let agents = manifest["agents"].as_array().expect("agents");
    assert!(!agents.is_empty());
    for agent in agents {
        let name = agent["agent"].as_str().expect("a name");
        let parameter = agent["model_parameter"].as_str().expect("a parameter");
        assert_eq!(
            agent["model_variable"],
            switchyard_ir::model_override_variable(name),
            "{name}"
        );
        let declared = &template["Parameters"][parameter];
        assert_eq!(declared["Type"], "String", "{parameter}");
        // Unset at deploy time: the function asks its declared model, else PrimaryModel.
        assert_eq!(declared["Default"], "", "{parameter}");
        let function = template["Resources"]
            .as_object()
            .expect("resources")
            .values()
            .find(|r| r["Properties"]["FunctionName"] == agent["function_name"])
            .unwrap_or_else(|| panic!("no function for {name}"));
        // Both forms of the environment (DynamoDB Local's endpoint, or none).
        let forms = function["Properties"]["Environment"]["Variables"]["Fn::If"]
            .as_array()
            .expect("two environments");
        for variables in &forms[1..] {
            assert_eq!(variables["AGENT_MODEL"]["Ref"], parameter, "{name}");
        }
    }
    // Platform functions ask no model.
    let api =
        &template["Resources"]["FnApi"]["Properties"]["Environment"]["Variables"]["Fn::If"][2];
    assert!(
        api.get("PRIMARY_MODEL").is_some() && api.get("AGENT_MODEL").is_none(),
        "{api}"
    );
}
