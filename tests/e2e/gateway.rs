//! The gateway in a real browser (headless Chromium, driven by
//! playwright-core) against a real OpenID Connect provider (oidc-provider),
//! both from `tests/browser` (installed by `scripts/setup`). Screenshots of
//! each page go to `target/screenshots/gateway/`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use carenet_e2e::{TestRegion, Tuning};
use carenet_gateway::config::{GatewayConfig, OidcSection};
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

/// Starts the provider for a gateway at `base`; returns it and its issuer.
async fn provider(base: &str) -> anyhow::Result<(tokio::process::Child, String)> {
    let mut child = tokio::process::Command::new("node")
        .arg(browser_dir().join("provider.mjs"))
        .arg(format!("{base}/auth/callback"))
        .arg(format!("{base}/"))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await??
        .ok_or_else(|| anyhow::anyhow!("the provider printed nothing"))?;
    let issuer = serde_json::from_str::<serde_json::Value>(&first)?["issuer"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no issuer in {first}"))?
        .to_owned();
    // Keep reading what it prints, so it never writes into a closed pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, issuer))
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (_provider, issuer) = provider(&base).await?;
    let secret = region.dir.path().join("gateway-client-secret");
    std::fs::write(&secret, "gatewaysecret0123")?;
    let config = GatewayConfig {
        listen: base.trim_start_matches("http://").to_owned(),
        public_url: base.clone(),
        node_config: region.config_path("po-1"),
        session_key_file: region.dir.path().join("gateway-session.key"),
        secure_cookies: false,
        session_minutes: 60,
        oidc: OidcSection {
            issuer,
            client_id: "gateway".into(),
            client_secret_file: secret,
            staff_claim: "staff".into(),
            party_claim: "party".into(),
            roles_claim: "roles".into(),
            scopes: vec!["carenet".into()],
        },
    };
    config.validate()?;
    let state = carenet_gateway::build(config).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(carenet_gateway::serve(state, listener, async move {
        let _ = stopped.await;
    }));
    let shots = shots_dir("gateway");
    let _ = std::fs::remove_dir_all(&shots);
    let run = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new("node")
            .arg(browser_dir().join("login.mjs"))
            .env("GATEWAY_URL", &base)
            .env("SHOTS_DIR", &shots)
            .kill_on_drop(true)
            .output(),
    )
    .await??;
    let _ = stop.send(());
    let _ = server.await;
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "{log}");
    assert!(log.contains("all browser checks passed"), "{log}");
    for shot in [
        "01-inloggen.png",
        "02-start.png",
        "03-uitgelogd.png",
        "04-geen-toegang.png",
        "05-mentor.png",
    ] {
        assert!(shots.join(shot).exists(), "{shot}");
    }
    // Viewing a page is not an audited refusal (the mentor saw no overview).
    let audit = carenet_fabric::audit::list(&po.store.db, 0, 10_000).await?;
    assert!(
        audit.iter().all(|r| !r.action.starts_with("refused")),
        "{:?}",
        audit.iter().map(|r| &r.action).collect::<Vec<_>>()
    );
    region.shutdown().await
}
