//! The text of leaf elements: borrowed from the source when it is one text event, else
//! joined from text, CDATA and character or predefined entity references; characters XML 1.0
//! does not allow refused and line ends normalized; the text size limit.

use std::borrow::Cow;

use quick_xml::events::Event;

use super::{Cursor, Failure};
use crate::ceb::error::DecodeErrorKind;

impl<'a> Cursor<'a> {
    /// The text of a leaf element just opened (not empty), up to its end tag.
    pub(super) fn leaf_text(&mut self, name: &str) -> Result<Cow<'a, str>, Failure> {
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
}
