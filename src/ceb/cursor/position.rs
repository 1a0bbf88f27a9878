//! Where the cursor is, for its errors: the path of open containers (pushed and popped by the
//! message walk) and the start offset of the event being looked at, turned into line/column;
//! and the failures of quick-xml's syntax errors and of content out of place. The path text
//! and the line/column are worked out only when an error is built.

use std::borrow::Cow;

use quick_xml::events::Event;

use super::{is_xml_space, Cursor, Failure};
use crate::ceb::error::{DecodeError, DecodeErrorKind};
use crate::ceb::source::line_column;

impl<'a> Cursor<'a> {
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

    pub(super) fn syntax(&self, err: quick_xml::Error) -> Failure {
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

    pub(super) fn unexpected_content(&self, event: &Event<'_>) -> Failure {
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
}
