//! What a person sees, in a real browser (headless Chromium) on the live local stack: a
//! run's page while the run waits at a gate — its picture, its step table, its decision
//! button — and the approval page that button leads to. Screenshots are kept in
//! `target/browser-artefacts/`. Without Chromium these tests fail, saying how to install it.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use switchyard_e2e::browser::{artefacts, Browser};
use switchyard_e2e::{api_url, function_url_client, saved_api_key};

const LIMIT: Duration = Duration::from_secs(90);

struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    fn new() -> Api {
        let base = api_url();
        Api {
            http: function_url_client(&base),
            base,
            key: saved_api_key(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: the API does not answer: {e}"));
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The run, once `ready` holds for it.
    async fn run_when(&self, run_id: &str, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let (status, run) = self
                .call(reqwest::Method::GET, &format!("/runs/{run_id}"), None)
                .await;
            assert_eq!(status, 200, "{run}");
            if ready(&run) {
                return run;
            }
            assert!(
                started.elapsed() < LIMIT,
                "run {run_id} never {what} within {LIMIT:?}: {run}"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}

/// The `<g …>` opening tag of the picture's node for `step`.
fn node<'a>(dom: &'a str, step: &str) -> &'a str {
    let marker = format!("data-step=\"{step}\"");
    let at = dom
        .find(&marker)
        .unwrap_or_else(|| panic!("no node for `{step}` in the picture"));
    let open = dom[..at].rfind("<g ").unwrap_or(0);
    &dom[open..at + marker.len()]
}

fn assert_state(dom: &str, step: &str, state: &str) {
    let tag = node(dom, step);
    assert!(
        tag.contains(&format!(" st-{state}")),
        "`{step}` is not {state}: {tag}"
    );
}

#[tokio::test]
async fn the_run_page_and_the_approval_page_show_a_person_what_happens() {
    let browser = Browser::find();
    let api = Api::new();
    let (status, started) = api
        .call(
            reqwest::Method::POST,
            "/runs/start",
            Some(json!({
                "workflow": "campaign-creation",
                "input": { "brand_id": "acme", "selected_month": "2024-10" },
                "auto_approve": false,
            })),
        )
        .await;
    assert_eq!(status, 202, "{started}");
    let run_id = started["run_id"].as_str().expect("a run id").to_owned();
    let run = api
        .run_when(&run_id, "waited at approve_strategy", |run| {
            run["approvals"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| a["gate"] == "approve_strategy" && a["status"] == "pending")
        })
        .await;
    let approve_link = run["approvals"][0]["links"]["approve"]
        .as_str()
        .expect("the gate's approve link")
        .to_owned();

    let (status, link) = api
        .call(reqwest::Method::POST, &format!("/runs/{run_id}/view"), None)
        .await;
    assert_eq!(status, 201, "{link}");
    let url = link["url"].as_str().expect("a view link").to_owned();
    assert!(
        url.starts_with("http") && url.contains("/page?view=syv_"),
        "{url}"
    );

    let shot = browser.screenshot(&url, "run-page");
    let dom = browser.dom(&url);
    // The header: workflow, status, run.
    assert!(dom.contains("<h1>campaign-creation</h1>"), "{dom}");
    assert!(dom.contains("class=\"badge run-running\""), "{dom}");
    assert!(dom.contains(&run_id));
    // Every step of the workflow is in the picture, each in its state.
    for (step, state) in [
        ("@start", "succeeded"),
        ("analyze", "succeeded"),
        ("strategize", "succeeded"),
        ("approve_strategy", "waiting"),
        ("content", "not-reached"),
        ("copy", "not-reached"),
        ("qa", "not-reached"),
        ("approve_content", "not-reached"),
        ("deploy", "not-reached"),
        ("@end", "not-reached"),
    ] {
        assert_state(&dom, step, state);
    }
    // The legend says what the colours mean.
    assert!(dom.contains("waiting for approval"));
    // The step table: one row per attempt so far, each succeeded.
    let table = dom
        .split("id=\"steps-body\"")
        .nth(1)
        .and_then(|rest| rest.split("</tbody>").next())
        .expect("the step table");
    for step in ["analyze", "strategize"] {
        assert!(table.contains(&format!("<td>{step}</td>")), "{table}");
    }
    assert_eq!(table.matches(">succeeded</span>").count(), 2, "{table}");
    // The decision buttons lead to the signed approval links.
    let escaped = approve_link.replace('&', "&amp;");
    assert!(
        dom.contains(&format!("class=\"button approve\" href=\"{escaped}\"")),
        "no Approve button to {approve_link}"
    );
    assert!(dom.contains(">Reject</a>"));

    // The approval page the button opens shows the subject readably.
    let approval_shot = browser.screenshot(&approve_link, "approval-page");
    let approval = browser.dom(&approve_link);
    assert!(
        approval.contains("Approve the campaign strategy"),
        "{approval}"
    );
    let subject = approval
        .split("class=\"summary\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no readable subject on the approval page: {approval}"));
    assert!(
        subject.contains("<dl>") && subject.contains("<dt>"),
        "{approval}"
    );
    assert!(
        !approval.contains("{&quot;") && !approval.contains("{\""),
        "the subject is shown as raw JSON: {approval}"
    );

    // A link changed by one character shows nothing of the run.
    let tampered = if url.ends_with('A') {
        format!("{}B", &url[..url.len() - 1])
    } else {
        format!("{}A", &url[..url.len() - 1])
    };
    let refused = browser.dom(&tampered);
    assert!(
        refused.contains("This run page cannot be shown"),
        "{refused}"
    );
    assert!(!refused.contains("data-step"));

    let (status, _) = api
        .call(reqwest::Method::DELETE, &format!("/runs/{run_id}"), None)
        .await;
    assert_eq!(status, 200);
    println!(
        "screenshots: {} and {}",
        shot.display(),
        approval_shot.display()
    );
}

/// The browser itself, without the stack: the DOM is read after the page's scripts ran.
#[test]
fn the_browser_reads_the_dom_after_scripts_ran() {
    let browser = Browser::find();
    let dir = artefacts();
    std::fs::create_dir_all(&dir).expect("the artefacts directory");
    let page = dir.join("script-check.html");
    std::fs::write(
        &page,
        "<html><body><p id=x>before</p><script>setTimeout(function () { \
         document.getElementById('x').textContent = 'after'; }, 1000);</script></body></html>",
    )
    .expect("written");
    let url = format!("file://{}", page.display());
    let dom = browser.dom(&url);
    assert!(dom.contains("<p id=\"x\">after</p>"), "{dom}");
    let _ = std::fs::remove_file(page);
}
