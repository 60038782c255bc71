//! The JSON API is a contract: its OpenAPI document passes an independent
//! validator (`openapi-spec-validator`), and a property-based run of
//! `schemathesis` against a running gateway, with a client-credentials
//! token of a real OpenID Connect provider, finds no server error and no
//! answer the document does not describe. Both tools come from PyPI
//! (installed by `scripts/setup`); a missing tool fails the test.

use std::process::Stdio;
use std::time::Duration;

use carenet_e2e::{TestRegion, Tuning};

use crate::gateway::{bind, gateway_with, provider, token};
use crate::three_parties;

/// Runs `program` with `args` in `dir` (schemathesis keeps a cache in
/// its working directory); its output, and whether it succeeded.
async fn run(
    program: &str,
    args: &[&str],
    dir: &std::path::Path,
    limit: Duration,
) -> anyhow::Result<(bool, String)> {
    let child = tokio::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(limit, child)
        .await
        .map_err(|_| anyhow::anyhow!("{program} ran longer than {limit:?}"))?
        .map_err(|e| anyhow::anyhow!("{program} did not start ({e}): run scripts/setup"))?;
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), log))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_validates_and_schemathesis_finds_nothing() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start("swv").await?;
    let vo = region.start("vo-1").await?;
    // Something to find: a dossier of the school's own.
    let zc = carenet_fabric::Actor::new(
        vo.store.party.clone(),
        "zc-1",
        [carenet_fabric::Role::CareCoordinator],
    )?;
    carenet_handover::dossier::import_oso(
        &vo.store,
        &zc,
        &crate::handover::example("VOVO_full"),
        "pupil-1",
        carenet_handover::dossier::Route::VoVo,
    )
    .await?;
    let (listener, base) = bind().await?;
    let (_provider, issuer) = provider(&[&base]).await?;
    // The school's system may do what its coordinators and ZAT members do,
    // so the run reaches past the role checks into the handlers.
    let gw = gateway_with(&region, "vo-1", &issuer, listener, &base, |c| {
        for client in &mut c.api.clients {
            if client.client_id == "las-po-1" {
                client.roles = [
                    "care_coordinator",
                    "mentor",
                    "zat_member",
                    "case_coordinator",
                ]
                .map(String::from)
                .to_vec();
            }
        }
    })
    .await?;
    let las = token(&issuer, "las-po-1", Some("carenet-api")).await?;

    // The document, checked by an independent validator.
    let doc = reqwest::get(format!("{base}/api/v1/openapi.json"))
        .await?
        .error_for_status()?
        .text()
        .await?;
    let file = region.dir.path().join("openapi.json");
    std::fs::write(&file, &doc)?;
    let file = file.to_string_lossy().into_owned();
    let (valid, log) = run(
        "openapi-spec-validator",
        &[&file],
        region.dir.path(),
        Duration::from_secs(60),
    )
    .await?;
    println!("{log}");
    assert!(valid, "openapi-spec-validator: {log}");
    assert!(log.contains("OK"), "{log}");

    // Every operation has an id of its own, and documents the errors
    // every call can meet.
    let parsed: serde_json::Value = serde_json::from_str(&doc)?;
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in parsed["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(!id.is_empty(), "{method} {path}: no operationId");
            assert!(ids.insert(id.to_owned()), "{id} twice");
            for status in ["401", "403", "503"] {
                assert!(
                    op["responses"][status].is_object(),
                    "{method} {path}: {status} not documented"
                );
            }
        }
    }

    // Input that cannot be read answers a JSON 400 naming the field, never
    // the value sent (it may be personal data), and never axum's plain text.
    let http = reqwest::Client::new();
    let api = |path: &str| format!("{base}/api/v1{path}");
    let cases: [(reqwest::RequestBuilder, &str); 5] = [
        (
            http.post(api("/consents"))
                .json(&serde_json::json!({"child_ref": 5, "child_birth_date": "2014-05-01"})),
            "child_ref: has the wrong type or value",
        ),
        (
            http.post(api("/consents"))
                .json(&serde_json::json!({"child_ref": "Sanne-de-Vries"})),
            "child_birth_date: is missing",
        ),
        (
            http.post(api("/zat/3f0c2a4e-0000-4000-8000-000000000000/distribute"))
                .json(&serde_json::json!({"members": ["jgz-1", 7]})),
            "members[1]: has the wrong type or value",
        ),
        (
            http.post(api("/consents/search"))
                .header("content-type", "application/json")
                .body("{\"child_ref\": "),
            "body: is not valid JSON",
        ),
        (
            http.post(api("/consents/search"))
                .header("content-type", "text/plain")
                .body("Sanne-de-Vries"),
            "body: send it as application/json",
        ),
    ];
    for (request, detail) in cases {
        let answer = request.bearer_auth(&las).send().await?;
        assert_eq!(answer.status(), 400, "{detail}");
        assert!(
            answer.headers()["content-type"]
                .to_str()?
                .starts_with("application/json"),
            "{detail}"
        );
        let body: serde_json::Value = answer.json().await?;
        assert_eq!(body["error"], "invalid_argument", "{body}");
        let said = body["detail"].as_str().unwrap_or_default();
        assert!(said.starts_with(detail), "{said} is not {detail}");
        assert!(!said.contains("Sanne"), "{said} echoes the value");
    }
    let answer = http
        .get(api("/dossiers/%FF%FE"))
        .bearer_auth(&las)
        .send()
        .await?;
    assert_eq!(answer.status(), 400);
    let body: serde_json::Value = answer.json().await?;
    assert_eq!(body["detail"], "id: is not valid UTF-8", "{body}");

    // A NUL or a lone control character in any text is input, not a server
    // error (PostgreSQL refuses NUL in text: the API must answer first).
    let nul = "a\u{0}b\u{1b}";
    for (path, body) in [
        (
            "/consents",
            serde_json::json!({"id": nul, "child_ref": nul, "child_birth_date": "2014-05-01",
                "purpose": "transfer_dossier", "recipients": ["vo-1"], "categories": ["pupil"]}),
        ),
        ("/consents/search", serde_json::json!({"child_ref": nul})),
        (
            "/dossiers",
            serde_json::json!({"child_ref": nul, "route": "vo_vo", "oso": nul}),
        ),
        (
            "/guardian-invitations",
            serde_json::json!({"child_ref": nul, "guardian_name": nul, "child_birth_date": "2014-05-01"}),
        ),
        (
            "/guardian-links/search",
            serde_json::json!({"child_ref": nul}),
        ),
    ] {
        let answer = http
            .post(api(path))
            .bearer_auth(&las)
            .json(&body)
            .send()
            .await?;
        assert_eq!(answer.status(), 400, "{path}");
        let body: serde_json::Value = answer.json().await?;
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .ends_with(": holds a NUL character"),
            "{path}: {body}"
        );
    }
    let answer = http
        .get(api("/dossiers/a%00b"))
        .bearer_auth(&las)
        .send()
        .await?;
    assert_eq!(answer.status(), 400);
    let body: serde_json::Value = answer.json().await?;
    assert_eq!(body["detail"], "id: holds a NUL character", "{body}");
    // A key of the client's that is long or odd is never echoed (it may
    // hold anything, a name too): the field is "body".
    for key in [
        "Daan van de Berg <script>",
        "een_veel_te_lange_sleutel_van_meer_dan_32_tekens",
        "a\u{0}b",
    ] {
        let mut sent = serde_json::Map::new();
        sent.insert(key.to_owned(), serde_json::json!({ "x": nul }));
        let answer = http
            .post(api("/consents/search"))
            .bearer_auth(&las)
            .json(&sent)
            .send()
            .await?;
        assert_eq!(answer.status(), 400, "{key:?}");
        let text = answer.text().await?;
        let body: serde_json::Value = serde_json::from_str(&text)?;
        assert_eq!(body["detail"], "body: holds a NUL character", "{body}");
        assert!(
            !text.contains("Daan") && !text.contains("sleutel"),
            "{text}"
        );
    }

    // A property-based run against the running gateway.
    let reports = region.dir.path().join("schemathesis");
    let auth = format!("Authorization: Bearer {las}");
    let reports_arg = reports.to_string_lossy().into_owned();
    let (passed, log) = run(
        "schemathesis",
        &[
            "run",
            &file,
            "--url",
            &base,
            "--header",
            &auth,
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "40",
            "--seed",
            "19",
            "--workers",
            "2",
            "--request-timeout",
            "20",
            "--suppress-health-check",
            "all",
            "--report-dir",
            &reports_arg,
        ],
        region.dir.path(),
        Duration::from_secs(300),
    )
    .await?;
    println!("{log}");
    assert!(passed, "schemathesis: {log}");
    assert!(!log.contains("No operations"), "{log}");
    gw.stop().await;
    region.shutdown().await
}
