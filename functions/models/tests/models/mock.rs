//! A minimal HTTP/1.1 server on 127.0.0.1 that records each request and answers from a
//! script (or every request with the same canned response), one request per connection.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// Header names are case-insensitive.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }
}

#[derive(Clone)]
pub struct MockResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl MockResponse {
    pub fn new(status: u16, headers: &[(&str, &str)], body: impl Into<String>) -> Self {
        MockResponse {
            status,
            headers: headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
            body: body.into(),
        }
    }

    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        MockResponse::new(status, &[], body.to_string())
    }
}

pub struct MockServer {
    pub url: String,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
}

/// What the server answers.
enum Responses {
    Always(MockResponse),
    /// In order, one a request; a request past the end gets a 500 that says so.
    InOrder(Mutex<VecDeque<MockResponse>>),
}

impl Responses {
    fn next(&self) -> MockResponse {
        match self {
            Responses::Always(response) => response.clone(),
            Responses::InOrder(script) => {
                script.lock().expect("lock").pop_front().unwrap_or_else(|| {
                    MockResponse::new(500, &[], "the mock's script has no more responses")
                })
            }
        }
    }
}

impl MockServer {
    /// Answers every request with `response`; serves until the test's runtime shuts down.
    pub async fn start(response: MockResponse) -> Self {
        Self::serve(Responses::Always(response)).await
    }

    /// Answers the requests with `responses`, in the order they arrive.
    pub async fn script(responses: impl IntoIterator<Item = MockResponse>) -> Self {
        Self::serve(Responses::InOrder(Mutex::new(
            responses.into_iter().collect(),
        )))
        .await
    }

    async fn serve(responses: Responses) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        let responses = Arc::new(responses);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let recorded = Arc::clone(&recorded);
                let responses = Arc::clone(&responses);
                tokio::spawn(async move { serve(stream, &responses, &recorded).await });
            }
        });
        MockServer { url, requests }
    }

    /// The one request the provider should have sent.
    pub fn only_request(&self) -> RecordedRequest {
        let requests = self.requests.lock().expect("lock");
        assert_eq!(requests.len(), 1, "expected exactly one request");
        requests[0].clone()
    }

    /// Every request so far, in the order they arrived.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.lock().expect("lock").clone()
    }

    /// The bodies of every request so far, as JSON.
    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.requests().iter().map(RecordedRequest::json).collect()
    }
}

/// A URL on which nothing listens: the port was bound and released.
pub async fn closed_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    format!("http://{}", listener.local_addr().expect("local addr"))
}

async fn serve(
    mut stream: TcpStream,
    responses: &Responses,
    recorded: &Mutex<Vec<RecordedRequest>>,
) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    // Taken with the request recorded, so the nth request gets the nth response.
    let response = {
        let mut recorded = recorded.lock().expect("lock");
        recorded.push(request);
        responses.next()
    };
    let mut head = format!(
        "HTTP/1.1 {} Mock\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        response.status,
        response.body.len()
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(response.body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn read_request(stream: &mut TcpStream) -> Option<RecordedRequest> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .map(|(_, value)| value.parse().expect("numeric content-length"))
        .expect("the mock only reads bodies with a content-length");
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    Some(RecordedRequest {
        method,
        path,
        headers,
        body,
    })
}
