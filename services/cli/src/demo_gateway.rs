//! The web UI of `carenet demo`: a gateway for each party of the demo
//! region (the schools, the ZAT partners, then the follow-up institution
//! and the SWV), with the demo sign-in (pick a person; no provider needed),
//! at `http://<party>.localhost:<port>/` so that each party keeps its own
//! cookies in one browser.

use std::path::Path;

use anyhow::Context;
use carenet_fabric::PartyKind;
use carenet_gateway::GatewayConfig;
use carenet_gateway::demo::{Persona, Who};
use carenet_node::region::RegionFile;
use tokio::sync::watch;

/// Gateways listen from `port_base` + this.
pub const GATEWAY_PORT_OFFSET: u16 = 80;

fn staff(party: &str, label: &str, id: &str, role: &str) -> Persona {
    let name = name_of(party, id);
    Persona {
        label: format!("{label}: {name}"),
        who: Who::Staff {
            staff: id.into(),
            name,
            roles: vec![role.into()],
        },
    }
}

/// The name of a demo staff member: every demo person has a realistic
/// Dutch name, so no page of the demo shows a staff id.
fn name_of(party: &str, id: &str) -> String {
    let name = match (party, id) {
        ("po-de-linde", "ib-1") => "Sanne de Vries",
        ("po-de-linde", "mentor-2") => "Joost van Dam",
        ("po-het-kompas", "ib-1") => "Marieke Hoekstra",
        ("po-het-kompas", "mentor-2") => "Ahmed El Amrani",
        ("vo-het-baken", "zc-1") => "Ingrid Bakker",
        ("vo-het-baken", "mentor-1") => "Mark de Wit",
        ("vo-het-baken", "teacher-2") => "Fatima Yilmaz",
        ("vo-het-baken", "tl-1") => "Peter Verhoeven",
        ("vo-de-brug", "zc-1") => "Els Janssen",
        ("vo-de-brug", "mentor-1") => "Daan Mulder",
        ("vo-de-brug", "teacher-2") => "Lisa Kramer",
        ("vo-de-brug", "tl-1") => "Henk Bosman",
        ("mbo-vakcollege", "intake-1") => "Karin Smit",
        ("mbo-vakcollege", "slb-1") => "Youssef Bennani",
        ("mbo-vakcollege", "teacher-3") => "Wendy Vermeulen",
        ("swv-rivierenland", "tb-1") => "Anouk Peters",
        ("swv-rivierenland", "swv-1") => "Gert van Leeuwen",
        ("jgz-regio", _) => "Roos Dijkstra",
        ("smw-welzijn", _) => "Bas Koster",
        ("leerplicht-regio", _) => "Hanneke de Graaf",
        _ => "Kim de Jong",
    };
    name.to_owned()
}

/// Staff the demo's seed acts as who sign in as no one: its recorder of
/// the guardians' consents (`demo-zc`) is the school's coordinator.
fn seed_staff(party: &str, kind: PartyKind) -> Vec<carenet_gateway::staff_directory::Line> {
    let coordinator = match kind {
        PartyKind::PoSchool => "ib-1",
        PartyKind::VoSchool => "zc-1",
        _ => return Vec::new(),
    };
    vec![carenet_gateway::staff_directory::Line {
        staff: "demo-zc".into(),
        name: name_of(party, coordinator),
        roles: vec!["care_coordinator".into()],
        groups: Vec::new(),
    }]
}

/// Who one can be at a demo school.
fn personas(party: &str, kind: PartyKind) -> Vec<Persona> {
    let mut people = match kind {
        PartyKind::PoSchool => vec![
            staff(party, "Intern begeleider", "ib-1", "support_coordinator_po"),
            staff(party, "Leerkracht groep 8", "mentor-2", "mentor"),
        ],
        // A ZAT partner's professional (the demo's care seed acts as
        // `<party>-1` there).
        PartyKind::ZatPartner => vec![staff(
            party,
            "Medewerker in het ZAT",
            &format!("{party}-1"),
            "zat_member",
        )],
        // The follow-up institution (mbo): its intakecoördinator receives
        // and assigns, the studieloopbaanbegeleider is the student's mentor.
        PartyKind::Vervolg => vec![
            staff(
                party,
                "Intakecoördinator (zorgcoördinator mbo)",
                "intake-1",
                "intake_coordinator",
            ),
            staff(
                party,
                "Studieloopbaanbegeleider (SLB)",
                "slb-1",
                "study_career_coach",
            ),
            staff(party, "Docent", "teacher-3", "teacher"),
        ],
        PartyKind::Swv => vec![
            staff(party, "Trajectbegeleider", "tb-1", "trajectory_guide"),
            staff(
                party,
                "Medewerker samenwerkingsverband",
                "swv-1",
                "swv_staff",
            ),
        ],
        _ => vec![
            staff(party, "Zorgcoördinator", "zc-1", "care_coordinator"),
            staff(party, "Mentor", "mentor-1", "mentor"),
            staff(party, "Docent", "teacher-2", "teacher"),
            staff(party, "Teamleider", "tl-1", "team_lead"),
        ],
    };
    if party == "po-de-linde" {
        let (subject, name) = crate::demo_seed::DEMO_GUARDIAN;
        people.push(Persona {
            label: format!("Ouder van Noor Jansen ({name})"),
            who: Who::Guardian {
                subject: subject.into(),
                name: name.into(),
            },
        });
    }
    people
}

/// Where a party's gateway comes in the list (and so its port): the
/// schools and ZAT partners in region order first (their ports stay as they
/// were), then the follow-up institution, then the SWV.
fn rank(kind: PartyKind) -> u8 {
    match kind {
        PartyKind::PoSchool | PartyKind::VoSchool | PartyKind::ZatPartner => 0,
        PartyKind::Vervolg => 1,
        PartyKind::Swv => 2,
    }
}

/// Starts every party's gateway; returns (party, URL), the schools first.
pub async fn start(
    data_dir: &Path,
    region: &RegionFile,
    port_base: u16,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<(Vec<(String, String)>, Vec<tokio::task::JoinHandle<()>>)> {
    let mut urls = Vec::new();
    let mut tasks = Vec::new();
    let mut parties: Vec<_> = region
        .parties
        .iter()
        .filter_map(|p| Some((p, PartyKind::parse("kind", &p.kind).ok()?)))
        .collect();
    parties.sort_by_key(|(_, kind)| rank(*kind));
    for (i, (p, kind)) in parties.into_iter().enumerate() {
        let port = port_base + GATEWAY_PORT_OFFSET + i as u16;
        let listen = format!("127.0.0.1:{port}");
        let public_url = format!("http://{}.localhost:{port}", p.id);
        let dir = data_dir.join("gateway").join(&p.id);
        let config = GatewayConfig::local(
            listen.clone(),
            public_url.clone(),
            p.config.clone(),
            dir.join("session.key"),
        );
        let state = carenet_gateway::build_demo(config, personas(&p.id, kind))
            .await
            .with_context(|| format!("gateway of {}", p.id))?;
        carenet_gateway::staff_directory::keep_listed(&state, &seed_staff(&p.id, kind))
            .await
            .with_context(|| format!("staff directory of {}", p.id))?;
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .with_context(|| format!("cannot listen on {listen} for the gateway of {}", p.id))?;
        let mut rx = stop.clone();
        tasks.push(tokio::spawn(async move {
            let served = carenet_gateway::serve(state, listener, async move {
                let _ = rx.wait_for(|s| *s).await;
            })
            .await;
            if let Err(e) = served {
                eprintln!("gateway stopped with an error: {e}");
            }
        }));
        urls.push((p.id.clone(), format!("{public_url}/")));
    }
    Ok((urls, tasks))
}
