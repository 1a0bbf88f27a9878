//! The message walk: root and attributes, then business blocks, `BaseTransfer`,
//! `BaseSubscribe`, `ExtendMessage` and `ds:Signature` in the schema's order and counts. The
//! envelope check is the same for every `CEBnnnMessage`, including export messages that are
//! not otherwise taken.

use std::borrow::Cow;

use super::cursor::Ns;
use super::cursor::{Cursor, Failure, Open, Tag};
use super::error::{DecodeError, DecodeErrorKind};
use super::source::to_utf8;
use super::Limits;
use crate::domain::message::{Body, Declaration, Message};
use crate::domain::record::{Composite, Record};
use crate::domain::records::{
    visit_kind, BaseSubscribe, BaseTransfer, Document, KindVisitor, MessageKind,
};
use crate::report::{At, Violation};

const MAX_SUBSCRIBES: usize = 5;

/// Decodes a message from bytes as received (any supported encoding), detached from them.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Message<'static>, DecodeError> {
    let text = to_utf8(bytes, limits)?;
    decode_str(&text, limits).map(Message::into_owned)
}

/// Decodes a message from UTF-8 text (as [`to_utf8`] gives it), borrowing element text from
/// it. The size limit applies to the bytes as received, so it is checked by [`to_utf8`].
pub fn decode_str<'a>(src: &'a str, limits: &Limits) -> Result<Message<'a>, DecodeError> {
    walk_message(src, limits, true).map_err(|e| *e)
}

/// Decodes a message the gateway itself stored after accepting it (the canonical form of one
/// block): as [`decode_str`], except that the envelope (`BaseTransfer`, `ds:Signature`), which
/// was checked when the message arrived, need not be there.
pub fn decode_stored<'a>(src: &'a str, limits: &Limits) -> Result<Message<'a>, DecodeError> {
    walk_message(src, limits, false).map_err(|e| *e)
}

fn walk_message<'a>(src: &'a str, limits: &Limits, envelope: bool) -> Result<Message<'a>, Failure> {
    let mut cur = Cursor::new(src, *limits);
    let root = cur.root()?;
    let root_name = root.local_string();
    let kind = MessageKind::from_root(root.local());
    if kind.is_none() && !is_ceb_message_name(&root_name) {
        return Err(cur.error(DecodeErrorKind::NotCeb(root_name), None));
    }
    if root.ns != Ns::Ceb {
        return Err(cur.namespace_error(&root));
    }
    cur.push(root_name.clone(), None);
    let guid = attribute(&cur, &root, "guid", Some(36))?;
    let version = attribute(&cur, &root, "version", None)?;
    if version.chars().count() > 10 {
        let problem = format!("at most 10 characters, is {}", version.chars().count());
        let kind = DecodeErrorKind::Attribute {
            name: "version",
            problem,
        };
        return Err(cur.error(kind, None));
    }
    root_attributes(&cur, &root)?;
    let mut walk = Walk {
        kind,
        message: Message {
            kind: kind.unwrap_or(MessageKind::Ceb311),
            guid,
            version,
            blocks: Vec::new(),
            transfer: None,
            subscribes: Vec::new(),
            extended: false,
            signed: false,
            envelope_defects: Vec::new(),
        },
        stage: Stage::Blocks,
        envelope,
        blocks: 0,
        max_blocks: kind.map_or(limits.max_blocks, |k| k.max_blocks().min(limits.max_blocks)),
    };
    if !root.empty {
        while let Tag::Open(open) = cur.next_tag()? {
            walk.element(&mut cur, open)?;
        }
    }
    walk.finish(&cur)?;
    if kind.is_none() {
        return Err(cur.error(DecodeErrorKind::Unsupported(root_name), None));
    }
    cur.pop();
    cur.finish()?;
    Ok(walk.message)
}

/// Where in the envelope sequence the walk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Blocks,
    Transfer,
    Subscribe,
    Extend,
    Signature,
}

struct Walk<'a> {
    kind: Option<MessageKind>,
    message: Message<'a>,
    stage: Stage,
    /// Whether the envelope the schema requires must be there.
    envelope: bool,
    blocks: usize,
    max_blocks: usize,
}

impl<'a> Walk<'a> {
    fn element(&mut self, cur: &mut Cursor<'a>, open: Open<'a>) -> Result<(), Failure> {
        let envelope = match (open.ns, open.local()) {
            (Ns::Ceb, b"BaseTransfer") => Some(Stage::Transfer),
            (Ns::Ceb, b"BaseSubscribe") => Some(Stage::Subscribe),
            (Ns::Ceb, b"ExtendMessage") => Some(Stage::Extend),
            (Ns::Dsig, b"Signature") => Some(Stage::Signature),
            _ => None,
        };
        let Some(stage) = envelope else {
            return self.block(cur, open);
        };
        if self.kind.is_some_and(|k| !k.has_envelope()) {
            return Err(cur.error(
                DecodeErrorKind::UnexpectedElement(open.local_string()),
                None,
            ));
        }
        let count = match stage {
            Stage::Subscribe => self.message.subscribes.len() + 1,
            Stage::Transfer => usize::from(self.message.transfer.is_some()) + 1,
            _ if stage == self.stage => 2,
            _ => 1,
        };
        let name = open.local_string();
        let max = if stage == Stage::Subscribe {
            MAX_SUBSCRIBES
        } else {
            1
        };
        if count > max {
            cur.push(name.clone(), Some(count));
            let err = cur.error(DecodeErrorKind::TooMany { name, max }, None);
            return Err(err);
        }
        if stage < self.stage {
            let after = self.stage_element().to_owned();
            return Err(cur.error(DecodeErrorKind::OutOfOrder { name, after }, None));
        }
        if stage == Stage::Transfer && self.blocks == 0 {
            let block = self.kind.map_or("a business block", |k| k.block());
            return Err(cur.error(DecodeErrorKind::Missing(block.into()), None));
        }
        self.stage = stage;
        cur.push(name, None);
        let defects = &mut self.message.envelope_defects;
        match stage {
            Stage::Transfer => {
                let mut transfer = BaseTransfer::default();
                cur.record(&mut transfer, At::head("BaseTransfer"), open.empty, defects)?;
                self.message.transfer = Some(transfer);
            }
            Stage::Subscribe => {
                let mut subscribe = BaseSubscribe::default();
                cur.record(
                    &mut subscribe,
                    At::head("BaseSubscribe"),
                    open.empty,
                    defects,
                )?;
                self.message.subscribes.push(subscribe);
            }
            Stage::Extend | Stage::Signature => {
                if !open.empty {
                    cur.skip()?;
                }
                self.message.extended |= stage == Stage::Extend;
                self.message.signed |= stage == Stage::Signature;
            }
            Stage::Blocks => {}
        }
        cur.pop();
        Ok(())
    }

    fn block(&mut self, cur: &mut Cursor<'a>, open: Open<'a>) -> Result<(), Failure> {
        let name = open.local_string();
        match self.kind {
            Some(kind) if open.local() != kind.block().as_bytes() => {
                return Err(cur.error(DecodeErrorKind::UnexpectedElement(name), None));
            }
            _ if open.ns != Ns::Ceb => return Err(cur.namespace_error(&open)),
            _ if self.stage > Stage::Blocks => {
                let after = self.stage_element().to_owned();
                return Err(cur.error(DecodeErrorKind::OutOfOrder { name, after }, None));
            }
            _ => {}
        }
        self.blocks += 1;
        if self.blocks > self.max_blocks {
            let max = self.max_blocks;
            return Err(cur.error(DecodeErrorKind::TooMany { name, max }, None));
        }
        cur.push(name, Some(self.blocks));
        match self.kind {
            Some(kind) => {
                let mut reader = BlockReader {
                    cur,
                    empty: open.empty,
                };
                let declaration = visit_kind(kind, &mut reader)?;
                self.message.blocks.push(declaration);
            }
            None if !open.empty => cur.skip()?,
            None => {}
        }
        cur.pop();
        Ok(())
    }

    /// The element of the envelope stage the walk is in.
    fn stage_element(&self) -> &'static str {
        match self.stage {
            Stage::Blocks => self.kind.map_or("a business block", |k| k.block()),
            Stage::Transfer => "BaseTransfer",
            Stage::Subscribe => "BaseSubscribe",
            Stage::Extend => "ExtendMessage",
            Stage::Signature => "ds:Signature",
        }
    }

    fn finish(&mut self, cur: &Cursor<'a>) -> Result<(), Failure> {
        if self.blocks == 0 {
            let block = self.kind.map_or("a business block", |k| k.block());
            return Err(cur.error(DecodeErrorKind::Missing(block.into()), None));
        }
        let Some(kind) = self.kind.filter(|_| self.envelope) else {
            return Ok(());
        };
        if kind.has_envelope() && self.message.transfer.is_none() {
            return Err(cur.error(DecodeErrorKind::Missing("BaseTransfer".into()), None));
        }
        if kind.signature_required() && !self.message.signed {
            return Err(cur.error(DecodeErrorKind::Missing("ds:Signature".into()), None));
        }
        Ok(())
    }
}

struct BlockReader<'c, 'a> {
    cur: &'c mut Cursor<'a>,
    empty: bool,
}

impl<'a> KindVisitor<'a> for BlockReader<'_, 'a> {
    type Out = Result<Declaration<'a>, Failure>;

    fn composite<C: Composite<'a>>(&mut self, wrap: fn(C) -> Document<'a>) -> Self::Out {
        let mut block = C::default();
        let mut defects: Vec<Violation> = Vec::new();
        self.cur.composite(&mut block, self.empty, &mut defects)?;
        Ok(Declaration {
            body: Body::Ceb(wrap(block)),
            defects,
        })
    }

    fn record<R: Record<'a>>(&mut self, wrap: fn(R) -> Document<'a>) -> Self::Out {
        let mut record = R::default();
        let mut defects: Vec<Violation> = Vec::new();
        self.cur
            .record(&mut record, At::head(R::NAME), self.empty, &mut defects)?;
        Ok(Declaration {
            body: Body::Ceb(wrap(record)),
            defects,
        })
    }
}

fn is_ceb_message_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 13
        && b.starts_with(b"CEB")
        && b.ends_with(b"Message")
        && b[3..6].iter().all(u8::is_ascii_digit)
}

/// The root carries `guid`, `version`, namespace declarations and XML Schema's `xsi:`
/// attributes, nothing else.
fn root_attributes(cur: &Cursor<'_>, root: &Open<'_>) -> Result<(), Failure> {
    for attr in root.start.attributes() {
        let attr = attr.map_err(|e| cur.error(DecodeErrorKind::Syntax(e.to_string()), None))?;
        let key = attr.key.as_ref();
        let allowed = attr.key.as_namespace_binding().is_some()
            || key == b"guid"
            || key == b"version"
            || key.starts_with(b"xsi:");
        if !allowed {
            let name: String = String::from_utf8_lossy(key).chars().take(64).collect();
            return Err(cur.error(
                DecodeErrorKind::Syntax(format!(
                    "attribute {name} is not allowed on the message (only guid and version)"
                )),
                None,
            ));
        }
    }
    Ok(())
}

fn attribute<'a>(
    cur: &Cursor<'_>,
    open: &Open<'_>,
    name: &'static str,
    length: Option<usize>,
) -> Result<Cow<'a, str>, Failure> {
    let problem = |problem: String| cur.error(DecodeErrorKind::Attribute { name, problem }, None);
    let attr = open
        .start
        .try_get_attribute(name)
        .map_err(|e| problem(e.to_string()))?
        .ok_or_else(|| problem("required attribute is missing".into()))?;
    let value = attr.unescape_value().map_err(|e| problem(e.to_string()))?;
    if let Some(len) = length {
        let chars = value.chars().count();
        if chars != len {
            return Err(problem(format!("must be {len} characters, is {chars}")));
        }
    }
    Ok(Cow::Owned(value.into_owned()))
}
