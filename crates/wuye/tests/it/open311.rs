//! Open311 GeoReport v2, exercised as a client written from the specification would.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::Value;
use wuye_model::Role;

use crate::http::{app, get, send, token_for};
use crate::storage_test;
use crate::support::seed;

async fn post_form(app: &axum::Router, uri: &str, body: &str) -> crate::http::Resp {
    send(
        app,
        Request::post(uri)
            .header(
                header::CONTENT_TYPE,
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body(Body::from(body.to_owned()))
            .unwrap(),
    )
    .await
}

storage_test!(a_georeport_v2_client, |t| {
    seed(&t.db).await;
    let app = app(t);
    // Discovery, both formats.
    let d = get(&app, "/open311/v2/discovery.json").await;
    assert_eq!(d.status, StatusCode::OK);
    let d: Value = d.json();
    assert_eq!(
        d["endpoints"][0]["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert!(
        d["endpoints"][0]["formats"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "text/xml")
    );
    for k in ["changeset", "contact", "key_service"] {
        assert!(d[k].is_string(), "{k}");
    }
    let x = get(&app, "/open311/v2/discovery.xml").await;
    assert!(
        x.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/xml")
    );
    let x = x.text();
    assert!(
        x.starts_with("<?xml") && x.contains("<discovery>") && x.contains("<endpoints><endpoint>"),
        "{x}"
    );
    assert!(
        x.contains("<specification>http://wiki.open311.org/GeoReport_v2</specification>")
            && x.contains("<formats><format>")
    );

    // Service list in JSON (a bare array) and XML; jurisdiction_id optional with one city.
    let s: Value = get(&app, "/open311/v2/services.json").await.json();
    let list = s.as_array().unwrap();
    assert_eq!(list.len(), 13);
    let repair = list.iter().find(|x| x["service_code"] == "repair").unwrap();
    assert_eq!(
        (repair["type"].as_str(), repair["metadata"].as_bool()),
        (Some("realtime"), Some(true))
    );
    let sx = get(&app, "/open311/v2/services.xml?jurisdiction_id=370700000000")
        .await
        .text();
    assert!(sx.contains("<services><service>") && sx.contains("<service_code>repair</service_code>"));
    assert_eq!(
        get(&app, "/open311/v2/services.json?jurisdiction_id=110100000000")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // A service definition.
    let def: Value = get(&app, "/open311/v2/services/elevator.json").await.json();
    assert_eq!(def["service_code"], "elevator");
    assert_eq!(def["attributes"][1]["datatype"], "singlevaluelist");
    assert_eq!(def["attributes"][1]["values"][0]["key"], "yes");
    let e404 = get(&app, "/open311/v2/services/teleport.json").await;
    assert_eq!(e404.status, StatusCode::NOT_FOUND);
    assert_eq!(e404.json()[0]["code"], 404);

    // POST without a key: 403; without service_code: 400; with everything: an id.
    let key = token_for(t, "cc", Role::CityAdmin, "370700").await;
    let r = post_form(
        &app,
        "/open311/v2/requests.json",
        "service_code=repair&address_id=XQ1&description=x",
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()[0]["code"], 403);
    let r = post_form(
        &app,
        "/open311/v2/requests.json",
        &format!("api_key={key}&address_id=XQ1"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()[0]["code"], 400);
    let r = post_form(
        &app,
        "/open311/v2/requests.json",
        &format!("api_key={key}&service_code=repair"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "no location");
    let r = post_form(&app, "/open311/v2/requests.json", &format!("api_key={key}&service_code=elevator&address_string=%E7%A6%8F%E5%AF%BF%E5%B0%8F%E5%8C%BA&description=%E7%94%B5%E6%A2%AF%E5%9D%8F%E4%BA%86&attribute%5Bemergency%5D=yes&attribute%5Bplace%5D=3%E5%8F%B7%E6%A5%BC")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let id = r.json()[0]["service_request_id"].as_str().unwrap().to_owned();
    // Read it back by id and in the list, JSON and XML; public fields only.
    let one: Value = get(&app, &format!("/open311/v2/requests/{id}.json")).await.json();
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["service_request_id"], id.as_str());
    assert_eq!(
        (one[0]["status"].as_str(), one[0]["service_code"].as_str()),
        (Some("open"), Some("elevator"))
    );
    assert_eq!(one[0]["agency_responsible"], "潍坊安居物业服务有限公司");
    assert!(one[0]["requested_datetime"].as_str().unwrap().ends_with('Z'));
    assert!(
        one[0].get("description").is_none() && one[0].get("phone").is_none(),
        "no private fields without a key"
    );
    let all: Value = get(
        &app,
        "/open311/v2/requests.json?status=open&service_code=elevator,repair",
    )
    .await
    .json();
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|r| r["service_request_id"] == id.as_str())
    );
    let closed: Value = get(&app, "/open311/v2/requests.json?status=closed").await.json();
    assert!(closed.as_array().unwrap().is_empty());
    let ox = get(&app, &format!("/open311/v2/requests/{id}.xml")).await.text();
    assert!(
        ox.contains("<service_requests><request>")
            && ox.contains(&format!("<service_request_id>{id}</service_request_id>"))
    );
    assert_eq!(
        get(&app, "/open311/v2/requests/999999.json").await.status,
        StatusCode::NOT_FOUND
    );
    let ex = get(&app, "/open311/v2/requests/999999.xml").await.text();
    assert!(ex.contains("<errors><error><code>404</code>"));
    // lat/long: the nearest compound within 300 m; far away is refused.
    let far = post_form(
        &app,
        "/open311/v2/requests.json",
        &format!("api_key={key}&service_code=repair&lat=39.9&long=116.4"),
    )
    .await;
    assert_eq!(far.status, StatusCode::BAD_REQUEST);
});
