//! A headless chromium for the web UI's tests (`ui.rs`): chromedriver
//! started on a free port, a W3C WebDriver session through fantoccini (no
//! TLS stack: the driver is local), and the few steps a test takes, each
//! waiting for what it needs. A missing driver or browser fails the test
//! with what to install; it never skips.
//!
//! `TOCSIN_CHROMEDRIVER` and `TOCSIN_CHROMIUM` name other binaries;
//! screenshots go to `TOCSIN_UI_SCREENSHOTS` (default
//! `target/ui-screenshots/`). The accessibility checks load axe-core's
//! `axe.min.js` from `TOCSIN_AXE_JS` (default
//! `target/axe/node_modules/axe-core/axe.min.js`, where `scripts/test` installs
//! it from npm); a missing file fails them with how to install it.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::support::{Backend, Deployment, Server};

/// chromedriver on a free port, and a headless chromium session through it.
pub struct Browser {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    base: String,
    label: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            let _ = self.rt.block_on(c.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Where screenshots go.
fn screenshot_dir() -> PathBuf {
    match std::env::var_os("TOCSIN_UI_SCREENSHOTS") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-screenshots"),
    }
}

impl Browser {
    /// A browser pointed at `srv`. Fails (never skips) without chromedriver
    /// or chromium.
    pub fn open(srv: &Server, label: &str) -> Browser {
        let driver_bin =
            std::env::var("TOCSIN_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let port = free_port();
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "the browser tests need `{driver_bin}` (Debian: apt-get install chromium chromium-driver; .ci/run installs them): {e}"
                )
            });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        let mut opts = json!({"args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--window-size=1366,900", "--lang=en"
        ]});
        if let Ok(bin) = std::env::var("TOCSIN_CHROMIUM") {
            opts["binary"] = json!(bin);
        }
        caps.insert("goog:chromeOptions".into(), opts);
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = rt.block_on(async {
            loop {
                let connector = hyper_util::client::legacy::connect::HttpConnector::new();
                match ClientBuilder::new(connector)
                    .capabilities(caps.clone())
                    .connect(&url)
                    .await
                {
                    Ok(c) => break c,
                    Err(e) if started.elapsed() < Duration::from_secs(20) => {
                        let _ = e;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => panic!(
                        "no browser session from {driver_bin} at {url} (is chromium installed? Debian: apt-get install chromium chromium-driver): {e}"
                    ),
                }
            }
        });
        Browser {
            rt,
            client: Some(client),
            driver,
            base: srv.url.clone(),
            label: label.to_owned(),
        }
    }

    fn c(&self) -> &Client {
        self.client.as_ref().expect("client")
    }

    pub fn goto(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        self.rt
            .block_on(self.c().goto(&url))
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    pub fn path(&self) -> String {
        let u = self.rt.block_on(self.c().current_url()).expect("url");
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        }
    }

    #[track_caller]
    pub fn text(&self, css: &str) -> String {
        self.rt
            .block_on(async { self.c().find(Locator::Css(css)).await?.text().await })
            .unwrap_or_else(|e| panic!("text of {css} on {}: {e}\n{}", self.path(), self.body()))
    }

    pub fn exists(&self, css: &str) -> bool {
        self.rt
            .block_on(self.c().find_all(Locator::Css(css)))
            .map(|v| !v.is_empty())
            .unwrap_or(false)
    }

    pub fn body(&self) -> String {
        self.rt
            .block_on(async { self.c().find(Locator::Css("body")).await?.text().await })
            .unwrap_or_default()
    }

    #[track_caller]
    pub fn click(&self, css: &str) {
        self.rt
            .block_on(async { self.c().find(Locator::Css(css)).await?.click().await })
            .unwrap_or_else(|e| panic!("click {css} on {}: {e}\n{}", self.path(), self.body()));
    }

    /// Clicks a button that submits a form, and waits for the page the
    /// answer loads (a click returns before the navigation ends).
    #[track_caller]
    pub fn submit(&self, css: &str) {
        self.script("window.__tocsin_before = true;", vec![]);
        self.click(css);
        let started = Instant::now();
        loop {
            let done = self
                .rt
                .block_on(self.c().execute(
                    "return window.__tocsin_before === undefined && document.readyState === 'complete';",
                    vec![],
                ))
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            if done {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no new page after clicking {css}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Types into a field (after clearing it).
    #[track_caller]
    pub fn fill(&self, css: &str, text: &str) {
        self.rt
            .block_on(async {
                let e = self.c().find(Locator::Css(css)).await?;
                e.clear().await?;
                e.send_keys(text).await
            })
            .unwrap_or_else(|e| panic!("fill {css} on {}: {e}", self.path()));
    }

    /// Chooses a file in a file input (the browser reads it from `path`).
    #[track_caller]
    pub fn choose_file(&self, css: &str, path: &std::path::Path) {
        let path = path.to_string_lossy().into_owned();
        self.rt
            .block_on(async {
                let e = self.c().find(Locator::Css(css)).await?;
                e.send_keys(&path).await
            })
            .unwrap_or_else(|e| panic!("choose a file in {css} on {}: {e}", self.path()));
    }

    /// Sets a long field's value at once (a pasted report).
    pub fn paste(&self, css: &str, text: &str) {
        self.script(
            "document.querySelector(arguments[0]).value = arguments[1];",
            vec![json!(css), json!(text)],
        );
    }

    pub fn script(&self, js: &str, args: Vec<Value>) -> Value {
        self.rt
            .block_on(self.c().execute(js, args))
            .unwrap_or_else(|e| panic!("script {js}: {e}"))
    }

    pub fn login(&self, name: &str, password: &str) {
        self.goto("/login");
        self.fill("#name", name);
        self.fill("#password", password);
        self.submit("#login");
    }

    pub fn logout(&self) {
        self.submit("#logout");
        assert_eq!(self.path(), "/login");
    }

    /// Resizes the browser window (the page's viewport follows it).
    pub fn resize(&self, width: u32, height: u32) {
        self.rt
            .block_on(self.c().set_window_size(width, height))
            .unwrap_or_else(|e| panic!("resize to {width}x{height}: {e}"));
    }

    /// Runs axe-core on the page as it is and returns its violations of
    /// `serious` or `critical` impact, one line each (rule, impact, help,
    /// and the first elements it names).
    #[track_caller]
    pub fn axe(&self, axe_js: &str) -> Vec<String> {
        self.script(&format!("{axe_js}\n;return true;"), vec![]);
        let found = self
            .rt
            .block_on(self.c().execute_async(
                r#"const done = arguments[arguments.length - 1];
                axe.run(document, { resultTypes: ['violations'] })
                  .then(r => done(r.violations
                    .filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at '
                      + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))))
                  .catch(e => done(['axe failed: ' + e]));"#,
                vec![],
            ))
            .unwrap_or_else(|e| panic!("axe on {}: {e}", self.path()));
        serde_json::from_value(found).expect("axe's answer: a list of strings")
    }

    pub fn screenshot(&self, name: &str) {
        let png = self.rt.block_on(self.c().screenshot()).expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        std::fs::write(dir.join(format!("{}-{name}.png", self.label)), png).expect("screenshot");
    }
}

/// The backend's name, for screenshot names.
pub fn backend(d: &Deployment) -> &'static str {
    match d.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// axe-core's script, read once per test. Fails (never skips) when it is
/// not installed, saying how to install it.
pub fn axe_js() -> String {
    let path = match std::env::var_os("TOCSIN_AXE_JS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/axe/node_modules/axe-core/axe.min.js"),
    };
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the accessibility tests need axe-core's axe.min.js at {} ({e}). Install it with \
             `npm install --prefix target/axe --no-save axe-core@{AXE_VERSION}` \
             (Debian: apt-get install npm; scripts/test does this), or set TOCSIN_AXE_JS to the file",
            path.display()
        )
    })
}

/// The axe-core version `.ci/run` installs and the message names.
pub const AXE_VERSION: &str = "4.14.1";
