//! Talking to the API: through its Function URL when the deployment has one, else in-process
//! through the same `Api` core with AWS clients from the environment. Either way the
//! request, the authentication and the answer are the API's own.

use serde_json::Value;
use switchyard_api::{Api, ApiRequest};

use crate::error::CliError;

pub enum Client {
    Remote {
        base_url: String,
        api_key: String,
        http: reqwest::Client,
    },
    InProcess {
        api: Box<Api>,
        api_key: String,
    },
}

/// An HTTP client that reaches LocalStack Function URLs (`<id>.lambda-url.<region>.localhost`)
/// on 127.0.0.1, whatever the system resolver makes of `.localhost` names.
pub fn http_client(url: &str) -> reqwest::Client {
    let mut builder = reqwest::Client::builder();
    if let Ok(parsed) = reqwest::Url::parse(url) {
        if let (Some(host), Some(port)) = (parsed.host_str(), parsed.port_or_known_default()) {
            if host.ends_with(".localhost") {
                builder = builder.resolve(host, std::net::SocketAddr::from(([127, 0, 0, 1], port)));
            }
        }
    }
    // Only TLS set-up can fail here, and then the default client fails the same way.
    builder.build().unwrap_or_default()
}

impl Client {
    pub fn remote(base_url: &str, api_key: String) -> Client {
        Client::Remote {
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
            http: http_client(base_url),
        }
    }

    pub async fn in_process(api_key: String) -> Result<Client, CliError> {
        let config = aws_config::load_from_env().await;
        Ok(Client::InProcess {
            api: Box::new(Api::from_env(&config)?),
            api_key,
        })
    }

    pub fn describe(&self) -> String {
        match self {
            Client::Remote { base_url, .. } => base_url.clone(),
            Client::InProcess { .. } => "in-process API".to_owned(),
        }
    }

    /// The API's URL, when it is reached over HTTP.
    pub fn base_url(&self) -> Option<&str> {
        match self {
            Client::Remote { base_url, .. } => Some(base_url),
            Client::InProcess { .. } => None,
        }
    }

    /// One call; a non-2xx answer becomes [`CliError::Api`] with the API's error fields.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, CliError> {
        let query_string: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query.iter().filter(|(_, v)| !v.is_empty()))
            .finish();
        let (status, text) = match self {
            Client::InProcess { api, api_key } => {
                let mut request = ApiRequest::new(method, path)
                    .with_query(&query_string)
                    .with_header("x-api-key", api_key);
                if let Some(body) = body {
                    request = request.with_body(body.to_string());
                }
                let response = api.handle(request).await;
                (response.status, response.body)
            }
            Client::Remote {
                base_url,
                api_key,
                http,
            } => {
                let mut url = format!("{base_url}{path}");
                if !query_string.is_empty() {
                    url = format!("{url}?{query_string}");
                }
                let method =
                    reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
                let mut request = http.request(method, &url).bearer_auth(api_key);
                if let Some(body) = body {
                    request = request.json(body);
                }
                let unreachable = |e: reqwest::Error| CliError::Unreachable {
                    url: url.clone(),
                    reason: e.to_string(),
                };
                let response = request.send().await.map_err(unreachable)?;
                let status = response.status().as_u16();
                (status, response.text().await.map_err(unreachable)?)
            }
        };
        let value: Value = serde_json::from_str(&text).map_err(|_| CliError::NotJson {
            status,
            body: text.chars().take(500).collect(),
        })?;
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let text_of = |key: &str| value[key].as_str().map(str::to_owned);
        Err(CliError::Api {
            status,
            code: text_of("error").unwrap_or_else(|| "error".to_owned()),
            message: text_of("message").unwrap_or_else(|| value.to_string()),
            field: text_of("field"),
        })
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, CliError> {
        self.call("GET", path, query, None).await
    }
}
