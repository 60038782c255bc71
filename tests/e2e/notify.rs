//! E-mail notifications (issue 19 item 5, ADR 0009) against a real SMTP
//! server (aiosmtpd, with `tests/smtp/sink.py` writing each message it
//! takes to a file), the gateway of a real node, and a real OpenID Connect
//! provider whose logins carry the `email` claim: each event sends one mail
//! naming no pupil; a mail server that is down for a while gets every mail
//! afterwards, once; a guardian who chose the daily overview gets one mail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use carenet_consent::links::{self, NewInvitation};
use carenet_consent::record::{ConsentRequest, ConsentStore, Decision};
use carenet_consent::{Category, Purpose};
use carenet_e2e::{TestRegion, Tuning, wait_until};
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, PartyId, PartyKind, Role};
use carenet_gateway::config::{NotificationsSection, SmtpSection, SmtpTls};
use carenet_handover::dossier::{self, Route};
use carenet_handover::model::Extras;
use carenet_proto::v1::{self, consent_recipient::Target};
use reqwest::header::COOKIE;

use crate::gateway::{bind, gateway_with, provider};
use crate::gateway_sessions::{Jar, csrf, page, sign_in};
use crate::three_parties;

/// A real SMTP server on loopback, run by aiosmtpd; each message it takes
/// lands as a file in `dir`.
struct Smtp {
    port: u16,
    dir: PathBuf,
    server: Option<tokio::process::Child>,
}

impl Smtp {
    /// A free port and a directory; the server is not started yet.
    fn new(dir: &Path) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        Ok(Self {
            port,
            dir: dir.join("mails"),
            server: None,
        })
    }

    /// Starts the server and waits until it takes connections.
    async fn start(&mut self) -> anyhow::Result<()> {
        let sink = Path::new(env!("CARGO_MANIFEST_DIR")).join("smtp");
        let child = tokio::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "sink.Sink"])
            .arg(&self.dir)
            .env("PYTHONPATH", sink)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        self.server = Some(child);
        let port = self.port;
        wait_until(Duration::from_secs(20), || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
                .map(|_| ())
        })
        .await
    }

    /// The `[smtp]` section for a gateway mailing here (plain SMTP: the
    /// server is on this machine).
    fn section(&self) -> SmtpSection {
        SmtpSection {
            host: "127.0.0.1".into(),
            port: self.port,
            tls: SmtpTls::None,
            from: "carenet@vo-1.example".into(),
            username: None,
            password_file: None,
            timeout_secs: 5,
        }
    }

    /// Every message received so far.
    fn mails(&self) -> Vec<Mail> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut mails: Vec<Mail> = dir
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .map(|text| Mail::parse(&text))
            .collect();
        mails.sort_by(|a, b| (&a.to, &a.body).cmp(&(&b.to, &b.body)));
        mails
    }
}

#[derive(Debug)]
struct Mail {
    to: String,
    subject: String,
    body: String,
    whole: String,
}

impl Mail {
    fn parse(text: &str) -> Self {
        let text = text.replace("\r\n", "\n");
        let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                .unwrap_or_default()
                .to_owned()
        };
        Self {
            to: header("X-Envelope-To"),
            subject: header("Subject"),
            body: body.to_owned(),
            whole: text.clone(),
        }
    }

    /// The links in the body, as paths on `base`.
    fn paths(&self, base: &str) -> Vec<String> {
        self.body
            .lines()
            .filter_map(|l| l.strip_prefix(base))
            .map(str::to_owned)
            .collect()
    }
}

fn staff(store: &Store, id: &str, roles: &[Role]) -> Actor {
    Actor::new(store.party.clone(), id, roles.iter().copied()).unwrap()
}

fn day(offset: i64) -> String {
    carenet_consent::record::format_date(
        carenet_fabric::clock::today() + time::Duration::days(offset),
    )
}

/// What the test put at vo-1 that a mail must never name.
struct Personal {
    words: Vec<String>,
}

impl Personal {
    /// No word of it in the mail as a whole word, whatever its length (a
    /// first name like "Bo" too): not part of a longer word or number.
    fn check(&self, mail: &Mail) {
        for w in &self.words {
            assert!(
                !whole_word(&mail.whole, w),
                "{w:?} in a mail: {}",
                mail.whole
            );
        }
    }
}

/// Whether `word` stands in `text` as a whole word: no letter or digit
/// right before or after it.
fn whole_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// The particles of a Dutch surname ("van", "de", "ter"): words of every
/// mail, no part of who a person is.
const PARTICLES: &[&str] = &[
    "van", "de", "der", "den", "het", "ten", "ter", "te", "in", "op", "'t",
];

const PUPIL: &str = "vo-pupil-1";

/// At vo-1, around `PUPIL` (13): a consent request; a consent granted and
/// withdrawn; the transfer dossier waiting for the guardians' inzage; a
/// plan (coordinator zc-9) with an overdue action and its evaluation due
/// today; an invitation for the guardians (its code returned). With
/// `new_pupil`, also a PO dossier from po-1, received and assigned to
/// mentor-7. Returns the invitation code and what must stay out of mails.
async fn waiting_at_vo(region: &TestRegion, new_pupil: bool) -> anyhow::Result<(String, Personal)> {
    let vo = region.handle("vo-1");
    let store = vo.store.clone();
    let zc = staff(&store, "zc-9", &[Role::CareCoordinator]);
    let today = carenet_fabric::clock::today();
    let born = today.replace_year(today.year() - 13)?;
    let consents = ConsentStore::new(store.clone());
    let ask = |purpose| ConsentRequest {
        child_ref: PUPIL.into(),
        child_birth_date: born,
        purpose,
        recipients: vec![v1::ConsentRecipient {
            target: Some(Target::PartyId("swv".into())),
        }],
        categories: vec![Category::Pupil, Category::CareHistory],
        valid_from: today,
        valid_until: None,
    };
    consents
        .request(&zc, &ask(Purpose::ShareWithPartner))
        .await?;
    let ended = consents
        .request(&zc, &ask(Purpose::ShareWithPartner))
        .await?
        .version
        .record_id;
    let grantors = vec![v1::Grantor {
        role: v1::GrantorRole::Guardian as i32,
        name: "J. de Vries".into(),
    }];
    let evidence = v1::Evidence {
        kind: v1::EvidenceKind::RecordedConversation as i32,
        ..Default::default()
    };
    consents
        .grant(
            &zc,
            &ended,
            &Decision {
                grantors: grantors.clone(),
                evidence: evidence.clone(),
                today,
            },
        )
        .await?;
    consents.withdraw(&zc, &ended, grantors, evidence).await?;
    let vombo = crate::handover::unseen_vombo();
    let summary = vombo.summary();
    let id = dossier::create(&store, &zc, PUPIL, Route::VoVervolg, &vombo).await?;
    dossier::submit_for_inspection(&store, &zc, &id).await?;
    let birth = carenet_consent::record::format_date(born);
    carenet_caseplan::plan::open(
        &store,
        &zc,
        carenet_caseplan::plan::NewPlan {
            child_ref: PUPIL.into(),
            child_name: "Sanne Bakker".into(),
            child_birth_date: birth.clone(),
            origin: "zat".into(),
            origin_id: "zat-1".into(),
            coordinator: "zc-9".into(),
            reports_back: "zc-9".into(),
            evaluation_on: day(0),
            actions: vec![v1::CaseAction {
                owner: "vo-1".into(),
                what: "Dagelijkse check-in".into(),
                goal: "Weer naar school".into(),
                due_on: day(-2),
                category: String::new(),
                person: String::new(),
            }],
            ..Default::default()
        },
    )
    .await?;
    let code = links::invite(
        &store,
        &zc,
        &NewInvitation {
            child_ref: PUPIL.into(),
            guardian_name: "J. de Vries".into(),
            child_birth_date: born,
            days: 30,
        },
        false,
    )
    .await?
    .code;
    let mut words = vec![
        PUPIL.to_owned(),
        "Sanne".to_owned(),
        "Bakker".to_owned(),
        birth,
        format!(
            "{:02}-{:02}-{}",
            born.day(),
            born.month() as u8,
            born.year()
        ),
        "Dagelijkse check-in".to_owned(),
        "de Vries".to_owned(),
    ];
    words.extend(summary.pupil_name.split_whitespace().map(str::to_owned));
    words.extend(summary.birth_date);
    if new_pupil {
        let po = region.handle("po-1");
        let ib = staff(&po.store, "ib-1", &[Role::SupportCoordinatorPo]);
        let povo = crate::handover::unseen_povo(Extras::default());
        let s = povo.summary();
        words.extend(s.pupil_name.split_whitespace().map(str::to_owned));
        words.extend(s.birth_date);
        words.push("pupil-1".into());
        let id = dossier::create(&po.store, &ib, "pupil-1", Route::PoVo, &povo).await?;
        dossier::submit_for_inspection(&po.store, &ib, &id).await?;
        dossier::record_inspection(
            &po.store,
            &ib,
            &id,
            today,
            dossier::GuardiansView::new(None, dossier::Akkoord::Yes),
        )
        .await?;
        let to = [PartyId::parse("to", "vo-1")?];
        dossier::publish(&po.store, &po.directory, &ib, &id, &to, None).await?;
        let item = crate::handover::wait_incoming(&store, 1).await?;
        carenet_handover::incoming::assign(
            &store,
            PartyKind::VoSchool,
            &zc,
            &item.message_id,
            "mentor-7",
            &[],
        )
        .await?;
    }
    // Names of one letter or two are no test of anything.
    words.retain(|w| w.len() > 3);
    Ok((code, Personal { words }))
}

/// The notifier of the test gateway: quick, with short retries.
fn quick(digest_hour: u8) -> NotificationsSection {
    NotificationsSection {
        poll_secs: 1,
        digest_hour,
        retry_base_secs: 1,
        retry_max_secs: 2,
        give_up_after_hours: 1,
    }
}

/// Serves vo-1's gateway mailing to `smtp`; the logins ask for `email`
/// because `[smtp]` is set (the configured scopes do not name it).
async fn vo_gateway(
    region: &TestRegion,
    smtp: &Smtp,
    digest_hour: u8,
) -> anyhow::Result<(crate::gateway::Gateway, String, tokio::process::Child)> {
    let (listener, base) = bind().await?;
    let (provider, issuer) = provider(&[&base]).await?;
    let section = smtp.section();
    let gw = gateway_with(region, "vo-1", &issuer, listener, &base, |c| {
        c.smtp = Some(section);
        c.notifications = quick(digest_hour);
    })
    .await?;
    Ok((gw, base, provider))
}

/// The guardian links the child with the school's code on the portal.
async fn link_child(base: &str, jar: &Jar, code: &str) -> anyhow::Result<()> {
    let (status, home) = page(base, "/ouders", jar).await?;
    assert_eq!(status, 200, "{home}");
    let token = csrf(&home)?;
    let answer = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?
        .post(format!("{base}/ouders/koppelen"))
        .header(COOKIE, jar.header())
        .header("origin", base)
        .form(&[("csrf", token.as_str()), ("code", code)])
        .send()
        .await?;
    assert!(answer.status().is_redirection(), "{}", answer.status());
    Ok(())
}

/// A form on the page at `at` posted as the person with `jar`.
async fn choose(base: &str, at: &str, action: &str, jar: &Jar, mode: &str) -> anyhow::Result<()> {
    let (_, text) = page(base, at, jar).await?;
    let token = csrf(&text)?;
    let answer = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?
        .post(format!("{base}{action}"))
        .header(COOKIE, jar.header())
        .header("origin", base)
        .form(&[("csrf", token.as_str()), ("wijze", mode)])
        .send()
        .await?;
    assert!(answer.status().is_redirection(), "{}", answer.status());
    Ok(())
}

/// Waits until `smtp` holds `n` mails, then a while longer: no more come.
async fn exactly(smtp: &Smtp, n: usize) -> anyhow::Result<Vec<Mail>> {
    wait_until(Duration::from_secs(60), || async {
        (smtp.mails().len() >= n).then_some(())
    })
    .await?;
    // Three more rounds of the notifier (every second): nothing twice.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mails = smtp.mails();
    assert_eq!(mails.len(), n, "{mails:#?}");
    Ok(mails)
}

fn by_recipient(mails: &[Mail]) -> BTreeMap<String, usize> {
    let mut n = BTreeMap::new();
    for m in mails {
        *n.entry(m.to.clone()).or_default() += 1;
    }
    n
}

/// The outbox's rows at vo-1: (event, state).
async fn outbox(store: &Store) -> anyhow::Result<Vec<(String, String, String)>> {
    Ok(carenet_fabric::with_db!(&store.db, pool => {
        sqlx::query_as("SELECT person, event, state FROM notify_outbox ORDER BY person, event")
            .fetch_all(pool)
            .await?
    }))
}

/// Each event sends one mail, to the person it waits for, with the fixed
/// sentence and a link to the page behind login that opens for them, and
/// nothing about the pupil; each sending is audited; the start page lists
/// the same items, linked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_sends_one_mail_without_personal_data() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let (code, personal) = waiting_at_vo(&region, true).await?;
    let mut smtp = Smtp::new(region.dir.path())?;
    smtp.start().await?;
    let (gw, base, _provider) = vo_gateway(&region, &smtp, 7).await?;
    let zc = sign_in(&base, "/inloggen", "zc-9").await?;
    let mentor = sign_in(&base, "/inloggen", "mentor-7").await?;
    let parent = sign_in(&base, "/ouders/inloggen", "ouder-1").await?;
    link_child(&base, &parent, &code).await?;
    // The guardian: a consent request, a withdrawal confirmed, a dossier
    // to read, a plan changed; the coordinator: an overdue action and an
    // evaluation due; the mentor: a new pupil's digest.
    let mails = exactly(&smtp, 7).await?;
    let expected: BTreeMap<String, usize> = [
        ("ouder-1@thuis.example".to_owned(), 4),
        ("zc-9@vo-1.example".to_owned(), 2),
        ("mentor-7@vo-1.example".to_owned(), 1),
    ]
    .into();
    assert_eq!(by_recipient(&mails), expected);
    let jars = [
        ("ouder-1@thuis.example", &parent),
        ("zc-9@vo-1.example", &zc),
        ("mentor-7@vo-1.example", &mentor),
    ];
    for m in &mails {
        assert_eq!(m.subject, "Bericht van carenet");
        assert!(
            m.body.starts_with("Er staat iets voor u klaar in carenet."),
            "{}",
            m.body
        );
        personal.check(m);
        let paths = m.paths(&base);
        assert_eq!(paths.len(), 1, "{}", m.body);
        // The link opens, for the person it was sent to, after login.
        let jar = jars.iter().find(|(to, _)| *to == m.to).expect("a person").1;
        let (status, text) = page(&base, &paths[0], jar).await?;
        assert_eq!(status, 200, "{}: {text}", paths[0]);
        // Without a login it is no page of content: a 401 or a redirect to
        // a login, and nothing of the page the person sees.
        let answer = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?
            .get(format!("{base}{}", paths[0]))
            .send()
            .await?;
        let status = answer.status().as_u16();
        let location = answer
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let anonymous = answer.text().await?;
        match status {
            401 => assert!(
                anonymous.contains("Niet ingelogd"),
                "{}: {anonymous}",
                paths[0]
            ),
            302 | 303 | 307 => assert!(location.contains("inloggen"), "{}: {location}", paths[0]),
            other => panic!("{}: {other} without a login", paths[0]),
        }
        let main = |t: &str| {
            t.split("<main")
                .nth(1)
                .and_then(|m| m.split("</main>").next())
                .unwrap_or_default()
                .to_owned()
        };
        assert_ne!(
            main(&anonymous),
            main(&text),
            "{}: the page without a login",
            paths[0]
        );
    }
    let events: Vec<String> = outbox(&region.handle("vo-1").store)
        .await?
        .into_iter()
        .map(|(_, e, s)| format!("{e}:{s}"))
        .collect();
    for e in [
        "consent_request",
        "withdrawal_confirmed",
        "dossier_to_read",
        "plan_changed",
        "task_overdue",
        "evaluation_due",
        "new_pupil",
    ] {
        assert!(events.contains(&format!("{e}:sent")), "{e} in {events:?}");
    }
    // Each sending in the audit log, naming the event and no address.
    let log = carenet_fabric::audit::list(&region.handle("vo-1").store.db, 0, 10_000).await?;
    let sent: Vec<_> = log
        .iter()
        .filter(|r| r.action == "notification_sent")
        .collect();
    assert_eq!(sent.len(), 7);
    assert!(log.iter().all(|r| !format!("{r:?}").contains("@")));
    // The start page lists the coordinator's items, each linked to the
    // filtered list of them, which links each to its plan.
    let (_, start) = page(&base, "/", &zc).await?;
    for label in ["Acties over de datum", "Evaluaties van een plan te houden"] {
        assert!(start.contains(label), "{label}: {start}");
    }
    let links = |html: &str, prefix: &str| -> Vec<String> {
        html.split("href=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .filter(|h| h.starts_with(prefix))
            .map(str::to_owned)
            .collect()
    };
    let lists = links(&start, "/plannen?");
    assert_eq!(lists.len(), 2, "{start}");
    for list in lists {
        let (status, html) = page(&base, &list, &zc).await?;
        assert_eq!(status, 200, "{list}");
        let plan_links = links(&html, "/plannen/");
        assert!(!plan_links.is_empty(), "{html}");
        for href in plan_links {
            let (status, _) = page(&base, &href, &zc).await?;
            assert_eq!(status, 200, "{href}");
        }
    }
    // The guardian's portal lists theirs, linked.
    let (_, home) = page(&base, "/ouders", &parent).await?;
    for label in [
        "Er wordt om uw toestemming gevraagd",
        "Overdrachtsdossier om te lezen",
        "Het plan van aanpak is gewijzigd",
    ] {
        assert!(home.contains(label), "{label}: {home}");
    }
    // The same in real browsers, photographed and checked by axe.
    let shots = crate::gateway::shots_dir("notify");
    let _ = std::fs::remove_dir_all(&shots);
    let shots_s = shots.display().to_string();
    crate::gateway::browser(
        "notify.mjs",
        &[("VO_URL", &base), ("SHOTS_DIR", &shots_s)],
        "all notification page checks passed",
    )
    .await?;
    for shot in [
        "70-start-wat-wacht-op-mij.png",
        "71-ouder-wat-wacht-op-u.png",
    ] {
        assert!(shots.join(shot).exists(), "{shot}");
    }
    gw.stop().await;
    region.shutdown().await
}

/// The mail server is down while events happen: nothing is lost; once it
/// is up, every mail arrives, each once, and each was tried again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_server_that_was_down_gets_every_mail_once() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let (code, personal) = waiting_at_vo(&region, false).await?;
    let mut smtp = Smtp::new(region.dir.path())?;
    let (gw, base, _provider) = vo_gateway(&region, &smtp, 7).await?;
    let _zc = sign_in(&base, "/inloggen", "zc-9").await?;
    let parent = sign_in(&base, "/ouders/inloggen", "ouder-1").await?;
    link_child(&base, &parent, &code).await?;
    let store = region.handle("vo-1").store.clone();
    // Every item in the outbox, each tried at least twice and still pending.
    let tried = |n: i64| {
        let store = store.clone();
        async move {
            let rows: Vec<(i64, String)> = carenet_fabric::with_db!(&store.db, pool => {
                sqlx::query_as("SELECT attempts, state FROM notify_outbox")
                    .fetch_all(pool)
                    .await
                    .ok()?
            });
            (rows.len() == 6 && rows.iter().all(|(a, s)| *a >= n && s == "pending")).then_some(())
        }
    };
    wait_until(Duration::from_secs(60), || tried(2)).await?;
    assert!(smtp.mails().is_empty());
    smtp.start().await?;
    let mails = exactly(&smtp, 6).await?;
    for m in &mails {
        personal.check(m);
    }
    let expected: BTreeMap<String, usize> = [
        ("ouder-1@thuis.example".to_owned(), 4),
        ("zc-9@vo-1.example".to_owned(), 2),
    ]
    .into();
    assert_eq!(by_recipient(&mails), expected);
    let rows = outbox(&store).await?;
    assert!(rows.iter().all(|(_, _, s)| s == "sent"), "{rows:?}");
    gw.stop().await;
    region.shutdown().await
}

/// A guardian who chose the daily overview gets one mail with every item
/// that waits, not one per item, and no second mail that day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guardian_with_the_daily_overview_gets_one_mail() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let (code, personal) = waiting_at_vo(&region, false).await?;
    let mut smtp = Smtp::new(region.dir.path())?;
    smtp.start().await?;
    // The overview goes from midnight: at once, in the test.
    let (gw, base, _provider) = vo_gateway(&region, &smtp, 0).await?;
    let parent = sign_in(&base, "/ouders/inloggen", "ouder-1").await?;
    choose(&base, "/ouders", "/ouders/meldingen", &parent, "dagelijks").await?;
    let (_, home) = page(&base, "/ouders", &parent).await?;
    assert!(home.contains(r#"value="dagelijks" checked"#), "{home}");
    let (_, said) = page(&base, "/ouders?m=meldingen", &parent).await?;
    assert!(said.contains("Uw keuze voor berichten per e-mail is opgeslagen."));
    link_child(&base, &parent, &code).await?;
    let mails = exactly(&smtp, 1).await?;
    let m = &mails[0];
    assert_eq!(m.to, "ouder-1@thuis.example");
    personal.check(m);
    // Four items, three pages (the consent request and the withdrawal are
    // both on the child's page): one link each.
    let mut paths = m.paths(&base);
    paths.sort();
    assert_eq!(paths.len(), 3, "{}", m.body);
    let store = region.handle("vo-1").store.clone();
    let rows = outbox(&store).await?;
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(rows.iter().all(|(_, _, s)| s == "sent"), "{rows:?}");
    // A new item the same day waits for tomorrow's overview.
    let zc = staff(&store, "zc-9", &[Role::CareCoordinator]);
    let today = carenet_fabric::clock::today();
    ConsentStore::new(store.clone())
        .request(
            &zc,
            &ConsentRequest {
                child_ref: PUPIL.into(),
                child_birth_date: today.replace_year(today.year() - 13)?,
                purpose: Purpose::ShareWithPartner,
                recipients: vec![v1::ConsentRecipient {
                    target: Some(Target::PartyId("swv".into())),
                }],
                categories: vec![Category::Pupil],
                valid_from: today,
                valid_until: None,
            },
        )
        .await?;
    wait_until(Duration::from_secs(30), || async {
        let rows = outbox(&store).await.ok()?;
        rows.iter().any(|(_, _, s)| s == "pending").then_some(())
    })
    .await?;
    exactly(&smtp, 1).await?;
    gw.stop().await;
    region.shutdown().await
}

/// At the sending school: feedback on a dossier came back and another
/// school asked for a dossier; the IB gets one mail for each, naming
/// neither the pupil nor the school, each link opening for the IB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ib_is_told_of_feedback_and_of_a_dossier_request() -> anyhow::Result<()> {
    let mut plans = three_parties();
    plans.push(carenet_node::region::PartyPlan::new(
        "vo-2",
        PartyKind::VoSchool,
        "VO 2",
    ));
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let po = region.handle("po-1");
    let vo = region.handle("vo-1");
    let ib = staff(&po.store, "ib-1", &[Role::SupportCoordinatorPo]);
    let zc = staff(&vo.store, "zc-1", &[Role::CareCoordinator]);
    let povo = crate::handover::unseen_povo(Extras::default());
    let s = povo.summary();
    let id = dossier::create(&po.store, &ib, "pupil-1", Route::PoVo, &povo).await?;
    dossier::submit_for_inspection(&po.store, &ib, &id).await?;
    let to = [PartyId::parse("to", "vo-1")?];
    // The IB recorded the school the pupil goes to.
    carenet_handover::destination::set(&po.store, &po.directory, &ib, &id, &to[0]).await?;
    dossier::record_inspection(
        &po.store,
        &ib,
        &id,
        carenet_fabric::clock::today(),
        dossier::GuardiansView::new(None, dossier::Akkoord::Yes),
    )
    .await?;
    dossier::publish(&po.store, &po.directory, &ib, &id, &to, None).await?;
    // The VO school sends feedback under its own consent.
    let item = crate::handover::wait_incoming(&vo.store, 1).await?;
    carenet_handover::incoming::register_pupil(
        &vo.store,
        PartyKind::VoSchool,
        &zc,
        &item.message_id,
        "pupil-1",
    )
    .await?;
    let record = carenet_e2e::granted_consent(
        &vo.store,
        Purpose::FeedbackToSender,
        &["po-1"],
        vec![Category::EducationalSupport],
    )
    .await?;
    carenet_handover::incoming::send_feedback(
        &vo.store,
        &zc,
        &item.message_id,
        "Goed gestart in de brugklas.",
        &record,
        "pupil-1",
    )
    .await?;
    wait_until(Duration::from_secs(30), || async {
        crate::handover::outgoing_status(&po.store, &id)
            .await
            .filter(|r| r.feedback)
    })
    .await?;
    // Another school asks for the pupil's dossier: it waits for the IB.
    let (bsn, born) = ("269326728", "2003-03-17");
    crate::dossier_request::ask(&region, "vo-2", bsn, born).await?;
    let mut smtp = Smtp::new(region.dir.path())?;
    smtp.start().await?;
    let (listener, base) = bind().await?;
    let (_provider, issuer) = provider(&[&base]).await?;
    let mut section = smtp.section();
    section.from = "carenet@po-1.example".into();
    let gw = gateway_with(&region, "po-1", &issuer, listener, &base, |c| {
        c.smtp = Some(section);
        c.notifications = quick(7);
    })
    .await?;
    // A team lead sees the handover overview but may not read feedback
    // (FEEDBACK_READ): they are not told of it.
    reqwest::Client::new()
        .put(format!("{issuer}/test/accounts/tl-6"))
        .json(&serde_json::json!({"staff": "tl-6", "party": "po-1",
            "roles": ["team_lead"], "email": "tl-6@po-1.example"}))
        .send()
        .await?
        .error_for_status()?;
    sign_in(&base, "/inloggen", "tl-6").await?;
    let jar = sign_in(&base, "/inloggen", "ib-1").await?;
    let mails = exactly(&smtp, 2).await?;
    let mut personal = Personal {
        words: vec![
            "pupil-1".into(),
            bsn.into(),
            born.into(),
            "Goed gestart".into(),
            "VO 1".into(),
            "VO 2".into(),
        ],
    };
    personal.words.extend(
        s.pupil_name
            .split_whitespace()
            .filter(|w| !PARTICLES.contains(w))
            .map(str::to_owned),
    );
    personal.words.extend(s.birth_date);
    for m in &mails {
        assert_eq!(m.to, "ib-1@po-1.example");
        personal.check(m);
        let paths = m.paths(&base);
        assert_eq!(paths.len(), 1, "{}", m.body);
        let (status, text) = page(&base, &paths[0], &jar).await?;
        assert_eq!(status, 200, "{}: {text}", paths[0]);
    }
    let mut events: Vec<String> = outbox(&po.store)
        .await?
        .into_iter()
        .map(|(_, e, s)| format!("{e}:{s}"))
        .collect();
    events.sort();
    assert_eq!(events, ["dossier_request:sent", "feedback_received:sent"]);
    // The start page lists the feedback, linked to the list of the
    // dossiers it came back on, which links the dossier.
    let (_, start) = page(&base, "/", &jar).await?;
    assert!(start.contains("Terugkoppeling ontvangen"), "{start}");
    assert!(
        start.contains("href=\"/dossiers?terugkoppeling=ontvangen\""),
        "{start}"
    );
    let (status, list) = page(&base, "/dossiers?terugkoppeling=ontvangen", &jar).await?;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list.matches("<tr data-item>").count(), 1, "{list}");
    assert!(list.contains(&format!("href=\"/dossiers/{id}\"")), "{list}");
    gw.stop().await;
    region.shutdown().await
}

/// A ZAT partner's staff: the plan held at the school with a task for the
/// partner reaches the partner's node; its staff get one mail, whose link
/// opens the partner's view of the plan, naming no pupil.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_is_told_of_a_task_in_a_plan() -> anyhow::Result<()> {
    let plans = vec![
        carenet_node::region::PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        carenet_node::region::PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        carenet_node::region::PartyPlan::zat("jgz-1", "jgz", "JGZ"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let vo = region.handle("vo-1");
    let jgz = region.handle("jgz-1");
    let (plan, _) =
        crate::care_guard::plan_with_member(&vo.store, "pupil-7", "Sanne Bakker", "jgz-1").await?;
    // The view with the partner's task arrives at the partner's node.
    wait_until(Duration::from_secs(30), || async {
        let n: i64 = carenet_fabric::with_db!(&jgz.store.db, pool => {
            let _ = carenet_caseplan::member::sync(&jgz.store).await;
            sqlx::query_scalar("SELECT COUNT(*) FROM case_view_in").fetch_one(pool).await.ok()?
        });
        (n == 1).then_some(())
    })
    .await?;
    let mut smtp = Smtp::new(region.dir.path())?;
    smtp.start().await?;
    let (listener, base) = bind().await?;
    let (_provider, issuer) = provider(&[&base]).await?;
    let mut section = smtp.section();
    section.from = "carenet@jgz-1.example".into();
    let gw = gateway_with(&region, "jgz-1", &issuer, listener, &base, |c| {
        c.smtp = Some(section);
        c.notifications = quick(7);
    })
    .await?;
    let jar = sign_in(&base, "/inloggen", "jgz-3").await?;
    let mails = exactly(&smtp, 1).await?;
    let m = &mails[0];
    assert_eq!(m.to, "jgz-3@jgz-1.example");
    Personal {
        words: vec![
            "pupil-7".into(),
            "Sanne".into(),
            "Bakker".into(),
            "Gesprek met de jeugdarts".into(),
            "2013-04-02".into(),
        ],
    }
    .check(m);
    let paths = m.paths(&base);
    assert_eq!(paths, [format!("/deelname/vo-1/{plan}")]);
    let (status, text) = page(&base, &paths[0], &jar).await?;
    assert_eq!(status, 200, "{text}");
    let events: Vec<String> = outbox(&jgz.store)
        .await?
        .into_iter()
        .map(|(_, e, s)| format!("{e}:{s}"))
        .collect();
    assert_eq!(events, ["task_assigned:sent"]);
    gw.stop().await;
    region.shutdown().await
}
