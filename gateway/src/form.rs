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
        let (parts, body) = req.into_parts();
        let bytes =
            axum::body::Bytes::from_request(Request::from_parts(parts.clone(), body), state)
                .await
                .map_err(|_| Error::invalid("form", "cannot be read (too large?)"))?;
        // No text in carenet holds a NUL, and PostgreSQL refuses it: name
        // the field here rather than fail at the database.
        if let Some(field) = nul_field(&bytes) {
            return Err(Error::invalid(field, "holds a NUL character"));
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        match axum::extract::Form::<T>::from_request(req, state).await {
            Ok(axum::extract::Form(value)) => Ok(Form(value)),
            Err(rejection) => Err(Error::invalid("form", rejection.body_text())),
        }
    }
}

/// The name of the first field of a urlencoded body whose name or value
/// holds a NUL (the name itself only if it is short and clean).
fn nul_field(body: &[u8]) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| shown_field(&k, "form"))
}

/// A field name as an error may name it: the name itself if it is at most
/// 32 characters of `[A-Za-z0-9_-]` (a name of ours), else `fallback` (a
/// client's long or odd name is never echoed). For forms, JSON bodies and
/// path parameters alike.
pub(crate) fn shown_field(name: &str, fallback: &str) -> String {
    let clean = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    (if clean { name } else { fallback }).to_owned()
}

/// A path of field names (`a.b[2].c`, as a JSON body's error names it) as
/// an error may name it: every name in it [`shown_field`], else `fallback`
/// as a whole.
pub(crate) fn shown_path(path: &str, fallback: &str) -> String {
    let clean = path.split('.').all(|segment| {
        // A segment is a name, then any number of `[n]` indices.
        let name = segment.split('[').next().unwrap_or_default();
        let indices = &segment[name.len()..];
        let indices_clean = indices.split('[').skip(1).all(|i| {
            i.strip_suffix(']')
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        });
        (name.is_empty() || shown_field(name, "") == name) && indices_clean
    });
    if clean && !path.is_empty() {
        path.to_owned()
    } else {
        fallback.to_owned()
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

/// What a refused form held, put back when its page comes again: which of
/// the page's forms it was (a key the page gives each form) and its fields
/// as typed. Templates read a field through [`Kept::value`] (else the
/// form's own value), a choice through [`Kept::chose`]; askama escapes it.
#[derive(Debug, Default)]
pub(crate) struct Kept {
    form: String,
    pairs: Pairs,
}

impl Kept {
    /// The fields `pairs` of the page's form `form`.
    pub fn of(form: impl Into<String>, pairs: Pairs) -> Self {
        Kept {
            form: form.into(),
            pairs,
        }
    }

    /// Whether form `form` came back refused.
    pub fn is(&self, form: &str) -> bool {
        !self.form.is_empty() && self.form == form
    }

    /// Field `name` of form `form` as typed, or `shown` (what the page
    /// shows without a refusal).
    pub fn value<'a>(&'a self, form: &str, name: &str, shown: &'a str) -> &'a str {
        if self.is(form) {
            field(&self.pairs, name)
        } else {
            shown
        }
    }

    /// Whether option `option` of field `name` of form `form` is the one
    /// chosen when it came back (else: none is, the first shows).
    pub fn chose(&self, form: &str, name: &str, option: &str) -> bool {
        self.is(form) && self.pairs.iter().any(|(k, v)| k == name && v == option)
    }

    /// The form's id: the refused form's own (so that, corrected and sent
    /// twice, it still counts once), or a new one.
    pub fn form_id(&self, form: &str) -> String {
        match value(&self.pairs, "form_id") {
            Some(id) if self.is(form) && !id.is_empty() => id.to_owned(),
            _ => crate::pages::form_id(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_form_gives_back_only_its_own_fields() {
        let pairs: Pairs = vec![
            ("form_id".into(), "f-1".into()),
            ("what".into(), "Gesprek <thuis>".into()),
            ("owner".into(), "jgz-1".into()),
        ];
        let kept = Kept::of("actie-toevoegen", pairs);
        assert_eq!(kept.value("actie-toevoegen", "what", ""), "Gesprek <thuis>");
        assert_eq!(kept.value("doel-toevoegen", "text", "shown"), "shown");
        assert!(kept.chose("actie-toevoegen", "owner", "jgz-1"));
        assert!(!kept.chose("actie-toevoegen", "owner", "vo-1"));
        assert!(!kept.chose("doel-toevoegen", "owner", "jgz-1"));
        assert_eq!(kept.form_id("actie-toevoegen"), "f-1");
        assert_ne!(kept.form_id("doel-toevoegen"), "f-1");
        let none = Kept::default();
        assert!(!none.is(""));
        assert_eq!(none.value("", "what", "shown"), "shown");
    }

    #[test]
    fn only_short_clean_names_are_shown() {
        assert_eq!(shown_field("child_ref", "form"), "child_ref");
        assert_eq!(shown_field("note-3", "form"), "note-3");
        for odd in ["", "Daan van de Berg", "a\0b", "<script>", &"x".repeat(33)] {
            assert_eq!(shown_field(odd, "form"), "form", "{odd:?}");
        }
        assert_eq!(
            shown_path("recipients[2].party_id", "body"),
            "recipients[2].party_id"
        );
        assert_eq!(shown_path("[0].x", "body"), "[0].x");
        for odd in ["", "a.Daan van de Berg", "a[x]", "a[]", "?", "a.b[2]c"] {
            assert_eq!(shown_path(odd, "body"), "body", "{odd:?}");
        }
    }
}
