//! Seeds the demo's samenwerkingsverband (Rivierenland): requests from the
//! region's schools in each state the loket meets, each submitted over the
//! exchange and taken through the SWV's steps on its own node:
//! - De Linde: Noor's TLV, a draft waiting for her guardian's zienswijze
//!   on the parent portal; Bram's TLV (SBO) decided, with two valid expert
//!   advices;
//! - Het Kompas: Finn's TLV (SO), held at the advices: the first advisor
//!   works for Het Kompas itself, so the advices are refused as not
//!   independent until another expert advises;
//! - Het Baken: Lotte's arrangement from her ZAT case, returned to the
//!   school with a completeness question; Mila's light arrangement granted;
//! - De Brug: Sem's outreach support, with its MDO planned.
//!
//! Runs once per region (when De Linde has no request yet), after the care
//! seeding (Lotte's ZAT case).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use carenet_consent::{Category as ConsentCategory, Purpose};
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, Role};
use carenet_node::NodeHandle;
use carenet_support::check::{Advice, Decision, Qualification};
use carenet_support::clock::WallClock;
use carenet_support::intake;
use carenet_support::model::{
    ArrangementLevel, Category, Detail, HistorySource, Kind, Line, Outcome, ParticipantRole,
    SchoolType, State,
};
use carenet_support::request::{self, HistoryItem, NewRequest, Participant};
use carenet_support::slice::SupportConfig;

use crate::demo_seed::consent_born;

const SWV: &str = "swv-rivierenland";

fn day(offset: i64) -> String {
    carenet_consent::record::format_date(
        carenet_fabric::clock::today() + time::Duration::days(offset),
    )
}

fn staff(store: &Store, id: &str, role: Role) -> anyhow::Result<Actor> {
    Ok(Actor::new(store.party.clone(), id, [role])?)
}

fn item(source: HistorySource, line: Line, text: &str) -> HistoryItem {
    HistoryItem {
        source,
        line,
        source_ref: String::new(),
        snapshot: text.into(),
        added_by: String::new(),
    }
}

/// A request of a pupil, with the guardians' consent for it (granted).
struct Pupil<'a> {
    school: &'a Store,
    by: &'a Actor,
    child_ref: &'static str,
    name: &'static str,
    born: &'static str,
}

async fn draft(
    p: &Pupil<'_>,
    kind: Kind,
    detail: Detail,
    question: &str,
    view: &str,
) -> anyhow::Result<String> {
    // The birth date as the school recorded it, if it did.
    let born = match carenet_consent::pupil::birth_date(p.school, p.child_ref).await? {
        Some(d) => d,
        None => carenet_consent::record::parse_date("born", p.born)?,
    };
    let record = consent_born(
        p.school,
        p.child_ref,
        born,
        Purpose::SupportRequest,
        &[SWV],
        vec![
            ConsentCategory::Pupil,
            ConsentCategory::EducationalSupport,
            ConsentCategory::CareHistory,
        ],
    )
    .await?;
    let id = request::create(
        p.school,
        p.by,
        NewRequest {
            swv: SWV.into(),
            child_ref: p.child_ref.into(),
            child_name: p.name.into(),
            child_birth_date: carenet_consent::record::format_date(born),
            kind: Some(kind),
            detail,
            question: question.into(),
            opp_text: "Ontwikkelingsperspectief: verwacht uitstroomniveau, stimulerende en belemmerende factoren en het handelingsdeel, met de ouders besproken.".into(),
            opp_ref: String::new(),
            guardian_view: view.into(),
            pupil_voice: format!("{} vertelde in een kindgesprek wat helpt en wat moeilijk is.", p.name.split(' ').next().unwrap_or("De leerling")),
            voice_reason: String::new(),
            consent_record: record,
            applied_on: String::new(),
            history: vec![
                item(HistorySource::School, Line::First, "Groepsplan: verlengde instructie, een vaste werkplek en dagelijkse check-in, twee perioden geëvalueerd."),
                item(HistorySource::School, Line::Second, "Leerlingbespreking en handelingsgerichte diagnostiek; extra ondersteuning binnen de school gaf onvoldoende resultaat."),
            ],
        },
    )
    .await?;
    Ok(id)
}

/// Submits request `id` and waits until the SWV's node holds it.
async fn submit(p: &Pupil<'_>, swv: &Store, id: &str) -> anyhow::Result<()> {
    let v = request::load(p.school, id).await?.version;
    request::submit(p.school, p.by, &WallClock, id, v).await?;
    arrived(swv, id, |r| r.state == State::Submitted).await
}

/// Waits until `store`'s copy of request `id` satisfies `ok`.
async fn arrived(
    store: &Store,
    id: &str,
    ok: impl Fn(&request::Request) -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = request::load(store, id).await
            && ok(&r)
        {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "a demo support request did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn version(store: &Store, id: &str) -> anyhow::Result<u64> {
    Ok(request::load(store, id).await?.version)
}

fn advice(name: &str, registration: &str, q: Qualification, employer: (&str, &str)) -> Advice {
    Advice {
        advisor_name: name.into(),
        advisor_registration: registration.into(),
        qualification: q,
        employer_party: employer.0.into(),
        employer_name: employer.1.into(),
        document_ref: format!("advies-{registration}.pdf"),
        signatories: 1,
        by_committee: false,
        support_plan_test: "Getoetst aan het ondersteuningsplan van Rivierenland (§4, extra ondersteuning): de ondersteuningsbehoefte gaat boven wat een reguliere school kan bieden.".into(),
        why_not_regular: "Twee jaar arrangement in de eigen school (licht, daarna middel) gaf onvoldoende resultaat; de leerling heeft een kleine groep en een structuur de hele dag nodig.".into(),
        written_on: day(-3),
    }
}

/// The SWV's intake of a received request up to a held MDO.
async fn intake_to_mdo(
    swv: &Store,
    loket: &Actor,
    guide: &Actor,
    id: &str,
    school: &str,
) -> anyhow::Result<()> {
    intake::assign(
        swv,
        loket,
        id,
        version(swv, id).await?,
        "tb-1",
        "Anouk Peters",
    )
    .await?;
    intake::plan_mdo(
        swv,
        guide,
        id,
        version(swv, id).await?,
        &day(-5),
        vec![
            Participant {
                role: ParticipantRole::School,
                name: "Intern begeleider".into(),
                party: school.into(),
            },
            Participant {
                role: ParticipantRole::Guardians,
                name: "Ouders".into(),
                party: String::new(),
            },
            Participant {
                role: ParticipantRole::Swv,
                name: "Anouk Peters".into(),
                party: SWV.into(),
            },
        ],
    )
    .await?;
    intake::hold_mdo(
        swv,
        guide,
        id,
        version(swv, id).await?,
        &day(-5),
        "School, ouders en SWV zijn het eens over de ondersteuningsbehoefte; de aanvraag wordt voorbereid voor een besluit.",
    )
    .await?;
    Ok(())
}

pub async fn seed(handles: &HashMap<String, NodeHandle>) -> anyhow::Result<usize> {
    let h = |id: &str| handles.get(id).with_context(|| format!("demo party {id}"));
    let linde = &h("po-de-linde")?.store;
    let kompas = &h("po-het-kompas")?.store;
    let baken = &h("vo-het-baken")?.store;
    let brug = &h("vo-de-brug")?.store;
    let swv = &h(SWV)?.store;
    let ib_linde = staff(linde, "ib-1", Role::SupportCoordinatorPo)?;
    if !request::list(linde, &ib_linde).await?.is_empty() {
        return Ok(0);
    }
    let ib_kompas = staff(kompas, "ib-1", Role::SupportCoordinatorPo)?;
    let zc_baken = staff(baken, "zc-1", Role::CareCoordinator)?;
    let zc_brug = staff(brug, "zc-1", Role::CareCoordinator)?;
    let loket = staff(swv, "swv-1", Role::SwvStaff)?;
    let guide = staff(swv, "tb-1", Role::TrajectoryGuide)?;
    let config = SupportConfig::default();
    let tlv = |t: SchoolType, c: Category| Detail {
        school_type: Some(t),
        category: Some(c),
        ..Detail::default()
    };

    // Noor (De Linde): a draft; her guardian gives the zienswijze on the portal.
    let noor = Pupil {
        school: linde,
        by: &ib_linde,
        child_ref: "LL01001",
        name: "Noor Jansen",
        born: "2014-02-11",
    };
    draft(&noor, Kind::AdmissionStatement, tlv(SchoolType::Sbo, Category::Low),
        "Kan Noor naar het speciaal basisonderwijs? Ondanks de dyslexiebegeleiding en extra instructie loopt zij steeds verder achter en raakt zij gespannen.", "").await?;

    // Bram (De Linde): a TLV for the SBO, decided with two valid advices.
    let daan = Pupil {
        school: linde,
        by: &ib_linde,
        child_ref: "LL01011",
        name: "Bram Hendriks",
        born: "2015-01-22",
    };
    let daan_id = draft(&daan, Kind::AdmissionStatement, tlv(SchoolType::Sbo, Category::Low),
        "Bram heeft een kleine groep en veel structuur nodig; de basisschool kan dat niet meer bieden.",
        "Wij zien dat Bram vastloopt in de grote groep en steunen de aanvraag.").await?;
    submit(&daan, swv, &daan_id).await?;
    intake_to_mdo(swv, &loket, &guide, &daan_id, "po-de-linde").await?;
    intake::record_advice(
        swv,
        &guide,
        &daan_id,
        version(swv, &daan_id).await?,
        0,
        advice(
            "Drs. Karin Mulder",
            "NIP-10234",
            Qualification::Orthopedagogue,
            (SWV, "Samenwerkingsverband Rivierenland"),
        ),
    )
    .await?;
    intake::record_advice(
        swv,
        &guide,
        &daan_id,
        version(swv, &daan_id).await?,
        1,
        advice(
            "Dr. Ahmed el Amrani",
            "BIG-88812",
            Qualification::ChildPsychiatrist,
            ("", "Praktijk Kind & Jeugd Tiel"),
        ),
    )
    .await?;
    intake::advise(swv, &guide, &daan_id, version(swv, &daan_id).await?).await?;
    intake::decide(swv, &loket, &WallClock, &config, &daan_id, version(swv, &daan_id).await?, Decision {
        outcome: Outcome::Granted,
        reasons: "Beide deskundigen stellen vast dat Brams ondersteuningsbehoefte de mogelijkheden van de basisschool en een arrangement daar overstijgt; het SBO biedt de kleine groep en de structuur die hij nodig heeft.".into(),
        starts_on: day(1),
        ends_on: carenet_consent::record::format_date(intake::default_validity(&config, carenet_fabric::clock::today())),
        school_type: Some(SchoolType::Sbo),
        category: Some(Category::Low),
        guardians_agree: true,
        hearing: String::new(),
    }).await?;
    arrived(linde, &daan_id, |r| r.state == State::Decided).await?;

    // Finn (Het Kompas): the first advisor works for Het Kompas.
    let finn = Pupil {
        school: kompas,
        by: &ib_kompas,
        child_ref: "LL02011",
        name: "Finn de Groot",
        born: "2015-05-03",
    };
    let finn_id = draft(
        &finn,
        Kind::AdmissionStatement,
        tlv(SchoolType::So, Category::Medium),
        "Finn heeft door zijn ernstige spraak-taalproblemen speciaal onderwijs nodig.",
        "Wij willen dat Finn onderwijs krijgt waar hij zich begrepen voelt.",
    )
    .await?;
    submit(&finn, swv, &finn_id).await?;
    intake_to_mdo(swv, &loket, &guide, &finn_id, "po-het-kompas").await?;
    intake::record_advice(
        swv,
        &guide,
        &finn_id,
        version(swv, &finn_id).await?,
        0,
        advice(
            "Drs. Petra Smit",
            "NIP-20417",
            Qualification::Psychologist,
            ("po-het-kompas", "Basisschool Het Kompas"),
        ),
    )
    .await?;
    intake::record_advice(
        swv,
        &guide,
        &finn_id,
        version(swv, &finn_id).await?,
        1,
        advice(
            "Joris van Dam",
            "SKJ-55120",
            Qualification::SocialWorker,
            ("", "Zorgpraktijk De Waal"),
        ),
    )
    .await?;
    let refused = intake::advise(swv, &guide, &finn_id, version(swv, &finn_id).await?).await;
    anyhow::ensure!(
        refused.is_err(),
        "an advisor of the requesting school was accepted"
    );

    // Lotte (Het Baken): her arrangement from the ZAT case, returned with a question.
    let lotte = Pupil {
        school: baken,
        by: &zc_baken,
        child_ref: "LN-LOTTE",
        name: "Lotte Visser",
        born: "2012-06-21",
    };
    let lotte_id = draft(&lotte, Kind::Arrangement,
        Detail { level: Some(ArrangementLevel::Medium), support_asked: "Een begeleider twee dagdelen per week en een aangepast rooster voor tien weken.".into(), cost_cents: Some(450_000), ..Detail::default() },
        "Lotte verzuimt en trekt zich terug; het ZAT vraagt een arrangement om haar terugkeer te begeleiden.",
        "Wij willen dat Lotte weer met plezier naar school gaat en steunen het arrangement.").await?;
    submit(&lotte, swv, &lotte_id).await?;
    intake::return_question(swv, &loket, &lotte_id, version(swv, &lotte_id).await?,
        "Wilt u de evaluatie van het plan van aanpak van het ZAT toevoegen, met de stand van het verzuim?").await?;
    arrived(baken, &lotte_id, |r| r.state == State::Returned).await?;

    // Mila (Het Baken): a light arrangement, granted.
    let mila = Pupil {
        school: baken,
        by: &zc_baken,
        child_ref: "LN-MILA",
        name: "Mila Peeters",
        born: "2012-03-02",
    };
    let mila_id = draft(
        &mila,
        Kind::Arrangement,
        Detail {
            level: Some(ArrangementLevel::Light),
            support_asked: "Zes gesprekken faalangstreductie met een specialist van het SWV."
                .into(),
            cost_cents: Some(90_000),
            ..Detail::default()
        },
        "Mila's faalangst bij toetsen blijft ondanks de begeleiding in school.",
        "Wij zijn blij met extra hulp voor Mila.",
    )
    .await?;
    submit(&mila, swv, &mila_id).await?;
    intake_to_mdo(swv, &loket, &guide, &mila_id, "vo-het-baken").await?;
    intake::decide(swv, &loket, &WallClock, &config, &mila_id, version(swv, &mila_id).await?, Decision {
        outcome: Outcome::Granted,
        reasons: "De begeleiding binnen de school is benut; een licht arrangement van zes gesprekken sluit aan bij de hulpvraag van Mila.".into(),
        starts_on: day(1),
        ends_on: day(120),
        school_type: None,
        category: None,
        guardians_agree: true,
        hearing: String::new(),
    }).await?;

    // Sem (De Brug): outreach support, its MDO planned.
    let sem = Pupil {
        school: brug,
        by: &zc_brug,
        child_ref: "LB-SEM",
        name: "Sem de Boer",
        born: "2012-11-09",
    };
    let sem_id = draft(
        &sem,
        Kind::OutreachSupport,
        Detail {
            support_asked: "Ambulante begeleiding door een gedragsspecialist, ook voor de mentor."
                .into(),
            ..Detail::default()
        },
        "Hoe kan de mentor Sem helpen zijn boosheid in de klas te hanteren?",
        "Wij werken graag mee; thuis zien we dezelfde boosheid.",
    )
    .await?;
    submit(&sem, swv, &sem_id).await?;
    intake::assign(
        swv,
        &loket,
        &sem_id,
        version(swv, &sem_id).await?,
        "tb-1",
        "Anouk Peters",
    )
    .await?;
    intake::plan_mdo(
        swv,
        &guide,
        &sem_id,
        version(swv, &sem_id).await?,
        &day(6),
        vec![
            Participant {
                role: ParticipantRole::School,
                name: "Els Janssen".into(),
                party: "vo-de-brug".into(),
            },
            Participant {
                role: ParticipantRole::Guardians,
                name: "Ouders van Sem".into(),
                party: String::new(),
            },
            Participant {
                role: ParticipantRole::Pupil,
                name: "Sem".into(),
                party: String::new(),
            },
            Participant {
                role: ParticipantRole::Swv,
                name: "Anouk Peters".into(),
                party: SWV.into(),
            },
        ],
    )
    .await?;
    Ok(6)
}
