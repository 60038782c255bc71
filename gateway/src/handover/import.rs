//! Importing OSO files from the school's administration system: up to
//! [`ROWS`] files in one upload, each with the pupil's reference. The upload
//! starts a job that imports them one by one (each import all or nothing,
//! in the handover slice) and redirects to the job's page. That page is
//! streamed: each file's outcome is sent the moment it is known, and the
//! page ends when the last one is, so the progress shows live without
//! JavaScript and without reloading the page (a timed refresh would fail
//! WCAG 2.2.1). Jobs live in the gateway's memory, for their owner only,
//! one running at a time per owner, and are forgotten an hour after they
//! finish; what was imported is in the node.
//!
//! A refused upload (a file without its pupil, none at all, another import
//! still running) comes back as the form with the route and the pupil
//! numbers as typed, the field marked and a Dutch sentence; a browser never
//! refills a file input, so the page says to choose the files again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use askama::Template;
use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, header};
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
    /// Bumped at every outcome and at the end: the job's pages wait on it.
    changed: tokio::sync::watch::Sender<usize>,
}

/// The jobs of this gateway, by random id.
#[derive(Default)]
pub(crate) struct Jobs(Mutex<HashMap<String, Job>>);

impl Jobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Job>> {
        // A panic while holding the lock leaves the map usable.
        let mut jobs = self.0.lock().unwrap_or_else(|e| e.into_inner());
        jobs.retain(|_, j| j.finished.is_none_or(|at| at.elapsed() < KEEP));
        jobs
    }

    /// Adds an outcome, or (`None`) ends the job, and wakes its pages.
    fn record(&self, id: &str, outcome: Option<(String, String, Option<String>)>) {
        if let Some(job) = self.lock().get_mut(id) {
            match outcome {
                Some(o) => job.done.push(o),
                None => job.finished = Some(Instant::now()),
            }
            job.changed.send_modify(|n| *n += 1);
        }
    }
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    csrf: String,
    /// (row, pupil number as typed)
    rows: Vec<(usize, String)>,
    route: String,
    refused: crate::reasons::Refusal,
}

#[derive(Template)]
#[template(path = "import_job.html")]
struct JobPage {
    csrf: String,
    total: usize,
    imported: usize,
    failed: usize,
    finished: bool,
}

/// Where the streamed outcomes go in the rendered [`JobPage`].
const MARKER: &str = "<!--uitkomsten-->";

#[derive(Template)]
#[template(path = "import_line.html")]
struct Line<'a> {
    name: &'a str,
    outcome: &'a str,
    link: &'a Option<String>,
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
        rows: (0..ROWS).map(|i| (i, String::new())).collect(),
        route: String::new(),
        refused: crate::reasons::Refusal::none(),
    }))
}

/// The form again after a refused upload: the route and the pupil numbers
/// as typed, the field marked, what to do.
fn refused_form(
    staff: &Staff,
    route: String,
    refs: Vec<String>,
    err: Error,
) -> Result<Response, Error> {
    let mut refused = crate::reasons::refusal(err)?;
    // A numbered row's field is its own input.
    refused.input = refused
        .field
        .as_deref()
        .filter(|f| f.starts_with("child_ref-") || f.starts_with("oso-") || *f == "route")
        .map(str::to_owned);
    let page = render(&ImportPage {
        csrf: staff.session.csrf.clone(),
        rows: refs.into_iter().enumerate().collect(),
        route,
        refused: crate::reasons::Refusal(Some(refused.clone())),
    });
    Ok(refused.respond(page))
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
    let typed = refs.clone();
    let parsed = Route::parse("route", &route);
    let route = match parsed {
        Ok(r) => r,
        Err(e) => return refused_form(&staff, route, typed, e.into()),
    };
    let mut rows = Vec::new();
    for (i, file) in files.into_iter().enumerate() {
        match file {
            Some(_) if refs[i].is_empty() => {
                let e = carenet_fabric::Error::invalid(
                    format!("child_ref-{i}"),
                    "name the pupil this file is for",
                )
                .coded(carenet_fabric::Reason::Required);
                return refused_form(&staff, route.as_str().to_owned(), typed, e.into());
            }
            Some((name, text)) => rows.push((name, text, std::mem::take(&mut refs[i]))),
            None => {}
        }
    }
    if rows.is_empty() {
        let e = carenet_fabric::Error::invalid("oso-0", "choose at least one OSO file")
            .coded(carenet_fabric::Reason::Required);
        return refused_form(&staff, route.as_str().to_owned(), typed, e.into());
    }
    let id = job_id()?;
    {
        let mut jobs = state.inner.imports.lock();
        let me = staff.actor.staff.as_str();
        if jobs.values().any(|j| j.owner == me && j.finished.is_none()) {
            drop(jobs);
            let e = carenet_fabric::Error::precondition(
                "an import of yours is still running: wait until it is done",
            );
            return refused_form(&staff, route.as_str().to_owned(), typed, e.into());
        }
        jobs.insert(
            id.clone(),
            Job {
                owner: me.to_owned(),
                total: rows.len(),
                done: Vec::new(),
                finished: None,
                changed: tokio::sync::watch::channel(0).0,
            },
        );
    }
    let (job_state, job_id, actor) = (state.clone(), id.clone(), staff.actor.clone());
    let work = tokio::spawn({
        let (job_state, job_id) = (job_state.clone(), job_id.clone());
        async move {
            for (name, text, child_ref) in rows {
                let store = &job_state.inner.store;
                let outcome =
                    match dossier::import_oso(store, &actor, &text, &child_ref, route).await {
                        Ok(dossier_id) => (
                            name,
                            "ingelezen".to_owned(),
                            Some(crate::href::path(&["dossiers", &dossier_id])),
                        ),
                        Err(e) => (name, failure(e), None),
                    };
                job_state.inner.imports.record(&job_id, Some(outcome));
            }
        }
    });
    // Whatever happens to the work, the job ends (a page never waits on a
    // job that cannot finish).
    tokio::spawn(async move {
        if work.await.is_err() {
            tracing::error!("an OSO import job stopped early");
            let line = ("…".to_owned(), "inlezen afgebroken".to_owned(), None);
            job_state.inner.imports.record(&job_id, Some(line));
        }
        job_state.inner.imports.record(&job_id, None);
    });
    Ok(Redirect::to(&crate::href::path(&["dossiers", "importeren", &id])).into_response())
}

/// A file's outcome when it was not imported, in Dutch: what is wrong with
/// an OSO file and where (`crate::reasons::oso_problem`), otherwise in the
/// words of the error pages (an internal error is logged, without the
/// file's content).
fn failure(e: carenet_handover::Error) -> String {
    if let carenet_handover::Error::Xml {
        element,
        line,
        problem,
    } = &e
    {
        return format!(
            "niet ingelezen: {}",
            crate::reasons::oso_problem(element, *line, problem)
        );
    }
    let e = Error::from(e);
    let (status, title, _, _) = e.describe();
    if status.is_server_error() {
        tracing::error!(error = %e, "OSO import");
    }
    match crate::reasons::refused(&e) {
        Some(r) => format!("niet ingelezen: {title} ({})", r.message),
        None => format!("niet ingelezen: {title}"),
    }
}

/// `GET /dossiers/importeren/{job}`, for the one who uploaded: the page up
/// to the list, then each file's outcome as it is known, then the summary.
pub(crate) async fn progress(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let (total, changed) = {
        let jobs = state.inner.imports.lock();
        let job = jobs
            .get(&id)
            .filter(|j| j.owner == staff.actor.staff)
            .ok_or(Error::NotFound)?;
        (job.total, job.changed.subscribe())
    };
    let csrf = staff.session.csrf.clone();
    let head = job_page(&csrf, total, 0, 0, false)?;
    let Some((head, _)) = head.split_once(MARKER) else {
        return Err(Error::Config(
            "the import page has no place for outcomes".into(),
        ));
    };
    let stream = futures::stream::unfold(
        Streamed {
            state: state.clone(),
            id,
            changed,
            sent: 0,
            head: Some(head.to_owned()),
            ended: false,
            csrf,
            total,
        },
        next_chunk,
    );
    Ok((
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        Body::from_stream(stream),
    )
        .into_response())
}

fn job_page(
    csrf: &str,
    total: usize,
    imported: usize,
    failed: usize,
    finished: bool,
) -> Result<String, Error> {
    JobPage {
        csrf: csrf.to_owned(),
        total,
        imported,
        failed,
        finished,
    }
    .render()
    .map_err(|e| {
        tracing::error!(error = %e, "template");
        Error::Config("the import page did not render".into())
    })
}

/// Where one viewer's stream of a job's page stands.
struct Streamed {
    state: AppState,
    id: String,
    changed: tokio::sync::watch::Receiver<usize>,
    /// Outcomes already sent.
    sent: usize,
    head: Option<String>,
    ended: bool,
    csrf: String,
    total: usize,
}

/// The end of the page when the job is gone.
const END: &str = "</ol></main></body></html>";

async fn next_chunk(
    mut s: Streamed,
) -> Option<(Result<String, std::convert::Infallible>, Streamed)> {
    if let Some(head) = s.head.take() {
        return Some((Ok(head), s));
    }
    if s.ended {
        return None;
    }
    loop {
        s.changed.borrow_and_update();
        let (new, finished, counts) = {
            let jobs = s.state.inner.imports.lock();
            match jobs.get(&s.id) {
                Some(job) => {
                    let new: Vec<_> = job.done[s.sent.min(job.done.len())..].to_vec();
                    let ok = job
                        .done
                        .iter()
                        .filter(|(_, _, link)| link.is_some())
                        .count();
                    (new, job.finished.is_some(), Some((ok, job.done.len() - ok)))
                }
                // Forgotten meanwhile: end the page.
                None => (Vec::new(), true, None),
            }
        };
        if !new.is_empty() {
            s.sent += new.len();
            let mut chunk = String::new();
            for (name, outcome, link) in &new {
                let line = Line {
                    name,
                    outcome,
                    link,
                };
                chunk.push_str(&line.render().unwrap_or_default());
            }
            return Some((Ok(chunk), s));
        }
        if finished {
            s.ended = true;
            let tail = counts
                .and_then(|(ok, failed)| job_page(&s.csrf, s.total, ok, failed, true).ok())
                .and_then(|p| p.split_once(MARKER).map(|(_, t)| t.to_owned()))
                .unwrap_or_else(|| END.to_owned());
            return Some((Ok(tail), s));
        }
        // Nothing new: wait for the next outcome (or, at the latest, look
        // again in a while).
        let _ = tokio::time::timeout(Duration::from_secs(30), s.changed.changed()).await;
    }
}

/// A job's id: 128 random bits, hex (it names no pupil).
fn job_id() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| Error::Unavailable("the system's random source".into()))?;
    Ok(hex::encode(bytes))
}
