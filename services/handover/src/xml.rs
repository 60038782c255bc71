//! A faithful, ordered XML element tree for OSO dossiers.
//!
//! OSO files are element-only XML in one default namespace (no mixed content),
//! with a few attributes (`omschrijving`). [`parse`] reads one with DTDs
//! refused (no entity expansion) and keeps every element, attribute and text
//! in document order, with the line each element started on for error
//! messages; [`Element::write`] writes it back so that parsing the output
//! gives the same tree.

use crate::{Error, OsoProblem, Result};

/// Largest OSO file accepted: real dossiers with scanned reports run to some
/// 50 MB (the exchange carries up to 64 MiB).
pub const MAX_XML_BYTES: usize = 64 * 1024 * 1024;

/// Deepest element nesting accepted. OSO 2019.1 nests about ten deep; every
/// walk over a tree (conversion, writing, comparing, dropping) recurses, so a
/// deeper file is refused before it can exhaust the stack of a node that
/// imports or receives it.
pub const MAX_DEPTH: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    /// Local name; the namespace is the document's.
    pub name: String,
    pub attributes: Vec<(String, String)>,
    /// Text content of a leaf element (OSO has no mixed content).
    pub text: Option<String>,
    pub children: Vec<Element>,
    /// Line the element started on in its source (0 when built in code).
    pub line: u32,
}

impl Element {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            attributes: Vec::new(),
            text: None,
            children: Vec::new(),
            line: 0,
        }
    }

    pub fn leaf(name: &str, text: &str) -> Self {
        let mut e = Self::new(name);
        e.text = Some(text.to_owned());
        e
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn child_mut(&mut self, name: &str) -> Option<&mut Element> {
        self.children.iter_mut().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first descendant at `path` (`a/b/c`), if any.
    pub fn text_at(&self, path: &str) -> Option<&str> {
        let mut e = self;
        for step in path.split('/') {
            e = e.child(step)?;
        }
        e.text.as_deref()
    }

    /// Sets the text of child `name`, adding it at the end if missing.
    pub fn set_child_text(&mut self, name: &str, text: &str) {
        match self.child_mut(name) {
            Some(c) => c.text = Some(text.to_owned()),
            None => self.children.push(Element::leaf(name, text)),
        }
    }

    /// Structural equality: names, attributes, texts and children in order,
    /// ignoring source lines.
    pub fn same_content(&self, other: &Element) -> bool {
        self.name == other.name
            && self.attributes == other.attributes
            && self.text == other.text
            && self.children.len() == other.children.len()
            && self
                .children
                .iter()
                .zip(&other.children)
                .all(|(a, b)| a.same_content(b))
    }

    /// Writes the element (and its subtree) indented by `depth` levels. The
    /// root also declares the namespace `xmlns`.
    pub fn write(&self, out: &mut String, depth: usize, xmlns: Option<&str>) {
        for _ in 0..depth {
            out.push_str("  ");
        }
        out.push('<');
        out.push_str(&self.name);
        if let Some(ns) = xmlns {
            out.push_str(" xmlns=\"");
            escape_into(out, ns, true);
            out.push('"');
        }
        for (k, v) in &self.attributes {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            escape_into(out, v, true);
            out.push('"');
        }
        match (&self.text, self.children.is_empty()) {
            (None, true) => out.push_str("/>\n"),
            (Some(t), true) => {
                out.push('>');
                escape_into(out, t, false);
                out.push_str("</");
                out.push_str(&self.name);
                out.push_str(">\n");
            }
            (_, false) => {
                out.push_str(">\n");
                for c in &self.children {
                    c.write(out, depth + 1, None);
                }
                for _ in 0..depth {
                    out.push_str("  ");
                }
                out.push_str("</");
                out.push_str(&self.name);
                out.push_str(">\n");
            }
        }
    }

    /// The element as a standalone XML fragment (no declaration, no namespace).
    pub fn to_fragment(&self) -> String {
        let mut s = String::new();
        self.write(&mut s, 0, None);
        s
    }
}

fn escape_into(out: &mut String, s: &str, attribute: bool) {
    // Copies runs that need no escaping in one go (attachments are long
    // base64 texts).
    let mut run_start = 0;
    for (i, ch) in s.char_indices() {
        let escaped = match ch {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' if attribute => "&quot;",
            '\r' => "&#13;",
            '\n' if attribute => "&#10;",
            '\t' if attribute => "&#9;",
            _ => continue,
        };
        out.push_str(&s[run_start..i]);
        out.push_str(escaped);
        run_start = i + ch.len_utf8();
    }
    out.push_str(&s[run_start..]);
}

/// A parsed document: its root element and the root's namespace.
#[derive(Debug)]
pub struct Parsed {
    pub root: Element,
    pub namespace: Option<String>,
}

/// Parses `text`; errors name the line (and, where known, the element).
pub fn parse(text: &str) -> Result<Parsed> {
    if text.len() > MAX_XML_BYTES {
        return Err(Error::xml(
            "dossier",
            0,
            OsoProblem::TooLarge(MAX_XML_BYTES >> 20),
        ));
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 4_000_000,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, options).map_err(|e| {
        let pos = e.pos();
        Error::xml("", pos.row, OsoProblem::NotWellFormed(e.to_string()))
    })?;
    let root = doc.root_element();
    let namespace = root.tag_name().namespace().map(str::to_owned);
    // Line numbers from one pass over the text: roxmltree's own position
    // lookup scans from the start for every element (quadratic).
    let lines = Lines(text.match_indices('\n').map(|(i, _)| i).collect());
    Ok(Parsed {
        root: convert(&lines, root, namespace.as_deref(), 1)?,
        namespace,
    })
}

/// The byte offsets of the newlines of a text.
struct Lines(Vec<usize>);

impl Lines {
    fn line_of(&self, offset: usize) -> u32 {
        u32::try_from(self.0.partition_point(|&nl| nl < offset) + 1).unwrap_or(u32::MAX)
    }
}

fn convert(
    lines: &Lines,
    node: roxmltree::Node<'_, '_>,
    ns: Option<&str>,
    depth: usize,
) -> Result<Element> {
    let line = lines.line_of(node.range().start);
    let name = node.tag_name().name().to_owned();
    if depth > MAX_DEPTH {
        return Err(Error::xml(&name, line, OsoProblem::TooDeep(MAX_DEPTH)));
    }
    if node.tag_name().namespace() != ns {
        return Err(Error::xml(&name, line, OsoProblem::ForeignElement));
    }
    let mut e = Element {
        name,
        attributes: node
            .attributes()
            .map(|a| (a.name().to_owned(), a.value().to_owned()))
            .collect(),
        text: None,
        children: Vec::new(),
        line,
    };
    let mut text = String::new();
    for child in node.children() {
        if child.is_element() {
            e.children.push(convert(lines, child, ns, depth + 1)?);
        } else if child.is_text() {
            text.push_str(child.text().unwrap_or_default());
        }
    }
    if e.children.is_empty() {
        if !text.is_empty() {
            e.text = Some(text);
        }
    } else if !text.trim().is_empty() {
        return Err(Error::xml(&e.name, line, OsoProblem::MixedText));
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn writes_what_it_parsed() {
        let src = "<?xml version=\"1.0\"?>\n<a xmlns=\"urn:x\"><b k=\"v &amp; &quot;w&quot;\">1 &lt; 2</b><c/><d><e>x</e></d></a>";
        let p = parse(src).unwrap();
        let mut out = String::new();
        p.root.write(&mut out, 0, p.namespace.as_deref());
        let again = parse(&out).unwrap();
        assert!(p.root.same_content(&again.root), "{out}");
        assert_eq!(p.root.text_at("d/e"), Some("x"));
        assert_eq!(p.root.child("b").unwrap().text.as_deref(), Some("1 < 2"));
    }

    #[test]
    fn refuses_dtds_and_names_the_line() {
        let e = parse("<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY x \"y\">]>\n<a>&x;</a>")
            .unwrap_err();
        assert!(e.to_string().contains("line"), "{e}");
        let e = parse("<a>\n<b>\n</a>").unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
    }

    #[test]
    fn refuses_deep_nesting_naming_the_line() {
        // Deep enough to overflow a recursive walk (seen: the process aborted).
        let depth = 200_000;
        let mut src = String::from("<a>\n");
        for _ in 0..depth {
            src.push_str("<b>");
        }
        for _ in 0..depth {
            src.push_str("</b>");
        }
        src.push_str("</a>");
        let e = parse(&src).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("nested deeper than 64") && text.contains("line 2"),
            "{text}"
        );
        // The limit itself is allowed.
        let ok: String = (0..MAX_DEPTH - 1).map(|_| "<b>").collect::<String>()
            + &(0..MAX_DEPTH - 1).map(|_| "</b>").collect::<String>();
        assert!(parse(&format!("<a>{ok}</a>")).is_ok());
    }

    #[test]
    fn refuses_foreign_namespaces_and_mixed_content() {
        assert!(parse("<a xmlns=\"urn:x\"><b xmlns=\"urn:y\"/></a>").is_err());
        assert!(parse("<a>text<b/></a>").is_err());
    }
}
