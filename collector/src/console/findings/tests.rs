//! The findings pages through the router, compared with the store.

use axum::http::{StatusCode, header};

use super::export::{self, COLUMNS};
use crate::auth::{AuditorScope, Role};
use crate::console::tests::{Browser, Reply, state};
use crate::store::findings::{FindingFilter, FindingSort, ResultStatus};
use crate::store::fixture::{CHECKS, T0, World, on_both_databases};
use crate::store::page::PageRequest;

on_both_databases!(
    findings_list_filters_and_pages,
    finding_page_links_the_trail,
    findings_export,
    findings_for_other_roles,
    hostile_text_renders_inert,
);

/// Row ids of a listing page (`data-id` of its table rows), in order.
pub(crate) fn ids(body: &str) -> Vec<i64> {
    body.split("<tr data-id=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
        .collect()
}

/// The next-page link of a listing page.
pub(crate) fn next_href(body: &str) -> Option<String> {
    let at = body.find("id=\"next-page\"")?;
    let rest = &body[at..];
    let start = rest.find("href=\"")? + 6;
    let end = rest[start..].find('"')? + start;
    Some(rest[start..end].replace("&amp;", "&"))
}

async fn store_ids(w: &World, t: &crate::auth::TenantAccess, f: FindingFilter) -> Vec<i64> {
    w.store
        .findings(t, &f, FindingSort::Id, &PageRequest::first(500))
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect()
}

async fn ok(b: &Browser, uri: &str) -> Reply {
    let r = b.get(uri).await;
    assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
    r
}

async fn findings_list_filters_and_pages(w: World) {
    let admin = Browser::user(&w, state(&w), "admin@example.com", None).await;
    let t = &w.acme.access;
    let all = store_ids(&w, t, FindingFilter::default()).await;
    assert_eq!(all.len(), 20);

    let r = ok(&admin, "/t/acme/findings").await;
    for id in [
        "findings-filters",
        "findings-table",
        "export-csv",
        "export-json",
    ] {
        assert!(r.body.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert_eq!(ids(&r.body), all);
    assert!(next_href(&r.body).is_none());
    // Each row links to its result and its asset.
    assert!(
        r.body
            .contains(&format!("href=\"/t/acme/findings/{}\"", all[0]))
    );
    let a0 = w.acme.asset_id(&w.store, 0).await;
    assert!(r.body.contains(&format!("href=\"/t/acme/assets/{a0}\"")));

    // A submitted form with empty fields filters nothing.
    let r = ok(
        &admin,
        "/t/acme/findings?status=&severity=&check=&region=&kind=&control=&framework=&requirement=&q=&sort=id",
    )
    .await;
    assert_eq!(ids(&r.body), all);

    // Filters: the store's rows; upper-case statuses as the overview links them.
    let fail_alpha = FindingFilter {
        status: Some(ResultStatus::Fail),
        check: Some(CHECKS[0].into()),
        ..Default::default()
    };
    let want = store_ids(&w, t, fail_alpha).await;
    assert!(!want.is_empty());
    let r = ok(&admin, "/t/acme/findings?status=FAIL&check=check_alpha").await;
    assert_eq!(ids(&r.body), want);
    assert!(
        r.body.contains("<option value=\"fail\" selected>"),
        "{}",
        r.body
    );
    let r = ok(&admin, "/t/acme/findings?framework=soc2&requirement=CC6.1").await;
    assert_eq!(ids(&r.body).len(), 5);
    let r = ok(
        &admin,
        "/t/acme/findings?kind=ec2%3Avolume&region=us-east-1",
    )
    .await;
    assert_eq!(ids(&r.body).len(), 8);
    let r = ok(&admin, "/t/acme/findings?q=x-0003").await;
    assert_eq!(ids(&r.body).len(), 4);
    let r = ok(&admin, &format!("/t/acme/findings?asset={a0}")).await;
    assert_eq!(ids(&r.body).len(), 4);
    assert!(r.body.contains("name=\"asset\""), "kept by the form");
    let r = ok(&admin, "/t/acme/findings?check=nothing").await;
    assert!(ids(&r.body).is_empty());
    assert!(r.body.contains("class=\"empty\""));

    // Refused as the API refuses them.
    for (uri, status) in [
        ("/t/acme/findings?status=bogus", StatusCode::BAD_REQUEST),
        ("/t/acme/findings?nope=1", StatusCode::BAD_REQUEST),
        ("/t/acme/findings?cursor=xyz", StatusCode::BAD_REQUEST),
        (
            "/t/acme/findings?requirement=CC6.1",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("/t/acme/findings?q=a%00b", StatusCode::BAD_REQUEST),
    ] {
        assert_eq!(admin.get(uri).await.status, status, "{uri}");
    }

    // Pages: following "next" walks every row once, in the sort's order,
    // with the filters kept.
    for sort in ["id", "-id", "severity", "check", "observed"] {
        let want: Vec<i64> = {
            let sort: FindingSort = serde_json::from_value(sort.into()).unwrap();
            w.store
                .findings(t, &FindingFilter::default(), sort, &PageRequest::first(500))
                .await
                .unwrap()
                .iter()
                .map(|r| r.id)
                .collect()
        };
        let mut uri = format!("/t/acme/findings?sort={sort}&limit=7&status=");
        let mut got = Vec::new();
        loop {
            let r = ok(&admin, &uri).await;
            let page = ids(&r.body);
            assert!(page.len() <= 7);
            got.extend(page);
            match next_href(&r.body) {
                Some(next) => {
                    assert!(next.contains(&format!("sort={sort}")), "{next}");
                    uri = next;
                }
                None => break,
            }
        }
        assert_eq!(got, want, "{sort}");
    }
}

async fn finding_page_links_the_trail(w: World) {
    let admin = Browser::user(&w, state(&w), "admin@example.com", None).await;
    let t = &w.acme.access;
    let all = w
        .store
        .findings(
            t,
            &FindingFilter::default(),
            FindingSort::Id,
            &PageRequest::first(500),
        )
        .await
        .unwrap();
    // Asset 0, check alpha: pass in the first scan, fail in the rescan.
    let changed = all
        .iter()
        .find(|r| r.asset_source_id.ends_with("x-0000") && r.check_id == CHECKS[0])
        .unwrap();
    let r = ok(&admin, &format!("/t/acme/findings/{}", changed.id)).await;
    assert!(r.body.contains("id=\"finding\""));
    assert!(r.body.contains("Fixture check 0"));
    let history = &r.body[r.body.find("id=\"status-history\"").unwrap()..];
    let history = &history[..history.find("</table>").unwrap()];
    assert_eq!(history.matches("<tr>").count(), 3, "header and two changes");
    assert!(history.contains("first observation"));
    let e = changed.id;
    assert!(r.body.contains(&format!("href=\"/t/acme/evidence/{e}\"")));
    assert!(
        r.body
            .contains(&format!("href=\"/t/acme/evidence/{e}/revisions/1\""))
    );
    assert!(
        r.body
            .contains(&format!("href=\"/t/acme/evidence/{e}/revisions/2\""))
    );
    assert!(
        r.body
            .contains(&format!("href=\"/t/acme/assets/{}\"", changed.asset_id))
    );
    let control: i64 = sqlx::query_scalar(
        "SELECT c.id FROM applied_controls c
         JOIN applied_control_checks k ON k.applied_control_id = c.id
         WHERE c.tenant_id = $1 AND k.check_id = $2",
    )
    .bind(t.id())
    .bind(CHECKS[0])
    .fetch_one(w.store.pool())
    .await
    .unwrap();
    assert!(
        r.body
            .contains(&format!("href=\"/t/acme/controls/{control}\"")),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("href=\"/t/acme/frameworks/soc2/requirements/CC6.1\""),
        "{}",
        r.body
    );

    // Unknown, another tenant's, or not a number.
    let beta = w
        .store
        .findings(
            &w.beta.access,
            &FindingFilter::default(),
            FindingSort::Id,
            &PageRequest::first(1),
        )
        .await
        .unwrap();
    for (uri, status) in [
        ("/t/acme/findings/999999".to_string(), StatusCode::NOT_FOUND),
        (
            format!("/t/acme/findings/{}", beta[0].id),
            StatusCode::NOT_FOUND,
        ),
        ("/t/acme/findings/abc".to_string(), StatusCode::BAD_REQUEST),
        ("/t/nope/findings/1".to_string(), StatusCode::NOT_FOUND),
    ] {
        assert_eq!(admin.get(&uri).await.status, status, "{uri}");
    }
}

/// Parse an RFC 4180 document (enough for the tests: quoted cells with
/// doubled quotes, commas and line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    rows
}

async fn findings_export(w: World) {
    let admin = Browser::user(&w, state(&w), "admin@example.com", None).await;
    let t = &w.acme.access;
    let all = store_ids(&w, t, FindingFilter::default()).await;

    // Static segments win over `{id}`.
    let r = ok(&admin, "/t/acme/findings/export.csv").await;
    assert_eq!(r.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(
        r.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"findings-acme.csv\""
    );
    assert!(r.headers.get("x-export-truncated").is_none());
    let rows = parse_csv(&r.body);
    assert_eq!(rows[0], COLUMNS);
    assert_eq!(rows.len(), all.len() + 1);
    let got: Vec<i64> = rows[1..].iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(got, all);
    assert!(rows[1..].iter().all(|r| r.len() == COLUMNS.len()));
    // ISO 8601 times, UTC.
    assert!(
        rows[1][10].starts_with("2026-01-01T00:00:0"),
        "{:?}",
        rows[1]
    );
    assert!(rows[1][10].ends_with('Z'));

    // The filters of the list (its cursor and page size are ignored).
    let fails = store_ids(
        &w,
        t,
        FindingFilter {
            status: Some(ResultStatus::Fail),
            ..Default::default()
        },
    )
    .await;
    let r = ok(
        &admin,
        "/t/acme/findings/export.csv?status=fail&severity=&limit=1&cursor=",
    )
    .await;
    assert_eq!(parse_csv(&r.body).len(), fails.len() + 1);
    // The list's export links carry its filters, not its cursor.
    let r = ok(&admin, "/t/acme/findings?status=fail&limit=2").await;
    assert!(
        r.body
            .contains("href=\"/t/acme/findings/export.csv?status=fail\""),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("href=\"/t/acme/findings/export.json?status=fail\"")
    );

    let r = ok(&admin, "/t/acme/findings/export.json?sort=severity").await;
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(
        r.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"findings-acme.json\""
    );
    let json: Vec<serde_json::Value> = serde_json::from_str(&r.body).unwrap();
    assert_eq!(json.len(), all.len());
    assert!(json[0]["check_title"].is_string() && json[0]["asset_source_id"].is_string());
    // Exports read in id order whatever the view's sort (on the index).
    let got: Vec<i64> = json.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    let mut sorted = got.clone();
    sorted.sort_unstable();
    assert_eq!(got, sorted);
    assert_eq!(
        admin
            .get("/t/acme/findings/export.json?status=nope")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );

    // Pages of the store, up to the cap.
    for sort in [
        FindingSort::Severity,
        FindingSort::Observed,
        FindingSort::Id,
    ] {
        let want: Vec<i64> = w
            .store
            .findings(t, &FindingFilter::default(), sort, &PageRequest::first(500))
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        let (rows, cut) = export::collect(&w.store, t, &FindingFilter::default(), sort, 3, 100)
            .await
            .unwrap();
        assert!(!cut);
        assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), want);
        let (rows, cut) = export::collect(&w.store, t, &FindingFilter::default(), sort, 3, 7)
            .await
            .unwrap();
        assert!(cut);
        assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), want[..7]);
        let (rows, cut) = export::collect(&w.store, t, &FindingFilter::default(), sort, 4, 20)
            .await
            .unwrap();
        assert!(!cut, "exactly the cap");
        assert_eq!(rows.len(), 20);
    }
}

#[test]
fn csv_cells_quote_and_defuse() {
    assert_eq!(export::text_cell("=SUM(A1)"), "'=SUM(A1)");
    for s in ["+1", "-1", "@x", "\tx", "\rx"] {
        assert!(export::text_cell(s).starts_with('\''), "{s:?}");
    }
    assert_eq!(export::text_cell("a=b"), "a=b");
    let mut out = String::new();
    export::push_row(
        &mut out,
        ["plain", "a,b", "say \"hi\"", "two\nlines"]
            .iter()
            .map(|s| s.to_string()),
    );
    assert_eq!(out, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n");
    assert_eq!(export::iso(0), "1970-01-01T00:00:00Z");
    assert_eq!(export::iso(T0 + 1000), "2026-01-01T00:00:01Z");
}

async fn findings_for_other_roles(w: World) {
    let st = state(&w);
    let t = &w.acme.access;
    let a0 = w.acme.asset_id(&w.store, 0).await;
    let id = store_ids(&w, t, FindingFilter::default()).await[0];

    // A viewer of beta learns nothing of acme.
    let viewer = Browser::user(
        &w,
        st.clone(),
        "viewer@example.com",
        Some((w.beta.access.id(), Role::Viewer, None)),
    )
    .await;
    for uri in [
        "/t/acme/findings".to_string(),
        format!("/t/acme/findings/{id}"),
        "/t/acme/findings/export.csv".to_string(),
        "/t/acme/findings/export.json".to_string(),
        "/t/acme/assets".to_string(),
        format!("/t/acme/assets/{a0}"),
    ] {
        assert_eq!(
            viewer.get(&uri).await.status,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
    assert_eq!(viewer.get("/t/beta/findings").await.status, StatusCode::OK);
    // Nor does someone not signed in.
    let anon = Browser::anonymous(st.clone());
    assert_eq!(
        anon.get("/t/acme/findings/export.csv").await.status,
        StatusCode::SEE_OTHER
    );

    // An operator sees them all.
    let operator = Browser::user(
        &w,
        st.clone(),
        "operator@example.com",
        Some((t.id(), Role::Operator, None)),
    )
    .await;
    let r = ok(&operator, "/t/acme/findings").await;
    assert_eq!(ids(&r.body).len(), 20);

    // An auditor sees the results observed within their window, in the
    // page, the result page and the export; other frameworks are refused.
    let now = crate::store::now_ms();
    let (from, to) = (T0 + 1500, now);
    let scope = AuditorScope {
        frameworks: vec!["soc2".into()],
        from,
        to,
        expires_at: now + 86_400_000,
    };
    let auditor = Browser::user(
        &w,
        st,
        "auditor@example.com",
        Some((t.id(), Role::Auditor, Some(scope))),
    )
    .await;
    let access = w.acme.auditor(&["soc2"], from, to);
    let want = store_ids(&w, &access, FindingFilter::default()).await;
    assert_eq!(want.len(), 16);
    let r = ok(&auditor, "/t/acme/findings").await;
    assert_eq!(ids(&r.body), want);
    let r = ok(&auditor, "/t/acme/findings/export.json").await;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&r.body).unwrap();
    assert_eq!(rows.len(), 16);
    let outside = store_ids(&w, t, FindingFilter::default())
        .await
        .into_iter()
        .find(|id| !want.contains(id))
        .unwrap();
    assert_eq!(
        auditor
            .get(&format!("/t/acme/findings/{outside}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        auditor
            .get("/t/acme/findings?framework=pci_dss_4.0.1")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = ok(&auditor, "/t/acme/findings?framework=soc2").await;
    assert_eq!(ids(&r.body).len(), 8);
}

/// Text from agents (status texts, asset names, tags) is shown escaped on
/// every page, and defused in the CSV.
async fn hostile_text_renders_inert(mut w: World) {
    const SCRIPT: &str = "<script>alert(1)</script>";
    const IMG: &str = "\"><img src=x onerror=alert(1)>";
    // Also an edge to asset 1, which is no longer active.
    let mut batch = w
        .acme
        .next_batch(&[0, 2, 3, 4], &[(0, "attached_to", 2), (0, "backs_up", 1)]);
    let a2 = batch.assets.iter_mut().find(|a| a.id == "x-0002").unwrap();
    a2.name = Some(SCRIPT.into());
    a2.tags.insert("owner".into(), IMG.into());
    a2.tags.insert(IMG.into(), "v".into());
    batch
        .results
        .iter_mut()
        .filter(|r| r.asset.ends_with("x-0002"))
        .for_each(|r| r.status_extended = format!("=1+2,{IMG} {SCRIPT}"));
    w.acme.ingest(&w.store, batch).await;

    let admin = Browser::user(&w, state(&w), "admin@example.com", None).await;
    let (a0, a2) = (
        w.acme.asset_id(&w.store, 0).await,
        w.acme.asset_id(&w.store, 2).await,
    );
    let hit = store_ids(
        &w,
        &w.acme.access,
        FindingFilter {
            asset: Some(a2),
            ..Default::default()
        },
    )
    .await[0];
    for uri in [
        "/t/acme/findings".to_string(),
        format!("/t/acme/findings/{hit}"),
        "/t/acme/assets".to_string(),
        format!("/t/acme/assets/{a2}"),
        format!("/t/acme/assets/{a0}"),
        "/t/acme/assets?tag=owner%3D%22%3E%3Cimg+src%3Dx+onerror%3Dalert%281%29%3E".to_string(),
    ] {
        let r = ok(&admin, &uri).await;
        assert!(!r.body.contains("<script>alert"), "{uri}: {}", r.body);
        assert!(!r.body.contains("<img"), "{uri}: {}", r.body);
        assert!(
            r.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{uri}"
        );
    }
    let r = ok(&admin, &format!("/t/acme/assets/{a2}")).await;
    assert!(
        r.body
            .contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;")
    );
    // Asset 0's neighbours: the renamed instance and the inactive volume.
    let r = ok(&admin, &format!("/t/acme/assets/{a0}")).await;
    assert_eq!(r.body.matches("class=\"neighbour\"").count(), 2);
    assert_eq!(r.body.matches("class=\"node inactive\"").count(), 1);

    let r = ok(&admin, "/t/acme/findings/export.csv?q=onerror").await;
    let rows = parse_csv(&r.body);
    assert_eq!(rows.len(), 5, "header and asset 2's four results");
    assert_eq!(rows[1][8], format!("'=1+2,{IMG} {SCRIPT}"));
    assert!(r.body.contains("\"'=1+2,\"\"><img"), "quoted: {}", r.body);
}
