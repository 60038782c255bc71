//! A refused form keeps what was typed (issue 20, item 3), over real nodes,
//! the real provider and the gateway: the ZAT's first meeting with an
//! unknown case coordinator, or an action's date that is no date, comes
//! back as the case page with everything typed and the field marked; so do
//! sending the case file to a party the consent does not name, a step
//! without its reason, an evaluation without its date and a "bijstellen"
//! action without a due date. Each answers 400 with a Dutch sentence and none of the slices'
//! English reasons; corrected, the same form goes through (post/redirect/get).

use carenet_consent::{Category, Purpose};
use carenet_e2e::{TestRegion, Tuning, asked_consent, grant_consent};
use carenet_fabric::{Actor, PartyKind, Role};
use carenet_node::region::PartyPlan;
use carenet_proto::v1;
use reqwest::header::{COOKIE, LOCATION};

use crate::gateway::{bind, gateway, provider};
use crate::gateway_sessions::{Jar, csrf, http, page, sign_in};
use crate::received::escaped;

fn day(offset: i64) -> String {
    carenet_consent::record::format_date(
        carenet_fabric::clock::today() + time::Duration::days(offset),
    )
}

/// The value of the first `name="<name>" value="…"` in `page`.
fn hidden(page: &str, name: &str) -> anyhow::Result<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let at = page
        .find(&marker)
        .ok_or_else(|| anyhow::anyhow!("no {name} in {page}"))?;
    let rest = &page[at + marker.len()..];
    Ok(rest[..rest.find('"').unwrap_or(0)].to_owned())
}

/// The opening tag of the element with id `id`.
fn tag<'a>(page: &'a str, id: &str) -> &'a str {
    let marker = format!("id=\"{id}\"");
    let Some(at) = page.find(&marker) else {
        panic!("no #{id} in {page}");
    };
    let start = page[..at].rfind('<').unwrap_or(0);
    let end = at + page[at..].find('>').unwrap_or(0);
    &page[start..=end]
}

/// Posts `form` to `path` as the signed-in browser; the status and page.
async fn post(
    base: &str,
    path: &str,
    jar: &Jar,
    form: &[(&str, String)],
) -> anyhow::Result<(u16, String, Option<String>)> {
    let answer = http()
        .post(format!("{base}{path}"))
        .header(COOKIE, jar.header())
        .header("origin", base)
        .form(form)
        .send()
        .await?;
    let to = answer
        .headers()
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned);
    Ok((answer.status().as_u16(), answer.text().await?, to))
}

/// A refused page: the Dutch summary, and none of the slices' English.
fn dutch_refusal(html: &str, sentence: &str) {
    assert!(html.contains("id=\"fout-samenvatting\""), "{html}");
    assert!(
        html.contains("Wat er was ingevuld, staat er nog."),
        "{html}"
    );
    assert!(html.contains(&escaped(sentence)), "{sentence} in {html}");
    for reason in crate::english::reason_strings() {
        assert!(!html.contains(&reason), "English on the page: {reason}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_zat_plan_and_evaluation_forms_come_back_with_what_was_typed() -> anyhow::Result<()>
{
    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        PartyPlan::zat("jgz-1", "jgz", "JGZ Regio"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let vo = region.handle("vo-1").store;
    let zc = Actor::new(vo.party.clone(), "zc-9", [Role::CareCoordinator])?;
    let child = "kept-pupil-1";
    let today = day(0);

    // A pupil through the IZO, referred to the ZAT under the guardians'
    // consent, the case file sent to the JGZ.
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
            evaluation_on: day(60),
            outcomes: vec![v1::IzoOutcome::Zat as i32],
            ..Default::default()
        },
    )
    .await?;
    let referral = asked_consent(
        &vo,
        child,
        Purpose::ReferToZat,
        &["jgz-1"],
        vec![Category::Pupil, Category::EducationalSupport],
    )
    .await?;
    grant_consent(&vo, &referral).await?;
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
            consent_record: referral,
            meeting_on: today.clone(),
            ..Default::default()
        },
    )
    .await?;
    carenet_referral::zat::distribute(&vo, &zc, &case_id, &["jgz-1".to_owned()]).await?;

    let (listener, base) = bind().await?;
    let (_provider, issuer) = provider(&[&base]).await?;
    let gw = gateway(&region, "vo-1", &issuer, listener, &base).await?;
    let chair = sign_in(&base, "/inloggen", "zc-9").await?;

    // (b) The first meeting, its case coordinator someone the directory
    // does not know: the case page again, everything typed kept.
    let case_path = format!("/zat/{case_id}");
    let (status, case_page) = page(&base, &case_path, &chair).await?;
    assert_eq!(status, 200, "{case_page}");
    // Sending the case file to a party the guardians' consent does not
    // name: the page again, that party still checked and marked.
    let (status, html, _) = post(
        &base,
        &format!("{case_path}/verspreiden"),
        &chair,
        &[("csrf", csrf(&case_page)?), ("members", "swv".to_owned())],
    )
    .await?;
    assert_eq!(status, 422, "{html}");
    dutch_refusal(
        &html,
        "De gekozen toestemming geldt niet voor deze leerling, dit doel of deze ontvanger.",
    );
    let swv = tag(&html, "lid-swv");
    assert!(
        swv.contains(" checked") && swv.contains("aria-invalid=\"true\""),
        "{swv}"
    );
    assert!(html.contains("href=\"/toestemming#vragen\""), "{html}");

    let goal = "Sam gaat weer <elke> dag naar school & blijft";
    let analysis = "Slaapprobleem; spanningen thuis.";
    let meeting = |coordinator: &str, row: usize, due: &str| {
        let mut form = vec![
            ("csrf", csrf(&case_page).unwrap()),
            ("kind", "first".to_owned()),
            ("form_id", hidden(&case_page, "form_id").unwrap()),
            ("held_on", today.clone()),
            ("analysis", analysis.to_owned()),
            ("needs", "Een vast aanspreekpunt.".to_owned()),
            ("directions", "Slaap laten onderzoeken.".to_owned()),
            ("decisions", "JGZ onderzoekt.".to_owned()),
            ("coordinator", coordinator.to_owned()),
            ("reports_back", "Ingrid Bakker belt de ouders".to_owned()),
            ("evaluation_on", day(42)),
            ("goal_text", goal.to_owned()),
            ("goal_measure", "Verzuim per week".to_owned()),
            ("goal_target", day(56)),
            ("member-0-party", "jgz-1".to_owned()),
            ("member-0-role", "jeugdverpleegkundige".to_owned()),
            ("member-0-person", "J. Smit".to_owned()),
            ("member-0-consent", membership.clone()),
        ];
        for i in 0..4 {
            let (what, owner, due, category) = if i == row {
                (
                    "Slaaponderzoek door de jeugdarts",
                    "jgz-1",
                    due,
                    "external_care",
                )
            } else {
                ("", "vo-1", "", "action_plans")
            };
            let name = |n: &str| format!("action-{i}-{n}");
            form.push((leak(name("owner")), owner.to_owned()));
            form.push((leak(name("what")), what.to_owned()));
            form.push((leak(name("due")), due.to_owned()));
            form.push((leak(name("category")), category.to_owned()));
        }
        form
    };
    let path = format!("{case_path}/overleg");
    let (status, html, _) =
        post(&base, &path, &chair, &meeting("Piet Onbekend", 0, &day(14))).await?;
    assert_eq!(status, 400, "{html}");
    dutch_refusal(
        &html,
        "Kies een medewerker uit de lijst bij \"Casusregisseur\": Piet Onbekend is niet bekend.",
    );
    let coordinator = tag(&html, "coordinator");
    assert!(
        coordinator.contains("aria-invalid=\"true\"")
            && coordinator.contains("value=\"Piet Onbekend\"")
            && coordinator.contains("coordinator-fout"),
        "{coordinator}"
    );
    assert!(
        tag(&html, "goal_text").contains(&format!("value=\"{}\"", escaped(goal))),
        "the goal as typed, escaped: {html}"
    );
    assert!(html.contains(&format!(">{analysis}</textarea>")));
    assert!(tag(&html, "action-0-what").contains("value=\"Slaaponderzoek door de jeugdarts\""));
    assert!(html.contains(&format!("<option value=\"{membership}\" selected>")));
    assert!(!tag(&html, "goal_text").contains("aria-invalid"));

    // An action in the form's second row whose date is no date: that row's
    // date is marked (the slice names the plan's first action).
    let (status, html, _) =
        post(&base, &path, &chair, &meeting("Ingrid Bakker", 1, "morgen")).await?;
    assert_eq!(status, 400, "{html}");
    dutch_refusal(&html, "Vul bij de streefdatum een datum in (dd-mm-jjjj).");
    let due = tag(&html, "action-1-due");
    assert!(
        due.contains("aria-invalid=\"true\"") && due.contains("value=\"morgen\""),
        "{due}"
    );
    assert!(html.contains("id=\"action-1-due-fout\""));
    assert!(!tag(&html, "action-0-due").contains("aria-invalid"));
    assert!(tag(&html, "coordinator").contains("value=\"Ingrid Bakker\""));

    // Corrected, the same form records the meeting and opens the plan.
    let (status, _, to) =
        post(&base, &path, &chair, &meeting("Ingrid Bakker", 1, &day(14))).await?;
    assert_eq!(status, 303);
    let plan_path = to.expect("to the plan");
    assert!(plan_path.starts_with("/plannen/"), "{plan_path}");

    // (c) An evaluation without its date: the plan's page again, the text
    // typed and the choice made still there.
    let (_, plan_page) = page(&base, &plan_path, &chair).await?;

    // A step that needs a reason (cancelling the JGZ's action) without
    // one: the plan's page again, that action's reason marked.
    let step_action = plan_page
        .split("action=\"")
        .map(|rest| &rest[..rest.find('"').unwrap_or(0)])
        .find(|a| a.contains("/taken/"))
        .expect("a step form")
        .to_owned();
    let task = step_action
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let (status, html, _) = post(
        &base,
        &step_action,
        &chair,
        &[
            ("csrf", csrf(&plan_page)?),
            ("version", hidden(&plan_page, "version")?),
            ("reason", " ".to_owned()),
            ("step", "cancel".to_owned()),
        ],
    )
    .await?;
    assert_eq!(status, 400, "{html}");
    dutch_refusal(&html, "Vul de reden in.");
    assert!(
        tag(&html, &format!("reden-{task}")).contains("aria-invalid=\"true\""),
        "{html}"
    );
    assert!(html.contains("gevraagd"), "the action still stands: {html}");
    let evaluated = "Slapen gaat beter; thuis nog onrust.";
    let evaluation = |held_on: &str| {
        vec![
            ("csrf", csrf(&plan_page).unwrap()),
            ("form_id", hidden(&plan_page, "form_id").unwrap()),
            ("held_on", held_on.to_owned()),
            ("text", evaluated.to_owned()),
            ("outcome", "adjust".to_owned()),
            ("next_on", day(28)),
        ]
    };
    let eval_path = format!("{plan_path}/evaluatie");
    let (status, html, _) = post(&base, &eval_path, &chair, &evaluation("")).await?;
    assert_eq!(status, 400, "{html}");
    dutch_refusal(&html, "Vul bij de datum een datum in (dd-mm-jjjj).");
    assert!(
        tag(&html, "eval-held").contains("aria-invalid=\"true\""),
        "{html}"
    );
    assert!(html.contains(&format!(">{}</textarea>", escaped(evaluated))));
    assert!(html.contains("<option value=\"adjust\" selected>"));
    assert!(tag(&html, "eval-next").contains(&format!("value=\"{}\"", day(28))));
    let (status, _, to) = post(&base, &eval_path, &chair, &evaluation(&today)).await?;
    assert_eq!(status, 303);
    let adjust_path = to.expect("to bijstellen");
    assert!(adjust_path.ends_with("/bijstellen"), "{adjust_path}");

    // (a) "Bijstellen": an action without a due date that is one, and a
    // goal's change without its text.
    let (_, adjust_page) = page(&base, &adjust_path, &chair).await?;
    let what = "Gesprek met de ouders over het slapen";
    let action = |due: &str| {
        vec![
            ("csrf", csrf(&adjust_page).unwrap()),
            (
                "plan_version",
                hidden(&adjust_page, "plan_version").unwrap(),
            ),
            ("form_id", form_id_of(&adjust_page, "actie-toevoegen")),
            ("kind", "action".to_owned()),
            ("owner", "jgz-1".to_owned()),
            ("what", what.to_owned()),
            ("goal", goal.to_owned()),
            ("due_on", due.to_owned()),
            ("category", "external_care".to_owned()),
        ]
    };
    let (status, html, _) = post(&base, &adjust_path, &chair, &action("31-02-2027")).await?;
    assert_eq!(status, 400, "{html}");
    dutch_refusal(&html, "Vul bij de streefdatum een datum in (dd-mm-jjjj).");
    let due = tag(&html, "nieuwe-actie-klaar");
    assert!(
        due.contains("aria-invalid=\"true\"") && due.contains("value=\"31-02-2027\""),
        "{due}"
    );
    assert!(tag(&html, "nieuwe-actie-wat").contains(&format!("value=\"{what}\"")));
    assert!(html.contains("<option value=\"jgz-1\" selected>"));
    assert!(html.contains("<option value=\"external_care\" selected>"));
    // Only the form sent keeps its input: the goal form is as it stands.
    assert!(!tag(&html, "nieuw-doel").contains("aria-invalid"));
    // Corrected, it goes through once.
    let (status, _, to) = post(&base, &adjust_path, &chair, &action(&day(10))).await?;
    assert_eq!((status, to.as_deref()), (303, Some(adjust_path.as_str())));
    // The action now stands among the plan's (its add form empty again).
    let (_, adjusted) = page(&base, &adjust_path, &chair).await?;
    assert_eq!(
        adjusted.matches(&format!("value=\"{what}\"")).count(),
        1,
        "{adjusted}"
    );
    assert!(tag(&adjusted, "nieuwe-actie-wat").contains("value=\"\""));

    // A goal's change without its text: that goal's text marked.
    let goal_action = adjusted
        .split("action=\"")
        .map(|rest| &rest[..rest.find('"').unwrap_or(0)])
        .find(|a| a.contains("/doelen/"))
        .expect("a goal's form")
        .to_owned();
    let (status, html, _) = post(
        &base,
        &goal_action,
        &chair,
        &[
            ("csrf", csrf(&adjusted)?),
            ("plan_version", hidden(&adjusted, "plan_version")?),
            ("do", "edit".to_owned()),
            ("text", " ".to_owned()),
            ("measure", "Dagen aanwezig per week".to_owned()),
            ("target_on", day(70)),
        ],
    )
    .await?;
    assert_eq!(status, 400, "{html}");
    dutch_refusal(&html, "Vul de tekst in.");
    assert!(tag(&html, "doel-1-tekst").contains("aria-invalid=\"true\""));
    assert!(tag(&html, "doel-1-meten").contains("value=\"Dagen aanwezig per week\""));

    gw.stop().await;
    region.shutdown().await
}

/// The form id of the form with id `form` on `page`.
fn form_id_of(page: &str, form: &str) -> String {
    let at = page
        .find(&format!("id=\"{form}\""))
        .unwrap_or_else(|| panic!("no form {form}"));
    hidden(&page[at..], "form_id").unwrap()
}

/// A field name for the form, kept for the test's length.
fn leak(name: String) -> &'static str {
    Box::leak(name.into_boxed_str())
}
