//! Form bodies, refused with the gateway's own Dutch error page (naming the
//! field) instead of the framework's plain-text rejection. Every form's
//! `csrf` field defaults to empty, so a form without it is a CSRF refusal
//! (403), not a parse error.

use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::Error;

pub(crate) struct Form<T>(pub T);

impl<T, S> FromRequest<S> for Form<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        match axum::extract::Form::<T>::from_request(req, state).await {
            Ok(axum::extract::Form(value)) => Ok(Form(value)),
            Err(rejection) => Err(Error::invalid("form", rejection.body_text())),
        }
    }
}

/// A form read as pairs: for repeated fields (`categories`, `recipients`)
/// and for forms whose fields are numbered (`note-N`).
pub(crate) type Pairs = Vec<(String, String)>;

/// The first value of `name`, if the form sent it.
pub(crate) fn value<'a>(pairs: &'a Pairs, name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The first value of `name`, or empty.
pub(crate) fn field<'a>(pairs: &'a Pairs, name: &str) -> &'a str {
    value(pairs, name).unwrap_or("")
}
