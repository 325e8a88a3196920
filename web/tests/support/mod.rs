//! The browser harness: Debian's headless Chromium driven through chromedriver (W3C
//! WebDriver) with fantoccini, against a testbed served in-process on a free port. Reusable:
//! a page test starts [`Testbed`], opens a [`Browser`], and saves [`Browser::screenshot`]s
//! to `target/browser-artifacts/` (CI keeps them; one of each page is copied to
//! `docs/screenshots/` for the README).
//!
//! Chromium and chromedriver come from Debian (`apt-get install chromium chromium-driver`;
//! `.ci/run` installs them). `CHROMEDRIVER` and `CHROMIUM` override the paths.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use conformance::embedded::Embedded;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// The testbed as `up` serves it (STS, IdPs, sessions, pages) on 127.0.0.1 at a free port.
pub async fn testbed() -> (Embedded, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join(mock_sts::seed::DEMO_CLIENT_FILE);
    let demo_login = dir.path().join(mock_sts::seed::DEMO_LOGIN_CLIENT_FILE);
    let embedded = Embedded::start_serving(0, Some(dir.path()), move |sts, sessions, app| {
        let web = helseid_web::Web::new(
            sts,
            sessions,
            helseid_web::WebSettings {
                public: false,
                demo_config: Some(demo),
                demo_login_config: Some(demo_login),
            },
        );
        helseid_web::app(web, app)
    })
    .await
    .unwrap();
    (embedded, dir)
}

/// Where screenshots and downloads go.
pub fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir.canonicalize().unwrap()
}

fn program(env: &str, candidates: &[&str]) -> PathBuf {
    if let Ok(p) = std::env::var(env) {
        return PathBuf::from(p);
    }
    for c in candidates {
        let p = Path::new(c);
        if p.exists() {
            return p.to_owned();
        }
    }
    panic!(
        "the browser tests need Debian's chromium and chromium-driver ({}): `apt-get install chromium chromium-driver` (.ci/run installs them), or set {env}",
        candidates.join(", ")
    );
}

/// A running chromedriver, shared by the tests of one binary; stopped when it exits.
pub struct Driver {
    pub url: String,
    _child: Child,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self._child.kill();
    }
}

pub fn driver() -> &'static Driver {
    static DRIVER: OnceLock<Driver> = OnceLock::new();
    DRIVER.get_or_init(|| {
        let exe = program(
            "CHROMEDRIVER",
            &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(exe)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { url, _child: child }
    })
}

/// A DevTools command sent through chromedriver (`/session/{id}/chromium/send_command`).
#[derive(Debug)]
struct DevTools {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for DevTools {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/chromium/send_command",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// One headless Chromium window.
pub struct Browser {
    pub client: Client,
    pub downloads: PathBuf,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn open(name: &str) -> Browser {
        let chromium = program(
            "CHROMIUM",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        );
        let profile = tempfile::tempdir().unwrap();
        let downloads = artifacts().join(format!("downloads-{name}"));
        let _ = std::fs::remove_dir_all(&downloads);
        std::fs::create_dir_all(&downloads).unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                // The machine's network is closed: no background connections, no QUIC.
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,1400",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {
                    "download.default_directory": downloads,
                    "download.prompt_for_download": false,
                },
            }),
        );
        let client = ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps)
            .connect(&driver().url)
            .await
            .expect("a Chromium session");
        // Headless Chromium drops downloads unless told where they go (DevTools, through
        // chromedriver's send_command).
        client
            .issue_cmd(DevTools {
                cmd: "Browser.setDownloadBehavior",
                params: json!({ "behavior": "allow", "downloadPath": downloads, "eventsEnabled": true }),
            })
            .await
            .expect("downloads allowed");
        Browser {
            client,
            downloads,
            _profile: profile,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// The element's text, waiting up to 10 s for it to appear (after a form's redirect), and
    /// finding it again when the page changed under it.
    pub async fn text(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            let found = self
                .client
                .wait()
                .at_most(Duration::from_secs(10))
                .for_element(Locator::Css(css))
                .await;
            let result = match found {
                Ok(e) => e.text().await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match result {
                Ok(t) => return t,
                Err(e) if started.elapsed() > Duration::from_secs(10) => panic!("{css}: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .attr(name)
            .await
            .unwrap()
    }

    pub async fn value(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    pub async fn url(&self) -> String {
        self.client.current_url().await.unwrap().to_string()
    }

    /// Waits (up to 10 s) until the window's URL satisfies `ok` (a form's redirect has
    /// landed); returns it.
    pub async fn wait_for_url(&self, ok: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let url = self.url().await;
            if ok(&url) {
                return url;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "still at {url}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (up to 10 s) until the element's text contains `needle`; returns the text.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let started = Instant::now();
        loop {
            let text = self.text(css).await;
            if text.contains(needle) {
                return text;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{css} never showed {needle:?}: {text}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (up to 15 s) until a demo run's list of done steps (`#done > li`) has `n`.
    pub async fn wait_for_steps(&self, n: usize) {
        let started = Instant::now();
        while self
            .client
            .find_all(Locator::Css("#done > li"))
            .await
            .map_or(0, |l| l.len())
            < n
        {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "step {n} never came"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG of the window as `target/browser-artifacts/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        let path = artifacts().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Waits for a file to arrive in the downloads folder; returns its path.
    pub async fn downloaded(&self, name_ends: &str) -> PathBuf {
        let started = Instant::now();
        loop {
            // Chromium may create the file empty and write it through a `.crdownload` file:
            // done when that is gone and the file has content.
            let files: Vec<PathBuf> = std::fs::read_dir(&self.downloads)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .collect();
            let in_progress = files
                .iter()
                .any(|p| p.to_string_lossy().ends_with(".crdownload"));
            if let Some(found) = files.iter().find(|p| {
                p.to_string_lossy().ends_with(name_ends)
                    && std::fs::metadata(p).is_ok_and(|m| m.len() > 0)
            }) && !in_progress
            {
                return found.clone();
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no download ending in {name_ends} in {}",
                self.downloads.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every form control a user fills in or presses that has no accessible name (a
    /// `<label for>`, a wrapping label, `aria-label` or, for buttons, text).
    pub async fn unlabelled_controls(&self) -> Vec<String> {
        let v = self
            .client
            .execute(
                r#"return Array.from(document.querySelectorAll('input:not([type=hidden]), textarea, select, button'))
                    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                        && !(e.tagName === 'BUTTON' && e.textContent.trim()))
                    .map(e => e.outerHTML.slice(0, 120));"#,
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_value(v).unwrap()
    }

    /// Text elements whose colour contrast against their background is below `min` (WCAG's
    /// 4.5 for body text), as `"<text>: <ratio>"`.
    pub async fn low_contrast(&self, min: f64) -> Vec<String> {
        let v = self
            .client
            .execute(
                r#"const min = arguments[0];
                function rgb(s) { const m = s.match(/[\d.]+/g); return m ? m.map(Number) : [0,0,0,0]; }
                function lum(c) { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
                  return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); }
                function bg(e) { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor);
                  if (c.length < 4 || c[3] > 0) return c; } return [255,255,255]; }
                const bad = [];
                for (const e of document.querySelectorAll('body *')) {
                  const own = Array.from(e.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
                  if (!own || !e.getClientRects().length) continue;
                  const a = lum(rgb(getComputedStyle(e).color)), b = lum(bg(e));
                  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
                  if (ratio < min) bad.push(e.textContent.trim().slice(0, 40) + ': ' + ratio.toFixed(2));
                }
                return bad;"#,
                vec![json!(min)],
            )
            .await
            .unwrap();
        serde_json::from_value(v).unwrap()
    }

    /// Presses Tab `n` times and returns the focused element's id or text.
    pub async fn tab_to(&self, n: usize) -> String {
        use fantoccini::key::Key;
        let body = self.client.find(Locator::Css("body")).await.unwrap();
        for _ in 0..n {
            body.send_keys(&char::from(Key::Tab).to_string())
                .await
                .unwrap();
        }
        let v = self
            .client
            .execute(
                "const e = document.activeElement; return e.id || e.textContent.trim();",
                vec![],
            )
            .await
            .unwrap();
        v.as_str().unwrap_or_default().to_owned()
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// The reference client's binary, built once.
pub fn reference_client() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "-q",
                "-p",
                "helseid-reference",
                "--bin",
                "reference-client",
            ])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .status()
            .unwrap();
        assert!(status.success(), "building reference-client");
        let exe = std::env::current_exe().unwrap();
        let bin = exe
            .parent()
            .and_then(|d| d.parent())
            .unwrap()
            .join(format!("reference-client{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.exists(), "{}", bin.display());
        bin
    })
    .clone()
}

/// Two tokens for the demo client and one refused request: the usage page, the audit log,
/// its exports and `/metrics` all count them.
pub async fn some_usage(tb: &conformance::embedded::Embedded, dir: &std::path::Path) -> String {
    let file = std::fs::read_to_string(dir.join(mock_sts::seed::DEMO_CLIENT_FILE)).unwrap();
    let file = protocol::client_config::parse(&file).unwrap();
    let client = helseid_reference::client::Client::from_config(&file, Some(&tb.issuer)).unwrap();
    for _ in 0..2 {
        client
            .token(&helseid_reference::client::TokenRequest {
                scope: None,
                resource: None,
                details: None,
            })
            .await
            .unwrap();
    }
    let refused = reqwest::Client::new()
        .post(format!("{}/connect/token", tb.issuer))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "nosuch-client"),
        ])
        .send()
        .await
        .unwrap();
    assert!(refused.status().is_client_error());
    file.client_id.clone()
}
