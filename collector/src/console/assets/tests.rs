//! The inventory pages through the router, compared with the store.

use axum::http::StatusCode;

use crate::console::findings::tests::{ids, next_href};
use crate::console::tests::{Browser, state};
use crate::store::assets::AssetFilter;
use crate::store::fixture::{World, on_both_databases};
use crate::store::page::PageRequest;

on_both_databases!(assets_list_filters_and_pages, asset_page_and_its_graph);

async fn assets_list_filters_and_pages(w: World) {
    let admin = Browser::user(&w, state(&w), "admin@example.com", None).await;
    let s = &w.store;
    let t = &w.acme.access;
    let listed = async |f: AssetFilter| -> Vec<i64> {
        s.assets(t, &f, &PageRequest::first(500))
            .await
            .unwrap()
            .iter()
            .map(|a| a.id)
            .collect()
    };
    let all = listed(AssetFilter::default()).await;
    assert_eq!(all.len(), 5);
    let get = async |uri: &str| {
        let r = admin.get(uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
        r.body
    };
    let body = get("/t/acme/assets").await;
    assert!(body.contains("id=\"assets-table\"") && body.contains("id=\"assets-filters\""));
    assert_eq!(ids(&body), all);
    // The form's empty fields and "all" filter nothing.
    let body = get("/t/acme/assets?kind=&region=&active=all&tag=&q=").await;
    assert_eq!(ids(&body), all);

    let inactive = listed(AssetFilter {
        active: Some(false),
        ..Default::default()
    })
    .await;
    let body = get("/t/acme/assets?active=inactive").await;
    assert_eq!(ids(&body), inactive);
    assert_eq!(inactive.len(), 1);
    assert!(body.contains("<span class=\"badge neutral\">inactive</span>"));
    assert!(body.contains("class=\"inactive\""));
    let body = get("/t/acme/assets?active=active").await;
    assert_eq!(ids(&body).len(), 4);
    assert!(!body.contains(">inactive</span>"));
    for (uri, n) in [
        ("/t/acme/assets?kind=ec2%3Avolume", 3),
        ("/t/acme/assets?region=eu-west-1", 1),
        ("/t/acme/assets?tag=env%3Dprod", 2),
        ("/t/acme/assets?tag=team%3Dblue&kind=ec2%3Avolume", 1),
        ("/t/acme/assets?q=WEB", 1),
    ] {
        assert_eq!(ids(&get(uri).await).len(), n, "{uri}");
    }
    // Tag chips link to the tag's filter.
    let body = get("/t/acme/assets").await;
    assert!(
        body.contains("href=\"/t/acme/assets?tag=env%3Dprod\""),
        "{body}"
    );
    for (uri, status) in [
        ("/t/acme/assets?tag=env", StatusCode::UNPROCESSABLE_ENTITY),
        ("/t/acme/assets?active=maybe", StatusCode::BAD_REQUEST),
        ("/t/acme/assets?sort=id", StatusCode::BAD_REQUEST),
    ] {
        assert_eq!(admin.get(uri).await.status, status, "{uri}");
    }

    // Pages of two, filters kept.
    let mut uri = "/t/acme/assets?limit=2&active=all".to_string();
    let mut got = Vec::new();
    loop {
        let body = get(&uri).await;
        let page = ids(&body);
        assert!(page.len() <= 2);
        got.extend(page);
        match next_href(&body) {
            Some(next) => uri = next,
            None => break,
        }
    }
    assert_eq!(got, all);
}

async fn asset_page_and_its_graph(w: World) {
    let admin = Browser::user(&w, state(&w), "admin@example.com", None).await;
    let s = &w.store;
    let (a0, a1, a2, a3) = (
        w.acme.asset_id(s, 0).await,
        w.acme.asset_id(s, 1).await,
        w.acme.asset_id(s, 2).await,
        w.acme.asset_id(s, 3).await,
    );
    let r = admin.get(&format!("/t/acme/assets/{a2}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let b = &r.body;
    assert!(b.contains("id=\"asset\""));
    assert!(b.contains("web-1"));
    assert!(b.contains("<pre class=\"raw\" id=\"raw-document\">{\n  &quot;InstanceId&quot;: &quot;x-0002&quot;\n}</pre>"), "{b}");
    // The graph: the asset in the centre, one linked node per neighbour
    // (the volume attached to it; the security group whose edge ended).
    let svg = &b[b.find("<svg class=\"graph\" id=\"asset-graph\"").expect(b)..];
    let svg = &svg[..svg.find("</svg>").unwrap()];
    assert_eq!(svg.matches("class=\"node center\"").count(), 1);
    assert_eq!(svg.matches("class=\"neighbour\"").count(), 2, "{svg}");
    assert!(svg.contains(&format!(
        "<a class=\"neighbour\" href=\"/t/acme/assets/{a0}\""
    )));
    assert!(svg.contains(&format!(
        "<a class=\"neighbour\" href=\"/t/acme/assets/{a3}\""
    )));
    assert!(svg.contains("class=\"edge ended\""), "{svg}");
    assert!(svg.contains(">attached_to</text>") && svg.contains(">protected_by</text>"));
    // The same edges as a table, and the asset's results.
    assert!(b.contains("id=\"relationships-table\""));
    let results = s
        .findings(
            &w.acme.access,
            &crate::store::findings::FindingFilter {
                asset: Some(a2),
                ..Default::default()
            },
            crate::store::findings::FindingSort::Id,
            &PageRequest::first(500),
        )
        .await
        .unwrap();
    assert_eq!(
        ids(b),
        results.iter().map(|r| r.id).collect::<Vec<_>>(),
        "the asset's results"
    );
    assert!(b.contains("id=\"asset-findings\""));
    assert!(b.contains(&format!("href=\"/t/acme/findings?asset={a2}\"")));

    // Not JSON: shown as the text it is.
    let r = admin.get(&format!("/t/acme/assets/{a3}")).await;
    assert!(
        r.body
            .contains("id=\"raw-document\">not json &lt;sg/&gt;</pre>")
    );
    // Inactive, without edges.
    let r = admin.get(&format!("/t/acme/assets/{a1}")).await;
    assert!(r.body.contains(">inactive</span>"));
    assert!(!r.body.contains("id=\"asset-graph\""));
    assert!(r.body.contains("class=\"empty\""));

    let b0 = w.beta.asset_id(s, 0).await;
    for (uri, status) in [
        (format!("/t/acme/assets/{b0}"), StatusCode::NOT_FOUND),
        ("/t/acme/assets/0".to_string(), StatusCode::NOT_FOUND),
        ("/t/acme/assets/x".to_string(), StatusCode::BAD_REQUEST),
    ] {
        assert_eq!(admin.get(&uri).await.status, status, "{uri}");
    }
}
