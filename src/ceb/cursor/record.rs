//! Records and head-and-items blocks, read in the schema's element order: each element is
//! matched to the next field it can be, text that does not fit its field becomes a violation
//! of the block (as do missing required elements), and elements out of order, repeated or
//! unknown are errors.

use std::borrow::Cow;

use super::name::same;
use super::{Cursor, Failure, Ns, Open, Tag};
use crate::ceb::error::DecodeErrorKind;
use crate::domain::record::{check_facet, Composite, FieldSpec, Record};
use crate::report::{At, Violation};

impl<'a> Cursor<'a> {
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
