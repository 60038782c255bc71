//! Refused forms keep what was typed (issue 20): over real nodes, the real
//! OIDC provider and the gateways, a refused form comes back as the same
//! page with its status, what was typed, the field marked and a Dutch
//! sentence. The IZO registration's mentor is picked from the staff
//! directory by name (an unknown one refused, the picked one shown by
//! name); the warm handover's plan form keeps its input; the parent
//! portal's wrong code keeps the page and names no child.

use carenet_e2e::{TestRegion, Tuning};
use carenet_fabric::{Actor, Role};
use reqwest::header::{COOKIE, LOCATION};

use crate::gateway::{bind, gateway, provider};
use crate::gateway_sessions::{Jar, csrf, http, page, sign_in};
use crate::three_parties;

/// Posts `fields` with the page's CSRF token, as a browser would; the
/// status, where it leads (a redirect) and the page it answers with.
async fn post(
    base: &str,
    action: &str,
    jar: &Jar,
    on_page: &str,
    fields: &[(&str, &str)],
) -> anyhow::Result<(u16, Option<String>, String)> {
    let token = csrf(on_page)?;
    let mut form = vec![("csrf", token.as_str())];
    form.extend_from_slice(fields);
    let answer = http()
        .post(format!("{base}{action}"))
        .header(COOKIE, jar.header())
        .header("origin", base)
        .form(&form)
        .send()
        .await?;
    let status = answer.status().as_u16();
    let to = answer
        .headers()
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned);
    Ok((status, to, answer.text().await?))
}

/// The input with id `id` in `html`, as written.
fn input<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let start = html[..at].rfind('<').unwrap_or(0);
    let end = at + html[at..].find('>').unwrap_or(0);
    &html[start..=end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_forms_come_back_with_what_was_typed() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start("swv").await?;
    let po = region.start("po-1").await?.store;
    let vo = region.start("vo-1").await?.store;
    // vo-1's staff list: its mentor is picked from it by name.
    let beheer = Actor::new(vo.party.clone(), "beheer-1", [Role::Admin])?;
    carenet_gateway::staff_directory::import(
        &vo,
        &beheer,
        "staff,name,roles,groups\nmentor-7,Mark de Wit,mentor,1b\n",
    )
    .await?;
    // po-1's own dossier, for the warm handover; an invitation for the portal.
    let ib = Actor::new(po.party.clone(), "ib-1", [Role::SupportCoordinatorPo])?;
    let dossier = carenet_handover::dossier::import_oso(
        &po,
        &ib,
        &crate::handover::example("POVO_full"),
        "pupil-1",
        carenet_handover::dossier::Route::PoVo,
    )
    .await?;

    let (po_listener, po_base) = bind().await?;
    let (vo_listener, vo_base) = bind().await?;
    let (_provider, issuer) = provider(&[&po_base, &vo_base]).await?;
    let po_gw = gateway(&region, "po-1", &issuer, po_listener, &po_base).await?;
    let vo_gw = gateway(&region, "vo-1", &issuer, vo_listener, &vo_base).await?;

    // 1. The IZO registration: a mentor the directory does not know.
    let zc = sign_in(&vo_base, "/inloggen", "zc-9").await?;
    let (status, form) = page(&vo_base, "/izo", &zc).await?;
    assert_eq!(status, 200, "{form}");
    assert!(
        form.contains("<option value=\"Mark de Wit (mentor)\">"),
        "the mentor field offers people by name: {form}"
    );
    let question = "Ik wil weer naar school.";
    let registration = |mentor: &'static str| {
        vec![
            ("form_id", ""),
            ("child_ref", "izo-pupil-1"),
            ("child_birth_date", "2013-04-02"),
            ("mentor", mentor),
            ("guardians_informed", "ja"),
            ("problem", "Verzuimt steeds vaker."),
            ("pupil_question", question),
            ("support_question", "Wat is nodig?"),
            ("support", "pupil"),
            ("school-absence", "Elf lesuren."),
        ]
    };
    let (status, to, refused) = post(
        &vo_base,
        "/izo/aanmelden",
        &zc,
        &form,
        &registration("mentor1"),
    )
    .await?;
    assert_eq!((status, to), (400, None), "{refused}");
    assert!(refused.contains("id=\"fout-samenvatting\""), "{refused}");
    assert!(
        refused.contains(
            "Kies een medewerker uit de lijst bij &#34;Mentor&#34;: mentor1 is niet bekend."
        ),
        "a Dutch sentence naming the field: {refused}"
    );
    let mentor = input(&refused, "mentor");
    assert!(
        mentor.contains("aria-invalid=\"true\"") && mentor.contains("value=\"mentor1\""),
        "{mentor}"
    );
    assert!(
        refused.contains(&format!(">{question}</textarea>")),
        "the question as typed"
    );
    assert!(input(&refused, "school-absence").contains("value=\"Elf lesuren.\""));
    assert!(refused.contains("name=\"support\" value=\"pupil\" checked"));
    assert!(
        carenet_referral::izo::list(
            &vo,
            &Actor::new(vo.party.clone(), "zc-9", [Role::CareCoordinator])?
        )
        .await?
        .is_empty(),
        "nothing registered"
    );
    // Picked by name: registered with the staff id, shown by name.
    let (status, to, _) = post(
        &vo_base,
        "/izo/aanmelden",
        &zc,
        &refused,
        &registration("Mark de Wit (mentor)"),
    )
    .await?;
    assert_eq!(status, 303);
    let to = to.expect("to the registration");
    let (_, shown) = page(&vo_base, &to, &zc).await?;
    assert!(
        shown.contains("<dt>Mentor</dt><dd>Mark de Wit</dd>"),
        "{shown}"
    );
    let zc_actor = Actor::new(vo.party.clone(), "zc-9", [Role::CareCoordinator])?;
    let listed = carenet_referral::izo::list(&vo, &zc_actor).await?;
    let stored = carenet_referral::izo::show(&vo, &zc_actor, &listed[0].id).await?;
    assert_eq!(stored.registration.mentor, "mentor-7");

    // Accepting without the four checks: the triage comes back with the
    // note as typed and the first check marked.
    let (status, none, refused) = post(
        &vo_base,
        &format!("{to}/beoordelen"),
        &zc,
        &shown,
        &[
            ("decision", "accept"),
            ("note", "Snel bespreken."),
            ("questions_clear", "ja"),
        ],
    )
    .await?;
    assert_eq!((status, none), (400, None), "{refused}");
    assert!(refused.contains("Controleer de toetsing"), "{refused}");
    assert!(input(&refused, "t-belongs_in_tier2").contains("aria-invalid=\"true\""));
    assert!(input(&refused, "t-questions_clear").contains("checked"));
    assert!(refused.contains(">Snel bespreken.</textarea>"));
    let checks = [
        ("decision", "accept"),
        ("belongs_in_tier2", "ja"),
        ("questions_clear", "ja"),
        ("tier1_exhausted", "ja"),
        ("guardians_and_pupil_informed", "ja"),
    ];
    let (status, _, _) = post(
        &vo_base,
        &format!("{to}/beoordelen"),
        &zc,
        &refused,
        &checks,
    )
    .await?;
    assert_eq!(status, 303);
    // The minutes: who informs the guardians is one of the school's staff.
    let (_, shown) = page(&vo_base, &to, &zc).await?;
    let today = carenet_consent::record::format_date(carenet_fabric::clock::today());
    let minutes = |contact: &'static str| {
        vec![
            ("form_id", ""),
            ("held_on", today.as_str()),
            ("analysis", "Meer partijen nodig."),
            ("summary", "Naar het ZAT."),
            ("guardians_contact", contact),
            ("zat_question", "Hoe verder?"),
            ("outcomes", "zat"),
            ("evaluation_on", "2030-01-01"),
        ]
    };
    let (status, none, refused) = post(
        &vo_base,
        &format!("{to}/verslag"),
        &zc,
        &shown,
        &minutes("Piet"),
    )
    .await?;
    assert_eq!((status, none), (400, None), "{refused}");
    assert!(
        refused.contains("Kies een medewerker uit de lijst bij &#34;Wie informeert de ouders&#34;"),
        "{refused}"
    );
    assert!(input(&refused, "m-guardians_contact").contains("aria-invalid=\"true\""));
    assert!(refused.contains(">Meer partijen nodig.</textarea>"));
    assert!(refused.contains("name=\"outcomes\" value=\"zat\" checked"));
    let (status, _, _) = post(
        &vo_base,
        &format!("{to}/verslag"),
        &zc,
        &refused,
        &minutes("Mark de Wit (mentor)"),
    )
    .await?;
    assert_eq!(status, 303);
    let (_, shown) = page(&vo_base, &to, &zc).await?;
    assert!(
        shown.contains("De ouders worden geïnformeerd door Mark de Wit."),
        "{shown}"
    );

    // 2. The warm handover's plan form: a date that is none comes back on
    // the dossier's page with the role and who takes part as chosen.
    let ib_jar = sign_in(&po_base, "/inloggen", "ib-1").await?;
    let path = format!("/dossiers/{dossier}");
    let (status, shown) = page(&po_base, &path, &ib_jar).await?;
    assert_eq!(status, 200, "{shown}");
    let (status, to, refused) = post(
        &po_base,
        &format!("{path}/warme-overdracht"),
        &ib_jar,
        &shown,
        &[
            ("form_id", ""),
            ("planned_on", "2027-02-30"),
            ("party", "vo-1"),
            ("role", "mentor"),
            ("pupil", "ja"),
        ],
    )
    .await?;
    assert_eq!((status, to), (400, None), "{refused}");
    assert!(
        refused.contains("Vul bij de datum een datum in (dd-mm-jjjj)."),
        "{refused}"
    );
    let date = input(&refused, "planned_on");
    assert!(
        date.contains("aria-invalid=\"true\"") && date.contains("value=\"2027-02-30\""),
        "{date}"
    );
    assert!(
        refused.contains("<option value=\"mentor\" selected>"),
        "the role as chosen"
    );
    assert!(refused.contains("name=\"pupil\" value=\"ja\" checked"));
    assert!(
        !refused.contains("name=\"guardians\" value=\"ja\" checked"),
        "the guardians as chosen (not)"
    );
    assert!(
        carenet_handover::warm::of_dossier(&po, &ib, &dossier)
            .await?
            .is_empty(),
        "nothing planned"
    );
    // Planned; its record with a date that is none keeps what was written.
    let (status, to, _) = post(
        &po_base,
        &format!("{path}/warme-overdracht"),
        &ib_jar,
        &refused,
        &[
            ("form_id", ""),
            ("planned_on", "2027-06-15"),
            ("party", "vo-1"),
            ("role", "mentor"),
            ("guardians", "ja"),
        ],
    )
    .await?;
    assert_eq!(status, 303);
    let warm = to.expect("to the conversation");
    let (_, shown) = page(&po_base, &warm, &ib_jar).await?;
    let (status, none, refused) = post(
        &po_base,
        &format!("{warm}/vastleggen"),
        &ib_jar,
        &shown,
        &[
            ("held_on", "2027-13-01"),
            ("note-1", "Extra tijd bij toetsen"),
            ("minutes", "Besproken: de overstap."),
            ("agreements", "Mentor belt ouders in week 2"),
        ],
    )
    .await?;
    assert_eq!((status, none), (400, None), "{refused}");
    assert!(input(&refused, "held_on").contains("aria-invalid=\"true\""));
    for typed in [
        ">Extra tijd bij toetsen</textarea>",
        ">Besproken: de overstap.</textarea>",
        ">Mentor belt ouders in week 2</textarea>",
    ] {
        assert!(refused.contains(typed), "{typed} in {refused}");
    }

    // 3. The parent portal: a wrong code keeps the page, says what to do
    // in Dutch and names no child.
    let parent = sign_in(&po_base, "/ouders/inloggen", "ouder-1").await?;
    let (status, home) = page(&po_base, "/ouders", &parent).await?;
    assert_eq!(status, 200, "{home}");
    let (status, to, refused) = post(
        &po_base,
        "/ouders/koppelen",
        &parent,
        &home,
        &[("code", "ABCD-EFGH-JKLM")],
    )
    .await?;
    assert_eq!((status, to), (400, None), "{refused}");
    assert!(
        refused.contains("Deze code kennen we niet, hij is al gebruikt of verlopen."),
        "{refused}"
    );
    assert!(refused.contains("Welkom, J. de Vries"), "the same page");
    let code = input(&refused, "code");
    assert!(
        code.contains("aria-invalid=\"true\"") && code.contains("value=\"ABCD-EFGH-JKLM\""),
        "{code}"
    );
    assert!(
        !refused.contains("pupil-1") && !refused.contains("/ouders/kind/"),
        "no child on the page"
    );

    po_gw.stop().await;
    vo_gw.stop().await;
    region.shutdown().await
}
