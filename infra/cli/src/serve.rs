//! `switchyard serve`: the same `Api` over local HTTP, for those who do not want Function URLs.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use clap::Args;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use switchyard_api::{Api, ApiError, ApiRequest, ApiResponse};

use crate::error::CliError;
use crate::{Context, Outcome};

/// As a Function URL: larger request bodies are refused.
const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

#[derive(Args)]
pub struct ServeArgs {
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to listen on; 0.0.0.0 to accept other machines.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
}

async fn api_request(request: Request<Incoming>) -> Result<ApiRequest, ApiError> {
    let (parts, body) = request.into_parts();
    let mut headers = std::collections::BTreeMap::<String, String>::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    // Plain HTTP: links the API makes (view links) start with `http://` and this host.
    headers
        .entry("x-forwarded-proto".to_owned())
        .or_insert_with(|| "http".to_owned());
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = ApiError::TooLarge {
        field: "body",
        limit: MAX_BODY_BYTES,
    };
    if declared.is_some_and(|size| size > MAX_BODY_BYTES) {
        return Err(too_large);
    }
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large),
        Err(e) => {
            return Err(ApiError::bad_field(
                "body",
                format!("could not read the body: {e}"),
            ))
        }
    };
    Ok(ApiRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers,
        body,
    })
}

fn http_response(response: ApiResponse) -> Response<Full<Bytes>> {
    let mut builder = Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(name, value);
    }
    // Status and headers come from the API's own constants and JSON; should one not be
    // valid HTTP, the client still gets the body.
    builder
        .body(Full::new(Bytes::from(response.body.clone())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::from(response.body))))
}

pub async fn run(context: &Context, args: ServeArgs) -> Result<Outcome, CliError> {
    context.deployment()?;
    let config = aws_config::load_from_env().await;
    let api = Arc::new(Api::from_env(&config)?);
    let address = SocketAddr::new(args.host, args.port);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(CliError::io(format!("listening on {address}")))?;
    tracing::info!(%address, target = context.target.name(), "serving the Switchyard API");
    if !context.json {
        eprintln!("serving the Switchyard API on http://{address} (Ctrl-C stops)");
    }
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => accepted.map_err(CliError::io("accepting a connection"))?,
            _ = tokio::signal::ctrl_c() => return Ok(Outcome::Done),
        };
        let api = Arc::clone(&api);
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let api = Arc::clone(&api);
                async move {
                    let response = match api_request(request).await {
                        Ok(request) => api.handle(request).await,
                        Err(e) => e.response(),
                    };
                    Ok::<_, Infallible>(http_response(response))
                }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}
