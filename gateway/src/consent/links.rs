//! Staff pages of the parent portal's links (`/ouderportaal`): the care
//! coordinator or IB looks up a pupil and sees which logins are linked to
//! them (the guardian's name as their login gave it, since when, until
//! when), invites a guardian (named as the school knows them, with the
//! pupil's birth date the portal counts ages from), withdraws an invitation
//! before its use, revokes a link with a reason the guardian reads, and
//! renews a link at its yearly review. Every action is the consent slice's
//! ([`carenet_consent::links`]), which checks the role and audits; the page
//! offers only what the signed-in person may do. Pupil references travel in
//! form bodies, links and invitations by their random ids.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use carenet_consent::links::{self, GuardianLink, LinkState, NewInvitation};
use carenet_consent::record::parse_date;
use serde::Deserialize;

use crate::form::Form;
use crate::pages::{date_of, render};
use crate::session::Staff;
use crate::{AppState, Error};

#[derive(Template)]
#[template(path = "portal_links.html")]
struct LinksPage {
    csrf: String,
    /// Whether this person may invite, and list, revoke and renew links.
    may_invite: bool,
    may_manage: bool,
    /// The invitation form's period, as configured.
    default_days: u32,
    max_days: u32,
    /// After a lookup or an action: the pupil.
    pupil: Option<String>,
    links: Vec<LinkLine>,
    /// Whether `links` are the links due for review (of any pupil).
    due: bool,
    /// (id, for whom, made on, valid until)
    invitations: Vec<(String, String, String, String)>,
    notice: Option<&'static str>,
    /// A fresh invitation: (code, for whom, valid until), shown once.
    code: Option<(String, String, String)>,
}

struct LinkLine {
    id: String,
    /// The pupil's reference (shown in the list of links due).
    child: String,
    /// "ouder" or "leerling zelf".
    who: &'static str,
    guardian: String,
    invited_as: String,
    since: String,
    until: String,
    /// In Dutch: actief, beëindigd, verlopen.
    state: &'static str,
    /// Why it ended (revoked), if it did.
    reason: String,
    active: bool,
    revoked: bool,
    birth_date: String,
}

fn line(l: GuardianLink) -> LinkLine {
    let (state, reason, until) = match &l.state {
        LinkState::Active => ("actief", String::new(), date_of(l.review_by_ms)),
        LinkState::Revoked { at_ms, reason } => ("beëindigd", reason.clone(), date_of(*at_ms)),
        LinkState::Lapsed { at_ms } => ("verlopen, niet verlengd", String::new(), date_of(*at_ms)),
    };
    LinkLine {
        id: l.id,
        child: l.child_ref,
        who: match l.linked_as {
            links::Invitee::Guardian => "ouder",
            links::Invitee::Pupil => "leerling zelf",
        },
        guardian: l.guardian_name,
        invited_as: l.invited_as.unwrap_or_default(),
        since: date_of(l.linked_at_ms),
        until,
        state,
        reason,
        active: l.state == LinkState::Active,
        revoked: matches!(l.state, LinkState::Revoked { .. }),
        birth_date: l
            .child_birth_date
            .map(carenet_consent::record::format_date)
            .unwrap_or_default(),
    }
}

fn page(state: &AppState, staff: &Staff) -> LinksPage {
    let party = &state.inner.party;
    LinksPage {
        csrf: staff.session.csrf.clone(),
        may_invite: staff.actor.may(party, &links::INVITE).is_ok(),
        may_manage: staff.actor.may(party, &links::LINKS).is_ok(),
        default_days: state.inner.config.portal.invitation_days,
        max_days: links::MAX_INVITATION_DAYS,
        pupil: None,
        links: Vec::new(),
        due: false,
        invitations: Vec::new(),
        notice: None,
        code: None,
    }
}

/// Fills in the pupil's links and open invitations.
async fn with_pupil(
    state: &AppState,
    staff: &Staff,
    mut p: LinksPage,
    child_ref: &str,
) -> Result<LinksPage, Error> {
    let found = links::for_child(&state.inner.store, &staff.actor, child_ref).await?;
    p.links = found.links.into_iter().map(line).collect();
    p.invitations = found
        .invitations
        .into_iter()
        .map(|i| {
            (
                i.id,
                i.guardian_name,
                date_of(i.created_at_ms),
                date_of(i.expires_at_ms),
            )
        })
        .collect();
    p.pupil = Some(child_ref.to_owned());
    Ok(p)
}

/// The filter of `/ouderportaal`: `verlengen=1`, the links due for their
/// yearly review (as the start page counts them).
#[derive(Deserialize, Default)]
pub(crate) struct IndexQuery {
    #[serde(default)]
    verlengen: Option<String>,
}

/// How many days ahead a link counts as due for review.
pub(crate) const REVIEW_AHEAD_DAYS: i64 = 30;

/// `GET /ouderportaal`: look up a pupil, invite a guardian; with
/// `verlengen=1`, the links to renew.
pub(crate) async fn index(
    State(state): State<AppState>,
    staff: Staff,
    axum::extract::Query(query): axum::extract::Query<IndexQuery>,
) -> Result<Response, Error> {
    staff
        .actor
        .require(links::LINKS.what, links::LINKS.roles)
        .map_err(Error::Fabric)?;
    let mut p = page(&state, &staff);
    match query.verlengen.as_deref() {
        None => {}
        Some("1") => {
            let due = links::due(&state.inner.store, &staff.actor, REVIEW_AHEAD_DAYS).await?;
            p.links = due.into_iter().map(line).collect();
            p.due = true;
        }
        Some(_) => return Err(Error::invalid("verlengen", "1")),
    }
    Ok(render(&p))
}

#[derive(Deserialize)]
pub(crate) struct LookupForm {
    #[serde(default)]
    csrf: String,
    child_ref: String,
}

/// `POST /ouderportaal/leerling`: one pupil's links and open invitations.
pub(crate) async fn lookup(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<LookupForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    let p = with_pupil(&state, &staff, page(&state, &staff), form.child_ref.trim()).await?;
    Ok(render(&p))
}

#[derive(Deserialize)]
pub(crate) struct InviteForm {
    #[serde(default)]
    csrf: String,
    child_ref: String,
    guardian_name: String,
    child_birth_date: String,
    #[serde(default)]
    days: Option<String>,
    /// `ouder` (default) or `leerling`: the code is for the pupil themself.
    #[serde(default)]
    voor: String,
}

/// `POST /ouderportaal/uitnodigen`: a one-time code for the named guardian
/// of the pupil, shown once (only its hash is kept).
pub(crate) async fn invite(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<InviteForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    let child_ref = form.child_ref.trim();
    let days = match form.days.as_deref().map(str::trim) {
        None | Some("") => state.inner.config.portal.invitation_days,
        Some(d) => d
            .parse()
            .map_err(|_| Error::invalid("days", "a whole number of days"))?,
    };
    let store = &state.inner.store;
    let dossiers = !carenet_handover::dossier::for_child(store, child_ref)
        .await?
        .is_empty();
    let new = NewInvitation {
        child_ref: child_ref.to_owned(),
        guardian_name: form.guardian_name.clone(),
        child_birth_date: parse_date("child_birth_date", form.child_birth_date.trim())?,
        days,
    };
    let invitee = match form.voor.as_str() {
        "" | "ouder" => links::Invitee::Guardian,
        "leerling" => links::Invitee::Pupil,
        _ => return Err(Error::invalid("voor", "ouder of leerling")),
    };
    let invitation = links::invite_as(store, &staff.actor, &new, dossiers, invitee).await?;
    let mut p = page(&state, &staff);
    if p.may_manage {
        p = with_pupil(&state, &staff, p, child_ref).await?;
    }
    p.code = Some((
        invitation.code,
        form.guardian_name.trim().to_owned(),
        date_of(invitation.expires_at_ms),
    ));
    Ok(render(&p))
}

#[derive(Deserialize)]
pub(crate) struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reden: String,
}

/// `POST /ouderportaal/koppeling/{id}/beeindigen`: ends the link, with the
/// reason the guardian will read; effective at their next request.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<RevokeForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    let child_ref = links::revoke(&state.inner.store, &staff.actor, &id, &form.reden).await?;
    let mut p = with_pupil(&state, &staff, page(&state, &staff), &child_ref).await?;
    p.notice = Some(
        "De koppeling is beëindigd. De ouder ziet vanaf nu niets meer van dit kind, en ziet waarom.",
    );
    Ok(render(&p))
}

#[derive(Deserialize)]
pub(crate) struct RenewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    child_birth_date: String,
}

/// `POST /ouderportaal/koppeling/{id}/verlengen`: the yearly review; the
/// pupil's birth date may be corrected with it.
pub(crate) async fn renew(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<RenewForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    let birth = match form.child_birth_date.trim() {
        "" => None,
        d => Some(parse_date("child_birth_date", d)?),
    };
    let (child_ref, _) = links::renew(&state.inner.store, &staff.actor, &id, birth).await?;
    let mut p = with_pupil(&state, &staff, page(&state, &staff), &child_ref).await?;
    p.notice = Some("De koppeling is verlengd met een jaar.");
    Ok(render(&p))
}

#[derive(Deserialize)]
pub(crate) struct WithdrawForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /ouderportaal/uitnodiging/{id}/intrekken`: the code links no one.
pub(crate) async fn withdraw(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<WithdrawForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    let child_ref = links::withdraw_invitation(&state.inner.store, &staff.actor, &id).await?;
    let mut p = with_pupil(&state, &staff, page(&state, &staff), &child_ref).await?;
    p.notice = Some("De uitnodiging is ingetrokken. De code werkt niet meer.");
    Ok(render(&p))
}
