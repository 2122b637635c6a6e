//! The console in a real browser (Debian's headless Chromium over WebDriver)
//! against a collector, an agent and moto started here: an operator's review
//! day and an auditor's decision, with hostile strings from the estate
//! rendered inert. Each main page is saved as a screenshot under
//! `$CARGO_TARGET_TMPDIR/console-screenshots/`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use citadel_e2e::browser::Browser;
use citadel_e2e::estate::{client, close_open_ssh};
use citadel_e2e::{Agent, ApiClient, Collector, Moto, seed_estate};
use serde_json::{Value, json};

const REGION: &str = "us-east-1";
const SSH: &str = "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22";
const PASSWORD: &str = "a long browser test password";
/// Markup and an attribute break, as an attacker would tag a resource (EC2's
/// XML cannot carry a terminal escape; the store tests cover those).
const HOSTILE: &str = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";
const FAR: i64 = 4_102_444_800_000;

fn shots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots")
}

/// Requirement statuses of every framework, by (framework, ref).
async fn statuses(api: &ApiClient) -> anyhow::Result<Vec<(String, String, String)>> {
    let frameworks = api.get("/api/v1/tenants/acme/frameworks").await?;
    let mut out = Vec::new();
    for f in frameworks.json.as_array().context("frameworks")? {
        let id = f["id"].as_str().context("id")?;
        let d = api
            .get(&format!("/api/v1/tenants/acme/frameworks/{id}"))
            .await?;
        for r in d.json["requirements"].as_array().context("requirements")? {
            if r["assessable"] == true {
                out.push((
                    id.to_string(),
                    r["ref_id"].as_str().unwrap_or_default().to_string(),
                    r["status"].as_str().unwrap_or_default().to_string(),
                ));
            }
        }
    }
    Ok(out)
}

/// A user with `grant` on acme (through the API, as the admin).
async fn user(admin: &ApiClient, email: &str, grant: Value) -> anyhow::Result<()> {
    let u = admin
        .post(
            "/api/v1/users",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await?;
    if u.status != 201 {
        bail!("creating {email}: {} {}", u.status, u.json);
    }
    let id = u.json["id"].as_i64().context("user id")?;
    let g = admin
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/users/{id}/grants/acme"),
            Some(grant),
        )
        .await?;
    if g.status != 200 {
        bail!("granting {email}: {} {}", g.status, g.json);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_day_in_a_real_browser() {
    review_day().await.unwrap();
}

async fn review_day() -> anyhow::Result<()> {
    let moto = Moto::start_complete()?;
    let estate = seed_estate(&moto.endpoint, REGION).await?;
    // A resource named and tagged by an attacker: its strings reach the
    // console through the agent's signed batch.
    let ec2 = client(&moto.endpoint, REGION).await;
    let az = format!("{REGION}a");
    ec2.create_volume()
        .availability_zone(&az)
        .size(1)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Volume)
                .tags(Tag::builder().key("Name").value(HOSTILE).build())
                .tags(Tag::builder().key(HOSTILE).value(HOSTILE).build())
                .build(),
        )
        .send()
        .await?;

    let dir = tempfile::tempdir()?;
    let mut collector = Collector::init(&dir.path().join("collector"), "sqlite://citadel.db")?;
    collector.start()?;
    let agent = Agent::new(&dir.path().join("agent"), &moto.endpoint, &[REGION])?;
    let out = agent.enroll(&collector.api_url(), &collector.token("acme")?)?;
    if !out.status.success() {
        bail!("enroll: {}", String::from_utf8_lossy(&out.stderr));
    }
    let (_, code) = agent.scan(&[])?;
    if code != 0 {
        bail!(
            "first scan exited {code}; collector log:\n{}",
            collector.log()
        );
    }

    collector.create_user("admin@citadel.test", PASSWORD, true)?;
    let mut admin = ApiClient::new(&collector)?;
    admin.login("admin@citadel.test", PASSWORD).await?;
    let beta = admin
        .post("/api/v1/tenants", json!({ "name": "beta" }))
        .await?;
    if beta.status != 201 {
        bail!("tenant beta: {} {}", beta.status, beta.json);
    }
    let frameworks: Vec<String> = admin
        .get("/api/v1/tenants/acme/frameworks")
        .await?
        .json
        .as_array()
        .context("frameworks")?
        .iter()
        .filter_map(|f| f["id"].as_str().map(str::to_string))
        .collect();
    user(
        &admin,
        "operator@citadel.test",
        json!({ "role": "operator" }),
    )
    .await?;
    user(
        &admin,
        "auditor@citadel.test",
        json!({ "role": "auditor", "frameworks": frameworks, "from": 0, "to": FAR, "expires_at": FAR }),
    )
    .await?;
    let before = statuses(&admin).await?;

    let base = collector.api_url();
    let browser = Browser::start(shots()).await?;
    let result = walk(&browser, &base, &moto, &estate, &agent, &admin, &before).await;
    if result.is_err() {
        let _ = browser.screenshot("failure").await;
    }
    browser.close().await;
    result
}

async fn walk(
    b: &Browser,
    base: &str,
    moto: &Moto,
    estate: &citadel_e2e::Estate,
    agent: &Agent,
    admin: &ApiClient,
    before: &[(String, String, String)],
) -> anyhow::Result<()> {
    // The operator signs in and sees posture.
    b.sign_in(base, "operator@citadel.test", PASSWORD).await?;
    if !b.url().await.ends_with("/t/acme") {
        bail!("the operator landed on {}", b.url().await);
    }
    let posture = b.text("#posture").await?;
    for f in before.iter().map(|(f, _, _)| f) {
        if !b.has(&format!("#posture tr[data-framework='{f}']")).await {
            bail!("no posture row for {f}: {posture}");
        }
    }
    b.screenshot("overview").await?;

    // The open SSH finding, before the fix.
    let open = admin
        .get(&format!(
            "/api/v1/tenants/acme/results?check={SSH}&q={}",
            estate.open_sg
        ))
        .await?;
    let finding = open.json["items"][0].clone();
    if finding["status"] != "fail" {
        bail!("the open security group does not fail: {}", open.json);
    }
    let finding_id = finding["id"].as_i64().context("finding id")?;
    b.goto(&format!("{base}/t/acme/findings?check={SSH}"))
        .await?;
    let table = b.text("#findings-table").await?;
    if !table.contains(&estate.open_sg) {
        bail!("findings table lacks {}: {table}", estate.open_sg);
    }
    b.screenshot("findings").await?;

    // Fix it in moto, rescan: the requirement turns passing, and the
    // finding's history shows both verdicts.
    close_open_ssh(&moto.endpoint, estate).await?;
    let (_, code) = agent.scan(&[])?;
    if code != 0 {
        bail!("second scan exited {code}");
    }
    let after = statuses(admin).await?;
    let turned: Vec<&(String, String, String)> = after
        .iter()
        .filter(|(f, r, s)| {
            s == "compliant"
                && before
                    .iter()
                    .any(|(bf, br, bs)| bf == f && br == r && bs != "compliant")
        })
        .collect();
    let Some((fw, req, _)) = turned.first() else {
        bail!("no requirement turned passing after the fix");
    };
    b.goto(&format!("{base}/t/acme/frameworks/{fw}/requirements/{req}"))
        .await?;
    if !b.has("#requirement .badge.good").await {
        bail!(
            "requirement {fw} {req} is not shown passing: {}",
            b.text("#requirement").await?
        );
    }
    b.screenshot("requirement").await?;
    b.goto(&format!("{base}/t/acme/findings/{finding_id}"))
        .await?;
    let history = b.text("#status-history").await?.to_lowercase();
    if !(history.contains("fail") && history.contains("pass")) {
        bail!("status history lacks the change: {history}");
    }
    b.screenshot("finding").await?;
    b.goto(&format!("{base}/t/acme/controls")).await?;
    b.screenshot("controls").await?;
    b.goto(&format!("{base}/t/acme/fleet")).await?;
    b.screenshot("fleet").await?;
    b.sign_out().await?;

    // The auditor approves an evidence item.
    b.sign_in(base, "auditor@citadel.test", PASSWORD).await?;
    b.goto(&format!("{base}/t/acme/evidence?status=in_review"))
        .await?;
    b.screenshot("evidence-queue").await?;
    b.click("#evidence-table tbody a").await?;
    let item_url = b.url().await;
    b.fill("#review-comment", "Checked against the change ticket.")
        .await?;
    b.click("#approve").await?;
    b.goto(&item_url).await?;
    let history = b.text("#review-history").await?;
    if !history.contains("approved") || !history.contains("auditor@citadel.test") {
        bail!("the decision is not in the review history: {history}");
    }
    b.screenshot("evidence-item").await?;
    // Its latest revision as signed: the signature verifies now, and the
    // plugin that produced it is named by digest.
    b.click("#revisions tbody a").await?;
    if !b.has("#signature[data-verifies='true']").await {
        bail!(
            "the revision's signature is not shown verifying: {}",
            b.text("#signature").await?
        );
    }
    let digest = b.text("#plugin-digest").await?;
    if digest.len() != 64 || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("no plugin digest on the revision: {digest:?}");
    }
    b.screenshot("evidence-revision").await?;

    // Nothing else is the auditor's: another tenant, the fleet, an edit.
    b.goto(&format!("{base}/t/beta")).await?;
    let code = b.text("#error-code").await?;
    if code != "not_found" {
        bail!("the auditor reached beta: {code}");
    }
    b.goto(&format!("{base}/t/acme/fleet")).await?;
    let code = b.text("#error-code").await?;
    if code != "forbidden" {
        bail!("the auditor reached the fleet: {code}");
    }
    b.goto(&format!("{base}/t/acme/controls")).await?;
    let csrf = b
        .client
        .find(fantoccini::Locator::Css("input[name=csrf]"))
        .await?
        .attr("value")
        .await?
        .context("csrf value")?;
    let control = admin
        .get("/api/v1/tenants/acme/controls?limit=1")
        .await?
        .json["items"][0]["id"]
        .as_i64()
        .context("a control")?;
    let mut as_auditor = admin.clone();
    as_auditor.cookie = Some(b.session_cookie().await?);
    as_auditor.csrf = None;
    let form = serde_urlencoded_form(&[
        ("csrf", &csrf),
        ("status", "implemented"),
        ("owner", "auditor"),
        ("notes", ""),
        ("version", "1"),
    ]);
    let edit = ApiClient::read(
        as_auditor
            .request(
                reqwest::Method::POST,
                &format!("/t/acme/controls/{control}"),
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form),
    )
    .await?;
    if edit.status != 403 {
        bail!("the auditor's control edit got {}", edit.status);
    }
    b.sign_out().await?;

    // The admin finds the decision in the audit log, and the hostile
    // strings render as text.
    b.sign_in(base, "admin@citadel.test", PASSWORD).await?;
    b.goto(&format!("{base}/audit?action=evidence.review"))
        .await?;
    let audit = b.text("#audit-table").await?;
    if !audit.contains("evidence.review") || !audit.contains("auditor@citadel.test") {
        bail!("the decision is not in the audit log: {audit}");
    }
    b.screenshot("audit-log").await?;
    b.goto(&format!("{base}/t/acme/assets?kind=ec2:volume"))
        .await?;
    b.screenshot("assets").await?;
    let source = b.client.source().await?;
    if !source.contains("&lt;script&gt;alert(1)&lt;/script&gt;") {
        bail!("the hostile name is not shown as text");
    }
    if b.has("img[src='x']").await || b.client.get_alert_text().await.is_ok() {
        bail!("hostile markup became live");
    }
    b.client
        .find(fantoccini::Locator::XPath(
            "//table[@id='assets-table']//a[contains(., '<script>')]",
        ))
        .await
        .context("the hostile volume is not listed by its name")?
        .click()
        .await?;
    if !b
        .text("#asset")
        .await?
        .contains("<script>alert(1)</script>")
    {
        bail!("the hostile name is not shown as text on the asset page");
    }
    b.screenshot("asset").await?;
    if b.has("img[src='x']").await || b.client.get_alert_text().await.is_ok() {
        bail!("hostile markup became live on the asset page");
    }
    b.goto(&format!("{base}/admin/users")).await?;
    b.screenshot("admin-users").await?;
    // Readable at phone width: the overview, narrow.
    b.client.set_window_size(390, 844).await?;
    b.goto(&format!("{base}/t/acme")).await?;
    b.screenshot("overview-phone").await?;
    Ok(())
}

/// `application/x-www-form-urlencoded` of `fields`.
fn serde_urlencoded_form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
