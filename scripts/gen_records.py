#!/usr/bin/env python3
"""Generate src/domain/records.rs from the official CEB element-order list.

Usage: python3 scripts/gen_records.py ../shared/ceb/ceb-202205-import-element-order.txt \
           > src/domain/records.rs && cargo fmt

The list is derived from the normative GACC 202205 import XSD (see ../shared/ceb/README.md).
Element names, their order, cardinality and length/decimal facets are taken from it verbatim;
the Rust type of each element is chosen below (TYPE_BY_NAME) by what the schema's own
documentation says the element holds.
"""
import re
import sys

TYPE_BY_NAME = {
    "guid": "Guid<'a>",
    "appType": "AppType",
    "appStatus": "AppStatus",
    "orderType": "IeFlag",
    "ieFlag": "IeFlag",
    "buyerIdType": "IdType",
    "payerIdType": "IdType",
    "appTime": "Timestamp",
    "payTime": "Timestamp",
    "logisticsTime": "Timestamp",
    "returnTime": "ReceiptTime",
    "declTime": "Date",
    "ieDate": "Date",
    "country": "CountryCode",
    "tradeCountry": "CountryCode",
    "currency": "CurrencyCode",
    "unit": "UnitCode",
    "unit1": "UnitCode",
    "unit2": "UnitCode",
    "gcode": "HsCode",
    "customsCode": "CustomsCode",
    "portCode": "CustomsCode",
    "ebpCode": "EntCode<'a>",
    "ebcCode": "EntCode<'a>",
    "payCode": "EntCode<'a>",
    "logisticsCode": "EntCode<'a>",
    "agentCode": "EntCode<'a>",
    "copCode": "EntCode<'a>",
    "operatorCode": "EntCode<'a>",
    "assureCode": "EntCode<'a>",
    "buyerIdNumber": "IdNumber<'a>",
    "payerIdNumber": "IdNumber<'a>",
    "returnStatus": "ReturnStatus",
    "tradeMode": "TradeMode",
}

# Tax bills (CEB816/818) flow from customs to the enterprise, not through this gateway.
SKIP = {"CEB816Message", "CEB818Message"}

# message -> (block element, composite?) ; records keyed by element name
FIELD_RE = re.compile(r"^(\s+)- ([A-Za-z0-9]+)\s+(\[(\d+)\.\.(\d+|unbounded)\])?\s*:\s*([^|]*?)\s*(\|\s*(.*))?$")
NODE_RE = re.compile(r"^(\s+)- (ceb:|ds:)?([A-Za-z0-9]+)\s*(\[(\d+)\.\.(\d+|unbounded)\])?\s*(\(complex\))?\s*$")


def snake(name):
    s = re.sub(r"([A-Z])", r"_\1", name).lower()
    return {"type": "kind"}.get(s, s)


def parse(path):
    messages, records, current, stack = [], {}, None, []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("== "):
            name, _, doc = line[3:].partition(":")
            current = {"name": name.strip(), "doc": doc.strip(), "nodes": []}
            messages.append(current)
            stack = []
            continue
        m = FIELD_RE.match(line)
        if m and m.group(6) and not m.group(6).startswith("(complex)"):
            indent, name = len(m.group(1)), m.group(2)
            lo = int(m.group(4)) if m.group(4) else 1
            base = m.group(6)
            doc = (m.group(8) or "").strip()
            current["nodes"].append(("field", indent, name, lo, base, doc))
            continue
        m = NODE_RE.match(line)
        if m:
            indent, name = len(m.group(1)), m.group(3)
            lo = int(m.group(5)) if m.group(5) else 1
            hi = m.group(6) or "1"
            current["nodes"].append(("node", indent, name, lo, hi, bool(m.group(7))))
            continue
        raise SystemExit(f"unparsed line: {line!r}")
    return messages


def facet(base):
    if base.startswith("decimal"):
        return "Facet::Decimal"
    if base.startswith("xs:int") or base.startswith("int"):
        m = re.search(r"totalDigits=(\d+)", base)
        return f"Facet::Int {{ digits: {m.group(1) if m else 10} }}"
    if base.startswith("ceb:XMLElement"):
        return "Facet::Any"
    length = re.search(r"\blength=(\d+)", base)
    if length:
        n = int(length.group(1))
        return f"Facet::Text {{ min: {n}, max: {n} }}"
    lo = re.search(r"minLength=(\d+)", base)
    hi = re.search(r"maxLength=(\d+)", base)
    return f"Facet::Text {{ min: {lo.group(1) if lo else 0}, max: {hi.group(1) if hi else 'u32::MAX'} }}"


def rust_type(name, base):
    if base.startswith("decimal"):
        return "Decimal"
    if base.startswith("xs:int") or base.startswith("int"):
        return "i32"
    return TYPE_BY_NAME.get(name, "Text<'a>")


def emit_record(out, rec_name, fields, doc):
    lt = "<'a>"
    out.append(f"/// `{rec_name}`: {doc}")
    out.append("#[derive(Debug, Clone, Default, PartialEq)]")
    out.append(f"pub struct {rec_name}{lt} {{")
    for (name, lo, base, fdoc) in fields:
        short = fdoc.replace("\n", " ")[:90]
        out.append(f"    /// `{name}`{' (optional)' if lo == 0 else ''}: {short}")
        out.append(f"    pub {snake(name)}: Option<{rust_type(name, base)}>,")
    out.append("    #[doc(hidden)]")
    out.append("    pub _lifetime: std::marker::PhantomData<&'a ()>,")
    out.append("}")
    out.append("")
    out.append(f"impl<'a> Record<'a> for {rec_name}<'a> {{")
    out.append(f'    const NAME: &\'static str = "{rec_name}";')
    out.append("    const FIELDS: &'static [FieldSpec] = &[")
    for (name, lo, base, _) in fields:
        out.append(f'        FieldSpec {{ name: "{name}", required: {"true" if lo else "false"}, facet: {facet(base)} }},')
    out.append("    ];")
    out.append("")
    out.append("    fn set(&mut self, index: usize, raw: Cow<'a, str>) -> Result<(), FieldError> {")
    out.append("        match index {")
    for i, (name, _, _, _) in enumerate(fields):
        out.append(f"            {i} => self.{snake(name)} = Some(Value::parse(raw)?),")
    out.append("            _ => return Err(FieldError::NoSuchField),")
    out.append("        }")
    out.append("        Ok(())")
    out.append("    }")
    out.append("")
    out.append("    fn text(&self, index: usize) -> Option<Cow<'_, str>> {")
    out.append("        match index {")
    for i, (name, _, _, _) in enumerate(fields):
        out.append(f"            {i} => self.{snake(name)}.as_ref().map(Value::text),")
    out.append("            _ => None,")
    out.append("        }")
    out.append("    }")
    out.append("}")
    out.append("")
    out.append(f"impl {rec_name}<'_> {{")
    out.append("    /// Detaches the record from the input it borrows from.")
    out.append(f"    pub fn into_owned(self) -> {rec_name}<'static> {{")
    out.append(f"        {rec_name} {{")
    for (name, _, _, _) in fields:
        out.append(f"            {snake(name)}: self.{snake(name)}.map(Value::into_owned),")
    out.append("            _lifetime: std::marker::PhantomData,")
    out.append("        }")
    out.append("    }")
    out.append("}")
    out.append("")


def main():
    messages = parse(sys.argv[1])
    out = [
        "//! CEB 202205 import records, generated by `scripts/gen_records.py` from the official",
        "//! element-order list of the GACC import schema. Do not edit by hand: element names, order,",
        "//! cardinality and facets are the schema's; regenerate instead.",
        "//!",
        "//! Every element is `Option<T>`: `None` when absent or when its text did not parse (the",
        "//! decoder then records a defect naming the element), so one bad field never hides the",
        "//! rest of the block from validation.",
        "#![allow(missing_docs)]",
        "",
        "use std::borrow::Cow;",
        "",
        "use super::codes::*;",
        "use super::decimal::Decimal;",
        "use super::enums::*;",
        "use super::record::{Composite, Facet, FieldError, FieldSpec, NoItems, Record, Text, Value};",
        "use super::time::*;",
        "",
    ]
    kinds = []  # (msg, block, variant, composite, max_blocks)
    for msg in messages:
        nodes = msg["nodes"]
        name = msg["name"]
        if name in SKIP:
            continue
        if name in ("BaseTransfer", "BaseSubscribe", "ExtendMessage"):
            fields = [(n[2], n[3], n[4], n[5]) for n in nodes if n[0] == "field" and n[4] != "ceb:XMLElement"]
            emit_record(out, name, fields, msg["doc"])
            continue
        block = nodes[0]
        assert block[0] == "node", (name, block)
        block_name, max_blocks, composite = block[2], block[4], block[5]
        max_blocks = "usize::MAX" if max_blocks == "unbounded" else max_blocks
        has_transfer = any(n[0] == "node" and n[2] == "BaseTransfer" for n in nodes)
        sig_required = any(n[0] == "node" and n[2] == "Signature" and n[4] == "1" and n[3] == 1 for n in nodes)
        if composite:
            parts, i = [], 1
            while i < len(nodes) and nodes[i][0] == "node" and nodes[i][1] > block[1]:
                rec = nodes[i]
                fields, j = [], i + 1
                while j < len(nodes) and nodes[j][0] == "field":
                    f = nodes[j]
                    fields.append((f[2], f[3], f[4], f[5]))
                    j += 1
                parts.append((rec[2], rec[3], rec[4], fields))
                i = j
            for (rec_name, _, _, fields) in parts:
                emit_record(out, rec_name, fields, msg["doc"])
            head = parts[0][0]
            item = parts[1][0] if len(parts) > 1 else None
            item_max = ("usize::MAX" if parts[1][2] == "unbounded" else parts[1][2]) if item else "0"
            out.append(f"/// `{block_name}` block of {name}: {msg['doc']}")
            out.append("#[derive(Debug, Clone, Default, PartialEq)]")
            out.append(f"pub struct {block_name}<'a> {{")
            out.append(f"    pub head: {head}<'a>,")
            out.append(f"    pub items: Vec<{item}<'a>>," if item else "    pub items: Vec<NoItems>,")
            out.append("}")
            out.append("")
            out.append(f"impl<'a> Composite<'a> for {block_name}<'a> {{")
            out.append(f"    type Head = {head}<'a>;")
            out.append(f"    type Item = {item}<'a>;" if item else "    type Item = NoItems;")
            out.append(f'    const NAME: &\'static str = "{block_name}";')
            out.append(f"    const MAX_ITEMS: usize = {item_max};")
            out.append("    fn head_mut(&mut self) -> &mut Self::Head { &mut self.head }")
            out.append("    fn items_mut(&mut self) -> &mut Vec<Self::Item> { &mut self.items }")
            out.append("    fn head(&self) -> &Self::Head { &self.head }")
            out.append("    fn items(&self) -> &[Self::Item] { &self.items }")
            out.append("}")
            out.append("")
            out.append(f"impl {block_name}<'_> {{")
            out.append("    /// Detaches the block from the input it borrows from.")
            out.append(f"    pub fn into_owned(self) -> {block_name}<'static> {{")
            if item:
                out.append(f"        {block_name} {{ head: self.head.into_owned(), items: self.items.into_iter().map({item}::into_owned).collect() }}")
            else:
                out.append(f"        {block_name} {{ head: self.head.into_owned(), items: self.items }}")
            out.append("    }")
            out.append("}")
            out.append("")
        else:
            fields, j = [], 1
            while j < len(nodes) and nodes[j][0] == "field":
                f = nodes[j]
                fields.append((f[2], f[3], f[4], f[5]))
                j += 1
            emit_record(out, block_name, fields, msg["doc"])
        kinds.append((name, block_name, composite, max_blocks, sig_required, has_transfer, msg["doc"]))

    # MessageKind + Document
    out.append("/// The CEB import messages this gateway decodes, by root element.")
    out.append("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]")
    out.append("pub enum MessageKind {")
    for (name, *_rest) in kinds:
        out.append(f"    /// `{name}`: {_rest[-1]}")
        out.append(f"    {name[:6].capitalize()},")
    out.append("}")
    out.append("")
    out.append("impl MessageKind {")
    out.append("    /// Every kind, in message-number order.")
    out.append("    pub const ALL: &'static [MessageKind] = &[" + ", ".join(f"MessageKind::{k[0][:6].capitalize()}" for k in kinds) + "];")
    out.append("")
    out.append("    /// The kind whose root element is `root` (e.g. `CEB311Message`).")
    out.append("    pub fn from_root(root: &[u8]) -> Option<Self> {")
    out.append("        match root {")
    for (name, *_r) in kinds:
        out.append(f'            b"{name}" => Some(Self::{name[:6].capitalize()}),')
    out.append("            _ => None,")
    out.append("        }")
    out.append("    }")
    out.append("")
    for fn, idx, ty in (("root", 0, "&'static str"), ("block", 1, "&'static str"), ("max_blocks", 3, "usize"), ("signature_required", 4, "bool"), ("has_envelope", 5, "bool")):
        out.append(f"    /// `{fn}` as the schema has it.")
        out.append(f"    pub fn {fn}(self) -> {ty} {{")
        out.append("        match self {")
        for k in kinds:
            v = k[idx]
            lit = f'"{v}"' if ty.startswith("&") else (str(v).lower() if ty == "bool" else v)
            out.append(f"            Self::{k[0][:6].capitalize()} => {lit},")
        out.append("        }")
        out.append("    }")
        out.append("")
    out.append("}")
    out.append("")
    out.append("/// One business block of a CEB message, typed by its kind.")
    out.append("///")
    out.append("/// Variants are unboxed on purpose: the decoder builds each block once and keeps it in the")
    out.append("/// message's block list; a box per block would cost an allocation on the hot path.")
    out.append("#[derive(Debug, Clone, PartialEq)]")
    out.append("#[allow(clippy::large_enum_variant)]")
    out.append("pub enum Document<'a> {")
    for k in kinds:
        out.append(f"    /// {k[0]}: {k[6]}")
        out.append(f"    {k[1]}({k[1]}<'a>),")
    out.append("}")
    out.append("")
    out.append("impl Document<'_> {")
    out.append("    /// The message kind this block belongs to.")
    out.append("    pub fn kind(&self) -> MessageKind {")
    out.append("        match self {")
    for k in kinds:
        out.append(f"            Self::{k[1]}(_) => MessageKind::{k[0][:6].capitalize()},")
    out.append("        }")
    out.append("    }")
    out.append("")
    out.append("    /// Detaches the block from the input it borrows from.")
    out.append("    pub fn into_owned(self) -> Document<'static> {")
    out.append("        match self {")
    for k in kinds:
        out.append(f"            Self::{k[1]}(b) => Document::{k[1]}(b.into_owned()),")
    out.append("        }")
    out.append("    }")
    out.append("}")
    out.append("")
    out.append("/// Visits the block inside a [`Document`] with its concrete type (used by the encoder).")
    out.append("pub trait DocumentVisitor<'a> {")
    out.append("    /// A block made of a head and 0..n items.")
    out.append("    fn composite<C: Composite<'a>>(&mut self, block: &C);")
    out.append("    /// A block that is a single record.")
    out.append("    fn record<R: Record<'a>>(&mut self, record: &R);")
    out.append("}")
    out.append("")
    out.append("impl<'a> Document<'a> {")
    out.append("    /// Calls the visitor's method for this block's type.")
    out.append("    pub fn accept<V: DocumentVisitor<'a>>(&self, visitor: &mut V) {")
    out.append("        match self {")
    for k in kinds:
        method = "composite" if k[2] else "record"
        out.append(f"            Self::{k[1]}(b) => visitor.{method}(b),")
    out.append("        }")
    out.append("    }")
    out.append("}")
    out.append("")
    out.append("/// Calls the visitor's typed method for `kind`; used by the decoder and the encoder so that")
    out.append("/// the list of kinds lives in this generated file only.")
    out.append("pub trait KindVisitor<'a> {")
    out.append("    /// The visitor's result.")
    out.append("    type Out;")
    out.append("    /// A block made of a head and 0..n items.")
    out.append("    fn composite<C: Composite<'a>>(&mut self, wrap: fn(C) -> Document<'a>) -> Self::Out;")
    out.append("    /// A block that is a single record.")
    out.append("    fn record<R: Record<'a>>(&mut self, wrap: fn(R) -> Document<'a>) -> Self::Out;")
    out.append("}")
    out.append("")
    out.append("/// Dispatches `visitor` on the block type of `kind`.")
    out.append("pub fn visit_kind<'a, V: KindVisitor<'a>>(kind: MessageKind, visitor: &mut V) -> V::Out {")
    out.append("    match kind {")
    for k in kinds:
        method = "composite" if k[2] else "record"
        out.append(f"        MessageKind::{k[0][:6].capitalize()} => visitor.{method}::<{k[1]}>(Document::{k[1]}),")
    out.append("    }")
    out.append("}")
    print("\n".join(out))


main()
