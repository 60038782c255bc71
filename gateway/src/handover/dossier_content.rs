//! A transfer dossier's content as a person reads it: every part it holds,
//! section by section under a Dutch heading, and its attachments to
//! download. One renderer for every page and API that shows a dossier's
//! content (the receiving school's `/ontvangen/{id}`, the JSON API's
//! `GET /api/v1/received/{id}`, the guardians' inzage), so what one reader
//! sees is what another sees.
//!
//! Use: [`content`] turns a [`Dossier`] into a [`DossierContent`] (the
//! caller says where an attachment's download lives); a page's template
//! includes `dossier_content.html` with a field `content: DossierContent`;
//! a download route answers [`download`] of [`attachment`]`(dossier, n)`.
//!
//! The OSO parts are grouped by their data category (the sixteen OSO
//! delivery categories, in the XSD's order), each element a row with a Dutch
//! label and its value in words ([`crate::labels::element_label`],
//! [`crate::labels::element_value`]); nested blocks (one test, one school
//! period) are group rows with their rows below. The handbook's extras
//! (what works, what to avoid, the guardians' view, ...) follow as sections
//! of their own. Attachments (OSO `document`, wherever it sits) are numbered
//! from 1 in document order; their base64 content is never shown as text.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use carenet_consent::Category;
use carenet_handover::model::Dossier;
use carenet_handover::xml::Element;
use serde::Serialize;
use utoipa::ToSchema;

use crate::labels;

/// A dossier's content, as the pages and the API show it.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub(crate) struct DossierContent {
    /// The pupil's name as the dossier gives it; empty when not released.
    pub pupil: String,
    /// In reading order; only sections with content.
    pub sections: Vec<ContentSection>,
    /// Every attachment, numbered from 1 in document order.
    pub attachments: Vec<AttachmentInfo>,
}

/// One part of a dossier under its heading.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct ContentSection {
    /// The data category's code (`test_results`), or `carenet/<field>` for
    /// one of the handbook's extras (`carenet/what_works`).
    pub key: String,
    /// The Dutch heading (`Toetsresultaten`, `Wat werkt`).
    pub heading: String,
    /// The section's rows in document order.
    pub rows: Vec<ContentRow>,
}

impl ContentSection {
    /// The section's HTML id (`deel-test_results`, `deel-carenet-what_works`).
    pub fn anchor(&self) -> String {
        let key: String = self
            .key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        format!("deel-{key}")
    }
}

/// One line of a section: a label and its value, or (with an empty value)
/// the heading of a block whose rows follow one level deeper.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct ContentRow {
    pub label: String,
    /// The value in words; empty for a block's heading.
    pub value: String,
    /// Nesting level, 0 at the top of the section.
    pub depth: usize,
    /// For an attachment's row: its number in [`DossierContent::attachments`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment: Option<usize>,
    /// For an attachment's row: where it is downloaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
}

impl ContentRow {
    /// Whether the row heads a block (no value of its own).
    pub fn is_group(&self) -> bool {
        self.value.is_empty() && self.attachment.is_none()
    }

    /// The indentation of the row's label, for the template (`em`).
    pub fn indent(&self) -> usize {
        self.depth.min(8)
    }
}

/// An attachment as a list names it (not its content).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct AttachmentInfo {
    /// Its number, from 1.
    pub n: usize,
    /// The name the download is saved as.
    pub file_name: String,
    /// What the sending school says it is (`omschrijving`).
    pub description: String,
    /// The heading of the section it belongs to.
    pub section: String,
    /// The content type it is served with.
    pub content_type: String,
    /// Its size in bytes.
    pub size: usize,
    /// Where it is downloaded.
    pub href: String,
}

/// An attachment's content, to download.
pub(crate) struct Attachment {
    pub file_name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// The content of `dossier`; `href(n)` is where attachment `n` is downloaded
/// (e.g. `/ontvangen/<id>/bijlagen/<n>`).
pub(crate) fn content(dossier: &Dossier, href: impl Fn(usize) -> String) -> DossierContent {
    let mut out = DossierContent {
        pupil: dossier.summary().pupil_name,
        ..DossierContent::default()
    };
    let mut walk = Walk {
        href: &href,
        attachments: Vec::new(),
    };
    for category in Category::all() {
        let parts: Vec<&Element> = dossier
            .sections
            .iter()
            .filter(|s| s.category == category)
            .map(|s| &s.element)
            .collect();
        if parts.is_empty() {
            continue;
        }
        let heading = labels::category_heading(category).to_owned();
        let mut rows = Vec::new();
        for e in parts {
            walk.element(e, 0, &heading, &mut rows);
        }
        if !rows.is_empty() {
            out.sections.push(ContentSection {
                key: category.as_str().to_owned(),
                heading,
                rows,
            });
        }
    }
    for (field, heading, text) in extras(dossier) {
        out.sections.push(ContentSection {
            key: format!("carenet/{field}"),
            heading: heading.to_owned(),
            rows: vec![ContentRow {
                label: heading.to_owned(),
                value: text,
                depth: 0,
                attachment: None,
                href: None,
            }],
        });
    }
    out.attachments = walk.attachments;
    out
}

/// The handbook's extras the dossier holds: (field, heading, text), in the
/// order a reader wants them.
fn extras(dossier: &Dossier) -> Vec<(&'static str, &'static str, String)> {
    let e = &dossier.extras;
    [
        ("what_works", "Wat werkt", &e.what_works),
        ("what_to_avoid", "Wat te vermijden", &e.what_to_avoid),
        ("talents", "Talenten", &e.talents),
        ("interests", "Interesses", &e.interests),
        ("pupil_voice", "Wat de leerling zelf zegt", &e.pupil_voice),
        ("agreements", "Afspraken", &e.agreements),
        (
            "guardian_view",
            "Zienswijze van de ouders",
            &e.guardian_view,
        ),
        ("contact", "Contactpersoon voor vragen", &e.contact),
    ]
    .into_iter()
    .filter_map(|(f, h, t)| {
        t.as_ref()
            .filter(|t| !t.trim().is_empty())
            .map(|t| (f, h, t.clone()))
    })
    .collect()
}

struct Walk<'a> {
    href: &'a dyn Fn(usize) -> String,
    attachments: Vec<AttachmentInfo>,
}

impl Walk<'_> {
    fn element(&mut self, e: &Element, depth: usize, section: &str, rows: &mut Vec<ContentRow>) {
        if e.name == "document" {
            self.document(e, depth, section, rows);
            return;
        }
        if e.name == "categorie_uitlevering" {
            rows.push(group(&e.name, depth));
            for c in &e.children {
                let label = Category::from_oso_element(&c.name).map_or_else(
                    || labels::element_label(&c.name),
                    |k| labels::category_heading(k).to_owned(),
                );
                rows.push(ContentRow {
                    label,
                    value: labels::element_value(&c.name, c.text.as_deref().unwrap_or(""), None),
                    depth: depth + 1,
                    attachment: None,
                    href: None,
                });
            }
            return;
        }
        if e.children.is_empty() {
            let Some(text) = e.text.as_deref().filter(|t| !t.trim().is_empty()) else {
                return;
            };
            let description = e
                .attributes
                .iter()
                .find(|(k, _)| k == "omschrijving")
                .map(|(_, v)| v.as_str());
            rows.push(ContentRow {
                label: labels::element_label(&e.name),
                value: labels::element_value(&e.name, text, description),
                depth,
                attachment: None,
                href: None,
            });
            return;
        }
        rows.push(group(&e.name, depth));
        for c in &e.children {
            self.element(c, depth + 1, section, rows);
        }
    }

    /// An OSO `document`: one row with its download, then its description.
    fn document(&mut self, e: &Element, depth: usize, section: &str, rows: &mut Vec<ContentRow>) {
        let n = self.attachments.len() + 1;
        let decoded = decode(e);
        let (file_name, content_type) = decoded.as_ref().map_or_else(
            || (name_of(e), "application/octet-stream"),
            |a| (a.file_name.clone(), a.content_type),
        );
        let href = (self.href)(n);
        let description = e.text_at("omschrijving").unwrap_or("").trim().to_owned();
        self.attachments.push(AttachmentInfo {
            n,
            file_name: file_name.clone(),
            description: description.clone(),
            section: section.to_owned(),
            content_type: content_type.to_owned(),
            size: decoded.map_or(0, |a| a.bytes.len()),
            href: href.clone(),
        });
        rows.push(ContentRow {
            label: labels::element_label("document"),
            value: file_name,
            depth,
            attachment: Some(n),
            href: Some(href),
        });
        if !description.is_empty() {
            rows.push(ContentRow {
                label: labels::element_label("omschrijving"),
                value: description,
                depth: depth + 1,
                attachment: None,
                href: None,
            });
        }
    }
}

fn group(name: &str, depth: usize) -> ContentRow {
    ContentRow {
        label: labels::element_label(name),
        value: String::new(),
        depth,
        attachment: None,
        href: None,
    }
}

/// Attachment `n` (from 1, as [`content`] numbers them) of `dossier`, or
/// `None` when it has no such attachment or its content is not base64.
pub(crate) fn attachment(dossier: &Dossier, n: usize) -> Option<Attachment> {
    // Sections are numbered in category order, as the page shows them.
    let mut ordered = Vec::new();
    for category in Category::all() {
        for s in dossier.sections.iter().filter(|s| s.category == category) {
            collect_documents(&s.element, &mut ordered);
        }
    }
    decode(ordered.get(n.checked_sub(1)?)?)
}

fn collect_documents<'a>(e: &'a Element, out: &mut Vec<&'a Element>) {
    if e.name == "document" {
        out.push(e);
        return;
    }
    for c in &e.children {
        collect_documents(c, out);
    }
}

/// The file name a download is saved as: the sender's, reduced to a plain
/// name (no path, no quotes or control characters).
fn name_of(e: &Element) -> String {
    let raw = e.text_at("bestandsnaam").unwrap_or("bijlage");
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | ';'))
        .collect();
    let clean = clean.trim().trim_start_matches('.').to_owned();
    if clean.is_empty() {
        "bijlage".into()
    } else {
        clean
    }
}

/// An OSO document's content: base64 of a ZIP file (OSO 2019.1), served as
/// that ZIP; content that is not a ZIP (some senders put the file itself)
/// is served with the type its name says, among the file types OSO allows,
/// and as `application/octet-stream` otherwise (never as HTML).
fn decode(e: &Element) -> Option<Attachment> {
    let text: String = e
        .text_at("bestandsinhoud")?
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .ok()?;
    let name = name_of(e);
    if bytes.starts_with(b"PK\x03\x04") {
        let file_name = if name.to_ascii_lowercase().ends_with(".zip") {
            name
        } else {
            format!("{name}.zip")
        };
        return Some(Attachment {
            file_name,
            content_type: "application/zip",
            bytes,
        });
    }
    let content_type = content_type_of(&name);
    Some(Attachment {
        file_name: name,
        content_type,
        bytes,
    })
}

/// The content type of the file types OSO allows as attachments (PDF, JPG,
/// PNG, DOC, DOCX, ODF, XLS, XLSX, TXT, PPT, PPTX), by the file's name.
fn content_type_of(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "odt" | "odf" => "application/vnd.oasis.opendocument.text",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "txt" => "text/plain; charset=utf-8",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        _ => "application/octet-stream",
    }
}

/// The download of an attachment: its content type, always as an
/// attachment (`Content-Disposition: attachment`), never sniffed, never
/// cached, and sandboxed should a browser render it anyway.
pub(crate) fn download(a: Attachment) -> Response {
    let ascii: String = a
        .file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        crate::href::segment(&a.file_name)
    );
    (
        [
            (header::CONTENT_TYPE, a.content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox".to_owned(),
            ),
        ],
        a.bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use carenet_handover::model::Extras;

    fn povo() -> Dossier {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../vendor/oso/OV/examples/Voorbeelddossier_OV_POVO_full.xml"
        );
        let text = std::fs::read_to_string(path).unwrap();
        Dossier {
            sections: carenet_handover::oso::import(&text).unwrap().sections,
            extras: Extras {
                what_works: Some("korte instructie".into()),
                guardian_view: Some("wij zijn het eens".into()),
                ..Extras::default()
            },
        }
    }

    #[test]
    fn every_category_and_extra_has_its_section() {
        let d = povo();
        let c = content(&d, |n| format!("/x/{n}"));
        let keys: Vec<&str> = c.sections.iter().map(|s| s.key.as_str()).collect();
        for category in d.categories() {
            assert!(
                keys.contains(&category.as_str()),
                "{category:?} in {keys:?}"
            );
        }
        assert!(keys.contains(&"carenet/what_works"));
        assert!(keys.contains(&"carenet/guardian_view"));
        let tests = c.sections.iter().find(|s| s.key == "test_results").unwrap();
        assert_eq!(tests.heading, "Toetsresultaten");
        assert!(
            tests
                .rows
                .iter()
                .any(|r| r.value.contains("Drempelonderzoek"))
        );
        let absence = c.sections.iter().find(|s| s.key == "absence").unwrap();
        assert!(
            absence
                .rows
                .iter()
                .any(|r| r.label == "Dagdelen geoorloofd verzuim" && r.value == "12")
        );
        // No base64 on the page.
        assert!(
            c.sections
                .iter()
                .flat_map(|s| &s.rows)
                .all(|r| r.value.len() < 2000)
        );
    }

    #[test]
    fn attachments_are_numbered_and_decoded_byte_for_byte() {
        let d = povo();
        let c = content(&d, |n| format!("/x/{n}"));
        assert!(c.attachments.len() >= 3);
        for info in &c.attachments {
            let a = attachment(&d, info.n).unwrap();
            assert_eq!(a.file_name, info.file_name);
            assert_eq!(a.bytes.len(), info.size);
            assert_eq!(info.href, format!("/x/{}", info.n));
        }
        let first = attachment(&d, 1).unwrap();
        assert_eq!(first.content_type, "application/zip");
        assert!(first.bytes.starts_with(b"PK"));
        assert!(attachment(&d, 0).is_none());
        assert!(attachment(&d, c.attachments.len() + 1).is_none());
    }

    #[test]
    fn no_attachment_is_ever_served_as_html() {
        assert_eq!(content_type_of("x.html"), "application/octet-stream");
        assert_eq!(content_type_of("x.svg"), "application/octet-stream");
        assert_eq!(content_type_of("rapport.PDF"), "application/pdf");
        let mut e = Element::new("document");
        e.children
            .push(Element::leaf("bestandsnaam", "../\"a\".html"));
        e.children
            .push(Element::leaf("bestandsinhoud", "PGgxPmhpPC9oMT4="));
        let a = decode(&e).unwrap();
        assert_eq!(a.content_type, "application/octet-stream");
        assert_eq!(a.file_name, "a.html");
        let r = download(a);
        assert_eq!(r.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(
            r.headers()[header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .starts_with("attachment;")
        );
    }
}
