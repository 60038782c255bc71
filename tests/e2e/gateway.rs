//! The gateway in a real browser (headless Chromium, driven by
//! playwright-core) against a real OpenID Connect provider (oidc-provider),
//! both from `tests/browser` (installed by `scripts/setup`). Screenshots of
//! each page go to `target/screenshots/gateway/`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use carenet_e2e::{TestRegion, Tuning};
use carenet_gateway::config::{
    ApiClient, ApiSection, GatewayConfig, GuardianOidcSection, OidcSection,
};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::three_parties;

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Where the screenshots of a browser test go (kept as test artefacts).
pub fn shots_dir(test: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/screenshots")
        .join(test)
}

/// Starts the provider for gateways at `bases`; returns it and its issuer.
pub(crate) async fn provider(bases: &[&str]) -> anyhow::Result<(tokio::process::Child, String)> {
    let (child, issuer, _) = provider_with(bases, &[]).await?;
    Ok((child, issuer))
}

/// [`provider`] with environment `env` (ISSUER, KID: see provider.mjs);
/// also returns the port it listens on.
pub(crate) async fn provider_with(
    bases: &[&str],
    env: &[(&str, &str)],
) -> anyhow::Result<(tokio::process::Child, String, u16)> {
    let mut command = tokio::process::Command::new("node");
    command.arg(browser_dir().join("provider.mjs")).args(bases);
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.stdout(Stdio::piped()).kill_on_drop(true).spawn()?;
    let stdout = child.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await??
        .ok_or_else(|| anyhow::anyhow!("the provider printed nothing"))?;
    let said = serde_json::from_str::<serde_json::Value>(&first)?;
    let issuer = said["issuer"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no issuer in {first}"))?
        .to_owned();
    let port = said["port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| anyhow::anyhow!("no port in {first}"))?;
    // Keep reading what it prints, so it never writes into a closed pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, issuer, port))
}

/// A port for a gateway, bound before the provider learns its address.
pub(crate) async fn bind() -> anyhow::Result<(tokio::net::TcpListener, String)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    Ok((listener, base))
}

/// A running gateway; stops with [`Gateway::stop`].
pub(crate) struct Gateway {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Gateway {
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

/// Serves the gateway of `party` (staff and guardian clients at `issuer`).
pub(crate) async fn gateway(
    region: &TestRegion,
    party: &str,
    issuer: &str,
    listener: tokio::net::TcpListener,
    base: &str,
) -> anyhow::Result<Gateway> {
    gateway_full(region, party, issuer, listener, base, base, |_| {}).await
}

/// [`gateway`], its config changed by `tweak` first.
pub(crate) async fn gateway_with(
    region: &TestRegion,
    party: &str,
    issuer: &str,
    listener: tokio::net::TcpListener,
    base: &str,
    tweak: impl FnOnce(&mut GatewayConfig),
) -> anyhow::Result<Gateway> {
    gateway_full(region, party, issuer, listener, base, base, tweak).await
}

/// [`gateway`], listening at `base` and reached by browsers at
/// `public_url` (an `https://` address: behind a TLS front).
async fn gateway_at(
    region: &TestRegion,
    party: &str,
    issuer: &str,
    listener: tokio::net::TcpListener,
    base: &str,
    public_url: &str,
) -> anyhow::Result<Gateway> {
    gateway_full(region, party, issuer, listener, base, public_url, |_| {}).await
}

#[allow(clippy::too_many_arguments)]
async fn gateway_full(
    region: &TestRegion,
    party: &str,
    issuer: &str,
    listener: tokio::net::TcpListener,
    base: &str,
    public_url: &str,
    tweak: impl FnOnce(&mut GatewayConfig),
) -> anyhow::Result<Gateway> {
    let dir = region.dir.path().join(format!("gateway-{party}"));
    std::fs::create_dir_all(&dir)?;
    let secret = dir.join("client-secret");
    std::fs::write(&secret, "gatewaysecret0123")?;
    let guardian_secret = dir.join("guardian-client-secret");
    std::fs::write(&guardian_secret, "oudersecret01234")?;
    let mut config = GatewayConfig {
        listen: base.trim_start_matches("http://").to_owned(),
        public_url: public_url.to_owned(),
        node_config: region.config_path(party),
        session_key_file: dir.join("session.key"),
        secure_cookies: public_url.starts_with("https://"),
        session_minutes: 60,
        session_recheck_minutes: 15,
        oidc: OidcSection {
            issuer: issuer.to_owned(),
            client_id: "gateway".into(),
            client_secret_file: secret,
            staff_claim: "staff".into(),
            party_claim: "party".into(),
            roles_claim: "roles".into(),
            groups_claim: "groups".into(),
            scopes: vec!["carenet".into(), "profile".into()],
            timeout_secs: 5,
        },
        portal: Default::default(),
        smtp: None,
        notifications: Default::default(),
        guardian_oidc: Some(GuardianOidcSection {
            issuer: issuer.to_owned(),
            client_id: "ouders".into(),
            client_secret_file: guardian_secret,
            name_claim: "name".into(),
            scopes: vec!["profile".into()],
            timeout_secs: 5,
        }),
        api: ApiSection {
            audience: None,
            introspection_cache_secs: 60,
            scope: "carenet-api".into(),
            clients: vec![
                ApiClient {
                    client_id: "las-po-1".into(),
                    staff: "las".into(),
                    roles: vec!["support_coordinator_po".into()],
                },
                ApiClient {
                    client_id: "las-teacher".into(),
                    staff: "las-t".into(),
                    roles: vec!["teacher".into()],
                },
                ApiClient {
                    client_id: "las-zc".into(),
                    staff: "las-zc".into(),
                    roles: vec!["care_coordinator".into()],
                },
                ApiClient {
                    client_id: "las-jgz".into(),
                    staff: "jgz-sys".into(),
                    roles: vec!["zat_member".into()],
                },
            ],
        },
    };
    tweak(&mut config);
    config.validate()?;
    let state = carenet_gateway::build(config).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(carenet_gateway::serve(state, listener, async move {
        let _ = stopped.await;
    }));
    Ok(Gateway {
        stop: Some(stop),
        server: Some(server),
    })
}

/// Runs a browser script from `tests/browser` with `env`, and checks that it
/// passed and printed `passed`.
pub(crate) async fn browser(
    script: &str,
    env: &[(&str, &str)],
    passed: &str,
) -> anyhow::Result<()> {
    let mut command = tokio::process::Command::new("node");
    command.arg(browser_dir().join(script)).kill_on_drop(true);
    for (k, v) in env {
        command.env(k, v);
    }
    // Every page photographed is checked for the slices' English reasons.
    let reasons = crate::english::reasons_file(
        &std::env::temp_dir().join(format!("carenet-reasons-{}", std::process::id())),
    );
    command.env("SLICE_REASONS", &reasons);
    let run = tokio::time::timeout(Duration::from_secs(300), command.output()).await??;
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    println!("{log}");
    assert!(run.status.success(), "{log}");
    assert!(log.contains(passed), "{log}");
    // Every page photographed was checked for accessibility.
    assert!(log.contains("ok: no accessibility failures"), "{log}");
    assert!(log.contains("no English reason text"), "{log}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sign_in_through_a_real_provider_in_a_real_browser() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    // The gateway works on the node's database and its cached directory.
    region.start("swv").await?;
    let po = region.start("po-1").await?;
    // Something waits for the IB: a dossier ready to send.
    let ib = carenet_fabric::Actor::new(
        po.store.party.clone(),
        "ib-1",
        [carenet_fabric::Role::SupportCoordinatorPo],
    )?;
    carenet_handover::dossier::import_oso(
        &po.store,
        &ib,
        &crate::handover::example("POVO_full"),
        "pupil-1",
        carenet_handover::dossier::Route::PoVo,
    )
    .await?;
    // And a plan the IB coordinates: an action past its date, its
    // evaluation due ("wat wacht op mij" lists both, linked to the plan).
    let day = |d: i64| {
        carenet_consent::record::format_date(
            carenet_fabric::clock::today() + time::Duration::days(d),
        )
    };
    carenet_caseplan::plan::open(
        &po.store,
        &ib,
        carenet_caseplan::plan::NewPlan {
            child_ref: "pupil-9".into(),
            child_name: "Leerling Negen".into(),
            child_birth_date: "2015-03-01".into(),
            origin: "zat".into(),
            origin_id: "zat-9".into(),
            coordinator: "ib-1".into(),
            reports_back: "ib-1".into(),
            evaluation_on: day(3),
            actions: vec![carenet_proto::v1::CaseAction {
                owner: "po-1".into(),
                what: "Gesprek met ouders".into(),
                goal: "Rust in de klas".into(),
                due_on: day(-1),
                category: String::new(),
                person: String::new(),
            }],
            ..Default::default()
        },
    )
    .await?;
    let (listener, base) = bind().await?;
    let (_provider, issuer) = provider(&[&base]).await?;
    let gw = gateway(&region, "po-1", &issuer, listener, &base).await?;
    let shots = shots_dir("gateway");
    let _ = std::fs::remove_dir_all(&shots);
    let shots_s = shots.display().to_string();
    let files = tempfile::tempdir()?;
    let (good, bad) = (
        files.path().join("LL02.xml"),
        files.path().join("notities.xml"),
    );
    std::fs::write(&good, crate::handover::example("POVO_full"))?;
    std::fs::write(&bad, "dit is geen OSO-dossier")?;
    let (good, bad) = (good.display().to_string(), bad.display().to_string());
    browser(
        "login.mjs",
        &[
            ("GATEWAY_URL", &base),
            ("SHOTS_DIR", &shots_s),
            ("OSO_FILE", &good),
            ("OSO_BAD", &bad),
        ],
        "all browser checks passed",
    )
    .await?;
    gw.stop().await;
    for shot in [
        "01-inloggen.png",
        "02-start.png",
        "03-uitgelogd.png",
        "04-geen-toegang.png",
        "05-mentor.png",
        "06-inlezen.png",
    ] {
        assert!(shots.join(shot).exists(), "{shot}");
    }
    // The logins filled the staff directory from the provider's claims:
    // `name` (else given and family name), the roles, the groups.
    let people: Vec<(String, String, String, String)> =
        carenet_gateway::staff_directory::all(&po.store.db)
            .await?
            .into_iter()
            .map(|p| (p.staff, p.name, p.roles.join(" "), p.groups.join(" ")))
            .collect();
    assert_eq!(
        people,
        [
            (
                "mentor-2".into(),
                "Joost van Dam".into(),
                "mentor".into(),
                "groep-8a groep-8b".into()
            ),
            (
                "ib-1".into(),
                "Sanne de Vries".into(),
                "support_coordinator_po".into(),
                "zorgteam".into()
            ),
        ]
    );
    // Viewing a page is not an audited refusal (the mentor saw no overview).
    let audit = carenet_fabric::audit::list(&po.store.db, 0, 10_000).await?;
    assert!(
        audit.iter().all(|r| !r.action.starts_with("refused")),
        "{:?}",
        audit.iter().map(|r| &r.action).collect::<Vec<_>>()
    );
    // The upload imported the good file and nothing of the bad one.
    let refs: Vec<(String,)> = carenet_fabric::with_db!(&po.store.db, pool => {
        sqlx::query_as("SELECT child_ref FROM handover_dossier ORDER BY child_ref")
            .fetch_all(pool)
            .await?
    });
    assert_eq!(refs, [("pupil-1".to_owned(),), ("pupil-2".to_owned(),)]);
    region.shutdown().await
}

/// Issue 18.9: HSTS only when browsers come over TLS (never on plain http
/// on loopback), and forms lead only here and to the identity provider's
/// logout (`form-action`), not to any http(s) site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_over_tls_only_and_forms_lead_only_here_and_to_the_provider() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start("swv").await?;
    region.start("po-1").await?;
    let (plain_listener, plain) = bind().await?;
    let (tls_listener, behind_tls) = bind().await?;
    let public = "https://po-1.school.example";
    let (_provider, issuer) = provider(&[&plain, public]).await?;
    let plain_gw = gateway(&region, "po-1", &issuer, plain_listener, &plain).await?;
    let tls_gw = gateway_at(&region, "po-1", &issuer, tls_listener, &behind_tls, public).await?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    // The provider's logout endpoint is on its own origin (another port).
    let form_action = format!("form-action 'self' {issuer}");
    for (base, hsts) in [(&plain, None), (&behind_tls, Some("max-age=31536000"))] {
        for path in ["/", "/ouders", "/inloggen", "/geen-pagina"] {
            let answer = client.get(format!("{base}{path}")).send().await?;
            let headers = answer.headers();
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
            assert_eq!(header("strict-transport-security"), hsts, "{base}{path}");
            let csp = header("content-security-policy").unwrap_or_default();
            let action = csp
                .split(';')
                .map(str::trim)
                .find(|d| d.starts_with("form-action"))
                .unwrap_or_default();
            assert_eq!(action, form_action, "{base}{path}: {csp}");
            assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        }
    }
    plain_gw.stop().await;
    tls_gw.stop().await;
    region.shutdown().await
}

/// The whole season of one pupil in real browsers, through the gateways of
/// po-1 and vo-1 (see `tests/browser/scenario.mjs`); then what the nodes
/// recorded: the grant with portal evidence, the guardian's inzage, the
/// refusal of another guardian, and the withdrawal reaching vo-1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guardian_a_school_and_the_next_school_in_real_browsers() -> anyhow::Result<()> {
    use carenet_fabric::{Actor, Role};
    use carenet_proto::v1::{EvidenceKind, GrantorRole};

    let mut plans = three_parties();
    plans.push(carenet_node::region::PartyPlan::new(
        "vo-2",
        carenet_fabric::PartyKind::VoSchool,
        "VO 2",
    ));
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start("swv").await?;
    let po = region.start("po-1").await?;
    let vo = region.start("vo-1").await?;
    let vo2 = region.start("vo-2").await?;
    let ib = Actor::new(po.store.party.clone(), "ib-1", [Role::SupportCoordinatorPo])?;
    // Another pupil's dossier, seen by the guardians and ready, that a
    // second secondary school asks for: it waits for the IB's confirmation.
    let requested = carenet_handover::dossier::import_oso(
        &po.store,
        &ib,
        &crate::handover::example("POVO_full")
            .replace("<bsn>269326728</bsn>", "<bsn>123456782</bsn>"),
        "pupil-3",
        carenet_handover::dossier::Route::PoVo,
    )
    .await?;
    let reply = crate::dossier_request::ask(&region, "vo-2", "123456782", "2003-03-17").await?;
    assert_eq!(reply, crate::dossier_request::recorded());
    // The IB composed pupil-1's dossier (not yet seen by the guardians).
    let dossier = crate::handover::unseen_povo(Default::default());
    let attachment = dossier
        .attachments()
        .into_iter()
        .find(|a| a.file_name == "groepsplan.txt")
        .expect("the example's attachment")
        .encoded;
    let id = carenet_handover::dossier::create(
        &po.store,
        &ib,
        "pupil-1",
        carenet_handover::dossier::Route::PoVo,
        &dossier,
    )
    .await?;
    // Another guardian, of another pupil, for the refusal.
    // (pupil-2's dossier lives in the school's own system here: held elsewhere.)
    let other = carenet_consent::links::invite(
        &po.store,
        &ib,
        &carenet_consent::links::NewInvitation {
            child_ref: "pupil-2".into(),
            guardian_name: "A. Jansen".into(),
            child_birth_date: time::macros::date!(2014 - 03 - 01),
            days: 7,
        },
        true,
    )
    .await?;

    // The secondary school's admin uploaded its staff list: the mentor and
    // a teacher can be picked before they first sign in.
    let beheer = Actor::new(vo.store.party.clone(), "beheer-1", [Role::Admin])?;
    carenet_gateway::staff_directory::import(
        &vo.store,
        &beheer,
        "staff,name,roles,groups\nmentor-7,Mark de Wit,mentor,1b\nteacher-4,Fatima Yilmaz,teacher,1b\n",
    )
    .await?;

    let (po_listener, po_base) = bind().await?;
    let (vo_listener, vo_base) = bind().await?;
    let (_provider, issuer) = provider(&[&po_base, &vo_base]).await?;
    let po_gw = gateway(&region, "po-1", &issuer, po_listener, &po_base).await?;
    let vo_gw = gateway(&region, "vo-1", &issuer, vo_listener, &vo_base).await?;
    let shots = shots_dir("scenario");
    let _ = std::fs::remove_dir_all(&shots);
    let shots_s = shots.display().to_string();
    browser(
        "scenario.mjs",
        &[
            ("PO_URL", &po_base),
            ("VO_URL", &vo_base),
            ("SHOTS_DIR", &shots_s),
            ("DOSSIER_ID", &id),
            ("OTHER_CODE", &other.code),
            ("REQUESTED_ID", &requested),
            ("REQUESTER_NAME", "VO 2"),
            ("ATTACHMENT_B64", &attachment),
        ],
        "all scenario checks passed",
    )
    .await?;
    po_gw.stop().await;
    vo_gw.stop().await;

    for shot in [
        "10-toestemming",
        "11-toestemming-gevraagd",
        "12-uitnodiging",
        "13-dossier-ter-inzage",
        "14-verstuurd",
        "14a-versturen-voorstel",
        "19a-ingetrokken-bij-po",
        "23b-antwoord-terug",
        "24a-intrekken-bevestigen",
        "43-mijn-leerlingen-ingetrokken",
        "15-gelezen-door-mentor",
        "16-seizoen-po",
        "17-warme-overdracht-gepland",
        "18-warme-overdracht-verslag",
        "19-terugkoppeling-ontvangen",
        "20-ouders-inloggen",
        "21-ouders-start",
        "22-toestemmingsvraag",
        "23-dossier-inzien",
        "23a-dossier-bijlagen",
        "24-ingetrokken",
        "25-wie-heeft-wat",
        "26-ander-kind",
        "27-verzoek-wacht",
        "28-verzoek-bevestigd",
        "30-seizoen-vo",
        "31-toewijzen",
        "31a-toewijzen-onbekend",
        "32-ingetrokken-bij-vo",
        "33-warme-overdracht-ontvangen",
        "34-toestemming-vastgelegd",
        "35-ontvangen-dossier",
        "1a-geweigerd-in-portaal",
        "40-mijn-leerlingen",
        "41-samenvatting",
        "42-terugkoppeling",
    ] {
        assert!(shots.join(format!("{shot}.png")).exists(), "{shot}");
    }

    // The second school got the requested dossier only once the IB confirmed.
    let got = crate::handover::wait_incoming(&vo2.store, 1).await?;
    assert_eq!(got.document_id, requested);
    // The grant: given on the portal, by a guardian, named by pseudonym.
    let consents = carenet_consent::record::ConsentStore::new(po.store.clone());
    let records = consents.list(&ib, "pupil-1").await?;
    assert_eq!(records.len(), 2);
    let (transfer, shared): (Vec<_>, Vec<_>) = records
        .iter()
        .partition(|r| r.version.purpose == "transfer_dossier");
    // The second request: refused by the guardian on the portal, then
    // granted by the IB with the guardians' signed form, audited with both.
    let reversed = consents.show(&ib, &shared[0].version.record_id).await?;
    let statuses: Vec<_> = reversed
        .iter()
        .map(|v| carenet_consent::record::status_name(v.status()))
        .collect();
    assert_eq!(statuses, ["requested", "refused", "granted"]);
    let form = reversed[2].version.evidence.as_ref().expect("evidence");
    assert_eq!(form.kind, EvidenceKind::SignedForm as i32);
    assert_eq!(form.document_sha256.len(), 32);
    assert!(
        carenet_fabric::audit::list(&po.store.db, 0, 100_000)
            .await?
            .iter()
            .any(|r| r.action == "consent_portal_refusal_reversed"
                && r.payload_sha256 == form.document_sha256),
        "the reversal is audited with the form's hash"
    );
    let history = consents.show(&ib, &transfer[0].version.record_id).await?;
    let statuses: Vec<_> = history
        .iter()
        .map(|v| carenet_consent::record::status_name(v.status()))
        .collect();
    assert_eq!(statuses, ["requested", "granted", "withdrawn"]);
    let grant = &history[1].version;
    let evidence = grant.evidence.as_ref().expect("evidence");
    assert_eq!(evidence.kind, EvidenceKind::PortalLogin as i32);
    assert!(
        evidence.recorded_by.starts_with("guardian."),
        "{evidence:?}"
    );
    assert_eq!(grant.grantors[0].role, GrantorRole::Guardian as i32);
    assert_eq!(grant.grantors[0].name, "J. de Vries");
    // The inzage: recorded by the guardian, with their view in the dossier,
    // bound to the content hash of the page they read (version 1).
    let stored = carenet_handover::dossier::get(&po.store, &id).await?;
    let shown = std::fs::read_to_string(shots.join("inzage-hash.txt"))?;
    let seen = carenet_consent::inspection::seen(
        &po.store,
        stored.inspection_id.as_deref().expect("inspected"),
        &id,
    )
    .await?
    .flatten()
    .expect("bound to content");
    assert_eq!(
        (
            seen.version,
            seen.content_sha256.as_str(),
            seen.akkoord.as_str()
        ),
        (1, shown.trim(), "Ja")
    );
    assert_eq!(
        carenet_handover::inzage::ContentHash::of(&stored.dossier).hex(),
        shown.trim()
    );
    assert_eq!(
        stored.dossier.extras.guardian_view.as_deref(),
        Some("Wij herkennen ons in het advies.")
    );
    // Audited: the other guardian's refusal; no personal data in the log.
    let audit = carenet_fabric::audit::list(&po.store.db, 0, 10_000).await?;
    let actions: Vec<&str> = audit.iter().map(|r| r.action.as_str()).collect();
    for expected in [
        "guardian_invited",
        "guardian_linked",
        "consent_grant",
        "dossier_read_by_guardian",
        "inspection_recorded",
        "consent_withdraw",
        "refused:portal_child",
        "warm_handover_planned",
        "dossier_requested:waiting_for_ib",
        "dossier_request_confirmed",
        "dossier_destination_set",
        "warm_handover_held",
        "warm_handover_viewed",
        "feedback_read",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    // The mentor's feedback reached po-1.
    let feedback = carenet_handover::incoming::feedback_received(&po.store, &ib).await?;
    assert_eq!(feedback.len(), 1);
    assert_eq!(feedback[0].from_party, "vo-1");
    assert!(feedback[0].text.starts_with("Goed gestart in de brugklas"));
    let vo_audit = carenet_fabric::audit::list(&vo.store.db, 0, 10_000).await?;
    for expected in ["warm_handover_read", "digest_opened", "consent_grant"] {
        assert!(
            vo_audit.iter().any(|r| r.action == expected),
            "{expected} in vo-1's audit log"
        );
    }
    // The warm-handover record was shared under the consent the guardian
    // withdrew: vo-1 lost it with the dossier.
    let zc = carenet_fabric::Actor::new(
        vo.store.party.clone(),
        "zc-9",
        [carenet_fabric::Role::CareCoordinator],
    )?;
    let warm =
        carenet_handover::warm::received(&vo.store, carenet_fabric::PartyKind::VoSchool, &zc)
            .await?;
    assert!(warm.is_empty(), "the shared record went with the consent");
    assert!(
        audit
            .iter()
            .all(|r| !r.actor.contains("Vries") && !r.message_id.contains("Vries")),
        "no names in the audit log"
    );
    // vo-1 lost the dossier when the consent was withdrawn.
    let received = carenet_handover::incoming::list(&vo.store).await?;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].removed.as_deref(), Some("withdrawn"));
    // Its list label (the pupil's name) went with its content.
    let label: (Option<String>, Vec<u8>) = carenet_fabric::with_db!(&vo.store.db, pool => {
        sqlx::query_as("SELECT label, payload FROM inbox WHERE message_id = $1")
            .bind(&received[0].message_id)
            .fetch_one(pool)
            .await?
    });
    assert_eq!(
        label,
        (None, Vec::new()),
        "the name is erased with the content"
    );
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zat_chair_a_guardian_and_a_partner_in_real_browsers() -> anyhow::Result<()> {
    use carenet_fabric::{Actor, PartyKind, Role};
    use carenet_node::region::PartyPlan;
    use carenet_proto::v1;

    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        PartyPlan::zat("jgz-1", "jgz", "JGZ Regio"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let vo = region.handle("vo-1").store;
    let jgz = region.handle("jgz-1").store;
    let zc = Actor::new(vo.party.clone(), "zc-9", [Role::CareCoordinator])?;
    let child = "zat-pupil-1";
    // The school's staff list: the IZO's mentor is picked from it by name.
    let beheer = Actor::new(vo.party.clone(), "beheer-1", [Role::Admin])?;
    carenet_gateway::staff_directory::import(
        &vo,
        &beheer,
        "staff,name,roles,groups\nmentor-7,Mark de Wit,mentor,1b\n",
    )
    .await?;
    let (vo_listener, vo_base) = bind().await?;
    let (jgz_listener, jgz_base) = bind().await?;
    let (_provider, issuer) = provider(&[&vo_base, &jgz_base]).await?;
    let vo_gw = gateway(&region, "vo-1", &issuer, vo_listener, &vo_base).await?;
    let jgz_gw = gateway(&region, "jgz-1", &issuer, jgz_listener, &jgz_base).await?;
    let shots = shots_dir("care");
    let _ = std::fs::remove_dir_all(&shots);
    let shots_s = shots.display().to_string();
    browser(
        "care.mjs",
        &[
            ("VO_URL", &vo_base),
            ("JGZ_URL", &jgz_base),
            ("SHOTS_DIR", &shots_s),
            ("CHILD", child),
        ],
        "all care checks passed",
    )
    .await?;
    vo_gw.stop().await;
    jgz_gw.stop().await;
    for shot in [
        "45-izo-aanmelden",
        "45a-izo-onbekende-mentor",
        "46-izo-verslag",
        "50-ouders-toestemming-zat",
        "51-zat",
        "51a-jgz-zat-dossiers",
        "51b-jgz-zat-dossier",
        "52-zat-overleg",
        "52a-zat-overleg-geweigerd",
        "53a-jgz-zat-dossier-vervangen",
        "53-plan-van-aanpak",
        "54-jgz-plannen",
        "55-jgz-voortgang",
        "56-casusregisseur-ziet-voortgang",
        "57-ouders-plan",
        "58-plan-bijstellen",
        "plan-bijgesteld",
    ] {
        assert!(shots.join(format!("{shot}.png")).exists(), "{shot}");
    }

    // The consents were the guardian's, given in the portal.
    let consents = carenet_consent::record::ConsentStore::new(vo.clone());
    let records = consents.list(&zc, child).await?;
    assert_eq!(records.len(), 2);
    for r in &records {
        assert_eq!(r.status(), v1::ConsentStatus::Granted);
        let evidence = r.version.evidence.as_ref().expect("evidence");
        assert_eq!(evidence.kind, v1::EvidenceKind::PortalLogin as i32);
    }
    // The plan at the school shows the JGZ's progress, sent from its node.
    let plans = carenet_caseplan::plan::list(&vo, &zc).await?;
    assert_eq!(plans.len(), 1);
    let plan = carenet_caseplan::plan::show(&vo, &zc, &plans[0].id).await?;
    let task = plan
        .tasks
        .iter()
        .find(|t| t.owner == "jgz-1")
        .expect("the JGZ's task");
    assert_eq!(task.state, "in_progress");
    let log: Vec<String> = carenet_fabric::audit::list(&vo.db, 0, 10_000)
        .await?
        .into_iter()
        .map(|r| r.action)
        .collect();
    for a in [
        "izo_registered",
        "izo_triaged",
        "izo_answered",
        "izo_conversation_recorded",
        "izo_minutes_recorded",
        "consent_grant",
        "zat_referred",
        "zat_distributed",
        "zat_meeting_recorded",
        "case_progress_applied",
        "case_progress_note",
        "case_evaluated",
        "case_plan_added",
        "case_goal_changed",
        "case_plan_read_by_guardian",
    ] {
        assert!(log.iter().any(|l| l == a), "{a} in vo-1's audit log");
    }
    let jgz_log = carenet_fabric::audit::list(&jgz.db, 0, 10_000).await?;
    assert!(jgz_log.iter().any(|r| r.action == "case_view_read"));
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_care_api_takes_the_same_rules() -> anyhow::Result<()> {
    use carenet_consent::{Category, Purpose};
    use carenet_e2e::{asked_consent, grant_consent};
    use carenet_fabric::{Actor, PartyKind, Role};
    use carenet_node::region::PartyPlan;
    use carenet_proto::v1;

    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        PartyPlan::zat("jgz-1", "jgz", "JGZ Regio"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let vo = region.handle("vo-1").store;
    // A pupil through the IZO, referred under the guardians' consent.
    let zc = Actor::new(vo.party.clone(), "zc-9", [Role::CareCoordinator])?;
    let child = "api-pupil-1";
    let izo_id = carenet_referral::izo::register(
        &vo,
        &zc,
        v1::IzoRegistration {
            child_ref: child.into(),
            child_birth_date: "2013-04-02".into(),
            mentor: "mentor-7".into(),
            guardians_informed: true,
            problem: "Verzuim.".into(),
            pupil_question: "Weer naar school.".into(),
            support_question: "Wat is nodig?".into(),
            support_requested: vec![v1::IzoSupportKind::Pupil as i32],
            ..Default::default()
        },
    )
    .await?;
    carenet_referral::izo::triage(
        &vo,
        &zc,
        &izo_id,
        v1::IzoTriage {
            decision: v1::IzoTriageDecision::Accept as i32,
            belongs_in_tier2: true,
            questions_clear: true,
            tier1_exhausted: true,
            guardians_and_pupil_informed: true,
            ..Default::default()
        },
    )
    .await?;
    let today = carenet_consent::record::format_date(carenet_fabric::clock::today());
    carenet_referral::izo_meeting::record(
        &vo,
        &zc,
        &izo_id,
        v1::IzoMinutes {
            held_on: today.clone(),
            analysis: "Meer partijen nodig.".into(),
            guardians_contact: "mentor-7".into(),
            summary: "Naar het ZAT.".into(),
            zat_question: "Hoe verder?".into(),
            evaluation_on: "2030-01-01".into(),
            outcomes: vec![v1::IzoOutcome::Zat as i32],
            ..Default::default()
        },
    )
    .await?;
    let referral_consent = asked_consent(
        &vo,
        child,
        Purpose::ReferToZat,
        &["jgz-1"],
        vec![Category::Pupil, Category::EducationalSupport],
    )
    .await?;
    grant_consent(&vo, &referral_consent).await?;
    let membership = asked_consent(
        &vo,
        child,
        Purpose::CaseMembership,
        &["jgz-1"],
        vec![
            Category::ActionPlans,
            Category::Pupil,
            Category::ExternalCare,
        ],
    )
    .await?;
    grant_consent(&vo, &membership).await?;
    let case_id = carenet_referral::zat::refer(
        &vo,
        &zc,
        &Default::default(),
        v1::ZatReferral {
            child_ref: child.into(),
            child_name: "Sam Peters".into(),
            child_birth_date: "2013-04-02".into(),
            origin: "izo".into(),
            izo_id,
            consent_record: referral_consent,
            meeting_on: today.clone(),
            ..Default::default()
        },
    )
    .await?;

    // The school's staff list: the case coordinator is one of its people.
    let beheer = Actor::new(vo.party.clone(), "beheer-1", [Role::Admin])?;
    carenet_gateway::staff_directory::import(
        &vo,
        &beheer,
        "zc-9,Ingrid Bakker,care_coordinator,zorgteam\nmentor-7,Mark de Wit,mentor,1b\n",
    )
    .await?;

    let (vo_listener, vo_base) = bind().await?;
    let (jgz_listener, jgz_base) = bind().await?;
    let (_provider, issuer) = provider(&[&vo_base, &jgz_base]).await?;
    let vo_gw = gateway(&region, "vo-1", &issuer, vo_listener, &vo_base).await?;
    let jgz_gw = gateway(&region, "jgz-1", &issuer, jgz_listener, &jgz_base).await?;
    let http = reqwest::Client::new();
    let at = |base: &str, path: &str| format!("{base}/api/v1{path}");
    let chair = token(&issuer, "las-zc", Some("carenet-api")).await?;
    let teacher = token(&issuer, "las-teacher", Some("carenet-api")).await?;
    let partner = token(&issuer, "las-jgz", Some("carenet-api")).await?;

    let doc: serde_json::Value = http
        .get(at(&vo_base, "/openapi.json"))
        .send()
        .await?
        .json()
        .await?;
    for path in [
        "/api/v1/zat/{id}/meetings",
        "/api/v1/cases/{id}",
        "/api/v1/memberships/{holder}/{id}/tasks/{task}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    // The chair sends the case file and records the meeting with its plan.
    let sent: serde_json::Value = http
        .post(at(&vo_base, &format!("/zat/{case_id}/distribute")))
        .bearer_auth(&chair)
        .json(&serde_json::json!({"members": ["jgz-1"]}))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(sent[0]["party"], "jgz-1");
    let meeting_by = |plan: bool, coordinator: &str| {
        let mut m = serde_json::json!({
            "held_on": today, "analysis": "Slaap.", "needs": "Rust.", "directions": "Onderzoek.",
            "decisions": "JGZ onderzoekt.",
        });
        if plan {
            m["plan"] = serde_json::json!({
                "coordinator": coordinator, "reports_back": "de zorgcoördinator", "evaluation_on": "2030-01-01",
                "actions": [{"owner": "jgz-1", "what": "Slaaponderzoek", "goal": "Weer naar school", "due_on": "2030-01-01", "category": "external_care"}],
                "members": [{"party": "jgz-1", "role": "jeugdverpleegkundige", "person": "J. Smit", "consent_record": membership}],
            });
        }
        m
    };
    let meeting = |plan: bool| meeting_by(plan, "zc-9");
    // A case coordinator the school's staff directory does not know (a
    // typo, or the system's own account) is refused, naming the field;
    // nothing is recorded.
    for unknown in ["zc-99", "las-zc"] {
        let typo = http
            .post(at(&vo_base, &format!("/zat/{case_id}/meetings")))
            .bearer_auth(&chair)
            .json(&meeting_by(true, unknown))
            .send()
            .await?;
        assert_eq!(typo.status(), 400, "{unknown}");
        let body: serde_json::Value = typo.json().await?;
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .starts_with("coordinator:"),
            "{body}"
        );
    }
    assert!(
        carenet_caseplan::plan::list(&vo, &zc).await?.is_empty(),
        "no plan from a refused meeting"
    );
    let no_plan = http
        .post(at(&vo_base, &format!("/zat/{case_id}/meetings")))
        .bearer_auth(&chair)
        .json(&meeting(false))
        .send()
        .await?;
    assert_eq!(no_plan.status(), 400);
    let body: serde_json::Value = no_plan.json().await?;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("plan:"),
        "{body}"
    );
    let teacher_try = http
        .post(at(&vo_base, &format!("/zat/{case_id}/meetings")))
        .bearer_auth(&teacher)
        .json(&meeting(true))
        .send()
        .await?;
    assert_eq!(teacher_try.status(), 403);
    // Named by the client, the meeting sent twice (a retry after a lost
    // answer) is recorded once and answered the same.
    let mut named = meeting(true);
    named["id"] = uuid::Uuid::new_v4().hyphenated().to_string().into();
    let mut answers = Vec::new();
    for _ in 0..2 {
        let met = http
            .post(at(&vo_base, &format!("/zat/{case_id}/meetings")))
            .bearer_auth(&chair)
            .json(&named)
            .send()
            .await?;
        assert_eq!(met.status(), 201);
        answers.push(met.json::<serde_json::Value>().await?);
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0]["meeting_id"], named["id"]);
    let plan_id = answers[0]["plan_id"].as_str().expect("a plan").to_owned();
    let teacher_read = http
        .get(at(&vo_base, &format!("/cases/{plan_id}")))
        .bearer_auth(&teacher)
        .send()
        .await?;
    assert_eq!(teacher_read.status(), 403);
    let shown: serde_json::Value = http
        .get(at(&vo_base, &format!("/cases/{plan_id}")))
        .bearer_auth(&chair)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(shown["coordinator"], "zc-9", "the coordinator picked");

    // The partner's system reads its view and reports from its own node.
    let view: serde_json::Value = carenet_e2e::wait_until(Duration::from_secs(30), || async {
        let v: serde_json::Value = http
            .get(at(&jgz_base, &format!("/memberships/vo-1/{plan_id}")))
            .bearer_auth(&partner)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        v["tasks"].is_array().then_some(v)
    })
    .await?;
    assert_eq!(view["pupil"], "Sam Peters");
    let task = &view["tasks"][0];
    assert_eq!(task["owner"], "jgz-1");
    let task_id = task["id"].as_str().unwrap_or_default().to_owned();
    let report = |step: &'static str| {
        http.post(at(
            &jgz_base,
            &format!("/memberships/vo-1/{plan_id}/tasks/{task_id}"),
        ))
        .bearer_auth(&partner)
        .json(&serde_json::json!({"step": step, "version": task["version"]}))
        .send()
    };
    assert_eq!(
        report("complete").await?.status(),
        409,
        "requested cannot complete"
    );
    let bad = report("finish").await?;
    assert_eq!(bad.status(), 400);
    let bad: serde_json::Value = bad.json().await?;
    assert!(
        bad["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("step:"),
        "{bad}"
    );
    assert_eq!(report("accept").await?.status(), 202);
    let cases: serde_json::Value = http
        .get(at(&jgz_base, "/cases"))
        .bearer_auth(&partner)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(cases["member_of"][0]["plan_id"], plan_id.as_str());
    // The coordinator's plan shows it.
    carenet_e2e::wait_until(Duration::from_secs(30), || async {
        let p: serde_json::Value = http
            .get(at(&vo_base, &format!("/cases/{plan_id}")))
            .bearer_auth(&chair)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (p["tasks"][0]["state"] == "accepted").then_some(())
    })
    .await?;

    // The plan changes through the API as on the page: decided on the
    // version read; a stale one changes nothing.
    let read = |http: reqwest::Client| {
        let url = at(&vo_base, &format!("/cases/{plan_id}"));
        let chair = chair.clone();
        async move {
            let p: serde_json::Value = http
                .get(url)
                .bearer_auth(chair)
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok(p)
        }
    };
    let before = read(http.clone()).await?;
    let version = before["version"].as_u64().expect("a version");
    let change = |body: serde_json::Value| {
        http.post(at(&vo_base, &format!("/cases/{plan_id}/changes")))
            .bearer_auth(&chair)
            .json(&body)
            .send()
    };
    let addition = |version: u64| {
        serde_json::json!({
            "version": version,
            "id": "0f3c2a1e-5b6d-4c7e-8f90-a1b2c3d4e5f6",
            "actions": [{"owner": "jgz-1", "what": "Huisbezoek", "goal": "Weer naar school", "due_on": "2030-02-01", "category": "external_care"}],
        })
    };
    let stale = change(addition(version - 1)).await?;
    assert_eq!(stale.status(), 409);
    assert_eq!(
        stale.json::<serde_json::Value>().await?["error"],
        "conflict"
    );
    assert_eq!(change(addition(version)).await?.status(), 204);
    // The same change again does not add a second action.
    assert_eq!(change(addition(version + 1)).await?.status(), 409);
    let after = read(http.clone()).await?;
    assert_eq!(after["version"].as_u64(), Some(version + 1));
    let added: Vec<_> = after["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["what"] == "Huisbezoek")
        .collect();
    assert_eq!(added.len(), 1, "{after}");
    // A field the slice refuses is named, with its code.
    let bad = change(serde_json::json!({
        "version": version + 1,
        "actions": [{"owner": "jgz-1", "what": "Bellen", "goal": "Weer naar school", "due_on": "morgen"}],
    }))
    .await?;
    assert_eq!(bad.status(), 400);
    let bad: serde_json::Value = bad.json().await?;
    assert!(
        bad["field"]
            .as_str()
            .unwrap_or_default()
            .ends_with("due_on"),
        "{bad}"
    );
    // A person named on the school's own action must be one of its staff.
    let unknown = change(serde_json::json!({
        "version": version + 1,
        "actions": [{"owner": "vo-1", "what": "Bellen", "goal": "Weer naar school", "due_on": "2030-02-01", "person": "niemand-1"}],
    }))
    .await?;
    assert_eq!(unknown.status(), 400);
    let unknown: serde_json::Value = unknown.json().await?;
    assert_eq!(unknown["field"], "actions[0].person", "{unknown}");
    assert_eq!(unknown["reason"], "unknown_person", "{unknown}");
    // The member receives the new version.
    carenet_e2e::wait_until(Duration::from_secs(30), || async {
        let v: serde_json::Value = http
            .get(at(&jgz_base, &format!("/memberships/vo-1/{plan_id}")))
            .bearer_auth(&partner)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        v["tasks"]
            .as_array()?
            .iter()
            .any(|t| t["what"] == "Huisbezoek")
            .then_some(())
    })
    .await?;
    // An evaluation; an outcome the plan does not know is named.
    let evaluate = |outcome: &str| {
        http.post(at(&vo_base, &format!("/cases/{plan_id}/evaluations")))
            .bearer_auth(&chair)
            .json(&serde_json::json!({"held_on": today, "text": "Gaat beter.", "outcome": outcome, "next_on": "2030-03-01"}))
            .send()
    };
    let unknown = evaluate("later").await?;
    assert_eq!(unknown.status(), 400);
    assert_eq!(
        unknown.json::<serde_json::Value>().await?["field"],
        "outcome"
    );
    assert_eq!(evaluate("continue").await?.status(), 204);
    // A teacher's system cannot change the plan.
    let teacher_change = http
        .post(at(&vo_base, &format!("/cases/{plan_id}/changes")))
        .bearer_auth(&teacher)
        .json(&addition(version + 2))
        .send()
        .await?;
    assert_eq!(teacher_change.status(), 403);

    vo_gw.stop().await;
    jgz_gw.stop().await;
    region.shutdown().await
}

/// A client-credentials token of `client` (scope `scope`, if any): opaque.
pub(crate) async fn token(
    issuer: &str,
    client: &str,
    scope: Option<&str>,
) -> anyhow::Result<String> {
    token_for(issuer, client, scope, None).await
}

/// A client-credentials token of `client`; for `resource`, a JWT access
/// token whose audience it is (RFC 8707, RFC 9068).
pub(crate) async fn token_for(
    issuer: &str,
    client: &str,
    scope: Option<&str>,
    resource: Option<&str>,
) -> anyhow::Result<String> {
    let http = reqwest::Client::new();
    let discovery: serde_json::Value = http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await?
        .json()
        .await?;
    let endpoint = discovery["token_endpoint"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no token endpoint"))?;
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    if let Some(resource) = resource {
        form.push(("resource", resource));
    }
    let answer: serde_json::Value = http
        .post(endpoint)
        .basic_auth(client, Some(format!("{client}-secret-0123456789")))
        .form(&form)
        .send()
        .await?
        .json()
        .await?;
    answer["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no token: {answer}"))
}

/// The JSON API: its OpenAPI document, bearer tokens introspected at the
/// provider, 401 without a valid token, 403 for a system without the role,
/// the scope or a place in the config, and the same actions as the pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_api_takes_bearer_tokens_and_the_same_rules() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start("swv").await?;
    let po = region.start("po-1").await?;
    let ib = carenet_fabric::Actor::new(
        po.store.party.clone(),
        "ib-1",
        [carenet_fabric::Role::SupportCoordinatorPo],
    )?;
    let id = carenet_handover::dossier::import_oso(
        &po.store,
        &ib,
        &crate::handover::example("POVO_full"),
        "pupil-1",
        carenet_handover::dossier::Route::PoVo,
    )
    .await?;
    // The school's staff list: its own participants are its people.
    let beheer = carenet_fabric::Actor::new(
        po.store.party.clone(),
        "beheer-1",
        [carenet_fabric::Role::Admin],
    )?;
    carenet_gateway::staff_directory::import(
        &po.store,
        &beheer,
        "ib-1,Anne de Boer,support_coordinator_po,\n",
    )
    .await?;
    let (listener, base) = bind().await?;
    let (_provider, issuer) = provider(&[&base]).await?;
    let gw = gateway(&region, "po-1", &issuer, listener, &base).await?;
    let http = reqwest::Client::new();
    let api = |path: &str| format!("{base}/api/v1{path}");

    // The OpenAPI document, generated from the handlers.
    let doc: serde_json::Value = http.get(api("/openapi.json")).send().await?.json().await?;
    for path in [
        "/api/v1/season",
        "/api/v1/dossiers/{id}/publish",
        "/api/v1/consents/search",
        "/api/v1/dossiers/{id}/warm-handovers",
        "/api/v1/warm-handovers/{id}/record",
        "/api/v1/received/{id}/feedback",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} in {doc}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    // No token, or one the provider does not know: 401, and how to authenticate.
    for auth in [None, Some("not-a-token")] {
        let mut request = http.get(api("/season"));
        if let Some(t) = auth {
            request = request.bearer_auth(t);
        }
        let answer = request.send().await?;
        assert_eq!(answer.status(), 401, "{auth:?}");
        assert!(
            answer.headers()["www-authenticate"]
                .to_str()?
                .starts_with("Bearer"),
            "{auth:?}"
        );
        let body: serde_json::Value = answer.json().await?;
        assert_eq!(body["error"], "unauthenticated");
    }

    // The school's system, as its IB would.
    let las = token(&issuer, "las-po-1", Some("carenet-api")).await?;
    let season: serde_json::Value = http
        .get(api("/season"))
        .bearer_auth(&las)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert_eq!(season[0]["id"], id.as_str());
    assert_eq!(season[0]["status"], "ready");
    let shown: serde_json::Value = http
        .get(api(&format!("/dossiers/{id}")))
        .bearer_auth(&las)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert_eq!(shown["state"], "ready");
    let asked = http
        .post(api("/consents"))
        .bearer_auth(&las)
        .json(&serde_json::json!({
            "child_ref": "pupil-1",
            "child_birth_date": "2014-05-01",
            "purpose": "transfer_dossier",
            "recipients": ["vo-1"],
            "categories": ["pupil", "transfer_advice"],
        }))
        .send()
        .await?;
    assert_eq!(asked.status(), 201);
    let found: serde_json::Value = http
        .post(api("/consents/search"))
        .bearer_auth(&las)
        .json(&serde_json::json!({ "child_ref": "pupil-1" }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert_eq!(found[0]["status"], "requested");
    // Bad input names its field, as JSON.
    let bad = http
        .post(api("/consents"))
        .bearer_auth(&las)
        .json(&serde_json::json!({
            "child_ref": "pupil-1", "child_birth_date": "1 mei", "purpose": "transfer_dossier",
            "recipients": ["vo-1"], "categories": ["pupil"],
        }))
        .send()
        .await?;
    assert_eq!(bad.status(), 400);
    let body: serde_json::Value = bad.json().await?;
    assert_eq!(body["error"], "invalid_argument");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("child_birth_date:"),
        "{body}"
    );

    // The warm handover through the API: plan, read, record.
    let bad_role = http
        .post(api(&format!("/dossiers/{id}/warm-handovers")))
        .bearer_auth(&las)
        .json(&serde_json::json!({
            "planned_on": "2027-06-15",
            "participants": [{"role": "headmaster", "party_id": "vo-1"}],
        }))
        .send()
        .await?;
    assert_eq!(bad_role.status(), 400);
    assert_eq!(
        bad_role.json::<serde_json::Value>().await?["detail"],
        "participants[0].role: unknown role"
    );
    // One of this school's people it does not know (a typo): refused,
    // naming the participant.
    let typo = http
        .post(api(&format!("/dossiers/{id}/warm-handovers")))
        .bearer_auth(&las)
        .json(&serde_json::json!({
            "planned_on": "2027-06-15",
            "participants": [
                {"role": "care_coordinator", "party_id": "vo-1"},
                {"role": "support_coordinator_po", "party_id": "po-1", "staff_ref": "ib1"},
            ],
        }))
        .send()
        .await?;
    assert_eq!(typo.status(), 400);
    let detail = typo.json::<serde_json::Value>().await?["detail"].clone();
    assert!(
        detail
            .as_str()
            .unwrap_or_default()
            .starts_with("participants[1].staff_ref:"),
        "{detail}"
    );
    let planned: serde_json::Value = http
        .post(api(&format!("/dossiers/{id}/warm-handovers")))
        .bearer_auth(&las)
        .json(&serde_json::json!({
            "planned_on": "2027-06-15",
            "participants": [
                {"role": "support_coordinator_po", "party_id": "po-1", "staff_ref": "ib-1"},
                {"role": "care_coordinator", "party_id": "vo-1"},
                {"role": "guardian"},
            ],
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let warm = planned["id"].as_str().expect("an id").to_owned();
    let recorded = http
        .post(api(&format!("/warm-handovers/{warm}/record")))
        .bearer_auth(&las)
        .json(&serde_json::json!({
            "minutes": "Besproken: de overstap.",
            "notes": [{"item": 2, "text": "Extra tijd bij toetsen"}],
            "agreements": ["Mentor belt ouders in week 2"],
        }))
        .send()
        .await?;
    assert_eq!(recorded.status(), 204);
    let record: serde_json::Value = http
        .get(api(&format!("/warm-handovers/{warm}")))
        .bearer_auth(&las)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert_eq!(record["state"], "held");
    assert_eq!(record["participants"][1]["role"], "care_coordinator");
    assert_eq!(record["agenda"][1]["notes"], "Extra tijd bij toetsen");
    assert_eq!(record["agreements"][0], "Mentor belt ouders in week 2");
    let zero = http
        .post(api(&format!("/warm-handovers/{warm}/record")))
        .bearer_auth(&las)
        .json(&serde_json::json!({"minutes": "x", "notes": [{"item": 0, "text": "x"}]}))
        .send()
        .await?;
    assert_eq!(
        zero.json::<serde_json::Value>().await?["detail"],
        "notes[0].item: agenda items count from 1"
    );

    // A system acting as a teacher: the slice refuses (and audits) it.
    let teacher = token(&issuer, "las-teacher", Some("carenet-api")).await?;
    let refused = http
        .get(api("/season"))
        .bearer_auth(&teacher)
        .send()
        .await?;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.json::<serde_json::Value>().await?["error"],
        "forbidden"
    );
    // A client the config does not name, and a token without the API scope.
    for t in [
        token(&issuer, "las-unknown", Some("carenet-api")).await?,
        token(&issuer, "las-po-1", None).await?,
    ] {
        let answer = http.get(api("/season")).bearer_auth(&t).send().await?;
        assert_eq!(answer.status(), 403);
    }
    gw.stop().await;
    let audit = carenet_fabric::audit::list(&po.store.db, 0, 10_000).await?;
    let refusals: Vec<&str> = audit
        .iter()
        .filter(|r| r.action.starts_with("refused"))
        .map(|r| r.actor.as_str())
        .collect();
    assert_eq!(
        refusals,
        ["las-t[teacher]"],
        "the teacher system's refusal, audited"
    );
    assert!(
        audit
            .iter()
            .any(|r| r.action == "consent_requested" && r.actor.starts_with("las[")),
        "the system's action is recorded under its staff id"
    );
    region.shutdown().await
}
