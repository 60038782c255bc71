//! The staff directory the gateway keeps (table `staff_directory`): who
//! works at this party, by name, with their roles and groups, so that every
//! page shows a member of staff by name ([`name_of`], [`Names`]) and every
//! "pick a person" field picks from it ([`choices`], [`resolve`]).
//!
//! A row comes from a staff login (the provider's `name` claim, else
//! `given_name` and `family_name`; the roles as the session takes them; the
//! groups from `oidc.groups_claim`), or from the list an admin uploads
//! (`carenet gateway staff import --file staff.csv`, [`import`]: all or
//! nothing, a bad line refused naming its line and field). Staff ids are no
//! personal data here; names are, so no name reaches a log or an error text
//! of this module.

use std::collections::HashMap;

use carenet_fabric::actor::{self, Actor, Rule};
use carenet_fabric::clock::now_ms;
use carenet_fabric::store::{Db, Store};
use carenet_fabric::{Role, audited, with_db};

use crate::session::role_label;
use crate::{AppState, Error};

/// What a page shows for a staff id the directory does not know.
pub(crate) const UNKNOWN: &str = "onbekende medewerker";

/// Where a directory row came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A staff login's claims.
    Login,
    /// The list an admin uploaded.
    Upload,
}

impl Source {
    pub const ALL: [Source; 2] = [Source::Login, Source::Upload];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Login => "login",
            Source::Upload => "upload",
        }
    }

    pub fn parse(field: &str, text: &str) -> carenet_fabric::Result<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| carenet_fabric::Error::invalid(field, "login or upload"))
    }
}

/// Every value the directory writes to a checked column (the stored-enum
/// test writes and reads back each on both backends).
pub fn stored_values() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![(
        "staff_directory.source",
        Source::ALL.iter().map(|s| s.as_str()).collect(),
    )]
}

/// One member of staff as the directory knows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub staff: String,
    /// Empty when no login or list gave a name.
    pub name: String,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    pub source: Source,
}

impl Person {
    /// "Naam (rol)": how a picker offers them, the role the first of
    /// `prefer` they hold, else their first.
    fn choice(&self, prefer: &[Role]) -> String {
        let role = prefer
            .iter()
            .map(|r| r.as_str())
            .find(|r| self.roles.iter().any(|h| h == r))
            .or(self.roles.first().map(String::as_str));
        match role {
            Some(role) => format!("{} ({})", self.name, role_label(role)),
            None => self.name.clone(),
        }
    }
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// The name a login's claims give: `name`, else `given_name family_name`.
pub(crate) fn login_name(
    name: Option<&str>,
    given: Option<&str>,
    family: Option<&str>,
) -> Option<String> {
    fn clean(s: Option<&str>) -> Option<&str> {
        s.map(str::trim).filter(|s| !s.is_empty())
    }
    if let Some(name) = clean(name) {
        return Some(name.to_owned());
    }
    let parts: Vec<&str> = [clean(given), clean(family)]
        .into_iter()
        .flatten()
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// Keeps what a staff login said: its name (a login without one keeps the
/// name the directory had), its roles, and its groups (a login without a
/// groups claim keeps the groups the directory had).
pub(crate) async fn remember_login(
    db: &Db,
    staff: &str,
    name: Option<&str>,
    roles: &[String],
    groups: Option<&[String]>,
) -> carenet_fabric::Result<()> {
    let name = name.map(clean_text).unwrap_or_default();
    let groups = groups.map(|g| g.join(" "));
    with_db!(db, pool => {
        sqlx::query(
            "INSERT INTO staff_directory (staff, display_name, roles, groups, source, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (staff) DO UPDATE SET \
             display_name = CASE WHEN excluded.display_name = '' THEN staff_directory.display_name ELSE excluded.display_name END, \
             roles = excluded.roles, \
             groups = CASE WHEN $7 THEN excluded.groups ELSE staff_directory.groups END, \
             source = excluded.source, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(staff)
        .bind(&name)
        .bind(roles.join(" "))
        .bind(groups.clone().unwrap_or_default())
        .bind(Source::Login.as_str())
        .bind(now_ms())
        .bind(groups.is_some())
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// Keeps one person of a staff list the gateway was given (the demo's
/// people), as an upload would.
pub(crate) async fn keep(db: &Db, l: &Line) -> carenet_fabric::Result<()> {
    with_db!(db, pool => {
        sqlx::query(UPSERT_UPLOAD)
            .bind(&l.staff)
            .bind(&l.name)
            .bind(l.roles.join(" "))
            .bind(l.groups.join(" "))
            .bind(Source::Upload.as_str())
            .bind(now_ms())
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// Keeps the people of a staff list the gateway was given besides its
/// logins (the demo's seed staff).
pub async fn keep_listed(state: &AppState, lines: &[Line]) -> carenet_fabric::Result<()> {
    for l in lines {
        keep(&state.inner.store.db, l).await?;
    }
    Ok(())
}

/// One person of a list, as the list says.
const UPSERT_UPLOAD: &str = "INSERT INTO staff_directory (staff, display_name, roles, groups, source, updated_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (staff) DO UPDATE SET display_name = excluded.display_name, \
     roles = excluded.roles, groups = excluded.groups, source = excluded.source, \
     updated_at_ms = excluded.updated_at_ms";

/// A name as stored: trimmed, control characters dropped, at most 200
/// characters.
fn clean_text(s: &str) -> String {
    s.trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

type Row = (String, String, String, String, String);

fn person((staff, name, roles, groups, source): Row) -> carenet_fabric::Result<Person> {
    Ok(Person {
        staff,
        name,
        roles: words(&roles),
        groups: words(&groups),
        source: Source::parse("staff_directory.source", &source)?,
    })
}

/// Everyone in the directory, by name.
pub async fn all(db: &Db) -> carenet_fabric::Result<Vec<Person>> {
    let rows: Vec<Row> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT staff, display_name, roles, groups, source FROM staff_directory \
             ORDER BY display_name, staff",
        )
        .fetch_all(pool)
        .await?
    });
    rows.into_iter().map(person).collect()
}

/// The directory's names, for a page that names several people.
pub(crate) struct Names(HashMap<String, String>);

impl Names {
    pub(crate) async fn load(state: &AppState) -> Result<Self, Error> {
        Ok(Names(
            all(&state.inner.store.db)
                .await?
                .into_iter()
                .filter(|p| !p.name.is_empty())
                .map(|p| (p.staff, p.name))
                .collect(),
        ))
    }

    /// The name of `staff`, if the directory has one.
    pub(crate) fn known(&self, staff: &str) -> Option<String> {
        self.0.get(staff).cloned()
    }

    /// The name of `staff`, or [`UNKNOWN`] (never the raw id).
    pub(crate) fn of(&self, staff: &str) -> String {
        self.0
            .get(staff)
            .cloned()
            .unwrap_or_else(|| UNKNOWN.to_owned())
    }

    /// Who acted, as the audit log names them (`staff[role+role]`, a party
    /// id, or `portal`): "Naam (rol)", the party's name, or the portal.
    pub(crate) fn actor(&self, state: &AppState, actor: &str) -> String {
        if let Some((staff, roles)) = actor.strip_suffix(']').and_then(|a| a.split_once('[')) {
            let roles: Vec<&str> = roles.split('+').map(role_label).collect();
            return format!("{} ({})", self.of(staff), roles.join(", "));
        }
        if actor == "portal" {
            return "ouder of leerling (ouderportaal)".to_owned();
        }
        let known_party = state
            .inner
            .store
            .directory()
            .is_some_and(|d| d.get(actor).is_some());
        if known_party {
            crate::labels::party_name(state, actor)
        } else {
            self.of(actor)
        }
    }
}

/// The name of one member of staff, or [`UNKNOWN`]; for a page that names
/// one person (a page naming several loads [`Names`] once).
pub(crate) async fn name_of(state: &AppState, staff: &str) -> Result<String, Error> {
    let row: Option<(String,)> = with_db!(&state.inner.store.db, pool => {
        sqlx::query_as("SELECT display_name FROM staff_directory WHERE staff = $1")
            .bind(staff)
            .fetch_optional(pool)
            .await
            .map_err(carenet_fabric::Error::from)?
    });
    Ok(row
        .map(|(n,)| n)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| UNKNOWN.to_owned()))
}

/// What a "pick a person" field offers: "Naam (rol)" of everyone holding a
/// role of `fits` (everyone with a name when `fits` is empty), each value
/// unique (two people of one name and role are told apart by their id).
pub(crate) async fn choices(state: &AppState, fits: &[Role]) -> Result<Vec<String>, Error> {
    Ok(offered(&all(&state.inner.store.db).await?, fits)
        .into_iter()
        .map(|(text, _)| text)
        .collect())
}

/// How a picker for `fits` offers `staff` ("Naam (rol)"), if the
/// directory knows them by name: what a field proposes.
pub(crate) async fn choice_of(
    state: &AppState,
    staff: &str,
    fits: &[Role],
) -> Result<Option<String>, Error> {
    Ok(offered(&all(&state.inner.store.db).await?, fits)
        .into_iter()
        .find(|(_, s)| s == staff)
        .map(|(text, _)| text))
}

/// (text, staff id) of each person offered for `fits`.
fn offered(people: &[Person], fits: &[Role]) -> Vec<(String, String)> {
    let mut offered: Vec<(String, String)> = people
        .iter()
        .filter(|p| !p.name.is_empty())
        .filter(|p| fits.is_empty() || fits.iter().any(|r| p.roles.iter().any(|h| h == r.as_str())))
        .map(|p| (p.choice(fits), p.staff.clone()))
        .collect();
    let texts: Vec<String> = offered.iter().map(|(t, _)| t.clone()).collect();
    for (text, staff) in &mut offered {
        if texts.iter().filter(|t| *t == text).count() > 1 {
            *text = format!("{text} [{staff}]");
        }
    }
    offered
}

/// A "pick a person" field that named nobody the directory knows.
#[derive(Debug)]
pub(crate) struct Unknown {
    pub field: &'static str,
    /// What was typed, to put back in the field.
    pub typed: String,
}

impl Unknown {
    /// The Dutch sentence the page shows beside the field.
    pub(crate) fn message(&self, label: &str) -> String {
        format!(
            "Kies een medewerker uit de lijst bij \"{label}\": {} is niet bekend.",
            self.typed
        )
    }

    /// The refusal as the JSON API (or any caller without the page) gets
    /// it: the field named, never what was typed.
    pub(crate) fn error(&self) -> Error {
        carenet_fabric::Error::invalid(
            self.field,
            "not a member of staff in this party's directory: pick one it lists",
        )
        .coded(carenet_fabric::Reason::UnknownPerson)
        .into()
    }
}

/// The staff id `text` names: a choice as [`choices`] offered it, a staff
/// id, or a name only one person in the directory has. Anything else is
/// [`Unknown`]: no typo reaches an assignment.
pub(crate) async fn resolve(
    state: &AppState,
    field: &'static str,
    text: &str,
    fits: &[Role],
) -> Result<Result<String, Unknown>, Error> {
    let people = all(&state.inner.store.db).await?;
    Ok(pick(&people, field, text, fits))
}

fn pick(
    people: &[Person],
    field: &'static str,
    text: &str,
    fits: &[Role],
) -> Result<String, Unknown> {
    let text = text.trim();
    let unknown = || Unknown {
        field,
        typed: text.to_owned(),
    };
    if text.is_empty() {
        return Err(unknown());
    }
    if let Some((_, staff)) = offered(people, fits)
        .into_iter()
        .chain(offered(people, &[]))
        .find(|(t, _)| t == text)
    {
        return Ok(staff);
    }
    if let Some(p) = people.iter().find(|p| p.staff == text) {
        return Ok(p.staff.clone());
    }
    let by_name: Vec<&Person> = people.iter().filter(|p| p.name == text).collect();
    match by_name.as_slice() {
        [one] => Ok(one.staff.clone()),
        _ => Err(unknown()),
    }
}

/// Who may upload the staff list.
const IMPORT: Rule = Rule {
    action: "staff_directory_import",
    what: "uploading the staff list",
    roles: &[Role::Admin],
};

/// One line of an uploaded staff list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub staff: String,
    pub name: String,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
}

/// The fields of one CSV record (RFC 4180: quoted fields may hold the
/// separator and doubled quotes). `None`: a quote left open.
fn fields(line: &str, sep: char) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            (false, c) if c == sep => out.push(std::mem::take(&mut field)),
            (_, c) => field.push(c),
        }
    }
    if quoted {
        return None;
    }
    out.push(field);
    Some(out.into_iter().map(|f| f.trim().to_owned()).collect())
}

/// Reads an uploaded staff list: one person a line, `staff id, name,
/// roles, groups` (roles and groups separated by spaces or `|`; groups may
/// be empty), separated by commas or, as a Dutch spreadsheet writes it,
/// semicolons; a first line of column names is skipped. Every line is
/// checked before anything is kept; the first fault is named by line and
/// field (never by the name it holds).
pub fn parse_list(text: &str) -> carenet_fabric::Result<Vec<Line>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let sep = if first.contains(';') && !first.contains(',') {
        ';'
    } else {
        ','
    };
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let at = |field: &str| format!("line {n}, {field}");
        if raw.trim().is_empty() {
            continue;
        }
        let f = fields(raw, sep)
            .ok_or_else(|| carenet_fabric::Error::invalid(at("line"), "a quote is not closed"))?;
        let header = lines.is_empty()
            && f.first().is_some_and(|h| {
                matches!(
                    h.to_ascii_lowercase().as_str(),
                    "staff" | "staff id" | "staff_id" | "medewerker" | "medewerkerscode"
                )
            });
        if header {
            continue;
        }
        if f.len() < 3 || f.len() > 4 {
            return Err(carenet_fabric::Error::invalid(
                at("line"),
                format!(
                    "has {} fields: give staff id{sep} name{sep} roles{sep} groups",
                    f.len()
                ),
            ));
        }
        let staff = f[0].clone();
        actor::check_staff_id(&at("staff id"), &staff)?;
        if lines.iter().any(|l: &Line| l.staff == staff) {
            return Err(carenet_fabric::Error::invalid(
                at("staff id"),
                format!("{staff} is on an earlier line too"),
            ));
        }
        let name = f[1].clone();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(carenet_fabric::Error::invalid(
                at("name"),
                "must be the person's name: 1-200 characters, no control characters",
            ));
        }
        let split = |s: &str| -> Vec<String> {
            s.split(|c: char| c.is_whitespace() || c == '|' || (sep == ',' && c == ';'))
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let roles = split(&f[2]);
        if roles.is_empty() {
            return Err(carenet_fabric::Error::invalid(
                at("roles"),
                "name at least one role",
            ));
        }
        for r in &roles {
            Role::parse(&at("roles"), r)?;
        }
        let groups = f.get(3).map(|g| split(g)).unwrap_or_default();
        if groups
            .iter()
            .any(|g| g.chars().count() > 64 || g.chars().any(char::is_control))
        {
            return Err(carenet_fabric::Error::invalid(
                at("groups"),
                "a group is at most 64 characters, without control characters",
            ));
        }
        lines.push(Line {
            staff,
            name,
            roles,
            groups,
        });
    }
    if lines.is_empty() {
        return Err(carenet_fabric::Error::invalid(
            "file",
            "holds no staff: one line per person, staff id, name, roles, groups",
        ));
    }
    Ok(lines)
}

/// Takes an admin's staff list (read with [`parse_list`]) as the
/// directory's uploaded part, all or nothing: everyone on it is kept with
/// the list's name, roles and groups, and whoever an earlier list named
/// but this one does not is taken out (staff whose latest row came from
/// their own login stay). Audited with the number of people. Returns it.
pub async fn import(store: &Store, actor: &Actor, text: &str) -> carenet_fabric::Result<usize> {
    actor::require(store, actor, &IMPORT, "staff_directory").await?;
    let lines = parse_list(text)?;
    let now = now_ms();
    let n = lines.len();
    audited!(&store.db, tx => {
        let staff: Vec<&str> = lines.iter().map(|l| l.staff.as_str()).collect();
        let uploaded: Vec<(String,)> = sqlx::query_as(
            "SELECT staff FROM staff_directory WHERE source = $1",
        )
        .bind(Source::Upload.as_str())
        .fetch_all(&mut *tx)
        .await?;
        for (gone,) in uploaded.iter().filter(|(s,)| !staff.contains(&s.as_str())) {
            sqlx::query("DELETE FROM staff_directory WHERE staff = $1")
                .bind(gone)
                .execute(&mut *tx)
                .await?;
        }
        for l in &lines {
            sqlx::query(UPSERT_UPLOAD)
            .bind(&l.staff)
            .bind(&l.name)
            .bind(l.roles.join(" "))
            .bind(l.groups.join(" "))
            .bind(Source::Upload.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        ((), vec![actor.entry("staff_directory_imported", &format!("{n} people"))])
    });
    tracing::info!(party = %store.party, people = n, "staff list imported");
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_is_read_with_or_without_header_and_with_either_separator() {
        let comma = "staff,name,roles,groups\nzc-1,Ingrid Bakker,care_coordinator,\nm-1,\"Vries, Jan de\",mentor teacher,3a|3b\n";
        let lines = parse_list(comma).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].name, "Vries, Jan de");
        assert_eq!(lines[1].roles, ["mentor", "teacher"]);
        assert_eq!(lines[1].groups, ["3a", "3b"]);
        let semi = "m-1;Jan de Vries;mentor;3a 3b\n";
        assert_eq!(parse_list(semi).unwrap()[0].groups, ["3a", "3b"]);
    }

    #[test]
    fn a_bad_line_is_named_by_line_and_field_without_the_name() {
        let bad = "staff,name,roles,groups\nm-1,Jan de Vries,mentor,\nm-2,Piet Geheim,mentr,\n";
        let e = parse_list(bad).unwrap_err().to_string();
        assert!(e.contains("line 3, roles"), "{e}");
        assert!(!e.contains("Piet"), "{e}");
        let e = parse_list("m 1,Jan,mentor\n").unwrap_err().to_string();
        assert!(e.contains("line 1, staff id"), "{e}");
        let e = parse_list("m-1,,mentor\n").unwrap_err().to_string();
        assert!(e.contains("line 1, name"), "{e}");
        let e = parse_list("m-1,Jan,mentor\nm-1,Jan,mentor\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2, staff id"), "{e}");
        assert!(parse_list("\n").is_err());
    }

    fn p(staff: &str, name: &str, roles: &[&str]) -> Person {
        Person {
            staff: staff.into(),
            name: name.into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            groups: Vec::new(),
            source: Source::Upload,
        }
    }

    #[test]
    fn a_person_is_picked_by_choice_id_or_unique_name_and_a_typo_is_unknown() {
        let people = [
            p("mentor-7", "Mark de Wit", &["mentor"]),
            p("zc-9", "Ingrid Bakker", &["care_coordinator"]),
            p("t-1", "Jan Smit", &["teacher"]),
            p("t-2", "Jan Smit", &["teacher"]),
        ];
        let fits = [Role::Mentor];
        assert_eq!(
            offered(&people, &fits),
            [("Mark de Wit (mentor)".to_owned(), "mentor-7".to_owned())]
        );
        assert_eq!(
            pick(&people, "mentor", "Mark de Wit (mentor)", &fits).unwrap(),
            "mentor-7"
        );
        assert_eq!(
            pick(&people, "mentor", "mentor-7", &fits).unwrap(),
            "mentor-7"
        );
        assert_eq!(
            pick(&people, "mentor", "Mark de Wit", &fits).unwrap(),
            "mentor-7"
        );
        let typo = pick(&people, "mentor", "mentor1", &fits).unwrap_err();
        assert_eq!((typo.field, typo.typed.as_str()), ("mentor", "mentor1"));
        // Two of one name: told apart by id, never guessed.
        assert!(pick(&people, "teachers", "Jan Smit", &[Role::Teacher]).is_err());
        assert_eq!(
            pick(
                &people,
                "teachers",
                "Jan Smit (docent) [t-2]",
                &[Role::Teacher]
            )
            .unwrap(),
            "t-2"
        );
    }

    #[test]
    fn a_login_name_is_name_else_given_and_family() {
        assert_eq!(
            login_name(Some(" Ans "), Some("A"), None).as_deref(),
            Some("Ans")
        );
        assert_eq!(
            login_name(None, Some("Ans"), Some("de Boer")).as_deref(),
            Some("Ans de Boer")
        );
        assert_eq!(login_name(Some(""), None, None), None);
    }
}
