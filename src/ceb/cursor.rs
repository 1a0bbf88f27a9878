//! A cursor over quick-xml events that knows where it is: depth and limits, the path of open
//! containers, and the byte offset of the event being looked at, so that every error names the
//! element path and line/column. Element text is borrowed from the input when it can be.
//!
//! This file is the cursor itself: its state, the events it reads, entering and leaving
//! elements (depth and its limit), the prolog and what may follow the root, and skipping.
//! Beside it:
//! - [`position`]: the path of open containers and the errors at the event's line/column;
//! - [`namespace`]: namespace bindings in scope, element names resolved, attributes checked;
//! - [`text`]: leaf element text (borrowed, CDATA, references; XML 1.0 characters, line ends);
//! - [`record`]: records and head-and-items blocks read in schema order;
//! - [`name`]: byte equality of short names.

mod name;
mod namespace;
mod position;
mod record;
mod text;

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::error::{DecodeError, DecodeErrorKind};
use super::Limits;
use namespace::Binding;
pub(super) use namespace::Ns;

/// A decoding failure, boxed so that the `Result`s of the hot path stay small.
pub(super) type Failure = Box<DecodeError>;

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

/// The cursor: the reader over the source, the limits, and where it is (depth, path, the
/// event's offset, the namespace bindings in scope).
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

    /// The next event, its start offset kept for error positions.
    #[inline(always)]
    fn event(&mut self) -> Result<Event<'a>, Failure> {
        self.mark = usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX);
        match self.reader.read_event() {
            Ok(event) => Ok(event),
            Err(err) => Err(self.syntax(err)),
        }
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

    /// An empty element (`<x/>`) counts toward the depth limit like any other.
    fn check_empty_depth(&self) -> Result<(), Failure> {
        if self.depth + 1 > self.limits.max_depth {
            let limit = self.limits.max_depth;
            return Err(self.error(DecodeErrorKind::TooDeep { limit }, None));
        }
        Ok(())
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
}

/// XML's white space: space, tab, LF, CR (not form feed or other Unicode spaces).
fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}
