//! The staff directory the gateway keeps (the pages name people from it,
//! the "pick a person" fields pick from it): an admin's staff list taken
//! all or nothing, on the backend of this run (SQLite, or PostgreSQL with
//! `TEST_DATABASE_URL`), and through `carenet gateway staff import`.

use carenet_e2e::fresh_store;
use carenet_fabric::{Actor, Role};
use carenet_gateway::staff_directory::{self, Source};

fn admin(store: &carenet_fabric::store::Store) -> Actor {
    Actor::new(store.party.clone(), "beheer-1", [Role::Admin]).unwrap()
}

/// (staff, name, roles, groups, source) of everyone, by staff id.
async fn rows(
    store: &carenet_fabric::store::Store,
) -> anyhow::Result<Vec<(String, String, String, String, Source)>> {
    let mut people = staff_directory::all(&store.db).await?;
    people.sort_by(|a, b| a.staff.cmp(&b.staff));
    Ok(people
        .into_iter()
        .map(|p| {
            (
                p.staff,
                p.name,
                p.roles.join(" "),
                p.groups.join(" "),
                p.source,
            )
        })
        .collect())
}

#[tokio::test]
async fn an_admins_staff_list_is_taken_all_or_nothing() -> anyhow::Result<()> {
    let (_dir, store) = fresh_store("vo-1").await?;
    let list = "staff;name;roles;groups\n\
                zc-1;Ingrid Bakker;care_coordinator;zorgteam\n\
                mentor-1;\"Wit, Mark de\";mentor teacher;1a|1b\n\
                teacher-2;Fatima Yilmaz;teacher;\n";
    assert_eq!(
        staff_directory::import(&store, &admin(&store), list).await?,
        3
    );
    let first = rows(&store).await?;
    assert_eq!(
        first,
        [
            (
                "mentor-1".into(),
                "Wit, Mark de".into(),
                "mentor teacher".into(),
                "1a 1b".into(),
                Source::Upload
            ),
            (
                "teacher-2".into(),
                "Fatima Yilmaz".into(),
                "teacher".into(),
                String::new(),
                Source::Upload
            ),
            (
                "zc-1".into(),
                "Ingrid Bakker".into(),
                "care_coordinator".into(),
                "zorgteam".into(),
                Source::Upload
            ),
        ]
    );

    // A bad line: refused naming line and field (not the name on it), and
    // nothing of the list is kept, not even its good lines.
    let bad = "zc-1,Ingrid Bakker,care_coordinator,zorgteam\n\
               mentor-9,Nieuwe Mentor,mentor,2c\n\
               teacher-3,Geheime Naam,leraar,\n";
    let e = staff_directory::import(&store, &admin(&store), bad)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 3, roles"), "{e}");
    assert!(!e.contains("Geheime"), "no name in the error: {e}");
    assert_eq!(rows(&store).await?, first, "nothing written");

    // Only an admin uploads it; the refusal is audited.
    let mentor = Actor::new(store.party.clone(), "mentor-1", [Role::Mentor])?;
    let e = staff_directory::import(&store, &mentor, list)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("admin"), "{e}");
    let audit = carenet_fabric::audit::list(&store.db, 0, 1000).await?;
    assert!(
        audit
            .iter()
            .any(|r| r.action == "refused:staff_directory_import")
    );
    assert!(
        audit
            .iter()
            .any(|r| r.action == "staff_directory_imported" && r.message_id == "3 people")
    );

    // A later list is the list: who is no longer on it is taken out.
    let later = "zc-1,Ingrid Bakker,care_coordinator,zorgteam\nmentor-1,Mark de Wit,mentor,1a\n";
    assert_eq!(
        staff_directory::import(&store, &admin(&store), later).await?,
        2
    );
    let names: Vec<(String, String)> = rows(&store)
        .await?
        .into_iter()
        .map(|(s, n, ..)| (s, n))
        .collect();
    assert_eq!(
        names,
        [
            ("mentor-1".into(), "Mark de Wit".into()),
            ("zc-1".into(), "Ingrid Bakker".into())
        ]
    );
    Ok(())
}

#[tokio::test]
async fn carenet_gateway_staff_import_names_the_bad_line_and_writes_nothing() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    // A node's database, as `carenet node` leaves it.
    let db =
        carenet_node::migrations::open_sqlite(&dir.path().join(carenet_fabric::store::SQLITE_FILE))
            .await?;
    db.close().await;
    let files = tempfile::tempdir()?;
    let good = files.path().join("staff.csv");
    std::fs::write(
        &good,
        "medewerker,naam,rollen,groepen\nzc-1,Ingrid Bakker,care_coordinator,zorgteam\nmentor-1,Mark de Wit,mentor,1a 1b\n",
    )?;
    let bad = files.path().join("bad.csv");
    std::fs::write(
        &bad,
        "zc-1,Ingrid Bakker,care_coordinator\nmentor-2,Daan Mulder\n",
    )?;
    let data_dir = dir.path().display().to_string();
    let import = |file: &std::path::Path, role: &str| {
        std::process::Command::new(carenet_e2e::carenet_bin())
            .args(["gateway", "staff", "import", "--data-dir", &data_dir])
            .args(["--party", "vo-1", "--by", "beheer-1", "--role", role])
            .arg("--file")
            .arg(file)
            .arg("--json")
            .env("RUST_LOG", "warn")
            .output()
    };
    let done = import(&good, "admin")?;
    assert!(done.status.success(), "{done:?}");
    let said: serde_json::Value = serde_json::from_slice(&done.stdout)?;
    assert_eq!(said, serde_json::json!({"imported": 2}));
    let refused = import(&bad, "admin")?;
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("line 2, line: has 2 fields"), "{err}");
    assert!(!err.contains("Daan"), "no name in the error: {err}");

    let db = carenet_node::migrations::open_existing(
        &dir.path()
            .join(carenet_fabric::store::SQLITE_FILE)
            .display()
            .to_string(),
    )
    .await?;
    let people: Vec<(String, String, String)> = staff_directory::all(&db)
        .await?
        .into_iter()
        .map(|p| (p.staff, p.name, p.groups.join(" ")))
        .collect();
    // The good list only (by name), nothing of the bad one.
    assert_eq!(
        people,
        [
            ("zc-1".into(), "Ingrid Bakker".into(), "zorgteam".into()),
            ("mentor-1".into(), "Mark de Wit".into(), "1a 1b".into())
        ]
    );
    db.close().await;
    Ok(())
}
