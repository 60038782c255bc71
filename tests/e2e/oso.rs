//! OSO import and export through the `carenet` command, checked by an
//! independent validator: the XSD (Python lxml) and the official business
//! rules (the XSLT 2.0 of the standard, run by saxonche). `scripts/setup`
//! installs both.

use std::path::{Path, PathBuf};
use std::process::Command;

use carenet_e2e::carenet_bin;

fn vendored_oso() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vendor/oso/OV")
}

pub fn examples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(vendored_oso().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    v.sort();
    assert_eq!(v.len(), 4);
    v
}

/// Runs the independent validator; `Ok` only if the XSD and every business
/// rule pass (and, with `same_as`, every value is the original's).
pub fn validate(file: &Path, same_as: Option<&Path>) -> anyhow::Result<()> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("oso/validate.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script).arg("--oso-dir").arg(vendored_oso());
    if let Some(o) = same_as {
        cmd.arg("--same-as").arg(o);
    }
    let out = cmd.arg(file).output()?;
    anyhow::ensure!(
        out.status.success(),
        "validator: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// `--data-dir DIR`, or a fresh PostgreSQL database when the run is on PostgreSQL.
/// A node's database for the operator commands (created as a node does).
async fn target(dir: &Path) -> anyhow::Result<Vec<String>> {
    carenet_e2e::node_database(dir).await
}

fn carenet(args: &[String]) -> std::process::Output {
    Command::new(carenet_bin())
        .args(args)
        .output()
        .expect("run carenet")
}

/// The IB who imports the files.
fn actor() -> Vec<String> {
    strings(&["--by", "ib-1", "--role", "support_coordinator_po"])
}

fn strings(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_round_trips_and_passes_the_official_validators() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    for example in examples() {
        let name = example.file_name().unwrap().to_string_lossy().to_string();
        let store = target(&tmp.path().join(&name)).await?;
        // The route is the file's own profile (ADR 0005).
        let route = if name.contains("_BB_") {
            "internal"
        } else if name.contains("VOVO") {
            "vo_vo"
        } else {
            "po_vo"
        };
        let mut import = strings(&["oso", "import", &example.display().to_string()]);
        import.extend(strings(&["--route", route]));
        import.extend(actor());
        import.extend(store.clone());
        let out = carenet(&import);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let exported = tmp.path().join(format!("out-{name}"));
        let mut export = strings(&["oso", "export", "--out", &exported.display().to_string()]);
        export.extend(actor());
        export.extend(store);
        let out = carenet(&export);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        validate(&exported, Some(&example))?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_validator_catches_a_dossier_the_guardians_did_not_see() -> anyhow::Result<()> {
    // The check above is only worth something if the validator can fail.
    let tmp = tempfile::tempdir()?;
    let example = examples()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("POVO_full"))
        .unwrap();
    let bad = tmp.path().join("unseen.xml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&example)?.replace("<inzage>true", "<inzage>false"),
    )?;
    assert!(validate(&bad, None).is_err());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_files_are_refused_naming_element_and_line_and_nothing_is_kept()
-> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let example = examples()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("opt_out"))
        .unwrap();
    let text = std::fs::read_to_string(&example)?;
    let cases = [
        ("malformed", text.replace("</achternaam>", "</achternam>"), "not well-formed"),
        ("namespace", text.replace("2019/dossier", "2017/dossier"), "wrong namespace"),
        ("missing", {
            let a = text.find("<huidigeschool>").unwrap();
            let b = text.find("</huidigeschool>").unwrap() + "</huidigeschool>".len();
            format!("{}{}", &text[..a], &text[b..])
        }, "huidigeschool"),
        ("forbidden", text.replace("<schoolloopbaanlijst>", "<verzuim><dagdelengeoorloofd>3</dagdelengeoorloofd></verzuim><schoolloopbaanlijst>"), "<verzuim> at line"),
        ("truncated", text[..text.len() * 2 / 3].to_owned(), "line"),
    ];
    let store_dir = tmp.path().join("node");
    let store = target(&store_dir).await?;
    for (name, bad, expect) in cases {
        let file = tmp.path().join(format!("{name}.xml"));
        std::fs::write(&file, bad)?;
        let mut args = strings(&["oso", "import", &file.display().to_string()]);
        args.extend(actor());
        args.extend(store.clone());
        let out = carenet(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} was accepted");
        assert!(
            err.contains(expect) && err.contains("line"),
            "{name}: {err}"
        );
        assert!(
            !err.contains("Berg") && !err.contains("Björn"),
            "{name}: no personal data in errors: {err}"
        );
    }
    // nothing was half-imported, and the audit chain is intact
    let mut args = strings(&[
        "oso",
        "export",
        "--out",
        &tmp.path().join("x.xml").display().to_string(),
    ]);
    args.extend(actor());
    args.extend(store.clone());
    let out = carenet(&args);
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no dossier"));
    let mut verify = strings(&["audit", "verify", "--offline"]);
    verify.extend(store);
    let out = carenet(&verify);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    Ok(())
}
