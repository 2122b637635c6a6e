//! The frame every console page shares (header, tenant switcher,
//! navigation, sign-out) and the small pieces pages are made of: human times
//! and counts, status badges, pagers, empty states.
//!
//! Everything here goes through maud, which escapes what it splices in;
//! nothing in the console uses `PreEscaped` on data.

use axum::response::Html;
use maud::{DOCTYPE, Markup, html};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Console;
use crate::api::error::{ApiError, Failure};
use crate::auth::{Need, Role, TenantAccess};
use crate::http::AppState;

/// A rendered page.
pub type Page = Result<Html<String>, ApiError>;

/// Which part of the navigation a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Tenant overview and frameworks.
    Overview,
    /// Frameworks and requirements.
    Frameworks,
    /// Applied controls and policies.
    Controls,
    /// Check results.
    Findings,
    /// Inventory.
    Assets,
    /// Evidence review.
    Evidence,
    /// Agents, enrollment tokens, integrations.
    Fleet,
    /// The audit log.
    Audit,
    /// Users, grants, API tokens.
    Admin,
}

/// Tenant pages' navigation: (section, label, path under `/t/{tenant}`).
const TENANT_NAV: [(Section, &str, &str); 7] = [
    (Section::Overview, "Overview", ""),
    (Section::Controls, "Controls", "/controls"),
    (Section::Findings, "Findings", "/findings"),
    (Section::Assets, "Assets", "/assets"),
    (Section::Evidence, "Evidence", "/evidence"),
    (Section::Fleet, "Fleet", "/fleet"),
    (Section::Frameworks, "Frameworks", "/frameworks"),
];

/// The tenants the caller may switch to (admins: all of them).
async fn tenants_of(state: &AppState, c: &Console) -> Result<Vec<String>, ApiError> {
    if c.auth.principal.admin {
        Ok(state
            .store
            .tenants()
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect())
    } else {
        let mut names: Vec<String> = c
            .auth
            .principal
            .grants()
            .iter()
            .map(|g| g.tenant.clone())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }
}

/// A whole page: `title`, in `section`, of tenant `t` when it has one.
pub async fn page(
    state: &AppState,
    c: &Console,
    t: Option<&TenantAccess>,
    section: Section,
    title: &str,
    body: Markup,
) -> Page {
    let tenants = tenants_of(state, c).await?;
    let p = &c.auth.principal;
    let audit = p.admin || p.grants().iter().any(|g| Need::ReadAudit.allows(g.role));
    let nav = html! {
        @if let Some(t) = t {
            @for (s, label, path) in TENANT_NAV {
                @if s != Section::Fleet || Need::ReadOperational.allows(t.role()) {
                    a href={ "/t/" (segment(t.name())) (path) } aria-current=[(s == section).then_some("page")] { (label) }
                }
            }
        }
        @if audit {
            a href="/audit" aria-current=[(section == Section::Audit).then_some("page")] { "Audit log" }
        }
        @if p.admin {
            a href="/admin/users" aria-current=[(section == Section::Admin).then_some("page")] { "Admin" }
        } @else if !p.auditor_only() {
            a href="/admin/tokens" aria-current=[(section == Section::Admin).then_some("page")] { "API tokens" }
        }
    };
    let header = html! {
        header.top {
            a.brand href="/" { "Citadel" }
            @if !tenants.is_empty() {
                details.switcher #tenant-switcher {
                    summary { "Tenant: " strong { (t.map_or("choose", |t| t.name())) } }
                    ul {
                        @for name in &tenants {
                            li { a href={ "/t/" (segment(name)) } aria-current=[(t.is_some_and(|t| t.name() == name)).then_some("true")] { (name) } }
                        }
                    }
                }
            }
            @if let Some(t) = t {
                span.role #role title="Your role on this tenant" { (role_label(t.role())) }
                @if let Some(a) = t.auditor() {
                    span.scope title="Your audit scope" {
                        (a.frameworks.join(", ")) " · " (date(a.from)) " – " (date(a.to))
                    }
                }
            }
            span.grow {}
            span.who { (p.email) }
            form.inline method="post" action="/logout" {
                (csrf_field(c))
                button #sign-out type="submit" { "Sign out" }
            }
        }
        nav.main aria-label="Main" { (nav) }
    };
    Ok(frame(title, Some(header), body))
}

/// The HTML document around `body`.
fn frame(title: &str, header: Option<Markup>, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · Citadel" }
                    link rel="stylesheet" href="/static/console.css";
                }
                body {
                    a.skip href="#content" { "Skip to content" }
                    @if let Some(h) = header { (h) }
                    main #content {
                        h1 { (title) }
                        (body)
                    }
                }
            }
        }
        .into_string(),
    )
}

/// A page for someone not signed in (the sign-in page).
pub fn bare(title: &str, body: Markup) -> Html<String> {
    frame(title, None, body)
}

/// An error as a page: what went wrong, what to do, the request id.
pub fn error_page(f: &Failure) -> Html<String> {
    let title = f.status.canonical_reason().unwrap_or("Error");
    frame(
        title,
        Some(html! { header.top { a.brand href="/" { "Citadel" } } }),
        html! {
            p #error-message { (f.message) }
            p.muted { "Code " code #error-code { (f.code) }
                @if let Some(id) = &f.request_id { " · request " code { (id) } } }
            p { a href="/" { "Back to the start page" } }
        },
    )
}

/// The hidden field every console form carries.
pub fn csrf_field(c: &Console) -> Markup {
    html! { input type="hidden" name="csrf" value=(c.csrf); }
}

/// The label of a role.
pub fn role_label(r: Role) -> &'static str {
    match r {
        Role::Admin => "admin",
        Role::Operator => "operator",
        Role::Auditor => "auditor",
        Role::Viewer => "viewer",
    }
}

fn datetime(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// `2026-12-01` (UTC).
pub fn date(ms: i64) -> String {
    match datetime(ms) {
        Some(t) => format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
        None => "–".into(),
    }
}

/// `2026-12-01 14:03 UTC`.
pub fn date_time(ms: i64) -> String {
    match datetime(ms) {
        Some(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        None => "–".into(),
    }
}

/// "3 minutes ago" (or "in 2 days"), for people.
pub fn relative(ms: i64, now: i64) -> String {
    let d = (now - ms) / 1000;
    let (n, unit) = match d.abs() {
        s if s < 45 => return "just now".into(),
        s if s < 90 * 60 => ((s + 30) / 60, "minute"),
        s if s < 36 * 3600 => ((s + 1800) / 3600, "hour"),
        s if s < 60 * 86_400 => ((s + 43_200) / 86_400, "day"),
        s => ((s + 15 * 86_400) / (30 * 86_400), "month"),
    };
    let plural = if n == 1 { "" } else { "s" };
    if d >= 0 {
        format!("{n} {unit}{plural} ago")
    } else {
        format!("in {n} {unit}{plural}")
    }
}

/// A time element: relative text, the exact time on hover and for machines.
pub fn when(ms: Option<i64>, now: i64) -> Markup {
    match ms.and_then(|m| Some((m, datetime(m)?))) {
        Some((m, t)) => html! {
            time datetime=(t.format(&Rfc3339).unwrap_or_default()) title=(date_time(m)) { (relative(m, now)) }
        },
        None => html! { span.muted { "never" } },
    }
}

/// `1,234,567`.
pub fn count(n: impl Into<i128>) -> String {
    let n = n.into();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `42.5 %`.
pub fn pct(p: f64) -> String {
    if p.fract().abs() < 0.05 {
        format!("{p:.0} %")
    } else {
        format!("{p:.1} %")
    }
}

/// A status shown as a coloured badge; the class is derived from the value
/// by whitelist, never spliced in as given.
pub fn badge(status: &str) -> Markup {
    let class = match status.to_ascii_lowercase().as_str() {
        "pass" | "compliant" | "approved" | "active" | "ok" | "connected" | "implemented"
        | "passing" => "good",
        "fail" | "non_compliant" | "rejected" | "critical" | "high" | "error" | "revoked"
        | "failing" => "bad",
        "partially_compliant"
        | "partial"
        | "flagged"
        | "medium"
        | "degraded"
        | "in_review"
        | "in_progress"
        | "expiring" => "warn",
        _ => "neutral",
    };
    html! { span class={ "badge " (class) } { (status.replace('_', " ")) } }
}

/// A clear empty state.
pub fn empty(what: &str) -> Markup {
    html! { p.empty { (what) } }
}

/// A link to the next page, keeping the current filters: `here` with its
/// `cursor` replaced.
pub fn pager(here: &str, next_cursor: Option<&str>) -> Markup {
    let Some(cursor) = next_cursor else {
        return html! {};
    };
    let (path, query) = here.split_once('?').unwrap_or((here, ""));
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    pairs.retain(|(k, _)| k != "cursor");
    pairs.push(("cursor".into(), cursor.into()));
    let q = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    html! { p.pager { a #next-page rel="next" href={ (path) "?" (q) } { "Next page →" } } }
}

/// A value as one URL path segment (percent-encoded).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `here` with `key` set to `value` (other parameters kept, cursor dropped).
pub fn with_param(here: &str, key: &str, value: &str) -> String {
    let (path, query) = here.split_once('?').unwrap_or((here, ""));
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    pairs.retain(|(k, _)| k != key && k != "cursor");
    if !value.is_empty() {
        pairs.push((key.into(), value.into()));
    }
    let q = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{q}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_times_read_well() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(-12_345), "-12,345");
        let now = 1_800_000_000_000;
        assert_eq!(relative(now - 10_000, now), "just now");
        assert_eq!(relative(now - 60_000, now), "1 minute ago");
        assert_eq!(relative(now - 3 * 3_600_000, now), "3 hours ago");
        assert_eq!(relative(now + 2 * 86_400_000, now), "in 2 days");
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date_time(1_764_597_780_000), "2025-12-01 14:03 UTC");
        assert_eq!(pct(50.0), "50 %");
        assert_eq!(pct(33.333), "33.3 %");
    }

    #[test]
    fn pager_keeps_filters_and_replaces_the_cursor() {
        let m = pager("/t/acme/findings?status=FAIL&cursor=old", Some("new")).into_string();
        assert!(
            m.contains("href=\"/t/acme/findings?status=FAIL&amp;cursor=new\""),
            "{m}"
        );
        assert_eq!(pager("/x", None).into_string(), "");
        assert_eq!(
            with_param("/f?status=FAIL&cursor=c&q=a", "status", ""),
            "/f?q=a"
        );
    }

    #[test]
    fn badges_whitelist_their_class() {
        let m = badge("\"><script>alert(1)</script>").into_string();
        assert!(m.starts_with("<span class=\"badge neutral\">"), "{m}");
        assert!(!m.contains("<script>"), "{m}");
    }
}
