//! One binary for every function: `SWITCHYARD_FUNCTION` names the agent (or platform
//! function) this deployment serves. Building one binary instead of thirty keeps a cold
//! release build to one link of the AWS SDK.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use switchyard_lambda::{agent, approval, init_tracing, Role};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    switchyard_agents::link();
    match Role::from_env()? {
        Role::Agent(registration) => {
            let runtime = agent::AgentRuntime::new(registration);
            let runtime = &runtime;
            lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
                runtime.handle(event.payload).await
            }))
            .await
        }
        Role::ApprovalRequest => {
            let service = approval::ApprovalRequests::from_env().await?;
            let service = &service;
            lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
                service.handle(event.payload).await
            }))
            .await
        }
    }
}
