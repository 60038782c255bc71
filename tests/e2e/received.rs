//! A received dossier, readable (over real nodes, the real provider and the
//! gateway): the receiving school's care coordinator reads every category
//! of it on its page and through the JSON API, downloads each attachment
//! byte for byte, exports it as an OSO file that passes the XSD and the
//! official OV rules; a mentor it is not assigned to is refused (audited);
//! every reading is audited at the receiving school and shows in the
//! guardians' "wie heeft wat gezien" at the sending school.

use std::time::Duration;

use base64::Engine as _;
use carenet_consent::Category;
use carenet_consent::portal;
use carenet_e2e::{TestRegion, Tuning, wait_until};
use carenet_fabric::{PartyId, PartyKind, Role};
use carenet_handover::dossier::{self, Route};
use carenet_handover::incoming;
use carenet_handover::model::{Dossier, Extras};
use carenet_handover::reading;
use carenet_handover::xml::Element;
use reqwest::header::COOKIE;

use crate::gateway::{bind, gateway, provider, token};
use crate::gateway_sessions::{csrf, http, page, sign_in};
use crate::handover::{staff, unseen_povo, wait_incoming};
use crate::oso::validate;

const T: Duration = Duration::from_secs(30);

/// Text as askama writes it into a page.
pub(crate) fn escaped(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// The leaves of `e` whose text a page shows as it is (not a date, a
/// boolean, a code with a description or an attachment's content).
pub(crate) fn plain_texts(e: &Element, out: &mut Vec<String>) {
    if e.name == "bestandsinhoud" || e.name == "categorie_uitlevering" {
        return;
    }
    if e.children.is_empty() {
        if let Some(t) = e.text.as_deref().map(str::trim)
            && t.len() > 3
            && !matches!(t, "true" | "false")
            && !(t.len() == 10 && t.as_bytes()[4] == b'-')
            && e.attributes.is_empty()
        {
            // A code of an OSO code list shows as its words.
            out.push(carenet_handover::codes::element(&e.name, t).unwrap_or_else(|| t.to_owned()));
        }
        return;
    }
    for c in &e.children {
        plain_texts(c, out);
    }
}

/// Every attachment's bytes, in the order the page numbers them (by
/// category, then document order).
pub(crate) fn attachments(d: &Dossier) -> Vec<(String, Vec<u8>)> {
    fn walk(e: &Element, out: &mut Vec<(String, Vec<u8>)>) {
        if e.name == "document" {
            let text: String = e
                .text_at("bestandsinhoud")
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text)
                .expect("base64 in the example");
            out.push((e.text_at("bestandsnaam").unwrap_or("").to_owned(), bytes));
            return;
        }
        for c in &e.children {
            walk(c, out);
        }
    }
    let mut out = Vec::new();
    for category in Category::all() {
        for s in d.sections.iter().filter(|s| s.category == category) {
            walk(&s.element, &mut out);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vo_coordinator_reads_every_category_of_a_received_dossier_and_the_guardians_see_it()
-> anyhow::Result<()> {
    let mut region = TestRegion::create(crate::three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let po = region.handle("po-1");
    let vo = region.handle("vo-1");
    let ib = staff(&po.store, "ib-1", &[Role::SupportCoordinatorPo]);

    // The IB sends the POVO example with every extra of the handbook.
    let extras = Extras {
        what_works: Some("Korte instructie, daarna zelf aan de slag.".into()),
        what_to_avoid: Some("Onverwachte toetsen zonder aankondiging.".into()),
        talents: Some("Tekenen en techniek".into()),
        interests: Some("Voetbal & muziek".into()),
        pupil_voice: Some("Ik wil naast iemand zitten die ik ken.".into()),
        agreements: Some("Mentor belt ouders in week 2.".into()),
        contact: Some("Juf Anja, 010-1234567".into()),
        ..Extras::default()
    };
    let id = dossier::create(&po.store, &ib, "pupil-1", Route::PoVo, &unseen_povo(extras)).await?;
    // A guardian of the pupil, linked on the primary school's portal.
    let guardian = crate::portal::guardian(&po.store, "s-1");
    let code = crate::portal::invite(&po.store, &ib, "pupil-1", crate::portal::BORN, 7, true)
        .await?
        .code;
    portal::redeem(&po.store, &guardian, &code).await?;
    let link = portal::linked(&po.store, &guardian, "pupil-1").await?;

    dossier::submit_for_inspection(&po.store, &ib, &id).await?;
    dossier::record_inspection(
        &po.store,
        &ib,
        &id,
        carenet_fabric::clock::today(),
        dossier::GuardiansView::new(
            Some("Wij herkennen ons kind hierin.".into()),
            dossier::Akkoord::Yes,
        ),
    )
    .await?;
    dossier::publish(
        &po.store,
        &po.directory,
        &ib,
        &id,
        &[PartyId::parse("to", "vo-1")?],
        None,
    )
    .await?;
    let item = wait_incoming(&vo.store, 1).await?;
    let message = item.message_id.clone();
    let received = incoming::dossier(&vo.store, &message).await?;

    let (listener, base) = bind().await?;
    let (_provider, issuer) = provider(&[&base]).await?;
    let gw = gateway(&region, "vo-1", &issuer, listener, &base).await?;
    let seg = |s: &str| s.replace('.', "%2E");

    // The care coordinator's page: every category, every extra.
    let zc = sign_in(&base, "/inloggen", "zc-9").await?;
    let path = format!("/ontvangen/{}", seg(&message));
    let (status, html) = page(&base, &path, &zc).await?;
    assert_eq!(status, 200, "{html}");
    for category in received.categories() {
        assert!(
            html.contains(&format!("id=\"deel-{}\"", category.as_str())),
            "the section of {category:?}"
        );
    }
    for s in &received.sections {
        let mut texts = Vec::new();
        plain_texts(&s.element, &mut texts);
        for t in texts {
            assert!(
                html.contains(&escaped(&t)),
                "{t:?} of {} on the page",
                s.path()
            );
        }
    }
    for (heading, text) in [
        ("Wat werkt", "Korte instructie, daarna zelf aan de slag."),
        (
            "Wat te vermijden",
            "Onverwachte toetsen zonder aankondiging.",
        ),
        ("Talenten", "Tekenen en techniek"),
        ("Interesses", "Voetbal &#38; muziek"),
        (
            "Wat de leerling zelf zegt",
            "Ik wil naast iemand zitten die ik ken.",
        ),
        ("Afspraken", "Mentor belt ouders in week 2."),
        ("Zienswijze van de ouders", "Wij herkennen ons kind hierin."),
        (
            "Toetsresultaten",
            "Drempelonderzoek 678 2010 Technisch lezen",
        ),
        ("Verzuim", "Dagdelen geoorloofd verzuim"),
        ("Schoolloopbaan", "Schoolperiode"),
        // Codes as words: the advice (OSO codelist 2: 40, 42 and 50).
        ("Schooladvies", "vmbo gemengde leerweg (vmbo-gl)"),
        ("Wens van de ouders", "vmbo-gl tot en met vmbo-tl"),
        (
            "Wens van de leerling",
            "vmbo theoretische leerweg (vmbo-tl)",
        ),
    ] {
        assert!(html.contains(heading), "{heading}");
        assert!(html.contains(text), "{text}");
    }
    assert!(!html.contains("UEsDB"), "no attachment content on the page");

    // Every attachment, byte for byte, as a download (never inline).
    let expected = attachments(&received);
    assert!(expected.len() >= 3, "the example has attachments");
    for (n, (name, bytes)) in expected.iter().enumerate() {
        let href = format!("{path}/bijlagen/{}", n + 1);
        assert!(
            html.contains(&format!("href=\"{href}\"")),
            "{href} on the page"
        );
        let answer = http()
            .get(format!("{base}{href}"))
            .header(COOKIE, zc.header())
            .send()
            .await?;
        assert_eq!(answer.status(), 200, "{href}");
        let h = answer.headers();
        assert_eq!(h["x-content-type-options"], "nosniff");
        let disposition = h["content-disposition"].to_str()?.to_owned();
        assert!(disposition.starts_with("attachment;"), "{disposition}");
        assert!(disposition.contains(name.as_str()), "{disposition}");
        assert!(!h["content-type"].to_str()?.contains("html"));
        assert_eq!(&answer.bytes().await?[..], &bytes[..], "{href}");
    }
    let none = http()
        .get(format!("{base}{path}/bijlagen/{}", expected.len() + 1))
        .header(COOKIE, zc.header())
        .send()
        .await?;
    assert_eq!(none.status(), 404);

    // The OSO export from the page: the XSD and the official OV rules.
    assert!(html.contains("Exporteren als OSO-bestand"));
    let exported = http()
        .post(format!("{base}{path}/oso"))
        .header(COOKIE, zc.header())
        .header("origin", &base)
        .form(&[("csrf", csrf(&html)?)])
        .send()
        .await?;
    assert_eq!(exported.status(), 200);
    assert!(
        exported.headers()["content-disposition"]
            .to_str()?
            .starts_with("attachment;")
    );
    let file = region.dir.path().join("exported-page.xml");
    std::fs::write(&file, exported.bytes().await?)?;
    validate(&file, None)?;

    // The same through the JSON API.
    let las = token(&issuer, "las-zc", Some("carenet-api")).await?;
    let api = |p: &str| format!("{base}/api/v1{p}");
    let list: serde_json::Value = http()
        .get(api("/received?status=received&assigned=false"))
        .bearer_auth(&las)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert_eq!(list[0]["id"], message.as_str(), "{list}");
    assert_eq!(list[0]["pupil"], "Daan van de Berg");
    assert_eq!(list[0]["sender"], "po-1");
    let bad = http()
        .get(api("/received?status=gelezen"))
        .bearer_auth(&las)
        .send()
        .await?;
    assert_eq!(bad.status(), 400);
    let bad: serde_json::Value = bad.json().await?;
    assert!(
        bad["detail"].as_str().unwrap_or("").starts_with("status:"),
        "{bad}"
    );
    let shown: serde_json::Value = http()
        .get(api(&format!("/received/{}", seg(&message))))
        .bearer_auth(&las)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    // A second reading right after (a school system polling): audited, but
    // the sending school was told already today.
    let again = http()
        .get(api(&format!("/received/{}", seg(&message))))
        .bearer_auth(&las)
        .send()
        .await?;
    assert_eq!(again.status(), 200);
    let sections = shown["content"]["sections"].as_array().expect("sections");
    for category in received.categories() {
        assert!(
            sections.iter().any(|s| s["key"] == category.as_str()),
            "{category:?} in the API"
        );
    }
    // The API's content is the page's, row by row.
    let mut rows = 0;
    for s in sections {
        assert!(html.contains(&escaped(s["heading"].as_str().unwrap_or("?"))));
        for r in s["rows"].as_array().expect("rows") {
            let value = r["value"].as_str().unwrap_or_default();
            assert!(html.contains(&escaped(value)), "{value:?} on the page too");
            rows += 1;
        }
    }
    assert!(rows > 100, "{rows} rows");
    let listed = shown["content"]["attachments"]
        .as_array()
        .expect("attachments");
    assert_eq!(listed.len(), expected.len());
    for (info, (_, bytes)) in listed.iter().zip(&expected) {
        let href = info["href"].as_str().expect("href");
        let answer = http()
            .get(format!("{base}{href}"))
            .bearer_auth(&las)
            .send()
            .await?;
        assert_eq!(answer.status(), 200, "{href}");
        assert_eq!(answer.headers()["x-content-type-options"], "nosniff");
        assert_eq!(&answer.bytes().await?[..], &bytes[..], "{href}");
    }
    let exported = http()
        .get(api(&format!("/received/{}/oso", seg(&message))))
        .bearer_auth(&las)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let api_file = region.dir.path().join("exported-api.xml");
    std::fs::write(&api_file, &exported)?;
    validate(&api_file, Some(&file))?;
    let doc: serde_json::Value = http()
        .get(api("/openapi.json"))
        .send()
        .await?
        .json()
        .await?;
    for (p, op) in [
        ("/api/v1/received", "listReceivedDossiers"),
        ("/api/v1/received/{id}", "getReceivedDossier"),
        ("/api/v1/received/{id}/oso", "exportReceivedDossier"),
        (
            "/api/v1/received/{id}/attachments/{n}",
            "downloadReceivedAttachment",
        ),
    ] {
        assert_eq!(doc["paths"][p]["get"]["operationId"], op, "{p}");
    }

    // A mentor the staff directory does not know (a typo) is refused,
    // naming the field: on the page with what was typed, nobody assigned.
    let (_, start) = page(&base, "/", &zc).await?;
    let typo = http()
        .post(format!("{base}{path}/toewijzen"))
        .header(COOKIE, zc.header())
        .header("origin", &base)
        .form(&[
            ("csrf", csrf(&start)?.as_str()),
            ("child_ref", "vo-pupil-1"),
            ("mentor", "mentor1"),
        ])
        .send()
        .await?;
    assert_eq!(typo.status(), 400);
    let html = typo.text().await?;
    assert!(
        html.contains(
            "Kies een medewerker uit de lijst bij &#34;mentor&#34;: mentor1 is niet bekend."
        ),
        "{html}"
    );
    assert!(html.contains("value=\"mentor1\"") && html.contains("value=\"vo-pupil-1\""));
    assert!(html.contains("aria-invalid=\"true\""));
    let item = incoming::get(&vo.store, &message).await?;
    assert_eq!(
        (item.mentor, item.child_ref),
        (None, None),
        "nothing assigned"
    );
    // And in the JSON API: 400 naming the field, never what was sent.
    for (body, field) in [
        (serde_json::json!({ "mentor": "mentor-8" }), "mentor"),
        (
            serde_json::json!({ "mentor": "zc-9", "teachers": ["docent-x"] }),
            "teachers",
        ),
    ] {
        let refused = http()
            .post(api(&format!("/received/{}/assign", seg(&message))))
            .bearer_auth(&las)
            .json(&body)
            .send()
            .await?;
        assert_eq!(refused.status(), 400);
        let said: serde_json::Value = refused.json().await?;
        assert_eq!(said["error"], "invalid_argument");
        // The field and the code, for a system to act on.
        assert_eq!(said["field"], field, "{said}");
        assert_eq!(said["reason"], "unknown_person", "{said}");
        let detail = said["detail"].as_str().unwrap_or_default();
        assert!(detail.starts_with(&format!("{field}: ")), "{detail}");
        assert!(!detail.contains("mentor-8") && !detail.contains("docent-x"));
    }
    assert_eq!(incoming::get(&vo.store, &message).await?.mentor, None);
    // The admin's staff list names mentor-8.
    carenet_gateway::staff_directory::import(
        &vo.store,
        &staff(&vo.store, "beheer-1", &[Role::Admin]),
        "mentor-8,Mark de Wit,mentor,1b\n",
    )
    .await?;

    // Assigned to mentor-8: mentor-7 is refused, and the refusal audited.
    let assigned = http()
        .post(api(&format!("/received/{}/assign", seg(&message))))
        .bearer_auth(&las)
        .json(&serde_json::json!({ "mentor": "mentor-8", "child_ref": "vo-pupil-1" }))
        .send()
        .await?;
    assert_eq!(assigned.status(), 204);
    let mentor = sign_in(&base, "/inloggen", "mentor-7").await?;
    let (status, refused) = page(&base, &path, &mentor).await?;
    assert_eq!(status, 403);
    assert!(refused.contains("Geen toegang"));
    let attachment = http()
        .get(format!("{base}{path}/bijlagen/1"))
        .header(COOKIE, mentor.header())
        .send()
        .await?;
    assert_eq!(attachment.status(), 403);
    // Nor may they plan a warm handover about it: refused before it is looked up.
    let (_, start) = page(&base, "/", &mentor).await?;
    let planned = http()
        .post(format!("{base}{path}/warme-overdracht"))
        .header(COOKIE, mentor.header())
        .header("origin", &base)
        .form(&[
            ("csrf", csrf(&start)?.as_str()),
            ("planned_on", "2027-09-01"),
            ("party", "po-1"),
            ("role", "mentor"),
        ])
        .send()
        .await?;
    assert_eq!(planned.status(), 403);
    let audit = carenet_fabric::audit::list(&vo.store.db, 0, 100_000).await?;
    let refusals = audit
        .iter()
        .filter(|r| {
            r.action == "refused:received_dossier_read"
                && r.actor == "mentor-7[mentor]"
                && r.message_id == message
        })
        .count();
    assert_eq!(refusals, 3, "the three refusals audited");
    // The mentor it is assigned to reads it (what the digest does not hold).
    let assigned_mentor = staff(&vo.store, "mentor-8", &[Role::Mentor]);
    let (_, read) = reading::read(
        &vo.store,
        PartyKind::VoSchool,
        &assigned_mentor,
        &message,
        reading::Reading::Page,
    )
    .await?;
    assert_eq!(read.summary().pupil_name, "Daan van de Berg");
    reading::read(
        &vo.store,
        PartyKind::VoSchool,
        &assigned_mentor,
        &message,
        reading::Reading::Api,
    )
    .await?;
    // Their digest carries the reading and arithmetic levels and the tests.
    let digest = incoming::open_digest(&vo.store, &assigned_mentor, &message).await?;
    let item = |h: &str| {
        digest
            .items
            .iter()
            .find(|(heading, _)| *heading == h)
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    };
    assert!(
        item("Lezen en rekenen").contains("Rekenen: 2F"),
        "{digest:?}"
    );
    assert!(
        item("Lezen en rekenen").contains("begrijpend lezen"),
        "{digest:?}"
    );
    assert!(item("Toetsresultaten").contains("NIO"), "{digest:?}");
    assert!(
        item("Schooladvies").starts_with("vmbo gemengde leerweg (vmbo-gl)"),
        "{digest:?}"
    );

    // Every reading audited at the receiving school.
    let audit = carenet_fabric::audit::list(&vo.store.db, 0, 100_000).await?;
    for (action, actor) in [
        ("received_dossier_read", "zc-9[care_coordinator]"),
        ("received_attachment_downloaded", "zc-9[care_coordinator]"),
        ("dossier_exported", "zc-9[care_coordinator]"),
        ("received_dossier_read_api", "las-zc[care_coordinator]"),
        ("received_attachment_downloaded", "las-zc[care_coordinator]"),
        ("dossier_exported", "las-zc[care_coordinator]"),
        ("received_dossier_read", "mentor-8[mentor]"),
    ] {
        assert!(
            audit
                .iter()
                .any(|r| r.action == action && r.actor == actor && r.message_id == message),
            "{action} by {actor} in vo-1's audit log"
        );
    }

    // Read twice, audited twice; the sending school told once per kind of
    // reading (an attachment per attachment) per person per day.
    let by = |action: &str, actor: &str| {
        audit
            .iter()
            .filter(|r| r.action == action && r.actor == actor && r.message_id == message)
            .count()
    };
    assert_eq!(
        by("received_dossier_read_api", "las-zc[care_coordinator]"),
        2
    );
    assert_eq!(
        by("received_dossier_read", "mentor-8[mentor]")
            + by("received_dossier_read_api", "mentor-8[mentor]"),
        2
    );
    let told = |actor: &str| {
        audit
            .iter()
            .filter(|r| r.action == "queued" && r.actor == actor && r.counterparty == "po-1")
            .count()
    };
    // An attachment counts by its content: the example holds some twice.
    let distinct = expected
        .iter()
        .map(|(_, b)| b.clone())
        .collect::<std::collections::HashSet<_>>()
        .len();
    assert_eq!(told("las-zc[care_coordinator]"), 1 + distinct + 1);
    assert_eq!(told("mentor-8[mentor]"), 2, "one reading and the digest");

    // The guardians see each kind of reading in "wie heeft wat gezien".
    let lines = wait_until(T, || async {
        incoming::sync(&po.store).await.ok()?;
        let lines = portal::disclosures(&po.store, &link).await.ok()?;
        let count = |a: &str| lines.iter().filter(|d| d.action == a).count();
        (count("recipient_read") >= 3
            && count("recipient_attachment") >= 2 * distinct
            && count("recipient_exported") >= 2
            && count("recipient_digest") == 1)
            .then_some(lines)
    })
    .await?;
    // Five readings of the content, one line per person.
    assert_eq!(
        lines
            .iter()
            .filter(|d| d.action == "recipient_read")
            .count(),
        3
    );
    let read = lines
        .iter()
        .find(|d| d.action == "recipient_read")
        .expect("a reading");
    assert_eq!(read.recipient, "vo-1");
    assert!(read.actor.starts_with("vo-1["), "{}", read.actor);
    assert!(
        lines
            .iter()
            .any(|d| d.action == "released" && d.subject_id == read.subject_id),
        "the reading is listed with the release it read"
    );

    gw.stop().await;
    region.shutdown().await
}
