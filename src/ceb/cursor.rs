//! A cursor over quick-xml events that knows where it is: depth and limits, the path of open
//! containers, and the byte offset of the event being looked at, so that every error names the
//! element path and line/column. Element text is borrowed from the input when it can be.
//!
//! Namespaces are resolved here rather than by quick-xml's `NsReader`: CEB messages declare
//! them on the root (and `ds:` on the signature), so a short stack of the bindings in scope
//! answers every element, and end tags and text need no resolution at all.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::PrefixDeclaration;
use quick_xml::Reader;

use super::error::{DecodeError, DecodeErrorKind};
use super::source::line_column;
use super::{Limits, CEB_NS, DSIG_NS};
use crate::domain::record::{check_facet, Composite, FieldSpec, Record};
use crate::report::{At, Violation};

/// A decoding failure, boxed so that the `Result`s of the hot path stay small.
pub(super) type Failure = Box<DecodeError>;

/// The namespace an element resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ns {
    Ceb,
    Dsig,
    Other,
}

/// A start tag just read.
pub(super) struct Open<'a> {
    pub start: BytesStart<'a>,
    pub ns: Ns,
    /// `<x/>`: there is no content and no end tag to come.
    pub empty: bool,
}

impl Open<'_> {
    pub fn local(&self) -> &[u8] {
        self.start.local_name().into_inner()
    }

    pub fn local_string(&self) -> String {
        String::from_utf8_lossy(self.local()).into_owned()
    }
}

/// What comes next inside a container.
pub(super) enum Tag<'a> {
    Open(Open<'a>),
    Close,
}

pub(super) struct Cursor<'a> {
    reader: Reader<&'a [u8]>,
    src: &'a str,
    limits: Limits,
    depth: usize,
    path: Vec<(Cow<'static, str>, Option<usize>)>,
    mark: usize,
    /// Namespace bindings in scope: (depth of the declaring element, prefix, namespace).
    bindings: Vec<Binding>,
    /// `prefix:` bound to the CEB namespace in this scope (fast path of `resolve`).
    ceb_prefix: Option<Vec<u8>>,
    /// The default namespace in this scope is CEB.
    ceb_default: bool,
}

struct Binding {
    depth: usize,
    /// Empty for the default namespace.
    prefix: Vec<u8>,
    ns: Ns,
    uri: String,
}

impl<'a> Cursor<'a> {
    pub fn new(src: &'a str, limits: Limits) -> Cursor<'a> {
        let mut reader = Reader::from_str(src);
        reader.config_mut().check_end_names = true;
        Cursor {
            reader,
            src,
            limits,
            depth: 0,
            path: Vec::with_capacity(8),
            mark: 0,
            bindings: Vec::with_capacity(4),
            ceb_prefix: None,
            ceb_default: false,
        }
    }

    pub fn push(&mut self, name: impl Into<Cow<'static, str>>, index: Option<usize>) {
        self.path.push((name.into(), index));
    }

    pub fn pop(&mut self) {
        self.path.pop();
    }

    /// An error at the event being looked at, its path extended by `leaf` when given.
    pub fn error(&self, kind: DecodeErrorKind, leaf: Option<&str>) -> Failure {
        self.error_at(self.mark, kind, leaf)
    }

    fn error_at(&self, offset: usize, kind: DecodeErrorKind, leaf: Option<&str>) -> Failure {
        let mut path = String::new();
        for (name, index) in &self.path {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(name);
            if let Some(i) = index {
                path.push_str(&format!("[{i}]"));
            }
        }
        if let Some(leaf) = leaf {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(leaf);
        }
        let (line, column) = line_column(self.src, offset);
        Box::new(DecodeError {
            kind,
            path,
            line,
            column,
        })
    }

    fn syntax(&self, err: quick_xml::Error) -> Failure {
        let offset = usize::try_from(self.reader.error_position()).unwrap_or(usize::MAX);
        let kind = match err {
            quick_xml::Error::Syntax(quick_xml::errors::SyntaxError::UnclosedTag)
            | quick_xml::Error::Syntax(_)
                if offset >= self.src.len() =>
            {
                DecodeErrorKind::UnexpectedEof
            }
            other => DecodeErrorKind::Syntax(other.to_string()),
        };
        self.error_at(offset, kind, None)
    }

    /// The next event, its start offset kept for error positions.
    #[inline(always)]
    fn event(&mut self) -> Result<Event<'a>, Failure> {
        self.mark = usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX);
        match self.reader.read_event() {
            Ok(event) => Ok(event),
            Err(err) => Err(self.syntax(err)),
        }
    }

    /// Takes the element's namespace declarations into scope (at the depth it will have once
    /// entered) and resolves its name.
    fn resolve(&mut self, start: &BytesStart<'_>) -> Result<Ns, Failure> {
        if !start.attributes_raw().is_empty() {
            self.declare(start)?;
        }
        let name = start.name().into_inner();
        // Fast path: the prefix (or default namespace) that CEB is bound to in this scope.
        match &self.ceb_prefix {
            Some(p) if name.len() > p.len() && same(&name[..p.len()], p) => return Ok(Ns::Ceb),
            None if self.ceb_default && !name.contains(&b':') => return Ok(Ns::Ceb),
            _ => {}
        }
        let prefix = start.name().prefix().map_or(&[][..], |p| p.into_inner());
        Ok(self
            .bindings
            .iter()
            .rev()
            .find(|b| b.prefix == prefix)
            .map_or(Ns::Other, |b| b.ns))
    }

    /// Takes the element's namespace declarations into scope, at the depth it will have once
    /// entered.
    fn declare(&mut self, start: &BytesStart<'_>) -> Result<(), Failure> {
        let mut changed = false;
        for attr in start.attributes() {
            let attr =
                attr.map_err(|e| self.error(DecodeErrorKind::Syntax(e.to_string()), None))?;
            let prefix = match attr.key.as_namespace_binding() {
                Some(PrefixDeclaration::Default) => Vec::new(),
                Some(PrefixDeclaration::Named(p)) => p.to_vec(),
                None => continue,
            };
            let uri = attr
                .unescape_value()
                .map_err(|e| self.error(DecodeErrorKind::Syntax(e.to_string()), None))?;
            let ns = match uri.as_ref() {
                CEB_NS => Ns::Ceb,
                DSIG_NS => Ns::Dsig,
                _ => Ns::Other,
            };
            self.bindings.push(Binding {
                depth: self.depth + 1,
                prefix,
                ns,
                uri: uri.into_owned(),
            });
            changed = true;
        }
        if changed {
            self.rebind();
        }
        Ok(())
    }

    /// Recomputes the fast path of [`Cursor::resolve`] after the bindings changed: the
    /// innermost binding of the CEB namespace that no inner binding of its prefix shadows.
    fn rebind(&mut self) {
        self.ceb_prefix = None;
        self.ceb_default = false;
        for (i, b) in self.bindings.iter().enumerate().rev() {
            let shadowed = self.bindings[i + 1..]
                .iter()
                .any(|inner| inner.prefix == b.prefix);
            if b.ns != Ns::Ceb || shadowed {
                continue;
            }
            if b.prefix.is_empty() {
                self.ceb_default = true;
            } else {
                let mut p = b.prefix.clone();
                p.push(b':');
                self.ceb_prefix = Some(p);
            }
            return;
        }
    }

    /// Leaves an element: its depth, and the namespace bindings it declared.
    fn leave(&mut self) {
        if self.bindings.last().is_some_and(|b| b.depth >= self.depth) {
            while self.bindings.last().is_some_and(|b| b.depth >= self.depth) {
                self.bindings.pop();
            }
            self.rebind();
        }
        self.depth -= 1;
    }

    /// Enters the element whose start tag was just read (`empty`: `<x/>`, entered and left).
    #[inline]
    fn open(&mut self, start: BytesStart<'a>, empty: bool) -> Result<Open<'a>, Failure> {
        if empty {
            self.check_empty_depth()?;
        }
        let ns = self.resolve(&start)?;
        // The root's attributes are the message walk's to check (it names them in its path).
        if ns == Ns::Ceb && self.depth > 0 && !start.attributes_raw().is_empty() {
            self.check_attributes(&start)?;
        }
        if empty {
            self.leave_empty();
        } else {
            self.enter()?;
        }
        Ok(Open { start, ns, empty })
    }

    /// A CEB element below the root carries no attribute but namespace declarations.
    fn check_attributes(&self, start: &BytesStart<'_>) -> Result<(), Failure> {
        for attr in start.attributes() {
            let attr =
                attr.map_err(|e| self.error(DecodeErrorKind::Syntax(e.to_string()), None))?;
            if attr.key.as_namespace_binding().is_some() {
                continue;
            }
            {
                let mut name = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
                if name.len() > 64 {
                    let mut cut = 64;
                    while !name.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    name.truncate(cut);
                    name.push('…');
                }
                let element = String::from_utf8_lossy(start.local_name().into_inner()).into_owned();
                return Err(self.error(
                    DecodeErrorKind::Syntax(format!(
                        "attribute {name} is not allowed on {element} (the schema has none there)"
                    )),
                    None,
                ));
            }
        }
        Ok(())
    }

    /// An empty element (`<x/>`) counts toward the depth limit like any other.
    fn check_empty_depth(&self) -> Result<(), Failure> {
        if self.depth + 1 > self.limits.max_depth {
            let limit = self.limits.max_depth;
            return Err(self.error(DecodeErrorKind::TooDeep { limit }, None));
        }
        Ok(())
    }

    /// Drops the bindings an empty element (`<x/>`) declared for itself.
    fn leave_empty(&mut self) {
        if self.bindings.last().is_some_and(|b| b.depth > self.depth) {
            while self.bindings.last().is_some_and(|b| b.depth > self.depth) {
                self.bindings.pop();
            }
            self.rebind();
        }
    }

    /// The root element, after the prolog.
    pub fn root(&mut self) -> Result<Open<'a>, Failure> {
        loop {
            match self.event()? {
                Event::Decl(decl) if self.mark == 0 => self.check_declaration(&decl)?,
                Event::Comment(_) | Event::PI(_) => {}
                Event::Text(t) if t.iter().all(|&b| is_xml_space(b)) => {}
                Event::DocType(_) => return Err(self.error(DecodeErrorKind::Doctype, None)),
                Event::Start(start) => return self.open(start, false),
                Event::Empty(start) => return self.open(start, true),
                Event::Eof => return Err(self.error(DecodeErrorKind::UnexpectedEof, None)),
                other => return Err(self.unexpected_content(&other)),
            }
        }
    }

    /// The XML declaration: well-formed, version 1.0 (or 1.1).
    fn check_declaration(&self, decl: &quick_xml::events::BytesDecl<'_>) -> Result<(), Failure> {
        let bad = |what: String| {
            self.error(
                DecodeErrorKind::Syntax(format!("XML declaration: {what}")),
                None,
            )
        };
        match decl.version() {
            Ok(v) if v.as_ref() == b"1.0" || v.as_ref() == b"1.1" => Ok(()),
            Ok(v) => Err(bad(format!(
                "version {:?} is not 1.0",
                String::from_utf8_lossy(&v)
                    .chars()
                    .take(16)
                    .collect::<String>()
            ))),
            Err(e) => Err(bad(e.to_string())),
        }
    }

    /// Only comments, processing instructions and whitespace may follow the root.
    pub fn finish(&mut self) -> Result<(), Failure> {
        loop {
            match self.event()? {
                Event::Eof => return Ok(()),
                Event::Comment(_) | Event::PI(_) => {}
                Event::Text(t) if t.iter().all(|&b| is_xml_space(b)) => {}
                Event::DocType(_) => return Err(self.error(DecodeErrorKind::Doctype, None)),
                Event::Start(s) | Event::Empty(s) => {
                    let name = String::from_utf8_lossy(s.name().into_inner()).into_owned();
                    return Err(self.error(DecodeErrorKind::UnexpectedElement(name), None));
                }
                other => return Err(self.unexpected_content(&other)),
            }
        }
    }

    fn enter(&mut self) -> Result<(), Failure> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(self.error(
                DecodeErrorKind::TooDeep {
                    limit: self.limits.max_depth,
                },
                None,
            ));
        }
        Ok(())
    }

    fn unexpected_content(&self, event: &Event<'_>) -> Failure {
        let kind = match event {
            Event::DocType(_) => DecodeErrorKind::Doctype,
            Event::Eof => DecodeErrorKind::UnexpectedEof,
            Event::Decl(_) => {
                DecodeErrorKind::Syntax("XML declaration not at the start of the document".into())
            }
            other => {
                let raw: &[u8] = match other {
                    Event::Text(t) => t,
                    Event::CData(c) => c,
                    Event::GeneralRef(r) => r,
                    _ => b"",
                };
                let lossy = String::from_utf8_lossy(raw);
                let trimmed = lossy.trim_matches(|c: char| c.is_ascii() && is_xml_space(c as u8));
                let mut shown = if trimmed.is_empty() {
                    format!("{lossy:?}")
                } else {
                    trimmed.to_owned()
                };
                if shown.len() > 40 {
                    let mut cut = 40;
                    while !shown.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    shown.truncate(cut);
                    shown.push('…');
                }
                DecodeErrorKind::UnexpectedText(shown)
            }
        };
        self.error(kind, None)
    }

    /// The next start or end tag inside the current container; whitespace and comments skipped.
    pub fn next_tag(&mut self) -> Result<Tag<'a>, Failure> {
        loop {
            match self.event()? {
                Event::Start(start) => return self.open(start, false).map(Tag::Open),
                Event::Empty(start) => return self.open(start, true).map(Tag::Open),
                Event::End(_) => {
                    self.leave();
                    return Ok(Tag::Close);
                }
                Event::Text(t) if t.iter().all(|&b| is_xml_space(b)) => {}
                Event::Comment(_) | Event::PI(_) => {}
                other => return Err(self.unexpected_content(&other)),
            }
        }
    }

    /// Skips the content of an element just opened (not empty), up to its end tag.
    pub fn skip(&mut self) -> Result<(), Failure> {
        let floor = self.depth - 1;
        loop {
            match self.event()? {
                Event::Start(_) => self.enter()?,
                Event::Empty(_) => self.check_empty_depth()?,
                Event::End(_) => {
                    self.leave();
                    if self.depth == floor {
                        return Ok(());
                    }
                }
                Event::Text(t) if t.len() > self.limits.max_text_bytes => {
                    let limit = self.limits.max_text_bytes;
                    return Err(self.error(DecodeErrorKind::TextTooLong { limit }, None));
                }
                event @ (Event::DocType(_) | Event::Eof | Event::Decl(_)) => {
                    return Err(self.unexpected_content(&event))
                }
                _ => {}
            }
        }
    }

    /// The text of a leaf element just opened (not empty), up to its end tag.
    fn leaf_text(&mut self, name: &str) -> Result<Cow<'a, str>, Failure> {
        // Nearly always: one text event, then the end tag.
        let mut text = match self.event()? {
            Event::Text(_) => self.text_since_mark()?,
            Event::End(_) => {
                self.leave();
                return Ok(Cow::Borrowed(""));
            }
            other => self.leaf_piece(other, name)?.unwrap_or_default(),
        };
        loop {
            if text.len() > self.limits.max_text_bytes {
                let limit = self.limits.max_text_bytes;
                return Err(self.error(DecodeErrorKind::TextTooLong { limit }, Some(name)));
            }
            let piece = match self.event()? {
                Event::End(_) => {
                    self.leave();
                    return Ok(text);
                }
                Event::Text(_) => self.text_since_mark()?,
                other => match self.leaf_piece(other, name)? {
                    Some(piece) => piece,
                    None => continue,
                },
            };
            if text.is_empty() {
                text = piece;
            } else {
                text.to_mut().push_str(&piece);
            }
        }
    }

    /// The text of an event inside a leaf other than plain text and the end tag (the callers
    /// take those): CDATA and entity references give text, comments nothing, anything else
    /// is an error.
    fn leaf_piece(
        &mut self,
        event: Event<'a>,
        name: &str,
    ) -> Result<Option<Cow<'a, str>>, Failure> {
        match event {
            Event::CData(c) => {
                let text = c.decode().map_err(|e| self.encoding(e))?;
                self.checked_text(text).map(Some)
            }
            Event::GeneralRef(r) => self.entity(&r).map(|t| Some(Cow::Owned(t))),
            Event::Comment(_) | Event::PI(_) => Ok(None),
            Event::Start(_) | Event::Empty(_) => {
                Err(self.error(DecodeErrorKind::ChildInLeaf(name.to_owned()), None))
            }
            other => Err(self.unexpected_content(&other)),
        }
    }

    /// The text event just read, borrowed from the source (it is already checked UTF-8).
    fn text_since_mark(&self) -> Result<Cow<'a, str>, Failure> {
        let end = usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX);
        self.checked_text(Cow::Borrowed(
            self.src.get(self.mark..end).unwrap_or_default(),
        ))
    }

    /// Refuses characters XML 1.0 does not allow (C0 controls but tab, LF and CR) and
    /// normalizes line ends (CR LF and lone CR become LF), as XML 1.0 §2.11 requires.
    fn checked_text(&self, text: Cow<'a, str>) -> Result<Cow<'a, str>, Failure> {
        // Fast path, branch-free so it vectorizes: no byte below 0x20 at all.
        if text.bytes().fold(0xFF, u8::min) >= 0x20 {
            return Ok(text);
        }
        let mut has_cr = false;
        for &b in text.as_bytes() {
            if b < 0x20 {
                match b {
                    b'\t' | b'\n' => {}
                    b'\r' => has_cr = true,
                    _ => return Err(self.illegal_char(char::from(b))),
                }
            }
        }
        if !has_cr {
            return Ok(text);
        }
        Ok(Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n")))
    }

    fn illegal_char(&self, c: char) -> Failure {
        self.error(
            DecodeErrorKind::Syntax(format!(
                "character U+{:04X} is not allowed in XML",
                u32::from(c)
            )),
            None,
        )
    }

    fn encoding(&self, err: quick_xml::encoding::EncodingError) -> Failure {
        self.error(DecodeErrorKind::Encoding(err.to_string()), None)
    }

    fn entity(&self, r: &quick_xml::events::BytesRef<'_>) -> Result<String, Failure> {
        if r.is_char_ref() {
            return match r.resolve_char_ref() {
                Ok(Some(c)) if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {
                    Err(self.illegal_char(c))
                }
                Ok(Some(c)) if matches!(c, '\u{FFFE}' | '\u{FFFF}') => Err(self.illegal_char(c)),
                Ok(Some(c)) => Ok(c.to_string()),
                _ => Err(self.error(
                    DecodeErrorKind::UndefinedEntity(String::from_utf8_lossy(r).into_owned()),
                    None,
                )),
            };
        }
        let name = String::from_utf8_lossy(r);
        quick_xml::escape::resolve_predefined_entity(&name)
            .map(str::to_owned)
            .ok_or_else(|| self.error(DecodeErrorKind::UndefinedEntity(name.into_owned()), None))
    }

    /// Reads the elements of a record whose start tag was just read, into `record`; facet
    /// violations and missing required elements go to `defects`.
    pub fn record<R: Record<'a>>(
        &mut self,
        record: &mut R,
        at: At,
        empty: bool,
        defects: &mut Vec<Violation>,
    ) -> Result<(), Failure> {
        let fields = R::FIELDS;
        let mut next = 0;
        if !empty {
            while let Tag::Open(open) = self.next_tag()? {
                let index = self.field_index(fields, next, &open)?;
                if index > next {
                    missing(&fields[next..index], at, defects);
                }
                let spec = &fields[index];
                let text = if open.empty {
                    Cow::Borrowed("")
                } else {
                    self.leaf_text(spec.name)?
                };
                let taken = check_facet(spec, &text).and_then(|()| record.set(index, text.clone()));
                if let Err(err) = taken {
                    defects.push(Violation::new(
                        err.rule(),
                        at.field(spec.name),
                        text.into_owned(),
                        format!("{}: {err}", spec.name),
                    ));
                }
                next = index + 1;
            }
        }
        missing(&fields[next..], at, defects);
        Ok(())
    }

    fn field_index(
        &self,
        fields: &[FieldSpec],
        next: usize,
        open: &Open<'_>,
    ) -> Result<usize, Failure> {
        let name = open.local();
        if open.ns != Ns::Ceb {
            return Err(self.namespace_error(open));
        }
        if let Some(i) = fields[next..]
            .iter()
            .position(|f| same(f.name.as_bytes(), name))
        {
            return Ok(next + i);
        }
        let name = open.local_string();
        let kind = match fields[..next].iter().position(|f| f.name == name) {
            Some(i) if i + 1 == next => DecodeErrorKind::TooMany { name, max: 1 },
            Some(_) => DecodeErrorKind::OutOfOrder {
                after: fields[next - 1].name.to_owned(),
                name,
            },
            None => DecodeErrorKind::UnexpectedElement(name),
        };
        Err(self.error(kind, None))
    }

    pub fn namespace_error(&self, open: &Open<'_>) -> Failure {
        let prefix = open
            .start
            .name()
            .prefix()
            .map_or(&[][..], |p| p.into_inner());
        let namespace = self
            .bindings
            .iter()
            .rev()
            .find(|b| b.prefix == prefix)
            .map_or_else(String::new, |b| b.uri.clone());
        self.error(
            DecodeErrorKind::Namespace {
                name: open.local_string(),
                namespace,
                expected: CEB_NS,
            },
            None,
        )
    }

    /// Reads a head-and-items block whose start tag was just read.
    pub fn composite<C: Composite<'a>>(
        &mut self,
        block: &mut C,
        empty: bool,
        defects: &mut Vec<Violation>,
    ) -> Result<(), Failure> {
        let head_name = <C::Head as Record>::NAME;
        let item_name = <C::Item as Record>::NAME;
        let first = if empty { Tag::Close } else { self.next_tag()? };
        let Tag::Open(open) = first else {
            return Err(self.error(DecodeErrorKind::Missing(head_name.into()), None));
        };
        self.expect(&open, head_name)?;
        self.push(head_name, None);
        self.record(block.head_mut(), At::head(head_name), open.empty, defects)?;
        self.pop();
        while let Tag::Open(open) = self.next_tag()? {
            if C::MAX_ITEMS == 0 || open.local() != item_name.as_bytes() || open.ns != Ns::Ceb {
                if open.local() == head_name.as_bytes() {
                    let kind = DecodeErrorKind::TooMany {
                        name: head_name.into(),
                        max: 1,
                    };
                    return Err(self.error(kind, None));
                }
                self.expect(&open, item_name)?;
            }
            let index = block.items().len() + 1;
            if index > C::MAX_ITEMS {
                let kind = DecodeErrorKind::TooMany {
                    name: item_name.into(),
                    max: C::MAX_ITEMS,
                };
                return Err(self.error(kind, None));
            }
            self.push(item_name, Some(index));
            let mut item = C::Item::default();
            self.record(&mut item, At::item(item_name, index), open.empty, defects)?;
            block.items_mut().push(item);
            self.pop();
        }
        if C::MAX_ITEMS > 0 && block.items().is_empty() {
            return Err(self.error(DecodeErrorKind::Missing(item_name.into()), None));
        }
        Ok(())
    }

    /// Checks that `open` is the CEB element `name`.
    pub fn expect(&self, open: &Open<'_>, name: &str) -> Result<(), Failure> {
        if open.local() != name.as_bytes() {
            return Err(self.error(
                DecodeErrorKind::UnexpectedElement(open.local_string()),
                None,
            ));
        }
        if open.ns != Ns::Ceb {
            return Err(self.namespace_error(open));
        }
        Ok(())
    }
}

/// XML's white space: space, tab, LF, CR (not form feed or other Unicode spaces).
fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Byte equality of short names (element names are 3 to 20 bytes) with a few word loads
/// instead of a call into libc's `memcmp`.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        8..=16 => word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8),
        4..=7 => word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4),
        _ => a == b,
    }
}

#[inline]
fn word8(s: &[u8], at: usize) -> u64 {
    s.get(at..at + 8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
        .map_or(0, u64::from_ne_bytes)
}

#[inline]
fn word4(s: &[u8], at: usize) -> u32 {
    s.get(at..at + 4)
        .and_then(|w| <[u8; 4]>::try_from(w).ok())
        .map_or(0, u32::from_ne_bytes)
}

fn missing(skipped: &[FieldSpec], at: At, defects: &mut Vec<Violation>) {
    for spec in skipped.iter().filter(|f| f.required) {
        defects.push(Violation::new(
            "XSD-REQUIRED",
            at.field(spec.name),
            "",
            format!("required element {} is missing", spec.name),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn same_compares_every_length() {
        let names = [
            "",
            "a",
            "ab",
            "abc",
            "gnum",
            "appType",
            "appTimes",
            "consigneeAddress",
            "consigneeTelephone",
        ];
        for a in names {
            for b in names {
                assert_eq!(same(a.as_bytes(), b.as_bytes()), a == b, "{a} {b}");
            }
            // One byte changed anywhere is seen.
            for i in 0..a.len() {
                let mut changed = a.as_bytes().to_vec();
                changed[i] ^= 1;
                assert!(!same(a.as_bytes(), &changed), "{a} at {i}");
            }
        }
    }
}
