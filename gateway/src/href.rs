//! Links and form actions built from ids. An id may come from another node
//! (a plan or task id in a member's view, a received message's id) or from
//! the request path; either way it goes into a URL only as one
//! percent-encoded path segment ([`segment`], [`path`]), so no id can add a
//! segment, climb out of its route with `..`, or start a query or a
//! fragment: a step button always posts to the route its page means. The
//! slices check ids from other nodes at arrival too; this is the second
//! wall. Templates encode with the `seg` filter ([`filters::seg`]).

use std::fmt::Write as _;

/// One path segment: every byte except ASCII letters, digits, `-`, `_` and
/// `~` is percent-encoded (`.` too, so a segment is never `.` or `..`).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// An absolute path of fixed route words and ids: `path(&["plannen", id,
/// "taken", task])` is `/plannen/<id>/taken/<task>`, each part one segment.
pub fn path(parts: &[&str]) -> String {
    let mut out = String::new();
    for p in parts {
        out.push('/');
        out.push_str(&segment(p));
    }
    out
}

/// The templates' filters: `{{ id|seg }}` is [`segment`].
pub mod filters {
    /// One path segment (see [`super::segment`]).
    #[allow(clippy::unnecessary_wraps)] // askama's filter signature
    pub fn seg(s: impl std::fmt::Display, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::segment(&s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_stays_one_segment() {
        let uuid = "0b8c1f9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
        assert_eq!(segment(uuid), uuid, "ids as carenet makes them are kept");
        assert_eq!(segment("vo-1"), "vo-1");
        let hostile = "x/../../ontvangen/0b8c1f9e/samenvatting";
        let encoded = segment(hostile);
        assert_eq!(
            encoded,
            "x%2F%2E%2E%2F%2E%2E%2Fontvangen%2F0b8c1f9e%2Fsamenvatting"
        );
        assert!(!encoded.contains('/') && !encoded.contains('.'));
        assert_eq!(segment(".."), "%2E%2E");
        assert_eq!(segment("a?b#c d"), "a%3Fb%23c%20d");
        assert_eq!(segment("%2e"), "%252e", "an encoded id is encoded again");
        assert_eq!(segment("é\"<"), "%C3%A9%22%3C");
        assert_eq!(
            path(&["deelname", "vo-1", "p-1", "taken", hostile]),
            format!("/deelname/vo-1/p-1/taken/{encoded}")
        );
        assert_eq!(path(&["plannen"]), "/plannen");
    }

    #[test]
    fn the_filter_is_the_same_encoding() {
        assert_eq!(filters::seg("../x", &()).unwrap(), segment("../x"));
    }
}
