//! Driving the real app in its WebKit window: `tauri-driver` (which starts
//! WebKitWebDriver, which starts the app) and a fantoccini WebDriver client,
//! with helpers the scenarios share. Elements are found by `data-testid`.
//!
//! `tauri-driver` is stopped with SIGTERM, never SIGKILL: killed hard it
//! leaves WebKitWebDriver running, holding the test's stderr open, and a
//! piped `cargo test` then never ends.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// How long to wait for an element or a text before failing.
pub const WAIT: Duration = Duration::from_secs(20);

/// `tauri-driver`, stopped gently when dropped.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    pub port: u16,
}

/// Two distinct ports nobody listens on now. Both are held until both are
/// chosen: picked one at a time, the OS can hand out the same port twice, and
/// a tauri-driver whose native port is its own port proxies to itself until
/// it runs out of file descriptors.
fn two_free_ports() -> (u16, u16) {
    let bind = || TcpListener::bind("127.0.0.1:0").expect("a free local port");
    let (a, b) = (bind(), bind());
    let port = |l: &TcpListener| l.local_addr().expect("a bound address").port();
    (port(&a), port(&b))
}

fn wait_for_listener(port: u16, what: &str) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < WAIT, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `tauri-driver` on `$PATH`, else where `cargo install` puts it.
pub fn tauri_driver_path() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("tauri-driver"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let home = std::env::var_os("HOME")?;
        Some(Path::new(&home).join(".cargo/bin/tauri-driver")).filter(|p| p.is_file())
    })
}

impl Driver {
    /// Start `tauri-driver`; the app it launches inherits `env`.
    pub fn start(env: &[(&str, &Path)]) -> Driver {
        let exe = tauri_driver_path()
            .expect("tauri-driver (cargo install tauri-driver --version 2.1.0 --locked)");
        let (port, native) = two_free_ports();
        let mut cmd = Command::new(exe);
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native.to_string(),
        ])
        .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start tauri-driver");
        let driver = Driver { child, port };
        wait_for_listener(port, "tauri-driver");
        // A session request before WebKitWebDriver listens fails half-way.
        wait_for_listener(native, "WebKitWebDriver");
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // SIGTERM through kill(1): the workspace denies unsafe code, so no libc.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("tauri-driver did not stop within 10 s of SIGTERM");
    }
}

/// A WebDriver session on the app.
pub struct App {
    pub client: Client,
    screenshots: PathBuf,
}

impl App {
    /// Open a session: tauri-driver starts `application` and waits for its
    /// window; then wait for the page to finish loading.
    pub async fn connect(driver: &Driver, application: &Path) -> App {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            json!({ "application": application }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a WebDriver session on the app");
        let app = App {
            client,
            screenshots: screenshot_dir(),
        };
        app.wait_until(
            "the page has loaded",
            "return document.readyState === 'complete'",
        )
        .await;
        app
    }

    /// Poll a JavaScript expression (a `return ...` body) until it is true.
    pub async fn wait_until(&self, what: &str, script: &str) {
        self.wait_until_within(what, script, WAIT).await
    }

    /// [`Self::wait_until`] for a job that takes longer (real photos).
    pub async fn wait_until_within(&self, what: &str, script: &str, limit: Duration) {
        let started = Instant::now();
        loop {
            if self.client.execute(script, vec![]).await.ok() == Some(Value::Bool(true)) {
                return;
            }
            assert!(started.elapsed() < limit, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn testid(id: &str) -> String {
        format!("[data-testid=\"{id}\"]")
    }

    /// The element with `data-testid="id"`, once it exists.
    pub async fn by_testid(&self, id: &str) -> Element {
        let css = Self::testid(id);
        let started = Instant::now();
        loop {
            if let Ok(e) = self.client.find(Locator::Css(&css)).await {
                return e;
            }
            assert!(started.elapsed() < WAIT, "no element {css}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// All elements with `data-testid="id"` now (possibly none).
    pub async fn all_by_testid(&self, id: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(&Self::testid(id)))
            .await
            .unwrap_or_default()
    }

    pub async fn click(&self, id: &str) {
        self.by_testid(id).await.click().await.expect("click");
    }

    /// Scroll the element with that test id into view (for a screenshot).
    pub async fn scroll_to(&self, id: &str) {
        let script = format!(
            "document.querySelector({}).scrollIntoView()",
            Value::String(Self::testid(id))
        );
        self.client
            .execute(&script, vec![])
            .await
            .expect("scroll into view");
    }

    /// Export the identifications as CSV to `path` from the Export screen,
    /// and wait until it says it wrote `rows` rows.
    pub async fn export_csv(&self, path: &Path, rows: &str) {
        self.click("nav-export").await;
        self.type_into("export-path", path.to_str().unwrap()).await;
        self.click("export-csv").await;
        self.wait_for_testid_text("export-result", rows).await;
    }

    /// Type `text` into the element (an input) with that test id.
    pub async fn type_into(&self, id: &str, text: &str) {
        let e = self.by_testid(id).await;
        e.clear().await.ok();
        e.send_keys(text).await.expect("type");
    }

    /// Press one key on whatever has focus (keyboard shortcuts). `key` is a
    /// character or a WebDriver key, e.g. `fantoccini::key::Key::Enter`.
    pub async fn press_key(&self, key: impl Into<char>) {
        let k: char = key.into();
        let active = self
            .client
            .active_element()
            .await
            .expect("a focused element (or body)");
        active.send_keys(&k.to_string()).await.expect("press key");
    }

    /// Wait until the page's visible text contains `text`.
    pub async fn wait_for_text(&self, text: &str) {
        let script = format!(
            "return document.body && document.body.innerText.includes({})",
            Value::String(text.to_string())
        );
        self.wait_until(&format!("the text {text:?}"), &script)
            .await;
    }

    /// Wait until the element with that test id shows `text`.
    pub async fn wait_for_testid_text(&self, id: &str, text: &str) {
        let script = format!(
            "const e = document.querySelector({}); return !!e && e.innerText.includes({})",
            Value::String(Self::testid(id)),
            Value::String(text.to_string())
        );
        self.wait_until(&format!("{id} to show {text:?}"), &script)
            .await;
    }

    /// Save a screenshot of the window as `target/e2e-screenshots/<name>.png`,
    /// after letting the last DOM change paint (about 500 ms: a screenshot
    /// taken sooner can miss it).
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::create_dir_all(&self.screenshots).unwrap();
        let path = self.screenshots.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Call a command through the page's own IPC (as `invoke` in the UI
    /// does), under the real CSP; `Err` is the rejected value.
    pub async fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let script = "const [cmd, args, done] = arguments;
            window.__TAURI_INTERNALS__.invoke(cmd, args)
                .then((ok) => done({ ok }), (err) => done({ err }));";
        let reply = self
            .client
            .execute_async(script, vec![json!(cmd), args])
            .await
            .expect("the invoke script ran");
        match reply.get("ok") {
            Some(ok) => Ok(ok.clone()),
            None => Err(reply.get("err").cloned().unwrap_or(reply)),
        }
    }

    pub async fn close(self) {
        self.client
            .close()
            .await
            .expect("end the WebDriver session");
    }
}

/// `$CARGO_TARGET_DIR/e2e-screenshots`, else the workspace's `target/`.
pub fn screenshot_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("e2e-screenshots")
}
