//! One writer per target. Each is deterministic: same IR, same bytes.

pub mod asl;
pub mod cloudformation;
pub mod manifest;
pub mod mermaid;

/// `${AgentStoryWriterArn}`'s key for agent `story_writer`: the substitution the deploy step
/// fills with the function's ARN.
pub fn agent_substitution(agent: &str) -> String {
    format!("Agent{}Arn", pascal_case(agent))
}

/// The approval-request function every gate invokes.
pub const APPROVAL_REQUEST_SUBSTITUTION: &str = "ApprovalRequestFunctionArn";
/// The run-tracker function every workflow invokes at its start and end.
pub const RUN_TRACKER_SUBSTITUTION: &str = "RunTrackerFunctionArn";

/// The deployed Lambda function name of an agent.
pub fn function_name(agent: &str) -> String {
    format!(
        "{}{}",
        switchyard_ir::RESOURCE_PREFIX,
        agent.replace('_', "-")
    )
}

/// The deployed state machine name of a workflow.
pub fn state_machine_name(workflow: &str) -> String {
    format!("{}{workflow}", switchyard_ir::RESOURCE_PREFIX)
}

pub fn pascal_case(snake: &str) -> String {
    snake
        .split(['_', '-'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}
