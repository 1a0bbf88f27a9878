//! Namespaces and attributes of start tags. Namespaces are resolved here rather than by
//! quick-xml's `NsReader`: CEB messages declare them on the root (and `ds:` on the signature),
//! so a short stack of the bindings in scope answers every element, and end tags and text need
//! no resolution at all. Below the root, a CEB element carries no attribute but namespace
//! declarations.

use quick_xml::events::BytesStart;
use quick_xml::name::PrefixDeclaration;

use super::name::same;
use super::{Cursor, Failure, Open};
use crate::ceb::error::DecodeErrorKind;
use crate::ceb::{CEB_NS, DSIG_NS};

/// The namespace an element resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::ceb) enum Ns {
    Ceb,
    Dsig,
    Other,
}

/// A namespace declaration in scope.
pub(super) struct Binding {
    pub(super) depth: usize,
    /// Empty for the default namespace.
    prefix: Vec<u8>,
    ns: Ns,
    uri: String,
}

impl Cursor<'_> {
    /// The error of a CEB element found in another namespace (or in none): names the namespace
    /// its prefix is bound to.
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

    /// Takes the element's namespace declarations into scope (at the depth it will have once
    /// entered) and resolves its name.
    pub(super) fn resolve(&mut self, start: &BytesStart<'_>) -> Result<Ns, Failure> {
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
    pub(super) fn rebind(&mut self) {
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

    /// Drops the bindings an empty element (`<x/>`) declared for itself.
    pub(super) fn leave_empty(&mut self) {
        if self.bindings.last().is_some_and(|b| b.depth > self.depth) {
            while self.bindings.last().is_some_and(|b| b.depth > self.depth) {
                self.bindings.pop();
            }
            self.rebind();
        }
    }

    /// A CEB element below the root carries no attribute but namespace declarations.
    pub(super) fn check_attributes(&self, start: &BytesStart<'_>) -> Result<(), Failure> {
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
}
