//! No English text of a refusal reaches a page: the list of the slices' (and
//! the gateway's own) English reason strings, read from their sources, which
//! every browser script checks each page it photographs against
//! (`tests/browser/common.mjs`, fed through `SLICE_REASONS`).

use std::path::{Path, PathBuf};

/// The sources the reasons come from: every slice and the gateway.
fn source_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut dirs = vec![root.join("gateway/src")];
    for entry in std::fs::read_dir(root.join("services")).unwrap() {
        dirs.push(entry.unwrap().path().join("src"));
    }
    let mut files = Vec::new();
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// The string literals inside the call that opens at `open` (the index of
/// its `(`), up to the matching `)`.
fn literals_of_call(src: &str, open: usize) -> Vec<String> {
    let bytes = src.as_bytes();
    let mut depth = 0usize;
    let mut i = open;
    let mut literals = Vec::new();
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let mut lit = String::new();
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        // `\` + newline continues the literal after the
                        // line's leading blanks; other escapes as one char.
                        if bytes.get(i + 1) == Some(&b'\n') {
                            i += 2;
                            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                                i += 1;
                            }
                            continue;
                        }
                        i += 1;
                    }
                    let ch = src[i..].chars().next().unwrap();
                    lit.push(ch);
                    i += ch.len_utf8();
                }
                literals.push(lit);
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
        i += 1;
    }
    literals
}

/// The English reason strings of every refusal the slices and the gateway
/// construct (`Error::invalid`, `precondition`, `FailedPrecondition`,
/// `PermissionDenied`, `NoLegalBasis`, `Coverage::NotYet`/`Refuse`): each
/// literal's pieces between `{…}` placeholders, those of at least ten
/// characters with a space in them (a field name alone is no sentence, and
/// forms name their fields).
pub fn reason_strings() -> Vec<String> {
    const CALLS: [&str; 7] = [
        "::invalid(",
        "precondition(",
        "FailedPrecondition(",
        "PermissionDenied(",
        "NoLegalBasis(",
        "NotYet(",
        "Refuse(",
    ];
    let mut found = std::collections::BTreeSet::new();
    for file in source_files() {
        let src = std::fs::read_to_string(&file).unwrap();
        for call in CALLS {
            for (at, _) in src.match_indices(call) {
                let open = at + call.len() - 1;
                for lit in literals_of_call(&src, open) {
                    for piece in lit.split(['{', '}']) {
                        let piece = piece.trim_matches(|c: char| c == ':' || c.is_whitespace());
                        if piece.chars().count() >= 10
                            && piece.contains(' ')
                            && piece.is_ascii()
                            && !dutch(piece)
                        {
                            found.insert(piece.to_owned());
                        }
                    }
                }
            }
        }
    }
    found.into_iter().collect()
}

/// Whether `piece` is one of the few Dutch reasons the gateway gives itself
/// (they may show: "ouder of leerling").
fn dutch(piece: &str) -> bool {
    const WORDS: [&str; 6] = [
        "ouder",
        "kies",
        "geven",
        "weigeren",
        "dagelijks",
        "leerling",
    ];
    piece
        .split(|c: char| !c.is_ascii_alphabetic())
        .any(|w| WORDS.contains(&w))
}

/// The list as a JSON file for the browser scripts; returns its path.
pub fn reasons_file(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("slice-reasons.json");
    std::fs::write(&path, serde_json::to_vec(&reason_strings()).unwrap()).unwrap();
    path
}

#[test]
fn the_list_holds_the_slices_reasons_read_from_their_sources() {
    let list = reason_strings();
    for known in [
        // services/handover (feedback), services/consent (records, pupils),
        // services/referral (ZAT), the gateway's own.
        "feedback needs its own legal basis",
        "lies in the past: ask again",
        "differs from the school's record of the pupil",
        "asked, but not granted yet",
        "no granted consent of the guardians for feedback about this pupil",
        "must be a date YYYY-MM-DD",
    ] {
        assert!(
            list.iter().any(|r| r.contains(known)),
            "{known} not in {list:#?}"
        );
    }
    assert!(list.len() > 150, "{}", list.len());
    // No field name alone, which a form's HTML legitimately holds.
    assert!(
        !list
            .iter()
            .any(|r| r == "child_ref" || r == "consent_record")
    );
}
