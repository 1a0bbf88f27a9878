//! A cursor over quick-xml events that knows where it is: depth and limits, the path of open
//! containers, and the byte offset of the event being looked at, so that every error names the
//! element path and line/column. Element text is borrowed from the input when it can be.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use super::error::{DecodeError, DecodeErrorKind};
use super::source::line_column;
use super::{Limits, CEB_NS, DSIG_NS};
use crate::domain::record::{check_facet, Composite, FieldSpec, Record};
use crate::report::{At, Violation};

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
    reader: NsReader<&'a [u8]>,
    src: &'a str,
    limits: Limits,
    depth: usize,
    path: Vec<(Cow<'static, str>, Option<usize>)>,
    mark: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(src: &'a str, limits: Limits) -> Cursor<'a> {
        let mut reader = NsReader::from_str(src);
        reader.config_mut().check_end_names = true;
        Cursor {
            reader,
            src,
            limits,
            depth: 0,
            path: Vec::with_capacity(8),
            mark: 0,
        }
    }

    pub fn push(&mut self, name: impl Into<Cow<'static, str>>, index: Option<usize>) {
        self.path.push((name.into(), index));
    }

    pub fn pop(&mut self) {
        self.path.pop();
    }

    /// An error at the event being looked at, its path extended by `leaf` when given.
    pub fn error(&self, kind: DecodeErrorKind, leaf: Option<&str>) -> DecodeError {
        self.error_at(self.mark, kind, leaf)
    }

    fn error_at(&self, offset: usize, kind: DecodeErrorKind, leaf: Option<&str>) -> DecodeError {
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
        DecodeError {
            kind,
            path,
            line,
            column,
        }
    }

    fn syntax(&self, err: quick_xml::Error) -> DecodeError {
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

    fn read(&mut self) -> Result<(Ns, Event<'a>), DecodeError> {
        self.mark = usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX);
        let (ns, event) = match self.reader.read_resolved_event() {
            Ok((ResolveResult::Bound(ns), event)) => (
                match ns.into_inner() {
                    n if n == CEB_NS.as_bytes() => Ns::Ceb,
                    n if n == DSIG_NS.as_bytes() => Ns::Dsig,
                    _ => Ns::Other,
                },
                event,
            ),
            Ok((_, event)) => (Ns::Other, event),
            Err(e) => return Err(self.syntax(e)),
        };
        Ok((ns, event))
    }

    /// The root element, after the prolog.
    pub fn root(&mut self) -> Result<Open<'a>, DecodeError> {
        loop {
            let (ns, event) = self.read()?;
            match event {
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
                Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                Event::DocType(_) => return Err(self.error(DecodeErrorKind::Doctype, None)),
                Event::Start(start) => {
                    self.enter()?;
                    return Ok(Open {
                        start,
                        ns,
                        empty: false,
                    });
                }
                Event::Empty(start) => {
                    return Ok(Open {
                        start,
                        ns,
                        empty: true,
                    })
                }
                Event::Eof => return Err(self.error(DecodeErrorKind::UnexpectedEof, None)),
                other => return Err(self.unexpected_content(&other)),
            }
        }
    }

    /// Only comments, processing instructions and whitespace may follow the root.
    pub fn finish(&mut self) -> Result<(), DecodeError> {
        loop {
            let (_, event) = self.read()?;
            match event {
                Event::Eof => return Ok(()),
                Event::Comment(_) | Event::PI(_) => {}
                Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                Event::DocType(_) => return Err(self.error(DecodeErrorKind::Doctype, None)),
                Event::Start(s) | Event::Empty(s) => {
                    let name = String::from_utf8_lossy(s.name().into_inner()).into_owned();
                    return Err(self.error(DecodeErrorKind::UnexpectedElement(name), None));
                }
                other => return Err(self.unexpected_content(&other)),
            }
        }
    }

    fn enter(&mut self) -> Result<(), DecodeError> {
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

    fn unexpected_content(&self, event: &Event<'_>) -> DecodeError {
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
                let mut shown = String::from_utf8_lossy(raw).trim().to_owned();
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
    pub fn next_tag(&mut self) -> Result<Tag<'a>, DecodeError> {
        loop {
            let (ns, event) = self.read()?;
            match event {
                Event::Start(start) => {
                    self.enter()?;
                    return Ok(Tag::Open(Open {
                        start,
                        ns,
                        empty: false,
                    }));
                }
                Event::Empty(start) => {
                    return Ok(Tag::Open(Open {
                        start,
                        ns,
                        empty: true,
                    }))
                }
                Event::End(_) => {
                    self.depth -= 1;
                    return Ok(Tag::Close);
                }
                Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                Event::Comment(_) | Event::PI(_) => {}
                other => return Err(self.unexpected_content(&other)),
            }
        }
    }

    /// Skips the content of an element just opened (not empty), up to its end tag.
    pub fn skip(&mut self) -> Result<(), DecodeError> {
        let floor = self.depth - 1;
        loop {
            let (_, event) = self.read()?;
            match event {
                Event::Start(_) => self.enter()?,
                Event::End(_) => {
                    self.depth -= 1;
                    if self.depth == floor {
                        return Ok(());
                    }
                }
                Event::DocType(_) | Event::Eof | Event::Decl(_) => {
                    return Err(self.unexpected_content(&event))
                }
                _ => {}
            }
        }
    }

    /// The text of a leaf element just opened (not empty), up to its end tag.
    fn leaf_text(&mut self, name: &str) -> Result<Cow<'a, str>, DecodeError> {
        let mut text: Cow<'a, str> = Cow::Borrowed("");
        loop {
            let (_, event) = self.read()?;
            let piece: Cow<'a, str> = match event {
                Event::Text(t) => t.xml10_content().map_err(|e| self.encoding(e))?,
                Event::CData(c) => c.decode().map_err(|e| self.encoding(e))?,
                Event::GeneralRef(r) => Cow::Owned(self.entity(&r)?),
                Event::End(_) => {
                    self.depth -= 1;
                    return Ok(text);
                }
                Event::Start(_) | Event::Empty(_) => {
                    return Err(self.error(DecodeErrorKind::ChildInLeaf(name.to_owned()), None))
                }
                Event::Comment(_) | Event::PI(_) => continue,
                other => return Err(self.unexpected_content(&other)),
            };
            if text.is_empty() {
                text = piece;
            } else {
                text.to_mut().push_str(&piece);
            }
            if text.len() > self.limits.max_text_bytes {
                return Err(self.error(
                    DecodeErrorKind::TextTooLong {
                        limit: self.limits.max_text_bytes,
                    },
                    Some(name),
                ));
            }
        }
    }

    fn encoding(&self, err: quick_xml::encoding::EncodingError) -> DecodeError {
        self.error(DecodeErrorKind::Encoding(err.to_string()), None)
    }

    fn entity(&self, r: &quick_xml::events::BytesRef<'_>) -> Result<String, DecodeError> {
        if r.is_char_ref() {
            return match r.resolve_char_ref() {
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
    ) -> Result<(), DecodeError> {
        let fields = R::FIELDS;
        let mut next = 0;
        if !empty {
            while let Tag::Open(open) = self.next_tag()? {
                let index = self.field_index(fields, next, &open)?;
                missing(&fields[next..index], at, defects);
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
    ) -> Result<usize, DecodeError> {
        let name = open.local();
        if open.ns != Ns::Ceb {
            return Err(self.namespace_error(open));
        }
        if let Some(i) = fields[next..]
            .iter()
            .position(|f| f.name.as_bytes() == name)
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

    pub fn namespace_error(&self, open: &Open<'_>) -> DecodeError {
        let namespace = match self.reader.resolve_element(open.start.name()).0 {
            ResolveResult::Bound(ns) => String::from_utf8_lossy(ns.into_inner()).into_owned(),
            _ => String::new(),
        };
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
    ) -> Result<(), DecodeError> {
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
    pub fn expect(&self, open: &Open<'_>, name: &str) -> Result<(), DecodeError> {
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
