//! One binary for every function: `SWITCHYARD_FUNCTION` names the agent (or platform
//! function) this deployment serves. Building one binary instead of forty keeps a cold
//! release build to one link of the AWS SDK.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use switchyard_lambda::payload::PayloadStore;
use switchyard_lambda::{agent, approval, init_tracing, state_from_env, tracker, Role};

// One thread: an environment handles one event at a time, and its work is waiting on the
// network, so worker threads would only add wake-ups (a hop between threads per reply)
// on a machine where every function shares the cores.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    switchyard_agents::link();
    let role = Role::from_env()?;
    // Clients are built once per environment, not per invocation.
    let config = switchyard_lambda::aws_config().await;
    match role {
        Role::Agent(registration) => {
            // AGENT_MODEL (this function's, from the deployment), else the agent's declared
            // model, else PRIMARY_MODEL, else the offline embedded model.
            let model = switchyard_models::agent_model_from_env(registration.model).await?;
            let runtime = agent::AgentRuntime::new(
                registration,
                model,
                state_from_env(&config)?,
                PayloadStore::from_env(&config),
            );
            let runtime = &runtime;
            lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
                runtime.handle(event.payload).await
            }))
            .await
        }
        Role::ApprovalCallback => {
            let callback = approval::callback::Callback::from_env(&config).await?;
            let callback = &callback;
            lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
                callback.handle(event.payload).await
            }))
            .await
        }
        Role::ApprovalRequest => {
            let service = approval::request::ApprovalRequests::from_env(&config).await?;
            let service = &service;
            lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
                service.handle(event.payload).await
            }))
            .await
        }
        Role::Api => {
            let api = switchyard_api::Api::from_env(&config)?;
            let api = &api;
            lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
                // The template's schedule ticks the reconciler; everything else is HTTP.
                if switchyard_api::reconcile::is_scheduled(&event.payload) {
                    let report = api.sweep().await?;
                    return Ok(serde_json::to_value(report)?);
                }
                let response = switchyard_api::function_url::handle(api, event.payload).await?;
                Ok::<Value, Error>(serde_json::to_value(response)?)
            }))
            .await
        }
        Role::RunTracker => {
            let approvals = approval::ApprovalStore::from_env(&config)?;
            let state = approvals.state().clone();
            let prefix = tracker::state_machine_prefix_from_env();
            let (state, approvals, prefix) = (&state, &approvals, prefix.as_str());
            lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
                tracker::handle(state, approvals, prefix, event.payload).await
            }))
            .await
        }
    }
}
