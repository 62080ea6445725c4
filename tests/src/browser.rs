//! Headless Chromium, for the tests that check what a person sees: the DOM a page has once
//! its scripts ran, and screenshots kept as artefacts in `target/browser-artefacts/`.
//!
//! Chromium is required: without it the tests fail saying how to install it (`tests/run`
//! does), never skip.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The browsers tried, in order (`SWITCHYARD_CHROMIUM` names another).
const CANDIDATES: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];
/// A page gets this long (real time) to load, run and be dumped.
const LIMIT: Duration = Duration::from_secs(90);
/// Virtual time the page's scripts get before the DOM is read: the run page polls its state
/// once after 2 s.
const SCRIPT_TIME_MS: u32 = 3_000;

pub struct Browser {
    binary: PathBuf,
}

impl Browser {
    /// Chromium, or a failure saying how to get it.
    pub fn find() -> Browser {
        let wanted = std::env::var_os("SWITCHYARD_CHROMIUM").map(PathBuf::from);
        let path = std::env::var_os("PATH").unwrap_or_default();
        let found = wanted.filter(|p| p.is_file()).or_else(|| {
            CANDIDATES.iter().find_map(|name| {
                std::env::split_paths(&path)
                    .map(|dir| dir.join(name))
                    .find(|candidate| candidate.is_file())
            })
        });
        match found {
            Some(binary) => Browser { binary },
            None => panic!(
                "no headless browser: the browser tests need Chromium (tried {} on PATH, and \
                 SWITCHYARD_CHROMIUM). Install it: `apt-get install -y chromium` (tests/run \
                 installs it)",
                CANDIDATES.join(", ")
            ),
        }
    }

    /// The DOM of `url` after its scripts ran for a few (virtual) seconds.
    pub fn dom(&self, url: &str) -> String {
        self.run(
            &[
                "--dump-dom".to_owned(),
                format!("--virtual-time-budget={SCRIPT_TIME_MS}"),
            ],
            url,
        )
    }

    /// A 1280×1600 screenshot of `url`, saved as `target/browser-artefacts/<name>.png`.
    pub fn screenshot(&self, url: &str, name: &str) -> PathBuf {
        let dir = artefacts();
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let file = dir.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&file);
        self.run(
            &[
                format!("--screenshot={}", file.display()),
                format!("--virtual-time-budget={SCRIPT_TIME_MS}"),
            ],
            url,
        );
        let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        assert!(
            size > 0,
            "Chromium wrote no screenshot of {url} to {}",
            file.display()
        );
        file
    }

    fn run(&self, action: &[String], url: &str) -> String {
        // A profile of its own: tests run in parallel, and Chromium locks its profile.
        let profile = std::env::temp_dir().join(format!(
            "switchyard-chromium-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let mut child = Command::new(&self.binary)
            .args([
                "--headless",
                "--disable-gpu",
                "--no-sandbox",
                "--hide-scrollbars",
                "--no-first-run",
                "--window-size=1280,1600",
                // LocalStack's Function URLs are `<id>.lambda-url.<region>.localhost:4566`.
                "--host-resolver-rules=MAP *.localhost 127.0.0.1",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(action)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.binary.display()));
        // Read while it runs, so a large DOM (or Chromium's chatter) cannot fill a pipe and
        // stall it.
        let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
            std::thread::spawn(move || {
                let mut text = String::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_string(&mut text);
                }
                text
            })
        };
        let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<_>));
        let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<_>));
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() < LIMIT => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let _ = std::fs::remove_dir_all(&profile);
                    panic!("Chromium did not finish {url} within {LIMIT:?}");
                }
                Err(e) => panic!("waiting for Chromium: {e}"),
            }
        };
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        let _ = std::fs::remove_dir_all(&profile);
        assert!(
            status.success(),
            "Chromium failed on {url} ({status}): {stderr}"
        );
        stdout
    }
}

/// `target/browser-artefacts/` of the repository.
pub fn artefacts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/browser-artefacts")
}
