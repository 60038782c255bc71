//! The guardians' inzage bound to what leaves, over real nodes: the akkoord
//! given on the portal is recorded with the content hash of the version the
//! guardians read; the receiving school gets that hash (the seal) and its
//! OSO export claims the inzage for it; a correction asks the guardians
//! again, an answer to the old version is refused, and a dossier whose
//! content is not what they approved does not leave.

use carenet_consent::links;
use carenet_consent::portal::{self, Guardian, Linked};
use carenet_e2e::{TestRegion, Tuning};
use carenet_fabric::store::Store;
use carenet_fabric::{PartyId, Role, with_db};
use carenet_handover::dossier::{self, Akkoord, DossierState, GuardiansView, InzageClaim};
use carenet_handover::inzage::{self, ContentHash};
use carenet_handover::model::Extras;
use carenet_handover::{Error, incoming};

use crate::handover::{staff, unseen_povo, wait_incoming};
use crate::oso::validate;

/// A guardian who signed in on the portal (a pseudonym of their login).
fn guardian(store: &Store) -> Guardian {
    use carenet_fabric::crypto::SigningKey;
    let key = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8().unwrap()).unwrap();
    Guardian::from_login(
        store.party.clone(),
        &key,
        "https://broker.example",
        "ouder-inzage",
        "J. de Vries",
    )
}

/// The guardian linked to `child` with the school's one-time code.
async fn linked(store: &Store, child: &str) -> anyhow::Result<Linked> {
    let ib = staff(store, "ib-1", &[Role::SupportCoordinatorPo]);
    let code = links::invite(
        store,
        &ib,
        &links::NewInvitation {
            child_ref: child.into(),
            guardian_name: "J. de Vries".into(),
            child_birth_date: time::macros::date!(2014 - 05 - 01),
            days: 7,
        },
        true,
    )
    .await?
    .code;
    let g = guardian(store);
    portal::redeem(store, &g, &code).await?;
    Ok(portal::linked(store, &g, child).await?)
}

fn agree() -> GuardiansView {
    GuardiansView::new(Some("Wij herkennen ons kind.".into()), Akkoord::Yes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_akkoord_is_bound_to_the_version_the_guardians_saw() -> anyhow::Result<()> {
    let mut region = TestRegion::create(crate::three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let po = region.handle("po-1");
    let vo = region.handle("vo-1");
    let to_vo = [PartyId::parse("to", "vo-1")?];
    let ib = staff(&po.store, "ib-1", &[Role::SupportCoordinatorPo]);
    let zc = staff(&vo.store, "zc-1", &[Role::CareCoordinator]);
    let extras = Extras {
        what_works: Some("Korte instructie, daarna zelf aan de slag.".into()),
        ..Extras::default()
    };
    let id = dossier::create(
        &po.store,
        &ib,
        "pupil-1",
        dossier::Route::PoVo,
        &unseen_povo(extras),
    )
    .await?;
    dossier::submit_for_inspection(&po.store, &ib, &id).await?;

    // The guardian reads version 1; what they read has one hash.
    let link = linked(&po.store, "pupil-1").await?;
    let read = dossier::read_by_guardian(&po.store, &link, &id).await?;
    assert_eq!(read.version, 1);
    let v1 = ContentHash::of(&read.dossier).hex();
    assert!(
        !read.dossier.attachments().is_empty(),
        "attachments leave too"
    );
    // An answer to other content than the dossier's is not recorded.
    let stale =
        dossier::record_inspection_by_guardian(&po.store, &link, &id, agree(), &"0".repeat(64))
            .await;
    assert!(matches!(stale, Err(Error::Conflict(_))), "{stale:?}");
    assert_eq!(
        dossier::get(&po.store, &id).await?.state,
        DossierState::AwaitingInspection
    );
    let inspection =
        dossier::record_inspection_by_guardian(&po.store, &link, &id, agree(), &v1).await?;

    // Stored: the inzage record holds the version, the hash and the akkoord
    // (and the audit chain the hash).
    let seen = carenet_consent::inspection::seen(&po.store, &inspection, &id)
        .await?
        .flatten()
        .expect("bound to content");
    assert_eq!(
        (
            seen.version,
            seen.content_sha256.as_str(),
            seen.akkoord.as_str()
        ),
        (1, v1.as_str(), "Ja")
    );
    let log = carenet_fabric::audit::list(&po.store.db, 0, 10_000).await?;
    assert!(log.iter().any(|r| r.action == "inspection_recorded"
        && r.message_id == inspection
        && hex::encode(&r.payload_sha256) == v1));
    // Their answer is not content: the ready dossier still has the hash they approved.
    let ready = dossier::get(&po.store, &id).await?;
    assert_eq!(ContentHash::of(&ready.dossier).hex(), v1);
    assert_eq!(
        ready.dossier.extras.guardian_view.as_deref(),
        Some("Wij herkennen ons kind.")
    );

    // Released: the receiving school gets the hash the guardians saw.
    dossier::publish(&po.store, &po.directory, &ib, &id, &to_vo, None).await?;
    let item = wait_incoming(&vo.store, 1).await?;
    let payload = vo
        .store
        .received(&item.message_id)
        .await?
        .expect("received")
        .payload;
    let received = incoming::dossier(&vo.store, &item.message_id).await?;
    let seal = inzage::check_received(&payload, &received).expect("a seal that verifies");
    assert_eq!(
        (seal.version, seal.content.hex(), seal.akkoord.as_str()),
        (1, v1.clone(), "Ja")
    );
    assert_eq!(seal.seen_on, carenet_fabric::clock::today().to_string());
    // Its OSO export claims the inzage for that hash, and is valid.
    let source = dossier::ExportSource::Received(item.message_id.clone());
    let (xml, claim) = dossier::export_oso_checked(&vo.store, &zc, &source).await?;
    assert_eq!(
        claim,
        InzageClaim::Bound {
            version: 1,
            content_sha256: v1.clone(),
            akkoord: "Ja".into()
        }
    );
    assert!(xml.contains("<inzage>true</inzage>") && xml.contains("<akkoord>Ja</akkoord>"));
    let file = region.dir.path().join("received-v1.xml");
    std::fs::write(&file, &xml)?;
    validate(&file, None)?;

    // A correction (the extras changed): a new version, before the guardians again.
    let edit = dossier::ExtrasEdit {
        what_works: Some("Vaste plek vooraan, korte instructie.".into()),
        ..Default::default()
    };
    assert_eq!(
        dossier::set_extras(&po.store, &ib, &id, &edit).await?,
        dossier::ExtrasOutcome::Corrected(2)
    );
    let listed = dossier::for_guardian(&po.store, &link).await?;
    assert_eq!(
        listed,
        vec![(id.clone(), 2, DossierState::AwaitingInspection)],
        "asked again"
    );
    let refused = dossier::publish(&po.store, &po.directory, &ib, &id, &[], None).await;
    assert!(
        refused.is_err(),
        "no release of version 2 on version 1's inzage"
    );
    // The school's own export no longer claims version 1's inzage for version 2.
    let (xml, claim) =
        dossier::export_oso_checked(&po.store, &ib, &dossier::ExportSource::Own(id.clone()))
            .await?;
    assert!(matches!(claim, InzageClaim::NotClaimed(_)), "{claim:?}");
    assert!(
        xml.contains("<voorlopigdossier>true</voorlopigdossier>")
            && xml.contains("<inzage>false</inzage>")
            && !xml.contains("<akkoord>"),
        "{xml}"
    );
    // The page the guardian read before is stale: its answer is refused.
    let old = dossier::record_inspection_by_guardian(&po.store, &link, &id, agree(), &v1).await;
    assert!(matches!(old, Err(Error::Conflict(_))), "{old:?}");
    let v2 = ContentHash::of(
        &dossier::read_by_guardian(&po.store, &link, &id)
            .await?
            .dossier,
    )
    .hex();
    assert_ne!(v2, v1);
    let second =
        dossier::record_inspection_by_guardian(&po.store, &link, &id, agree(), &v2).await?;

    // A standing akkoord for other content: publishing is refused, naming
    // the versions and hashes (the first inzage put back on version 2).
    let set_inspection = |inspection: String| {
        let store = po.store.clone();
        let id = id.clone();
        async move {
            with_db!(&store.db, pool => {
                sqlx::query("UPDATE handover_dossier SET inspection_id = $1 WHERE id = $2")
                    .bind(inspection)
                    .bind(&id)
                    .execute(pool)
                    .await
                    .map(|_| ())?
            });
            anyhow::Ok(())
        }
    };
    set_inspection(inspection.clone()).await?;
    let refused = dossier::publish(&po.store, &po.directory, &ib, &id, &[], None).await;
    let Err(Error::Fabric(carenet_fabric::Error::FailedPrecondition(why))) = &refused else {
        panic!("{refused:?}");
    };
    assert!(
        why.contains("the guardians saw version 1") && why.contains(&inzage::short(&v1)),
        "{why}"
    );
    // The same when the content changed under the right record.
    set_inspection(second.clone()).await?;
    let honest = dossier::get(&po.store, &id).await?;
    let mut changed = honest.dossier.clone();
    changed.extras.what_to_avoid = Some("Onverwachte toetsen.".into());
    let set_document = |bytes: Vec<u8>| {
        let store = po.store.clone();
        let id = id.clone();
        async move {
            with_db!(&store.db, pool => {
                sqlx::query("UPDATE handover_dossier SET document = $1 WHERE id = $2")
                    .bind(bytes)
                    .bind(&id)
                    .execute(pool)
                    .await
                    .map(|_| ())?
            });
            anyhow::Ok(())
        }
    };
    set_document(changed.encode()).await?;
    let refused = dossier::publish(&po.store, &po.directory, &ib, &id, &[], None).await;
    assert!(
        matches!(&refused, Err(Error::Fabric(carenet_fabric::Error::FailedPrecondition(w))) if w.contains(&inzage::short(&v2))),
        "{refused:?}"
    );
    set_document(honest.dossier.encode()).await?;

    // Version 2 as approved leaves, with its own hash.
    dossier::publish(&po.store, &po.directory, &ib, &id, &[], None).await?;
    let item = wait_incoming(&vo.store, 2).await?;
    let payload = vo
        .store
        .received(&item.message_id)
        .await?
        .expect("received")
        .payload;
    let received = incoming::dossier(&vo.store, &item.message_id).await?;
    assert_eq!(
        received.extras.what_works.as_deref(),
        Some("Vaste plek vooraan, korte instructie.")
    );
    let seal = inzage::check_received(&payload, &received).expect("a seal that verifies");
    assert_eq!((seal.version, seal.content.hex()), (2, v2));
    region.shutdown().await
}

/// A form posted on the portal at `base` as the person with `jar`, with the
/// page's CSRF token: the answer's status and where it redirects (or its
/// text).
async fn post_form(
    base: &str,
    action: &str,
    jar: &crate::gateway_sessions::Jar,
    page_text: &str,
    fields: &[(&str, &str)],
) -> anyhow::Result<(u16, String)> {
    let token = crate::gateway_sessions::csrf(page_text)?;
    let mut form = vec![("csrf", token.as_str())];
    form.extend_from_slice(fields);
    let answer = crate::gateway_sessions::http()
        .post(format!("{base}{action}"))
        .header(reqwest::header::COOKIE, jar.header())
        .header("origin", base)
        .form(&form)
        .send()
        .await?;
    let status = answer.status().as_u16();
    let to = answer
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned);
    Ok((
        status,
        match to {
            Some(to) => to,
            None => answer.text().await?,
        },
    ))
}

/// The value of the hidden field `name` on `page`.
fn hidden(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let at = page.find(&marker)? + marker.len();
    Some(page[at..].split('"').next()?.to_owned())
}

/// Issue 19, item 4, the pupil's side: a pupil of 17 linked as themself
/// reads their own VO→vervolg dossier on the portal as it will leave (the
/// shared renderer: every category, the extras, the attachments, which
/// download byte for byte) addressed as "je", and gives the inzage
/// themself: their akkoord is bound to the content hash the page showed.
/// A guardian of the same pupil does not see it; a login linked as the
/// pupil cannot redeem a guardian's code for themself (the portal says so
/// in Dutch, naming `code`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pupil_of_17_reads_their_own_vervolg_dossier_and_gives_the_akkoord() -> anyhow::Result<()>
{
    use crate::gateway::{bind, gateway, provider};
    use crate::gateway_sessions::{page, sign_in};

    let mut region = TestRegion::create(crate::three_parties(), Tuning::default()).await?;
    region.start("swv").await?;
    let vo = region.start("vo-1").await?;
    let store = vo.store.clone();
    let zc = staff(&store, "zc-9", &[Role::CareCoordinator]);
    let today = carenet_fabric::clock::today();
    let born = today.replace_year(today.year() - 17)?;
    let child = "vo-pupil-17";
    let mut vombo = crate::handover::unseen_vombo();
    vombo.extras.what_works = Some("Een vaste werkplek en een planner per week.".into());
    let id = dossier::create(&store, &zc, child, dossier::Route::VoVervolg, &vombo).await?;
    dossier::submit_for_inspection(&store, &zc, &id).await?;
    let expected = crate::received::attachments(&dossier::get(&store, &id).await?.dossier);
    assert!(!expected.is_empty(), "the example has attachments");
    let invitation = |invitee| {
        let store = store.clone();
        let zc = zc.clone();
        async move {
            anyhow::Ok(
                links::invite_as(
                    &store,
                    &zc,
                    &links::NewInvitation {
                        child_ref: child.into(),
                        guardian_name: "Sem de Boer".into(),
                        child_birth_date: born,
                        days: 30,
                    },
                    // The school holds the pupil's dossier (the handover
                    // slice, as the gateway asks it).
                    true,
                    invitee,
                )
                .await?
                .code,
            )
        }
    };
    let pupil_code = invitation(links::Invitee::Pupil).await?;
    let parent_code = invitation(links::Invitee::Guardian).await?;

    let (listener, base) = bind().await?;
    let (_provider, issuer) = provider(&[&base]).await?;
    let gw = gateway(&region, "vo-1", &issuer, listener, &base).await?;

    // The pupil links with their own code.
    let pupil = sign_in(&base, "/ouders/inloggen", "leerling-1").await?;
    let (_, home) = page(&base, "/ouders", &pupil).await?;
    let (status, to) = post_form(
        &base,
        "/ouders/koppelen",
        &pupil,
        &home,
        &[("code", pupil_code.as_str())],
    )
    .await?;
    assert_eq!((status, to.as_str()), (303, "/ouders?m=gekoppeld"));
    // The guardian's code is not the pupil's to use: refused, in Dutch,
    // naming the field; the code stays for the guardian.
    let (_, home) = page(&base, "/ouders", &pupil).await?;
    let (status, refused) = post_form(
        &base,
        "/ouders/koppelen",
        &pupil,
        &home,
        &[("code", parent_code.as_str())],
    )
    .await?;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused.contains("Deze code is voor een ouder of verzorger"),
        "{refused}"
    );

    // The pupil's page lists their dossier, said to them.
    let (status, own) = page(&base, "/ouders/kind/1", &pupil).await?;
    assert_eq!(status, 200, "{own}");
    let href = format!("/ouders/dossier/{id}");
    assert!(own.contains(&format!("href=\"{href}\"")), "{own}");
    assert!(
        own.contains("Je overdrachtsdossier: lees het en geef je reactie"),
        "{own}"
    );
    // The dossier as it leaves: every category the renderer shows, the
    // extra, the attachments; addressed as "je".
    let (status, shown) = page(&base, &href, &pupil).await?;
    assert_eq!(status, 200, "{shown}");
    assert!(shown.contains("Je overdrachtsdossier"), "{shown}");
    assert!(!shown.contains("Het overdrachtsdossier van") && !shown.contains("Uw reactie"));
    assert!(shown.contains("Een vaste werkplek en een planner per week."));
    assert!(
        shown.contains("id=\"deel-carenet-what_works\""),
        "the extra"
    );
    let stored = dossier::get(&store, &id).await?;
    for category in stored.dossier.categories() {
        let anchor = format!("id=\"deel-{}\"", category.as_str());
        assert!(shown.contains(&anchor), "{anchor}");
    }
    for s in &stored.dossier.sections {
        let mut texts = Vec::new();
        crate::received::plain_texts(&s.element, &mut texts);
        for t in texts {
            let t = crate::received::escaped(&t);
            assert!(shown.contains(&t), "{t:?} of {} on the page", s.path());
        }
    }
    for (n, (name, bytes)) in expected.iter().enumerate() {
        let link = format!("{href}/bijlagen/{}", n + 1);
        assert!(shown.contains(&format!("href=\"{link}\"")), "{link}");
        let answer = crate::gateway_sessions::http()
            .get(format!("{base}{link}"))
            .header(reqwest::header::COOKIE, pupil.header())
            .send()
            .await?;
        assert_eq!(answer.status(), 200, "{link}");
        let disposition = answer.headers()[reqwest::header::CONTENT_DISPOSITION]
            .to_str()?
            .to_owned();
        assert!(disposition.starts_with("attachment;"), "{disposition}");
        assert_eq!(&answer.bytes().await?[..], &bytes[..], "{name}");
    }
    let hash = hidden(&shown, "inhoud").expect("the content hash on the form");
    assert_eq!(hash, ContentHash::of(&stored.dossier).hex());

    // A guardian of the pupil (17) does not see it: the pupil decides.
    let parent = sign_in(&base, "/ouders/inloggen", "ouder-2").await?;
    let (_, home) = page(&base, "/ouders", &parent).await?;
    let (status, _) = post_form(
        &base,
        "/ouders/koppelen",
        &parent,
        &home,
        &[("code", parent_code.as_str())],
    )
    .await?;
    assert_eq!(status, 303);
    let (status, _) = page(&base, &href, &parent).await?;
    assert_eq!(status, 403);
    let (_, theirs) = page(&base, "/ouders/kind/1", &parent).await?;
    assert!(!theirs.contains(&href), "{theirs}");

    // The pupil's akkoord, bound to the hash the page showed.
    let (status, to) = post_form(
        &base,
        &format!("{href}/zienswijze"),
        &pupil,
        &shown,
        &[
            ("inhoud", hash.as_str()),
            ("akkoord", "ja"),
            ("zienswijze", "Ik wil graag eerst een rondleiding."),
        ],
    )
    .await?;
    // Back on their own page, which says what they answered.
    assert_eq!((status, to.as_str()), (303, "/ouders/kind/1?m=zienswijze"));
    let (_, done) = page(&base, &to, &pupil).await?;
    assert!(done.contains("Je reactie is vastgelegd"), "{done}");
    assert!(done.contains("Je antwoord: akkoord."), "{done}");
    gw.stop().await;
    let ready = dossier::get(&store, &id).await?;
    assert_eq!(ready.state, DossierState::Ready);
    let inspection = ready.inspection_id.expect("an inzage");
    let seen = carenet_consent::inspection::seen(&store, &inspection, &id)
        .await?
        .flatten()
        .expect("bound to content");
    assert_eq!(
        (
            seen.version,
            seen.content_sha256.as_str(),
            seen.akkoord.as_str()
        ),
        (1, hash.as_str(), "Ja")
    );
    let log = carenet_fabric::audit::list(&store.db, 0, 10_000).await?;
    let actions: Vec<&str> = log.iter().map(|r| r.action.as_str()).collect();
    for a in [
        "pupil_linked",
        "dossier_read_by_guardian",
        "dossier_attachment_read_by_guardian",
        "inspection_recorded",
        "refused:guardian_link",
        "refused:portal_dossier",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    region.shutdown().await
}
