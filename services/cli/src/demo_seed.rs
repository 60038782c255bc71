//! Seeds a demo region with a season of transfer dossiers, so a newcomer sees
//! every state: the OSO standard's own example dossiers imported, and
//! generated pupils from its opt-out example with carenet's extra fields.
//! Runs once per region (when the first primary school holds no dossier yet).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use carenet_consent::record::{ConsentRequest, ConsentStore, Decision};
use carenet_consent::{Category, Purpose};
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, PartyId, PartyKind, Role};
use carenet_handover::dossier::{self, Route};
use carenet_handover::model::{Dossier, Extras};
use carenet_handover::oso::{self, PUPIL};
use carenet_handover::{destination, incoming, season, warm};
use carenet_node::NodeHandle;
use carenet_proto::v1::{
    self, EvidenceKind, GrantorRole, ParticipantRole, consent_recipient::Target,
};

pub(crate) const POVO_FULL: &str =
    include_str!("../../../vendor/oso/OV/examples/Voorbeelddossier_OV_POVO_full.xml");
const POVO_OPT_OUT: &str =
    include_str!("../../../vendor/oso/OV/examples/Voorbeelddossier_OV_POVO_opt_out.xml");
const VOVO_FULL: &str =
    include_str!("../../../vendor/oso/OV/examples/Voorbeelddossier_OV_VOVO_full.xml");

/// A generated pupil: names, birth date and what the IB wrote.
struct Pupil {
    given: &'static str,
    family: &'static str,
    born: &'static str,
    attention: &'static str,
    extras: Extras,
}

fn pupils() -> Vec<Pupil> {
    let extras = |works: &str, avoid: &str, talents: &str, voice: &str| Extras {
        what_works: Some(works.into()),
        what_to_avoid: Some(avoid.into()),
        talents: Some(talents.into()),
        pupil_voice: Some(voice.into()),
        ..Extras::default()
    };
    vec![
        Pupil {
            given: "Noor",
            family: "Jansen",
            born: "2014-02-11",
            attention: "Dyslexie; heeft tijd nodig bij lezen en toetsen.",
            extras: extras(
                "Voorleessoftware, extra tijd, teksten vooraf.",
                "Hardop voorlezen voor de klas.",
                "Creatief schrijven, hockey",
                "Ik wil graag mijn laptop gebruiken.",
            ),
        },
        Pupil {
            given: "Sem",
            family: "de Vries",
            born: "2014-06-30",
            attention: "Concentratie wisselend; baat bij structuur.",
            extras: extras(
                "Dagplanning op het bord, korte opdrachten.",
                "Lange mondelinge instructie.",
                "Rekenen, programmeren",
                "Ik vind het fijn als ik weet wat er komt.",
            ),
        },
        Pupil {
            given: "Yara",
            family: "El Amrani",
            born: "2013-11-04",
            attention: "Meer uitdaging nodig; verveelt zich snel.",
            extras: extras(
                "Verrijkingsstof, zelf kiezen hoe zij werkt.",
                "Herhalingsopdrachten die zij al beheerst.",
                "Wiskunde, schaken",
                "Ik wil graag moeilijkere sommen.",
            ),
        },
        Pupil {
            given: "Daan",
            family: "Bakker",
            born: "2014-04-19",
            attention: "Sociaal-emotioneel kwetsbaar na verhuizing.",
            extras: extras(
                "Vast aanspreekpunt, rustige plek.",
                "Groepswerk zonder duidelijke rollen.",
                "Voetbal, tekenen",
                "Ik ken nog niemand op de nieuwe school.",
            ),
        },
    ]
}

/// An 11-proof BSN-shaped test number (not a real person's).
fn test_bsn(n: u32) -> String {
    for candidate in (100_000_000 + n * 7_919)..(100_000_000 + n * 7_919 + 1000) {
        let digits: Vec<u32> = candidate
            .to_string()
            .chars()
            .filter_map(|c| c.to_digit(10))
            .collect();
        let sum: i64 = digits
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let w = if i == 8 { -1 } else { 9 - i as i64 };
                w * i64::from(*d)
            })
            .sum();
        if sum % 11 == 0 {
            return candidate.to_string();
        }
    }
    "999999990".into()
}

/// A dossier for a generated pupil, from the OSO opt-out example.
fn generated(p: &Pupil, n: u32) -> anyhow::Result<Dossier> {
    let mut sections = oso::import(POVO_OPT_OUT)?.sections;
    // One given name and no prefix; the rest of the pupil's fields follow the pupil.
    let mut first_name = true;
    sections.retain(|s| {
        let keep = s.parent != PUPIL
            || !(s.element.name == "voorvoegsel" || s.element.name == "voornaam" && !first_name);
        if s.parent == PUPIL && s.element.name == "voornaam" {
            first_name = false;
        }
        keep
    });
    for s in &mut sections {
        if s.parent != PUPIL {
            continue;
        }
        let text = match s.element.name.as_str() {
            "voornaam" | "roepnaam" => p.given.to_owned(),
            "voorletters-1" => format!("{}.", &p.given[..1]),
            "achternaam" => p.family.to_owned(),
            "geboortedatum" => p.born.to_owned(),
            "bsn" => test_bsn(n),
            "leerlingid" => format!("LL{:05}", 1000 + n),
            _ => {
                if s.element.name == "overstapadvies" {
                    s.element.set_child_text("aandachtspunten", p.attention);
                }
                continue;
            }
        };
        s.element.text = Some(text);
    }
    // Drop the provisional inzage: the guardians still have to see this one.
    sections.retain(|s| s.category != Category::GuardianInspection);
    Ok(Dossier {
        sections,
        extras: p.extras.clone(),
    })
}

pub(crate) async fn consent(
    store: &carenet_fabric::store::Store,
    child: &str,
    purpose: Purpose,
    to: &[&str],
    categories: Vec<Category>,
) -> anyhow::Result<String> {
    // The school's care coordinator records the demo's consents of the
    // guardians of a pupil of 13.
    let by = Grantor {
        staff: "demo-zc",
        age: 13,
        born: None,
        role: GrantorRole::Guardian,
        name: "ouder",
    };
    recorded(store, child, purpose, to, categories, by).await
}

/// [`consent`] about a pupil born on `born`.
pub(crate) async fn consent_born(
    store: &carenet_fabric::store::Store,
    child: &str,
    born: time::Date,
    purpose: Purpose,
    to: &[&str],
    categories: Vec<Category>,
) -> anyhow::Result<String> {
    let by = Grantor {
        staff: "demo-zc",
        age: 13,
        born: Some(born),
        role: GrantorRole::Guardian,
        name: "ouder",
    };
    recorded(store, child, purpose, to, categories, by).await
}

/// Who decided a demo consent, as the school recorded it from a conversation.
struct Grantor {
    /// The care coordinator who recorded it.
    staff: &'static str,
    /// The pupil's age (it decides whose consent counts).
    age: i32,
    /// The pupil's birth date, when the demo knows it (else `age` years ago).
    born: Option<time::Date>,
    role: GrantorRole,
    name: &'static str,
}

/// A student of 17's own consent to a VO->vervolg transfer, recorded by the
/// school's care coordinator from a conversation with the student (from 16
/// the student decides, not the guardians).
async fn consent_of_student(
    store: &carenet_fabric::store::Store,
    child: &str,
    to: &[&str],
    categories: Vec<Category>,
) -> anyhow::Result<String> {
    let by = Grantor {
        staff: "zc-1",
        age: 17,
        born: None,
        role: GrantorRole::Pupil,
        name: "leerling",
    };
    recorded(store, child, Purpose::TransferDossier, to, categories, by).await
}

/// A consent asked and granted at once, as `by` says.
async fn recorded(
    store: &carenet_fabric::store::Store,
    child: &str,
    purpose: Purpose,
    to: &[&str],
    categories: Vec<Category>,
    by: Grantor,
) -> anyhow::Result<String> {
    let consents = ConsentStore::new(store.clone());
    let actor = carenet_fabric::Actor::new(
        store.party.clone(),
        by.staff,
        [carenet_fabric::Role::CareCoordinator],
    )?;
    let today = carenet_fabric::clock::today();
    let id = consents
        .request(
            &actor,
            &ConsentRequest {
                child_ref: child.into(),
                child_birth_date: match by.born {
                    Some(d) => d,
                    None => today.replace_year(today.year() - by.age)?,
                },
                purpose,
                recipients: to
                    .iter()
                    .map(|p| v1::ConsentRecipient {
                        target: Some(Target::PartyId((*p).into())),
                    })
                    .collect(),
                categories,
                valid_from: today,
                valid_until: None,
            },
        )
        .await?
        .version
        .record_id;
    consents
        .grant(
            &actor,
            &id,
            &Decision {
                grantors: vec![v1::Grantor {
                    role: by.role as i32,
                    name: by.name.into(),
                }],
                evidence: v1::Evidence {
                    kind: EvidenceKind::RecordedConversation as i32,
                    recorded_by: String::new(),
                    document_sha256: vec![],
                },
                today,
            },
        )
        .await?;
    Ok(id)
}

async fn arrived(
    vo: &NodeHandle,
    from: &str,
    document_id: &str,
) -> anyhow::Result<incoming::Incoming> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(i) = incoming::list(&vo.store)
            .await?
            .into_iter()
            .find(|i| i.sender == from && i.document_id == document_id)
        {
            return Ok(i);
        }
        anyhow::ensure!(Instant::now() < deadline, "a demo dossier did not arrive");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A school's staff member as the demo acts: `ib-1` the IB
/// (support_coordinator_po) at a primary school, `zc-1` the care coordinator
/// at a secondary one, `mentor-1` a mentor, `teacher-2` a teacher.
fn staff(store: &Store, id: &str, role: Role) -> anyhow::Result<Actor> {
    Ok(Actor::new(store.party.clone(), id, [role])?)
}

/// Seeds the season; returns how many dossiers it made, 0 if already seeded.
pub async fn seed(handles: &HashMap<String, NodeHandle>) -> anyhow::Result<usize> {
    let h = |id: &str| handles.get(id).with_context(|| format!("demo party {id}"));
    let (linde, kompas, baken, brug) = (
        h("po-de-linde")?,
        h("po-het-kompas")?,
        h("vo-het-baken")?,
        h("vo-de-brug")?,
    );
    if !dossier::all(&linde.store).await?.is_empty() {
        return Ok(0);
    }
    let today = carenet_fabric::clock::today();
    let to = |p: &str| -> anyhow::Result<Vec<PartyId>> { Ok(vec![PartyId::parse("to", p)?]) };

    // The standard's full POVO example: seen by the guardians in the LAS,
    // released, assigned to the mentor and read.
    let ib_linde = staff(&linde.store, "ib-1", Role::SupportCoordinatorPo)?;
    let ib_kompas = staff(&kompas.store, "ib-1", Role::SupportCoordinatorPo)?;
    let zc_baken = staff(&baken.store, "zc-1", Role::CareCoordinator)?;
    let zc_brug = staff(&brug.store, "zc-1", Role::CareCoordinator)?;
    let mentor_baken = staff(&baken.store, "mentor-1", Role::Mentor)?;
    let daan =
        dossier::import_oso(&linde.store, &ib_linde, POVO_FULL, "LN094837", Route::PoVo).await?;
    dossier::publish(
        &linde.store,
        &linde.directory,
        &ib_linde,
        &daan,
        &to("vo-het-baken")?,
        None,
    )
    .await?;

    let mut generated_ids = Vec::new();
    for (n, p) in pupils().iter().enumerate() {
        let (school, ib) = if n < 3 {
            (linde, &ib_linde)
        } else {
            (kompas, &ib_kompas)
        };
        let child = format!("LL{:05}", 1001 + n);
        let id = dossier::create(
            &school.store,
            ib,
            &child,
            Route::PoVo,
            &generated(p, n as u32 + 1)?,
        )
        .await?;
        generated_ids.push((school, ib, id));
    }
    // Noor: still with her guardians for inzage.
    let (noor_school, noor_ib, noor) = &generated_ids[0];
    dossier::submit_for_inspection(&noor_school.store, noor_ib, noor).await?;
    // Sem and Yara: seen, with a view, released; Daan Bakker: seen, ready.
    for (i, target) in [(1, "vo-de-brug"), (2, "vo-het-baken"), (3, "")] {
        let (school, ib, id) = &generated_ids[i];
        dossier::record_inspection(
            &school.store,
            ib,
            id,
            today,
            dossier::GuardiansView::new(
                Some("Wij zijn het eens met het dossier.".into()),
                dossier::Akkoord::Yes,
            ),
        )
        .await?;
        if !target.is_empty() {
            dossier::publish(&school.store, &school.directory, ib, id, &to(target)?, None).await?;
        }
    }
    // Yara enrolled at Het Baken and Daan Bakker too: their IBs recorded it
    // from the enrolment, so Het Baken's requests are answered at once. De
    // Brug asks De Linde for Yara's dossier as well (as the Handover service
    // answers a request over mTLS): it is not released; it waits on the IB's
    // work list as "Dossier gevraagd door Scholengemeenschap De Brug".
    let het_baken = PartyId::parse("school", "vo-het-baken")?;
    for i in [2, 3] {
        let (school, ib, id) = &generated_ids[i];
        destination::set(&school.store, &school.directory, ib, id, &het_baken).await?;
    }
    let de_brug = linde
        .directory
        .get("vo-de-brug")
        .context("vo-de-brug in the region directory")?;
    carenet_handover::request::answer(
        &linde.store,
        &linde.directory,
        &de_brug,
        u32::MAX,
        &test_bsn(3),
        pupils()[2].born,
    )
    .await?;
    // Yara gets a warm handover with Het Baken.
    warm::plan(
        &linde.store,
        &ib_linde,
        &generated_ids[2].2,
        None,
        vec![
            v1::Participant {
                role: ParticipantRole::SupportCoordinatorPo as i32,
                party_id: "po-de-linde".into(),
                staff_ref: "ib-1".into(),
            },
            v1::Participant {
                role: ParticipantRole::CareCoordinator as i32,
                party_id: "vo-het-baken".into(),
                staff_ref: "zc-1".into(),
            },
            v1::Participant {
                role: ParticipantRole::Guardian as i32,
                party_id: String::new(),
                staff_ref: String::new(),
            },
            v1::Participant {
                role: ParticipantRole::Pupil as i32,
                party_id: String::new(),
                staff_ref: String::new(),
            },
        ],
        today,
    )
    .await?;

    // A VO->VO move under consent, from the standard's VOVO example.
    let vovo = dossier::import_oso(
        &baken.store,
        &zc_baken,
        VOVO_FULL,
        "LN094837-vo",
        Route::VoVo,
    )
    .await?;
    let allowed: Vec<Category> = Category::all()
        .filter(|c| {
            c.oso_element().is_some()
                && !matches!(c, Category::EducationalSupport | Category::ActionPlans)
        })
        .collect();
    let record = consent(
        &baken.store,
        "LN094837-vo",
        Purpose::TransferDossier,
        &["vo-de-brug"],
        allowed,
    )
    .await?;
    dossier::publish(
        &baken.store,
        &baken.directory,
        &zc_baken,
        &vovo,
        &to("vo-de-brug")?,
        Some(&record),
    )
    .await?;

    // A VO->mbo move at De Brug, from the VOVO example: the student (17)
    // consented themself; the dossier waits at the mbo for its
    // intakecoördinator to read and assign to a studieloopbaanbegeleider.
    let mbo = h("mbo-vakcollege")?;
    let vombo = VOVO_FULL.replace("<overstap>VOVO</overstap>", "<overstap>VOMBO</overstap>");
    let to_mbo =
        dossier::import_oso(&brug.store, &zc_brug, &vombo, "BR-17001", Route::VoVervolg).await?;
    let record = consent_of_student(
        &brug.store,
        "BR-17001",
        &["mbo-vakcollege"],
        Category::all()
            .filter(|c| c.oso_element().is_some())
            .collect(),
    )
    .await?;
    dossier::publish(
        &brug.store,
        &brug.directory,
        &zc_brug,
        &to_mbo,
        &to("mbo-vakcollege")?,
        Some(&record),
    )
    .await?;
    arrived(mbo, "vo-de-brug", &to_mbo).await?;

    // The last mile at Het Baken: Daan's dossier to his mentor, who reads it.
    let item = arrived(baken, "po-de-linde", &daan).await?;
    incoming::assign(
        &baken.store,
        PartyKind::VoSchool,
        &zc_baken,
        &item.message_id,
        "mentor-1",
        &["teacher-2".into()],
    )
    .await?;
    incoming::open_digest(&baken.store, &mentor_baken, &item.message_id).await?;
    // Sem's dossier at De Brug: assigned, not read yet.
    let sem = arrived(brug, "po-de-linde", &generated_ids[1].2).await?;
    incoming::assign(
        &brug.store,
        PartyKind::VoSchool,
        &zc_brug,
        &sem.message_id,
        "mentor-1",
        &[],
    )
    .await?;
    // Done when De Linde sees that Daan's dossier was read by his mentor.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = season::season(
            &linde.store,
            PartyKind::PoSchool,
            &ib_linde,
            0,
            &season::Filter::default(),
        )
        .await?;
        if rows.iter().any(|r| r.id == daan && r.status == "read") {
            return Ok(3 + generated_ids.len());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the read receipt did not come back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The demo guardian: Noor's parent at De Linde, linked to her by a school
/// invitation as a real guardian would be, with a consent request waiting
/// (her dossier to Het Baken). Once per region.
pub const DEMO_GUARDIAN: (&str, &str) = ("ouder-noor", "M. Jansen");
const NOOR: &str = "LL01001";

pub async fn seed_portal(
    handles: &HashMap<String, NodeHandle>,
    signing: &carenet_fabric::crypto::SigningKey,
) -> anyhow::Result<()> {
    use carenet_consent::portal;
    let linde = handles
        .get("po-de-linde")
        .context("demo party po-de-linde")?;
    let store = &linde.store;
    let guardian = portal::Guardian::from_login(
        store.party.clone(),
        signing,
        carenet_gateway::demo::DEMO_ISSUER,
        DEMO_GUARDIAN.0,
        DEMO_GUARDIAN.1,
    );
    if !portal::children(store, &guardian).await?.is_empty() {
        return Ok(());
    }
    let ib = staff(store, "ib-1", Role::SupportCoordinatorPo)?;
    let has_dossier = !dossier::for_child(store, NOOR).await?.is_empty();
    let invitation = carenet_consent::links::invite(
        store,
        &ib,
        &carenet_consent::links::NewInvitation {
            child_ref: NOOR.into(),
            guardian_name: DEMO_GUARDIAN.1.into(),
            child_birth_date: dossier::parse_date("born", "2014-02-11")?,
            days: 14,
        },
        has_dossier,
    )
    .await?;
    portal::redeem(store, &guardian, &invitation.code).await?;
    let today = carenet_fabric::clock::today();
    ConsentStore::new(store.clone())
        .request(
            &ib,
            &ConsentRequest {
                child_ref: NOOR.into(),
                child_birth_date: dossier::parse_date("born", "2014-02-11")?,
                purpose: Purpose::TransferDossier,
                recipients: vec![v1::ConsentRecipient {
                    target: Some(Target::PartyId("vo-het-baken".into())),
                }],
                categories: Category::all()
                    .filter(|c| c.oso_element().is_some())
                    .collect(),
                valid_from: today,
                valid_until: None,
            },
        )
        .await?;
    Ok(())
}
