//! Importing OSO files from the school's administration system: up to
//! [`ROWS`] files in one upload, each with the pupil's reference. The upload
//! starts a job that imports them one by one (each import all or nothing,
//! in the handover slice); its page shows the progress and refreshes itself
//! (a `<meta>` refresh: no JavaScript) until every file has its outcome.
//! Jobs live in the gateway's memory, for their owner only, and are
//! forgotten an hour after they finish; what was imported is in the node.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use carenet_handover::dossier::{self, Route};

use crate::pages::render;
use crate::session::Staff;
use crate::{AppState, Error};

/// How many files the form offers at once.
pub(crate) const ROWS: usize = 8;

/// How long a finished job's page stays.
const KEEP: Duration = Duration::from_secs(3600);

/// One upload being imported.
pub(crate) struct Job {
    /// The staff member who uploaded it: the only one who sees it.
    owner: String,
    total: usize,
    /// Per file so far: (name, outcome, link to the dossier).
    done: Vec<(String, String, Option<String>)>,
    finished: Option<Instant>,
}

/// The jobs of this gateway, by random id.
#[derive(Default)]
pub(crate) struct Jobs(Mutex<HashMap<String, Job>>);

impl Jobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Job>> {
        // A panic while holding the lock leaves the map usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    csrf: String,
    rows: Vec<usize>,
}

#[derive(Template)]
#[template(path = "import_job.html")]
struct JobPage {
    csrf: String,
    total: usize,
    done: Vec<(String, String, Option<String>)>,
    finished: bool,
}

fn require_compose(staff: &Staff) -> Result<(), Error> {
    staff
        .actor
        .require(
            carenet_handover::roles::COMPOSE.what,
            carenet_handover::roles::COMPOSE.roles,
        )
        .map_err(Error::Fabric)
}

/// `GET /dossiers/importeren`: the form to import OSO files.
pub(crate) async fn form(staff: Staff) -> Result<Response, Error> {
    require_compose(&staff)?;
    Ok(render(&ImportPage {
        csrf: staff.session.csrf,
        rows: (0..ROWS).collect(),
    }))
}

/// `POST /dossiers/importeren` (multipart): the route, and rows of an OSO
/// file with the pupil reference it is for (`oso-N`, `child_ref-N`); empty
/// rows are skipped. Starts the job and redirects to its page.
pub(crate) async fn upload(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, Error> {
    require_compose(&staff)?;
    let mut csrf = String::new();
    let mut route = String::new();
    let mut files: Vec<Option<(String, String)>> = vec![None; ROWS];
    let mut refs: Vec<String> = vec![String::new(); ROWS];
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| Error::invalid("form", "not a readable upload"))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let text = field
            .text()
            .await
            .map_err(|_| Error::invalid(&name, "not readable text"))?;
        let row = |prefix: &str| {
            name.strip_prefix(prefix)
                .and_then(|i| i.parse::<usize>().ok())
                .filter(|i| *i < ROWS)
        };
        if name == "csrf" {
            csrf = text;
        } else if name == "route" {
            route = text;
        } else if let Some(i) = row("child_ref-") {
            refs[i] = text.trim().to_owned();
        } else if let Some(i) = row("oso-")
            && !text.is_empty()
        {
            files[i] = Some((
                file_name.unwrap_or_else(|| format!("bestand {}", i + 1)),
                text,
            ));
        }
    }
    staff.check(&csrf, &headers, &state)?;
    let route = Route::parse("route", &route)?;
    let mut rows = Vec::new();
    for (i, file) in files.into_iter().enumerate() {
        match file {
            Some(_) if refs[i].is_empty() => {
                return Err(Error::invalid(
                    format!("child_ref-{}", i + 1),
                    "name the pupil this file is for",
                ));
            }
            Some((name, text)) => rows.push((name, text, std::mem::take(&mut refs[i]))),
            None => {}
        }
    }
    if rows.is_empty() {
        return Err(Error::invalid("oso-1", "choose at least one OSO file"));
    }
    let id = job_id()?;
    {
        let mut jobs = state.inner.imports.lock();
        jobs.retain(|_, j| j.finished.is_none_or(|at| at.elapsed() < KEEP));
        jobs.insert(
            id.clone(),
            Job {
                owner: staff.actor.staff.clone(),
                total: rows.len(),
                done: Vec::new(),
                finished: None,
            },
        );
    }
    let (job_state, job_id, actor) = (state.clone(), id.clone(), staff.actor.clone());
    tokio::spawn(async move {
        for (name, text, child_ref) in rows {
            let store = &job_state.inner.store;
            let outcome = match dossier::import_oso(store, &actor, &text, &child_ref, route).await {
                Ok(dossier_id) => (
                    name,
                    "ingelezen".to_owned(),
                    Some(format!("/dossiers/{dossier_id}")),
                ),
                Err(e) => (name, format!("niet ingelezen: {}", Error::from(e)), None),
            };
            if let Some(job) = job_state.inner.imports.lock().get_mut(&job_id) {
                job.done.push(outcome);
            }
        }
        if let Some(job) = job_state.inner.imports.lock().get_mut(&job_id) {
            job.finished = Some(Instant::now());
        }
    });
    Ok(Redirect::to(&format!("/dossiers/importeren/{id}")).into_response())
}

/// `GET /dossiers/importeren/{job}`: the progress and each file's outcome,
/// for the one who uploaded them.
pub(crate) async fn progress(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let page = {
        let jobs = state.inner.imports.lock();
        let job = jobs
            .get(&id)
            .filter(|j| j.owner == staff.actor.staff)
            .ok_or(Error::NotFound)?;
        JobPage {
            csrf: staff.session.csrf.clone(),
            total: job.total,
            done: job.done.clone(),
            finished: job.finished.is_some(),
        }
    };
    Ok(render(&page))
}

/// A job's id: 128 random bits, hex (it names no pupil).
fn job_id() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| Error::Unavailable("the system's random source".into()))?;
    Ok(hex::encode(bytes))
}
