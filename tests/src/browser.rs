//! A real browser for console tests: Debian's headless Chromium driven over
//! WebDriver by its chromedriver, on a free port, stopped on drop.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder, Locator};

use crate::free_port;

/// chromedriver plus one browser session.
pub struct Browser {
    driver: Child,
    /// The WebDriver session.
    pub client: Client,
    /// Where [`Browser::screenshot`] writes.
    pub shots: PathBuf,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("shots", &self.shots)
            .finish()
    }
}

/// The chromedriver binary (`CITADEL_CHROMEDRIVER`, default Debian's).
fn chromedriver() -> String {
    std::env::var("CITADEL_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into())
}

impl Browser {
    /// Start chromedriver and a headless Chromium that trusts any
    /// certificate (the collector's CA is the test's own); screenshots go
    /// to `shots`.
    pub async fn start(shots: PathBuf) -> anyhow::Result<Self> {
        // A fresh folder: no screenshot of an earlier run is mistaken for this one.
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots)?;
        let port = free_port();
        let mut driver = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| {
                format!(
                    "starting {} (apt-get install chromium chromium-driver)",
                    chromedriver()
                )
            })?;
        crate::wait_for_port(
            SocketAddr::from(([127, 0, 0, 1], port)),
            &mut driver,
            "chromedriver",
        )?;
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "chrome".into());
        caps.insert("acceptInsecureCerts".into(), true.into());
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": std::env::var("CITADEL_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-dev-shm-usage",
                    "--window-size=1280,900",
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = match ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => c,
            Err(e) => {
                let _ = driver.kill();
                bail!("no browser session: {e}");
            }
        };
        client.set_ua("citadel-browser-test").await.ok();
        Ok(Self {
            driver,
            client,
            shots,
        })
    }

    /// Go to `url` and wait until the page has loaded.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.client.goto(url).await?;
        Ok(())
    }

    /// The text of the first element matching CSS `selector`.
    pub async fn text(&self, selector: &str) -> anyhow::Result<String> {
        let url = self.url().await;
        let e = self
            .client
            .find(Locator::Css(selector))
            .await
            .with_context(|| format!("no element {selector} on {url}"))?;
        Ok(e.text().await?)
    }

    /// Whether an element matches CSS `selector`.
    pub async fn has(&self, selector: &str) -> bool {
        self.client.find(Locator::Css(selector)).await.is_ok()
    }

    /// The current URL.
    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    /// Type `text` into the field matching `selector` (cleared first).
    pub async fn fill(&self, selector: &str, text: &str) -> anyhow::Result<()> {
        let e = self.client.find(Locator::Css(selector)).await?;
        e.clear().await?;
        e.send_keys(text).await?;
        Ok(())
    }

    /// Click the element matching `selector`.
    pub async fn click(&self, selector: &str) -> anyhow::Result<()> {
        let url = self.url().await;
        self.client
            .find(Locator::Css(selector))
            .await
            .with_context(|| format!("no element {selector} on {url}"))?
            .click()
            .await?;
        Ok(())
    }

    /// Save a PNG of the viewport as `name.png`.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        let png = self.client.screenshot().await?;
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Sign in through the console's form.
    pub async fn sign_in(&self, base: &str, email: &str, password: &str) -> anyhow::Result<()> {
        self.goto(&format!("{base}/login")).await?;
        self.fill("#email", email).await?;
        self.fill("#password", password).await?;
        self.click("#sign-in").await?;
        // The sign-in redirect has landed once the sign-out button shows.
        for _ in 0..50 {
            if self.has("#sign-out").await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("sign-in as {email} did not land: {}", self.url().await)
    }

    /// Sign out with the header's button.
    pub async fn sign_out(&self) -> anyhow::Result<()> {
        self.click("#sign-out").await?;
        Ok(())
    }

    /// The session cookie the browser holds, as `name=value`.
    pub async fn session_cookie(&self) -> anyhow::Result<String> {
        let c = self
            .client
            .get_named_cookie("citadel_session")
            .await
            .context("no session cookie")?;
        Ok(format!("{}={}", c.name(), c.value()))
    }

    /// End the session and stop chromedriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
