//! The gateway and its identity provider, over real nodes and the real
//! provider (oidc-provider): a stalled provider is a 503 within 10 s and
//! JWT access tokens are checked without it; sessions live in the node's
//! database and end at logout, when the provider no longer accepts the
//! login, and by an admin (`carenet gateway sessions end`).
//!
//! Logins here go through the provider's own login pages with plain HTTP
//! (the browser tests do the same in Chromium).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use carenet_e2e::{TestRegion, Tuning};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::gateway::{bind, gateway_with, provider, provider_with, token, token_for};
use crate::three_parties;

/// A loopback TCP relay in front of the provider that can stall: then it
/// accepts connections and takes what they send, and answers nothing, as a
/// provider that hangs does (connections already open stall too).
struct Relay {
    url: String,
    stalled: Arc<AtomicBool>,
    upstream: Arc<std::sync::Mutex<Option<SocketAddr>>>,
}

impl Relay {
    async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let stalled = Arc::new(AtomicBool::new(false));
        let upstream = Arc::new(std::sync::Mutex::new(None::<SocketAddr>));
        let (s, u) = (stalled.clone(), upstream.clone());
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let (stalled, to) = (s.clone(), *u.lock().unwrap());
                tokio::spawn(async move {
                    let Some(to) = to else { return };
                    let Ok(outbound) = tokio::net::TcpStream::connect(to).await else {
                        return;
                    };
                    let (ri, wi) = inbound.into_split();
                    let (ro, wo) = outbound.into_split();
                    tokio::join!(pipe(ri, wo, stalled.clone()), pipe(ro, wi, stalled));
                });
            }
        });
        Ok(Self {
            url,
            stalled,
            upstream,
        })
    }

    fn to(&self, port: u16) {
        *self.upstream.lock().unwrap() = Some(SocketAddr::from(([127, 0, 0, 1], port)));
    }

    fn stall(&self, on: bool) {
        self.stalled.store(on, Ordering::SeqCst);
    }
}

/// Copies `from` to `to`, swallowing everything while stalled.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    stalled: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if stalled.load(Ordering::SeqCst) {
            continue;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

/// Cookies by name (the test's gateway and provider share no names).
#[derive(Clone, Default)]
pub(crate) struct Jar(BTreeMap<String, String>);

impl Jar {
    fn take(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let Some((pair, _)) = value.to_str().unwrap_or_default().split_once(';') else {
                continue;
            };
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() {
                    self.0.remove(k.trim());
                } else {
                    self.0.insert(k.trim().to_owned(), v.to_owned());
                }
            }
        }
    }

    pub(crate) fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Only the gateway's cookie `name`: what someone who copied it has.
    fn only(&self, name: &str) -> Jar {
        Jar(self
            .0
            .iter()
            .filter(|(k, _)| *k == name)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an http client")
}

/// Signs `user` in at the gateway `base` through the way in at `path`
/// (`/inloggen`, `/ouders/inloggen`) and the provider's own login and
/// consent pages; returns the browser's cookies.
pub(crate) async fn sign_in(base: &str, path: &str, user: &str) -> anyhow::Result<Jar> {
    let http = http();
    let mut jar = Jar::default();
    let mut url = format!("{base}{path}");
    let mut origin = base.to_owned();
    for _ in 0..20 {
        let answer = http.get(&url).header(COOKIE, jar.header()).send().await?;
        jar.take(&answer);
        let status = answer.status();
        if status.is_redirection() {
            let to = answer.headers()[LOCATION].to_str()?.to_owned();
            if to.starts_with("http") {
                let parsed = reqwest::Url::parse(&to)?;
                origin = parsed.origin().ascii_serialization();
                url = to;
            } else {
                url = format!("{origin}{to}");
            }
            if url == format!("{base}/") || url == format!("{base}/ouders") {
                return Ok(jar);
            }
            continue;
        }
        let page = answer.text().await?;
        anyhow::ensure!(status.is_success(), "{url}: {status}: {page}");
        // The provider's login or consent page: answer it.
        let form: Vec<(&str, &str)> = if page.contains("name=\"login\"") {
            vec![("prompt", "login"), ("login", user), ("password", "test")]
        } else {
            vec![("prompt", "consent")]
        };
        let answer = http
            .post(&url)
            .header(COOKIE, jar.header())
            .form(&form)
            .send()
            .await?;
        jar.take(&answer);
        anyhow::ensure!(
            answer.status().is_redirection(),
            "{url}: {}",
            answer.status()
        );
        let to = answer.headers()[LOCATION].to_str()?.to_owned();
        url = if to.starts_with("http") {
            to
        } else {
            format!("{origin}{to}")
        };
    }
    anyhow::bail!("the login of {user} did not come back")
}

/// The page at `base` + `path` with `jar`'s cookies: status and text.
pub(crate) async fn page(base: &str, path: &str, jar: &Jar) -> anyhow::Result<(u16, String)> {
    let answer = http()
        .get(format!("{base}{path}"))
        .header(COOKIE, jar.header())
        .send()
        .await?;
    Ok((answer.status().as_u16(), answer.text().await?))
}

/// The CSRF token in a page's forms.
pub(crate) fn csrf(page: &str) -> anyhow::Result<String> {
    let at = page
        .find("name=\"csrf\" value=\"")
        .ok_or_else(|| anyhow::anyhow!("no form in {page}"))?;
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    Ok(rest[..rest.find('"').unwrap_or(0)].to_owned())
}

/// Posts the logout form at `path` as the browser with `jar` does.
async fn log_out(base: &str, path: &str, jar: &Jar, csrf: &str) -> anyhow::Result<u16> {
    let answer = http()
        .post(format!("{base}{path}"))
        .header(COOKIE, jar.header())
        .header("origin", base)
        .form(&[("csrf", csrf)])
        .send()
        .await?;
    Ok(answer.status().as_u16())
}

fn signed_in(text: &str) -> bool {
    text.contains("Welkom")
}

/// The provider stalled: a page whose session is due for its re-check, a
/// new opaque token and a login coming back are each a 503 within 10 s,
/// and logging out still works; a JWT access token is still checked
/// (against the cached keys, no call) and an opaque token known from before
/// is answered from the cache. The claims of a JWT are checked (another
/// audience: 401). Afterwards everything works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_provider_is_a_503_within_10s_and_jwt_tokens_need_no_call() -> anyhow::Result<()>
{
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start("swv").await?;
    let po = region.start("po-1").await?;
    let relay = Relay::start().await?;
    let (listener, base) = bind().await?;
    let (_provider, issuer, port) = provider_with(&[&base], &[("ISSUER", &relay.url)]).await?;
    relay.to(port);
    assert_eq!(issuer, relay.url);
    let gw = gateway_with(&region, "po-1", &issuer, listener, &base, |c| {
        c.api.audience = Some("urn:carenet:api".into());
    })
    .await?;
    let http = reqwest::Client::new();
    let season = |t: String| {
        let http = http.clone();
        let url = format!("{base}/api/v1/season");
        async move {
            let started = Instant::now();
            let answer =
                tokio::time::timeout(Duration::from_secs(15), http.get(url).bearer_auth(t).send())
                    .await
                    .map_err(|_| anyhow::anyhow!("no answer within 15 s"))??;
            Ok::<_, anyhow::Error>((answer.status().as_u16(), started.elapsed()))
        }
    };
    let jwt = token_for(
        &issuer,
        "las-po-1",
        Some("carenet-api"),
        Some("urn:carenet:api"),
    )
    .await?;
    assert_eq!(jwt.split('.').count(), 3, "a JWT access token");
    let elsewhere = token_for(&issuer, "las-po-1", Some("carenet-api"), Some("urn:other")).await?;
    let opaque = token(&issuer, "las-po-1", Some("carenet-api")).await?;
    let fresh = token(&issuer, "las-po-1", Some("carenet-api")).await?;
    assert_eq!(season(jwt.clone()).await?.0, 200);
    assert_eq!(
        season(elsewhere.clone()).await?.0,
        401,
        "a token for another audience"
    );
    assert_eq!(season(opaque.clone()).await?.0, 200);

    // The login begun before the provider stalls comes back after it did.
    let browser = http_no_redirect();
    let begun = browser.get(format!("{base}/inloggen")).send().await?;
    let mut cookies = Jar::default();
    cookies.take(&begun);
    let to = reqwest::Url::parse(begun.headers()[LOCATION].to_str()?)?;
    let state = to
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("a state");

    // A member of staff signed in before it stalls, whose re-check is due.
    let ib = sign_in(&base, "/inloggen", "ib-1").await?;
    let form = csrf(&page(&base, "/", &ib).await?.1)?;
    carenet_fabric::with_db!(&po.store.db, pool => {
        sqlx::query("UPDATE gateway_session SET checked_at_ms = checked_at_ms - $1")
            .bind(16 * 60_000_i64)
            .execute(pool)
            .await?;
    });

    relay.stall(true);
    let started = Instant::now();
    let (status, _) =
        tokio::time::timeout(Duration::from_secs(15), page(&base, "/", &ib)).await??;
    assert_eq!(status, 503, "the re-check cannot be made");
    assert!(started.elapsed() < Duration::from_secs(10));
    // Logging out needs no provider.
    assert_eq!(log_out(&base, "/uitloggen", &ib, &form).await?, 303);
    assert!(!signed_in(&page(&base, "/", &ib).await?.1));
    let (status, took) = season(jwt.clone()).await?;
    assert_eq!(status, 200, "a JWT is checked without the provider");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(season(opaque.clone()).await?.0, 200, "known from the cache");
    let (status, took) = season(fresh.clone()).await?;
    assert_eq!(status, 503, "a new opaque token cannot be checked");
    assert!(took < Duration::from_secs(10), "{took:?}");
    let started = Instant::now();
    let back = tokio::time::timeout(
        Duration::from_secs(15),
        browser
            .get(format!("{base}/auth/callback?code=some-code&state={state}"))
            .header(COOKIE, cookies.header())
            .send(),
    )
    .await
    .map_err(|_| anyhow::anyhow!("the login hung"))??;
    assert_eq!(back.status().as_u16(), 503, "the login, too");
    assert!(started.elapsed() < Duration::from_secs(10));

    relay.stall(false);
    assert_eq!(season(fresh).await?.0, 200, "the provider is back");
    gw.stop().await;
    region.shutdown().await
}

fn http_no_redirect() -> reqwest::Client {
    http()
}

/// The same token signed with a new key (the provider rotated its keys):
/// the gateway fetches the new keys once and accepts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_access_tokens_follow_a_key_rotation() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start("swv").await?;
    region.start("po-1").await?;
    let relay = Relay::start().await?;
    let (listener, base) = bind().await?;
    let (first, issuer, port) =
        provider_with(&[&base], &[("ISSUER", &relay.url), ("KID", "key-1")]).await?;
    relay.to(port);
    let gw = gateway_with(&region, "po-1", &issuer, listener, &base, |c| {
        c.api.audience = Some("urn:carenet:api".into());
    })
    .await?;
    let http = reqwest::Client::new();
    let season = |t: String| {
        http.get(format!("{base}/api/v1/season"))
            .bearer_auth(t)
            .send()
    };
    let old = token_for(
        &issuer,
        "las-po-1",
        Some("carenet-api"),
        Some("urn:carenet:api"),
    )
    .await?;
    assert_eq!(season(old.clone()).await?.status(), 200);
    // The provider starts again with a new key under the same issuer.
    drop(first);
    let (_second, _, port) =
        provider_with(&[&base], &[("ISSUER", &relay.url), ("KID", "key-2")]).await?;
    relay.to(port);
    // Past the gateway's pause between fetches of the keys.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let new = token_for(
        &issuer,
        "las-po-1",
        Some("carenet-api"),
        Some("urn:carenet:api"),
    )
    .await?;
    assert_eq!(season(new).await?.status(), 200, "signed with the new key");
    assert_eq!(
        season(old).await?.status(),
        401,
        "the old key is no longer the provider's"
    );
    gw.stop().await;
    region.shutdown().await
}

/// Sessions live in the node's database: a copied cookie is refused after
/// logout (staff and guardians); a login is checked again at the provider
/// when due (new roles count, a blocked account is signed out, guardians
/// too); and an admin ends every session of a staff id from the command
/// line, audited, while other people's sessions stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_at_logout_at_the_provider_and_by_an_admin() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start("swv").await?;
    let po = region.start("po-1").await?;
    let (listener, base) = bind().await?;
    let (_provider, issuer) = provider(&[&base]).await?;
    let gw = gateway_with(&region, "po-1", &issuer, listener, &base, |_| {}).await?;
    let db = po.store.db.clone();
    let sessions = || async {
        let n: (i64,) = carenet_fabric::with_db!(&db, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM gateway_session").fetch_one(pool).await?
        });
        Ok::<_, anyhow::Error>(n.0)
    };
    // Makes every session's re-check due (as if 16 minutes had passed).
    let due = || async {
        carenet_fabric::with_db!(&db, pool => {
            sqlx::query("UPDATE gateway_session SET checked_at_ms = checked_at_ms - $1")
                .bind(16 * 60_000_i64)
                .execute(pool)
                .await?;
        });
        Ok::<_, anyhow::Error>(())
    };
    let account = |method: reqwest::Method, sub: &str, claims: serde_json::Value| {
        reqwest::Client::new()
            .request(method, format!("{issuer}/test/accounts/{sub}"))
            .json(&claims)
            .send()
    };

    // 1. Logout ends the session for every copy of the cookie.
    let ib = sign_in(&base, "/inloggen", "ib-1").await?;
    let copied = ib.only("carenet_session");
    let (status, start) = page(&base, "/", &copied).await?;
    assert!(status == 200 && signed_in(&start), "{start}");
    assert!(start.contains("intern begeleider"));
    let cookie = copied.0["carenet_session"].clone();
    assert!(!cookie.contains("ib-1"), "the cookie names no one");
    assert_eq!(
        log_out(&base, "/uitloggen", &ib, &csrf(&start)?).await?,
        303
    );
    let (_, after) = page(&base, "/", &copied).await?;
    assert!(
        !signed_in(&after),
        "a copied cookie is refused after logout"
    );
    assert_eq!(page(&base, "/dossiers", &copied).await?.0, 401);
    assert_eq!(sessions().await?, 0);

    // 2. Roles changed at the provider count from the next re-check.
    let ib = sign_in(&base, "/inloggen", "ib-1").await?;
    account(
        reqwest::Method::PUT,
        "ib-1",
        serde_json::json!({"staff": "ib-1", "party": "po-1", "roles": ["mentor"]}),
    )
    .await?
    .error_for_status()?;
    let (_, before) = page(&base, "/", &ib).await?;
    assert!(before.contains("intern begeleider"), "not yet due");
    due().await?;
    let (_, now) = page(&base, "/", &ib).await?;
    assert!(
        signed_in(&now) && !now.contains("intern begeleider") && now.contains("mentor"),
        "{now}"
    );
    assert_eq!(
        page(&base, "/dossiers", &ib).await?.0,
        403,
        "the IB's page is gone"
    );

    // 3. An account the provider no longer accepts is signed out.
    account(reqwest::Method::DELETE, "ib-1", serde_json::json!({}))
        .await?
        .error_for_status()?;
    due().await?;
    let (_, gone) = page(&base, "/", &ib).await?;
    assert!(!signed_in(&gone), "{gone}");
    assert_eq!(sessions().await?, 0, "the session ended");

    // 4. Guardians: logout ends the session for a copied cookie too, and a
    // blocked login is signed out.
    let parent = sign_in(&base, "/ouders/inloggen", "ouder-1").await?;
    let copied = parent.only("carenet_ouder");
    let (_, home) = page(&base, "/ouders", &copied).await?;
    assert!(
        home.contains("uitloggen") || home.contains("Uitloggen"),
        "{home}"
    );
    assert_eq!(
        log_out(&base, "/ouders/uitloggen", &parent, &csrf(&home)?).await?,
        303
    );
    let (_, after) = page(&base, "/ouders", &copied).await?;
    assert!(
        !after.contains("Uitloggen"),
        "a guardian's copied cookie is refused after logout"
    );
    assert_eq!(page(&base, "/ouders/kind/1", &copied).await?.0, 401);
    let other = sign_in(&base, "/ouders/inloggen", "ouder-2").await?;
    assert!(
        page(&base, "/ouders", &other)
            .await?
            .1
            .contains("Uitloggen")
    );
    account(reqwest::Method::DELETE, "ouder-2", serde_json::json!({}))
        .await?
        .error_for_status()?;
    due().await?;
    assert_eq!(page(&base, "/ouders/kind/1", &other).await?.0, 401);
    assert_eq!(sessions().await?, 0);

    // 5. An admin ends every session of a staff id; others keep theirs.
    account(
        reqwest::Method::PUT,
        "ib-1",
        serde_json::json!({"staff": "ib-1", "party": "po-1", "roles": ["support_coordinator_po"]}),
    )
    .await?
    .error_for_status()?;
    let laptop = sign_in(&base, "/inloggen", "ib-1").await?;
    let phone = sign_in(&base, "/inloggen", "ib-1").await?;
    let mentor = sign_in(&base, "/inloggen", "mentor-2").await?;
    for jar in [&laptop, &phone, &mentor] {
        assert!(signed_in(&page(&base, "/", jar).await?.1));
    }
    let dir = region.dir.path().display().to_string();
    let cli = |role: &'static str| {
        std::process::Command::new(carenet_e2e::carenet_bin())
            .args([
                "gateway",
                "sessions",
                "end",
                "--data-dir",
                &dir,
                "--party",
                "po-1",
            ])
            .args([
                "--by", "beheer-1", "--role", role, "--staff", "ib-1", "--json",
            ])
            .env("RUST_LOG", "warn")
            .output()
    };
    let refused = cli("mentor")?;
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("admin"),
        "{refused:?}"
    );
    assert!(
        signed_in(&page(&base, "/", &laptop).await?.1),
        "a mentor cannot end them"
    );
    let ended = cli("admin")?;
    assert!(ended.status.success(), "{ended:?}");
    let said: serde_json::Value = serde_json::from_slice(&ended.stdout)?;
    assert_eq!(said, serde_json::json!({"staff": "ib-1", "ended": 2}));
    for jar in [&laptop, &phone] {
        assert!(
            !signed_in(&page(&base, "/", jar).await?.1),
            "ended by the admin"
        );
    }
    assert!(
        signed_in(&page(&base, "/", &mentor).await?.1),
        "another's session stays"
    );
    let audit = carenet_fabric::audit::list(&po.store.db, 0, 10_000).await?;
    let actions: Vec<(&str, &str, &str)> = audit
        .iter()
        .filter(|r| r.action.contains("gateway_sessions"))
        .map(|r| (r.actor.as_str(), r.action.as_str(), r.message_id.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("beheer-1[mentor]", "refused:gateway_sessions_end", "ib-1"),
            ("beheer-1[admin]", "gateway_sessions_ended", "ib-1"),
        ]
    );
    gw.stop().await;
    region.shutdown().await
}

/// A NUL in a page's form (PostgreSQL refuses it in text) is the gateway's
/// own 400 naming the field, on both backends, never a server error; the
/// same lookup without it is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_a_form_is_a_400_naming_the_field() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start("swv").await?;
    region.start("po-1").await?;
    let (listener, base) = bind().await?;
    let (_provider, issuer) = provider(&[&base]).await?;
    let _gw = gateway_with(&region, "po-1", &issuer, listener, &base, |_| {}).await?;
    let ib = sign_in(&base, "/inloggen", "ib-1").await?;
    let (_, start) = page(&base, "/toestemming", &ib).await?;
    let token = csrf(&start)?;
    let lookup = |child: &'static str| {
        http()
            .post(format!("{base}/toestemming/leerling"))
            .header(COOKIE, ib.header())
            .header("origin", base.as_str())
            .form(&[("csrf", token.as_str()), ("child_ref", child)])
            .send()
    };
    let refused = lookup("pupil\u{0}-1").await?;
    assert_eq!(refused.status().as_u16(), 400);
    let text = refused.text().await?;
    assert!(
        text.contains("het leerlingnummer"),
        "the field, in Dutch: {text}"
    );
    assert!(!text.contains("pupil"), "the value is not repeated: {text}");
    assert_eq!(lookup("pupil-1").await?.status().as_u16(), 200);
    Ok(())
}
