//! Issue 6: the bad-input corpus. Every case is sent to a real gateway node (server, store,
//! dispatcher, simulated agencies) over gRPC on loopback, and must come back with its specific
//! error: the gRPC code and a piece of the message, the element path of a decoding failure, or
//! the rule id and path of a block's violation. After every batch of cases the gateway must
//! still be up and accept a fresh valid order; the documents accepted at the start must all
//! still be on file at the end.
//!
//! The table is built in code (mutations of synthetic shipments and of the official samples);
//! `BAD_INPUT_PROBE=1` prints what the gateway answered to every case.

#[path = "support/node.rs"]
#[allow(dead_code)]
mod node;
#[path = "support/typed.rs"]
mod typed_pb;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use prost::bytes::{Buf, BufMut, Bytes};
use prost::Message as _;
use single_window::ceb::encode::encode;
use single_window::ceb::CEB_NS;
use single_window::pb::v1::{self, submit_request::Payload, Outcome};
use single_window::rules::Rules;
use single_window::synth;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;
use typed_pb::{fx_pb, inspection_pb, tax_pb};

// ---------------------------------------------------------------------------------------------
// Seeds: what is accepted at the start, the fresh orders of the liveness checks, the bases of
// mutations (never submitted unmodified).
// ---------------------------------------------------------------------------------------------

const SEED_KEPT: u64 = 601;
const SEED_ALIVE: u64 = 602;
const SEED_BAD: u64 = 603;
/// Shipments of `SEED_KEPT` submitted first and checked last.
const KEPT: u64 = 3;
/// Cases between two liveness checks.
const BATCH: usize = 10;
/// A reply slower than this is a hang.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

const SUBMIT: &str = "/singlewindow.v1.Gateway/Submit";
const GRPC: &str = "application/grpc";

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

/// A typed-declaration case: its name, the edit that breaks it, and the (field, rule) pairs
/// the refusal must name.
type FieldCase<E> = (&'static str, E, &'static [(&'static str, &'static str)]);

/// What is sent.
enum Input {
    /// CEB XML as `ceb_xml` of a `SubmitRequest`.
    Xml(Vec<u8>),
    /// A whole request (typed declarations, empty payloads).
    Request(Box<v1::SubmitRequest>),
    /// Raw bytes as the protobuf `SubmitRequest` of a well-formed gRPC frame.
    Proto(Vec<u8>),
    /// A raw HTTP/2 request body (gRPC frames made by hand) with this content type.
    Http(Vec<u8>, &'static str),
    /// A `SubmitStream` of these requests.
    Stream(Vec<v1::SubmitRequest>),
}

/// What must come back.
enum Expect {
    /// A decoding failure: INVALID_ARGUMENT whose message contains the text, with a
    /// `BadRequest` violation whose field starts with the path and a CEB900 receipt.
    Decode(String, String),
    /// OK, block 1 REJECTED with a violation of this rule at this path.
    Reject(&'static str, &'static str),
    /// INVALID_ARGUMENT "invalid declaration fields" naming every (field, rule).
    Fields(Vec<(&'static str, &'static str)>),
    /// This status code, with the text in its message.
    Status(Code, &'static str),
    /// One of these codes, with the text in its message.
    OneOf(&'static [Code], &'static str),
}

struct Case {
    category: &'static str,
    name: String,
    input: Input,
    expect: Expect,
}

/// Any element path (or none) in a decoding failure.
const ANY_PATH: &str = "*";

fn decode(text: impl Into<String>, path: impl Into<String>) -> Expect {
    Expect::Decode(text.into(), path.into())
}

/// Builds the table, one category after the other.
struct Table {
    cases: Vec<Case>,
    category: &'static str,
}

impl Table {
    fn category(&mut self, name: &'static str) {
        self.category = name;
    }

    fn xml(&mut self, name: impl Into<String>, xml: impl Into<Vec<u8>>, expect: Expect) {
        self.push(name, Input::Xml(xml.into()), expect);
    }

    fn push(&mut self, name: impl Into<String>, input: Input, expect: Expect) {
        self.cases.push(Case {
            category: self.category,
            name: name.into(),
            input,
            expect,
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Documents and mutations
// ---------------------------------------------------------------------------------------------

fn rules() -> &'static Rules {
    static RULES: std::sync::OnceLock<Rules> = std::sync::OnceLock::new();
    RULES.get_or_init(|| Rules::embedded().expect("the shipped rules load"))
}

/// Message `i` (0 order, 1 payment, 2 waybill, 3 inventory) of shipment `n` of `seed`.
fn message(seed: u64, n: u64, i: usize) -> String {
    encode(&synth::shipment_messages(seed, n, rules())[i].1)
}

fn order(seed: u64, n: u64) -> String {
    message(seed, n, 0)
}

fn xml_request(xml: impl Into<Vec<u8>>) -> v1::SubmitRequest {
    v1::SubmitRequest {
        sender: String::new(),
        idempotency_key: String::new(),
        payload: Some(Payload::CebXml(xml.into())),
    }
}

fn sample(path: &str) -> String {
    let bytes = std::fs::read(format!("../shared/ceb/{path}")).expect("the sample is readable");
    String::from_utf8(bytes).expect("the sample is UTF-8")
}

/// Byte range of the text of the `nth` (1-based) `<ceb:name>` element.
fn element_text(xml: &str, name: &str, nth: usize) -> std::ops::Range<usize> {
    let (open, close) = (format!("<ceb:{name}>"), format!("</ceb:{name}>"));
    let mut from = 0;
    for _ in 0..nth {
        let at = xml[from..]
            .find(&open)
            .unwrap_or_else(|| panic!("no element #{nth} {name}"));
        from += at + open.len();
    }
    let end = from + xml[from..].find(&close).expect("closed element");
    from..end
}

/// The `nth` `<ceb:name>` with its text replaced.
fn set(xml: &str, name: &str, nth: usize, text: &str) -> String {
    let r = element_text(xml, name, nth);
    format!("{}{text}{}", &xml[..r.start], &xml[r.end..])
}

/// Without the `nth` `<ceb:name>` element.
fn remove(xml: &str, name: &str, nth: usize) -> String {
    let r = element_text(xml, name, nth);
    let start = r.start - name.len() - 6;
    let end = r.end + name.len() + 7;
    format!("{}{}", &xml[..start], &xml[end..])
}

/// `s` inserted before the first `needle`.
fn before(xml: &str, needle: &str, s: &str) -> String {
    let at = xml
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not found"));
    format!("{}{s}{}", &xml[..at], &xml[at..])
}

/// `bytes` inserted at byte `at`.
fn splice(xml: &str, at: usize, bytes: &[u8]) -> Vec<u8> {
    let mut out = xml.as_bytes().to_vec();
    out.splice(at..at, bytes.iter().copied());
    out
}

/// The root's `version` attribute (not the XML declaration's).
const ROOT_VERSION: &str = " version=\"1.0\" xmlns";

/// The end of the `BaseTransfer` element: where `ExtendMessage` and a signature go.
const AFTER_TRANSFER: &str = "</ceb:CEB311Message>";

/// A protobuf `SubmitRequest` with `ceb_xml` = `xml` (field 10, length-delimited).
fn proto_xml(xml: &[u8]) -> Vec<u8> {
    xml_request(xml.to_vec()).encode_to_vec()
}

/// A gRPC frame: flag, 4-byte big-endian length, bytes.
fn frame(flag: u8, length: u32, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![flag];
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(bytes);
    out
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

fn table() -> Vec<Case> {
    let mut t = Table {
        cases: Vec::new(),
        category: "",
    };
    let o = order(SEED_BAD, 0);
    let inv = message(SEED_BAD, 0, 3);
    let root = "CEB311Message";
    let head = "CEB311Message/Order[1]/OrderHead";

    // --- malformed XML -----------------------------------------------------------------------
    t.category("malformed XML");
    t.xml(
        "mismatched end tag",
        o.replacen("</ceb:orderNo>", "</ceb:orderNO>", 1),
        decode("malformed XML", head),
    );
    t.xml(
        "unescaped ampersand in a field",
        set(&o, "buyerName", 1, "A & B"),
        decode("malformed XML", head),
    );
    t.xml(
        "unescaped less-than in a field",
        set(&o, "ebpName", 1, "a < b"),
        decode("element ebpName must hold text, not elements", head),
    );
    t.xml(
        "unquoted attribute on the root",
        o.replacen(ROOT_VERSION, " version=1.0 xmlns", 1),
        decode("malformed XML", ""),
    );
    t.xml(
        "duplicate attribute on the root",
        o.replacen(ROOT_VERSION, " version=\"1.0\" version=\"2.0\" xmlns", 1),
        decode("duplicated attribute", ""),
    );
    t.xml(
        "garbage after the root",
        format!("{o}garbage"),
        decode("unexpected text \"garbage\"", ""),
    );
    t.xml(
        "a second root",
        format!("{o}<ceb:CEB311Message xmlns:ceb=\"{CEB_NS}\"/>"),
        decode("unexpected element", ""),
    );
    t.xml(
        "an XML declaration inside the root",
        before(&o, "<ceb:Order>", "<?xml version=\"1.0\"?>"),
        decode("malformed XML", root),
    );
    t.xml(
        "text between the elements of a head",
        before(&o, "<ceb:orderNo>", "stray"),
        decode("unexpected text \"stray\"", head),
    );
    t.xml(
        "text between blocks",
        before(&o, "<ceb:BaseTransfer>", "between"),
        decode("unexpected text \"between\"", root),
    );
    t.xml(
        "an unknown element in a head",
        before(&o, "<ceb:orderNo>", "<ceb:bogus>1</ceb:bogus>"),
        decode("unexpected element bogus", head),
    );
    t.xml(
        "an element inside a field",
        set(&o, "orderNo", 1, "<ceb:x>1</ceb:x>"),
        decode("element orderNo must hold text, not elements", head),
    );
    t.xml(
        "BaseTransfer missing",
        remove(&o, "BaseTransfer", 1),
        decode("required element BaseTransfer is missing", root),
    );
    t.xml(
        "BaseTransfer before the block",
        {
            let r = element_text(&o, "BaseTransfer", 1);
            let transfer = &o[r.start - 18..r.end + 19];
            before(&o.replacen(transfer, "", 1), "<ceb:Order>", transfer)
        },
        decode("required element Order is missing", root),
    );
    t.xml(
        "fields of a head out of order",
        {
            let no = "<ceb:orderNo>SW0603000000000000</ceb:orderNo>";
            before(&o.replacen(no, "", 1), "<ceb:guid>", no)
        },
        decode("out of schema order", head),
    );
    t.xml(
        "an Inventory block in a CEB311 message",
        {
            let r = element_text(&inv, "Inventory", 1);
            before(&o, "<ceb:BaseTransfer>", &inv[r.start - 15..r.end + 16])
        },
        decode("unexpected element Inventory", root),
    );
    t.xml(
        "root guid attribute missing",
        o.replacen(" guid=\"0000025B-0000-0000-0000-000000000000\"", "", 1),
        decode("attribute guid", root),
    );
    t.xml(
        "root guid of 35 characters",
        o.replacen("guid=\"0000025B-", "guid=\"000025B-", 1),
        decode("attribute guid", root),
    );
    t.xml(
        "an unclosed comment",
        before(&o, "<ceb:Order>", "<!-- never closed"),
        decode("comment not closed", root),
    );
    t.xml(
        "an unclosed CDATA section",
        set(&o, "buyerName", 1, "<![CDATA[never closed"),
        decode("CDATA not closed", head),
    );
    t.xml(
        "binary garbage",
        (0u8..=255).cycle().skip(1).take(600).collect::<Vec<u8>>(),
        decode("invalid UTF-8 at byte 127", ""),
    );
    t.xml(
        "a JSON document",
        "{\"order\": {\"orderNo\": \"SW1\"}}",
        decode("unexpected text", ""),
    );
    t.xml(
        "an HTML page",
        "<html><body><p>hello</p></body></html>",
        decode("html", ""),
    );
    t.xml(
        "XML declaration with an unquoted version",
        o.replacen("<?xml version=\"1.0\"", "<?xml version=1.0", 1),
        decode("malformed XML", ""),
    );
    t.xml(
        "a tag without a name",
        before(&o, "<ceb:Order>", "<>"),
        decode("unexpected element ", root),
    );
    t.xml(
        "an end tag without a start",
        before(&o, "<ceb:Order>", "</ceb:nothing>"),
        decode("malformed XML", root),
    );

    // --- truncated XML -------------------------------------------------------------------
    t.category("truncated XML");
    let mut cuts: Vec<usize> = (1..=40).map(|i| o.len() * i / 41).collect();
    // and right after every tag of the head
    cuts.extend(
        o.match_indices('>')
            .map(|(i, _)| i + 1)
            .filter(|&i| i < o.len() - 2)
            .step_by(7),
    );
    cuts.sort_unstable();
    cuts.dedup();
    for cut in cuts {
        let mut at = cut;
        while !o.is_char_boundary(at) {
            at -= 1;
        }
        t.xml(
            format!("the order cut at byte {at}"),
            &o.as_bytes()[..at],
            decode(cut_error(&o, at), ANY_PATH),
        );
    }
    for (file, at) in [
        ("import/CEB621Message.xml", 2),
        ("import/CEB411Message.xml", 3),
        ("import/CEB311Message.xml", 4),
    ] {
        let text = sample(file);
        let mut cut = text.len() * (at - 1) / at;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        t.xml(
            format!("{file} cut at byte {cut}"),
            &text.as_bytes()[..cut],
            decode(cut_error(&text, cut), ANY_PATH),
        );
    }

    // --- DOCTYPE and entities ----------------------------------------------------------------
    t.category("DOCTYPE and entities");
    let body = o.split_once("?>\n").expect("an XML declaration").1;
    let decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    let doctype = |subset: &str, name_text: &str| {
        format!("{decl}{subset}\n{}", set(body, "buyerName", 1, name_text))
    };
    t.xml(
        "DOCTYPE without an internal subset",
        doctype("<!DOCTYPE CEB311Message>", "张三"),
        decode("DOCTYPE declarations are not allowed", ""),
    );
    t.xml(
        "DOCTYPE with an internal entity",
        doctype("<!DOCTYPE CEB311Message [<!ENTITY n \"张三\">]>", "&n;"),
        decode("DOCTYPE declarations are not allowed", ""),
    );
    t.xml(
        "billion laughs",
        doctype(
            "<!DOCTYPE lolz [<!ENTITY lol \"lol\">\
             <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\
             <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\
             <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\
             <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\
             <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\
             <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\
             <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\
             <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\
             <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">]>",
            "&lol9;",
        ),
        decode("DOCTYPE declarations are not allowed", ""),
    );
    t.xml(
        "quadratic blow-up",
        doctype(
            &format!("<!DOCTYPE q [<!ENTITY a \"{}\">]>", "a".repeat(50_000)),
            &"&a;".repeat(2_000),
        ),
        decode("DOCTYPE declarations are not allowed", ""),
    );
    t.xml(
        "external entity (file)",
        doctype(
            "<!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>",
            "&xxe;",
        ),
        decode("DOCTYPE declarations are not allowed", ""),
    );
    t.xml(
        "external entity (http)",
        doctype(
            "<!DOCTYPE foo [<!ENTITY xxe SYSTEM \"http://127.0.0.1:1/x\">]>",
            "&xxe;",
        ),
        decode("DOCTYPE declarations are not allowed", ""),
    );
    t.xml(
        "external parameter entity",
        doctype(
            "<!DOCTYPE foo [<!ENTITY % p SYSTEM \"http://127.0.0.1:1/x.dtd\"> %p;]>",
            "张三",
        ),
        decode("DOCTYPE declarations are not allowed", ""),
    );
    t.xml(
        "external DTD by PUBLIC id",
        doctype(
            "<!DOCTYPE CEB311Message PUBLIC \"-//X//DTD X//EN\" \"http://127.0.0.1:1/x.dtd\">",
            "张三",
        ),
        decode("DOCTYPE declarations are not allowed", ""),
    );
    t.xml(
        "DOCTYPE after the root",
        format!("{o}<!DOCTYPE x>"),
        decode("DOCTYPE declarations are not allowed", ""),
    );
    t.xml(
        "DOCTYPE inside the root",
        before(&o, "<ceb:Order>", "<!DOCTYPE x>"),
        decode("DOCTYPE declarations are not allowed", root),
    );
    t.xml(
        "undefined entity in a field",
        set(&o, "buyerName", 1, "a&foo;b"),
        decode("undefined entity &foo;", head),
    );
    t.xml(
        "external entity reference without a DTD",
        set(&o, "buyerName", 1, "&xxe;"),
        decode("undefined entity &xxe;", head),
    );
    t.xml(
        "character reference to U+0000",
        set(&o, "buyerName", 1, "&#0;"),
        decode("undefined entity &#0;", head),
    );
    t.xml(
        "character reference beyond U+10FFFF",
        set(&o, "buyerName", 1, "&#x110000;"),
        decode("&#x110000;", head),
    );
    t.xml(
        "character reference to a surrogate",
        set(&o, "buyerName", 1, "&#xD800;"),
        decode("&#xD800;", head),
    );
    t.xml(
        "undefined entity in an attribute",
        o.replacen(ROOT_VERSION, " version=\"&v;\" xmlns", 1),
        decode("attribute version: at 1..2: unrecognized entity `v`", root),
    );
    t.xml(
        "XInclude in a head",
        before(
            &o,
            "<ceb:orderNo>",
            "<xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" href=\"file:///etc/passwd\"/>",
        ),
        decode("include", head),
    );

    // --- deep nesting ------------------------------------------------------------------------
    t.category("deep nesting");
    let extend = |open: &str, close: &str, n: usize| {
        before(
            &o,
            AFTER_TRANSFER,
            &format!(
                "<ceb:ExtendMessage>{}{}</ceb:ExtendMessage>",
                open.repeat(n),
                close.repeat(n)
            ),
        )
    };
    for n in [31, 32, 40, 100, 1_000, 100_000] {
        t.xml(
            format!("{n} nested elements in ExtendMessage"),
            extend("<x>", "</x>", n),
            decode(
                "elements nested deeper than the limit of 32",
                "CEB311Message/ExtendMessage",
            ),
        );
    }
    t.xml(
        "100000 unclosed elements in ExtendMessage",
        extend("<x>", "", 100_000),
        decode(
            "elements nested deeper than the limit of 32",
            "CEB311Message/ExtendMessage",
        ),
    );
    t.xml(
        "1000 nested CEB elements in ExtendMessage",
        extend("<ceb:Order>", "</ceb:Order>", 1_000),
        decode(
            "elements nested deeper than the limit of 32",
            "CEB311Message/ExtendMessage",
        ),
    );
    for n in [31, 500] {
        t.xml(
            format!("{n} nested elements in ds:Signature"),
            before(
                &o,
                AFTER_TRANSFER,
                &format!(
                    "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">{}{}</ds:Signature>",
                    "<ds:X>".repeat(n),
                    "</ds:X>".repeat(n)
                ),
            ),
            decode(
                "elements nested deeper than the limit of 32",
                "CEB311Message/Signature",
            ),
        );
    }
    t.xml(
        "nesting inside a field",
        set(&o, "buyerName", 1, &"<ceb:x>".repeat(1_000)),
        decode("element buyerName must hold text, not elements", head),
    );
    t.xml(
        "an Order nested in an Order",
        before(&o, "<ceb:OrderHead>", &"<ceb:Order>".repeat(100)),
        decode("unexpected element Order", "CEB311Message/Order[1]"),
    );

    // --- huge text and attributes --------------------------------------------------------------
    t.category("huge text and attributes");
    let note = |text: &str| {
        before(
            &o,
            "</ceb:OrderHead>",
            &format!("<ceb:note>{text}</ceb:note>"),
        )
    };
    let too_long = "element text is longer than the limit of 65536 bytes";
    let note_path = "CEB311Message/Order[1]/OrderHead/note";
    t.xml(
        "a note of 65537 bytes",
        note(&"x".repeat(65_537)),
        decode(too_long, note_path),
    );
    t.xml(
        "a note of 4 MiB",
        note(&"x".repeat(4 << 20)),
        decode(too_long, note_path),
    );
    t.xml(
        "a note of 22000 CJK characters (66000 bytes)",
        note(&"测".repeat(22_000)),
        decode(too_long, note_path),
    );
    t.xml(
        "a note over the limit once its references are expanded",
        note(&"&lt;".repeat(66_000)),
        decode(too_long, note_path),
    );
    t.xml(
        "a note of 65537 bytes of character references",
        note(&"&#x41;".repeat(65_537)),
        decode(too_long, note_path),
    );
    t.xml(
        "a note of 65537 bytes in CDATA",
        note(&format!("<![CDATA[{}]]>", "x".repeat(65_537))),
        decode(too_long, note_path),
    );
    t.xml(
        "a note of 65536 bytes: within the decoder's limit, over the schema's length",
        note(&"x".repeat(65_536)),
        Expect::Reject("XSD-LENGTH", "OrderHead/note"),
    );
    t.xml(
        "an orderNo of 100000 bytes",
        set(&o, "orderNo", 1, &"9".repeat(100_000)),
        decode(too_long, "CEB311Message/Order[1]/OrderHead/orderNo"),
    );
    t.xml(
        "huge text in ExtendMessage",
        before(
            &o,
            AFTER_TRANSFER,
            &format!(
                "<ceb:ExtendMessage><x>{}</x></ceb:ExtendMessage>",
                "y".repeat(70_000)
            ),
        ),
        decode(too_long, "CEB311Message/ExtendMessage"),
    );
    t.xml(
        "a root guid attribute of 1 MiB",
        o.replacen(
            "guid=\"0000025B-0000-0000-0000-000000000000\"",
            &format!("guid=\"{}\"", "G".repeat(1 << 20)),
            1,
        ),
        decode("attribute guid", root),
    );
    t.xml(
        "an unknown attribute of 1 MiB on the root",
        o.replacen(
            ROOT_VERSION,
            &format!(" version=\"1.0\" junk=\"{}\" xmlns", "j".repeat(1 << 20)),
            1,
        ),
        decode("attribute junk", root),
    );
    t.xml(
        "an attribute of 1 MiB on a field",
        o.replacen(
            "<ceb:orderNo>",
            &format!("<ceb:orderNo junk=\"{}\">", "j".repeat(1 << 20)),
            1,
        ),
        decode("attribute junk", head),
    );
    t.xml(
        "20000 attributes on the root",
        o.replacen(
            ROOT_VERSION,
            &format!(
                "{}{ROOT_VERSION}",
                (0..20_000)
                    .map(|i| format!(" a{i}=\"x\""))
                    .collect::<String>()
            ),
            1,
        ),
        decode("attribute a0", root),
    );
    t.xml(
        "an element name of 100000 bytes",
        before(
            &o,
            "<ceb:orderNo>",
            &format!("<ceb:{0}>1</ceb:{0}>", "n".repeat(100_000)),
        ),
        decode("unexpected element", head),
    );
    t.xml(
        "1 MiB of text after the root",
        format!("{o}{}", "t".repeat(1 << 20)),
        decode("unexpected text", ""),
    );
    t.xml(
        "an element name of 10000 bytes",
        before(
            &o,
            "<ceb:orderNo>",
            &format!("<ceb:{0}>1</ceb:{0}>", "n".repeat(10_000)),
        ),
        decode("unexpected element", head),
    );
    t.xml(
        "a version attribute of 100000 bytes",
        o.replacen(
            ROOT_VERSION,
            &format!(" version=\"{}\" xmlns", "1".repeat(100_000)),
            1,
        ),
        decode("attribute version", root),
    );

    // --- encodings -----------------------------------------------------------------------------
    t.category("encodings");
    let utf16le = |text: &str, bom: bool| {
        let mut out = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
        for unit in text.encode_utf16() {
            out.extend_from_slice(&unit.to_le_bytes());
        }
        out
    };
    let utf16be = |text: &str, bom: bool| {
        let mut out = if bom { vec![0xFE, 0xFF] } else { Vec::new() };
        for unit in text.encode_utf16() {
            out.extend_from_slice(&unit.to_be_bytes());
        }
        out
    };
    let gbk_decl = o.replacen("UTF-8", "GBK", 1);
    t.xml(
        "declared GBK, UTF-16LE bytes without a BOM",
        utf16le(&gbk_decl, false),
        decode("invalid UTF-8 at byte", ""),
    );
    t.xml(
        "declared GBK, UTF-16BE bytes without a BOM",
        utf16be(&gbk_decl, false),
        decode("invalid UTF-8 at byte", ""),
    );
    t.xml(
        "unknown encoding name",
        o.replacen("UTF-8", "klingon", 1),
        decode("unsupported encoding \"klingon\"", ""),
    );
    t.xml(
        "empty encoding name",
        o.replacen("UTF-8", "", 1),
        decode("unsupported encoding \"\"", ""),
    );
    t.xml(
        "declared UTF-7",
        o.replacen("UTF-8", "UTF-7", 1),
        decode("unsupported encoding \"UTF-7\"", ""),
    );
    t.xml(
        "declared EBCDIC",
        o.replacen("UTF-8", "IBM037", 1),
        decode("unsupported encoding \"IBM037\"", ""),
    );
    t.xml(
        "declared UTF-16, UTF-8 bytes",
        o.replacen("UTF-8", "UTF-16", 1),
        decode("unexpected text", ""),
    );
    t.xml(
        "UTF-16LE BOM, UTF-8 bytes",
        {
            let mut b = vec![0xFF, 0xFE];
            b.extend_from_slice(o.as_bytes());
            b
        },
        decode("bytes that are not valid UTF-16LE", ""),
    );
    t.xml(
        "UTF-16BE BOM, UTF-16LE bytes",
        {
            let mut b = vec![0xFE, 0xFF];
            b.extend_from_slice(&utf16le(&o, false));
            b
        },
        decode("bytes that are not valid UTF-16BE", ""),
    );
    t.xml(
        "UTF-8 BOM, GBK bytes declared GBK",
        {
            let (gbk, _, _) = encoding_rs::GBK.encode(&gbk_decl);
            let mut b = vec![0xEF, 0xBB, 0xBF];
            b.extend_from_slice(&gbk);
            b
        },
        decode("invalid UTF-8", ""),
    );
    t.xml(
        "two UTF-8 BOMs",
        {
            let mut b = vec![0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF];
            b.extend_from_slice(o.as_bytes());
            b
        },
        decode("malformed XML", ""),
    );
    t.xml(
        "declared GBK, invalid GBK bytes",
        {
            let (gbk, _, _) = encoding_rs::GBK.encode(&gbk_decl);
            let mut b = gbk.into_owned();
            let at = b.windows(9).position(|w| w == b"<ceb:note").unwrap_or(200);
            b.splice(at..at, [0xFF, 0xFF]);
            b
        },
        decode("bytes that are not valid gb18030", ""),
    );
    t.xml(
        "declared GB2312, UTF-8 bytes",
        o.replacen("UTF-8", "GB2312", 1),
        decode("bytes that are not valid gb18030", ""),
    );
    // Invalid UTF-8 in the buyer's name: the error names the exact byte.
    let at = element_text(&o, "buyerName", 1).start;
    for (what, bytes) in [
        ("a lone continuation byte", &[0x80][..]),
        ("0xC3 0x28", &[0xC3, 0x28]),
        ("an overlong '/'", &[0xC0, 0xAF]),
        ("an overlong NUL", &[0xE0, 0x80, 0x80]),
        ("a UTF-16 surrogate", &[0xED, 0xA0, 0x80]),
        ("0xFF", &[0xFF]),
        ("0xFE", &[0xFE]),
        ("beyond U+10FFFF", &[0xF4, 0x90, 0x80, 0x80]),
        ("a 5-byte sequence", &[0xF8, 0x88, 0x80, 0x80, 0x80]),
        ("a 3-byte sequence cut short", &[0xE4, 0xB8]),
        ("a 4-byte sequence cut short", &[0xF0, 0x9F, 0x98]),
        ("Latin-1 é", &[0xE9]),
    ] {
        t.xml(
            format!("invalid UTF-8 in a field: {what}"),
            splice(&o, at, bytes),
            decode(format!("invalid UTF-8 at byte {at}"), ""),
        );
    }
    let in_name = o.find("<ceb:orderNo>").unwrap() + 5;
    t.xml(
        "invalid UTF-8 in an element name",
        splice(&o, in_name, &[0xFF]),
        decode(format!("invalid UTF-8 at byte {in_name}"), ""),
    );
    let in_attr = o.find(ROOT_VERSION).unwrap() + 10;
    t.xml(
        "invalid UTF-8 in an attribute",
        splice(&o, in_attr, &[0xC0]),
        decode(format!("invalid UTF-8 at byte {in_attr}"), ""),
    );
    t.xml(
        "invalid UTF-8 as the last byte",
        splice(&o, o.len(), &[0xE4]),
        decode(format!("invalid UTF-8 at byte {}", o.len()), ""),
    );
    t.xml(
        "invalid UTF-8 as the first byte",
        splice(&o, 0, &[0xFF]),
        decode("invalid UTF-8 at byte 0", ""),
    );

    // --- namespaces and the root ---------------------------------------------------------------
    t.category("namespaces and root");
    t.xml(
        "wrong namespace on the root",
        o.replacen(CEB_NS, "urn:example:not-ceb", 1),
        decode("expected http://www.chinaport.gov.cn/ceb", ""),
    );
    t.xml(
        "namespace with a trailing slash",
        o.replacen(CEB_NS, "http://www.chinaport.gov.cn/ceb/", 1),
        decode("\"http://www.chinaport.gov.cn/ceb/\"", ""),
    );
    t.xml(
        "namespace in upper case",
        o.replacen(CEB_NS, "HTTP://WWW.CHINAPORT.GOV.CN/CEB", 1),
        decode("\"HTTP://WWW.CHINAPORT.GOV.CN/CEB\"", ""),
    );
    t.xml(
        "no namespace at all",
        o.replace("ceb:", "")
            .replace(&format!(" xmlns:ceb=\"{CEB_NS}\""), ""),
        decode("element CEB311Message is in namespace \"\"", ""),
    );
    t.xml(
        "unbound prefix on the root",
        o.replacen(&format!(" xmlns:ceb=\"{CEB_NS}\""), "", 1),
        decode("element CEB311Message is in namespace \"\"", ""),
    );
    t.xml(
        "wrong namespace on a block",
        o.replacen("<ceb:Order>", "<x:Order xmlns:x=\"urn:x\">", 1)
            .replacen("</ceb:Order>", "</x:Order>", 1),
        decode("element Order is in namespace \"urn:x\"", root),
    );
    t.xml(
        "prefix rebound on a block",
        o.replacen("<ceb:Order>", "<ceb:Order xmlns:ceb=\"urn:x\">", 1),
        decode("element Order is in namespace \"urn:x\"", root),
    );
    t.xml(
        "no namespace on a field",
        o.replacen(
            "<ceb:orderNo>SW0603000000000000</ceb:orderNo>",
            "<orderNo>SW0603000000000000</orderNo>",
            1,
        ),
        decode("element orderNo is in namespace \"\"", head),
    );
    t.xml(
        "unbound prefix on a field",
        o.replacen(
            "<ceb:orderNo>SW0603000000000000</ceb:orderNo>",
            "<q:orderNo>SW0603000000000000</q:orderNo>",
            1,
        ),
        decode("element orderNo is in namespace \"\"", head),
    );
    t.xml(
        "BaseTransfer in the dsig namespace",
        o.replacen(
            "<ceb:BaseTransfer>",
            "<ds:BaseTransfer xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">",
            1,
        )
        .replacen("</ceb:BaseTransfer>", "</ds:BaseTransfer>", 1),
        decode("unexpected element BaseTransfer", root),
    );
    t.xml(
        "an unknown root element",
        format!("<?xml version=\"1.0\"?><ceb:Invoice xmlns:ceb=\"{CEB_NS}\" guid=\"x\"/>"),
        decode("root element Invoice is not a CEB message", ""),
    );
    t.xml(
        "a block as the root",
        {
            let r = element_text(&o, "Order", 1);
            format!("<ceb:Order xmlns:ceb=\"{CEB_NS}\">{}</ceb:Order>", &o[r])
        },
        decode("root element Order is not a CEB message", ""),
    );
    t.xml(
        "a CEB message number the gateway does not know",
        o.replace("CEB311Message", "CEB999Message"),
        decode(
            "CEB999Message is not an import message this gateway takes",
            "CEB999Message",
        ),
    );
    t.xml(
        "a lower-case root name",
        o.replace("CEB311Message", "ceb311message"),
        decode("root element ceb311message is not a CEB message", ""),
    );
    for file in ["CEB304", "CEB404", "CEB506", "CEB606", "CEB702"] {
        if std::path::Path::new(&format!("../shared/ceb/export/{file}Message.xml")).exists() {
            t.xml(
                format!("export message {file}"),
                sample(&format!("export/{file}Message.xml")),
                decode(
                    format!("{file}Message is not an import message this gateway takes"),
                    format!("{file}Message"),
                ),
            );
        }
    }

    // --- too many blocks ----------------------------------------------------------------------
    t.category("too many blocks");
    let order_block = {
        let r = element_text(&o, "Order", 1);
        o[r.start - 11..r.end + 12].to_owned()
    };
    for n in [101, 150, 1_000] {
        t.xml(
            format!("{n} Order blocks"),
            before(&o, "<ceb:BaseTransfer>", &order_block.repeat(n - 1)),
            decode("Order may occur at most 100 time(s)", root),
        );
    }
    t.xml(
        "101 Inventory blocks",
        encode(&synth::inventory_message(SEED_BAD, 0, 101, rules())),
        decode("Inventory may occur at most 100 time(s)", "CEB621Message"),
    );
    t.xml(
        "100 OrderList items in one Order",
        {
            let r = element_text(&o, "OrderList", 1);
            let line = &o[r.start - 15..r.end + 16];
            before(&o, "</ceb:Order>", &line.repeat(100))
        },
        decode(
            "OrderList may occur at most 99 time(s)",
            "CEB311Message/Order[1]",
        ),
    );
    t.xml(
        "two BaseTransfer",
        {
            let r = element_text(&o, "BaseTransfer", 1);
            let transfer = &o[r.start - 18..r.end + 19];
            before(&o, AFTER_TRANSFER, transfer)
        },
        decode("BaseTransfer may occur at most 1 time(s)", root),
    );
    t.xml(
        "six BaseSubscribe",
        before(&o, AFTER_TRANSFER, &"<ceb:BaseSubscribe/>".repeat(6)),
        decode("BaseSubscribe may occur at most 5 time(s)", root),
    );
    t.xml(
        "two ExtendMessage",
        before(&o, AFTER_TRANSFER, &"<ceb:ExtendMessage/>".repeat(2)),
        decode("ExtendMessage may occur at most 1 time(s)", root),
    );
    t.xml(
        "no block at all",
        remove(&o, "Order", 1),
        decode("required element Order is missing", root),
    );

    // --- numbers out of range and other field rules ----------------------------------------
    t.category("numbers and fields");
    let rejects: &[(&str, &str, usize, &str, &str, &str)] = &[
        // (name, element, nth, text, rule, path)
        (
            "goodsValue with 20 digits",
            "goodsValue",
            1,
            "12345678901234567890",
            "XSD-DECIMAL",
            "OrderHead/goodsValue",
        ),
        (
            "goodsValue with 15 + 5 digits",
            "goodsValue",
            1,
            "123456789012345.12345",
            "XSD-DECIMAL",
            "OrderHead/goodsValue",
        ),
        (
            "freight with 6 fraction digits",
            "freight",
            1,
            "10.000001",
            "XSD-DECIMAL",
            "OrderHead/freight",
        ),
        (
            "acturalPaid of 10^30",
            "acturalPaid",
            1,
            "1000000000000000000000000000000",
            "XSD-DECIMAL",
            "OrderHead/acturalPaid",
        ),
        (
            "acturalPaid in exponent notation",
            "acturalPaid",
            1,
            "9.3451E2",
            "XSD-FORMAT",
            "OrderHead/acturalPaid",
        ),
        (
            "acturalPaid NaN",
            "acturalPaid",
            1,
            "NaN",
            "XSD-FORMAT",
            "OrderHead/acturalPaid",
        ),
        (
            "acturalPaid Infinity",
            "acturalPaid",
            1,
            "Infinity",
            "XSD-FORMAT",
            "OrderHead/acturalPaid",
        ),
        (
            "acturalPaid with a thousands separator",
            "acturalPaid",
            1,
            "1,934.51",
            "XSD-FORMAT",
            "OrderHead/acturalPaid",
        ),
        (
            "acturalPaid in hex",
            "acturalPaid",
            1,
            "0x3A6",
            "XSD-FORMAT",
            "OrderHead/acturalPaid",
        ),
        (
            "acturalPaid empty",
            "acturalPaid",
            1,
            "",
            "XSD-FORMAT",
            "OrderHead/acturalPaid",
        ),
        (
            "acturalPaid off by one fen",
            "acturalPaid",
            1,
            "934.52",
            "A1",
            "OrderHead/acturalPaid",
        ),
        (
            "discount negative",
            "discount",
            1,
            "-5",
            "NEGATIVE",
            "OrderHead/discount",
        ),
        (
            "line qty negative",
            "qty",
            1,
            "-1",
            "NEGATIVE",
            "OrderList[1]/qty",
        ),
        (
            "line qty with 6 fraction digits",
            "qty",
            1,
            "1.000001",
            "XSD-DECIMAL",
            "OrderList[1]/qty",
        ),
        (
            "line price negative",
            "price",
            1,
            "-129",
            "NEGATIVE",
            "OrderList[1]/price",
        ),
        (
            "line totalPrice ≠ price × qty",
            "totalPrice",
            1,
            "130",
            "A3",
            "OrderList[1]/totalPrice",
        ),
        (
            "line totalPrice with 20 digits",
            "totalPrice",
            1,
            "99999999999999999999",
            "XSD-DECIMAL",
            "OrderList[1]/totalPrice",
        ),
        (
            "gnum of 20 digits",
            "gnum",
            1,
            "99999999999999999999",
            "XSD-FORMAT",
            "OrderList[1]/gnum",
        ),
        (
            "gnum negative",
            "gnum",
            1,
            "-1",
            "GNUM",
            "OrderList[1]/gnum",
        ),
        (
            "gnum not a number",
            "gnum",
            1,
            "one",
            "XSD-FORMAT",
            "OrderList[1]/gnum",
        ),
        (
            "gnum 2 on the first line",
            "gnum",
            1,
            "2",
            "GNUM",
            "OrderList[1]/gnum",
        ),
        (
            "appTime month 13",
            "appTime",
            1,
            "20261324080000",
            "XSD-FORMAT",
            "OrderHead/appTime",
        ),
        (
            "appTime of 13 digits",
            "appTime",
            1,
            "2026112408000",
            "XSD-LENGTH",
            "OrderHead/appTime",
        ),
        (
            "appType 9",
            "appType",
            1,
            "9",
            "XSD-ENUM",
            "OrderHead/appType",
        ),
        (
            "appStatus 0",
            "appStatus",
            1,
            "0",
            "XSD-ENUM",
            "OrderHead/appStatus",
        ),
        (
            "orderType X",
            "orderType",
            1,
            "X",
            "XSD-ENUM",
            "OrderHead/orderType",
        ),
        (
            "orderNo of 61 characters",
            "orderNo",
            1,
            "SW060300000000000000000000000000000000000000000000000000000000",
            "XSD-LENGTH",
            "OrderHead/orderNo",
        ),
        (
            "ebpCode of 19 characters",
            "ebpCode",
            1,
            "3301960001330196000",
            "XSD-LENGTH",
            "OrderHead/ebpCode",
        ),
        (
            "currency of 4 digits",
            "currency",
            1,
            "1420",
            "XSD-LENGTH",
            "OrderHead/currency",
        ),
        (
            "currency USD",
            "currency",
            1,
            "502",
            "CODE-CURRENCY",
            "OrderHead/currency",
        ),
        (
            "buyerIdNumber with a wrong check digit",
            "buyerIdNumber",
            1,
            "330106199205260175",
            "ID-CHECK",
            "OrderHead/buyerIdNumber",
        ),
        (
            "buyerIdType 9",
            "buyerIdType",
            1,
            "9",
            "XSD-ENUM",
            "OrderHead/buyerIdType",
        ),
        (
            "line country 999",
            "country",
            1,
            "999",
            "CODE-COUNTRY",
            "OrderList[1]/country",
        ),
        (
            "line unit 999",
            "unit",
            1,
            "999",
            "CODE-UNIT",
            "OrderList[1]/unit",
        ),
        (
            "guid of 37 characters",
            "guid",
            1,
            "403F6AC1-FE3D-98CE-C267-EC22D9C4238CX",
            "XSD-LENGTH",
            "OrderHead/guid",
        ),
    ];
    for (name, element, nth, text, rule, path) in rejects {
        let mutated = set(&o, element, *nth, text);
        assert_ne!(mutated, o, "{name}: nothing changed");
        t.xml(
            format!("order: {name}"),
            mutated,
            Expect::Reject(rule, path),
        );
    }
    t.xml(
        "order: buyerRegNo removed",
        remove(&o, "buyerRegNo", 1),
        Expect::Reject("XSD-REQUIRED", "OrderHead/buyerRegNo"),
    );
    let inv_rejects: &[(&str, &str, usize, &str, &str, &str)] = &[
        (
            "packNo of 20 digits",
            "packNo",
            1,
            "99999999999999999999",
            "XSD-FORMAT",
            "InventoryHead/packNo",
        ),
        (
            "packNo 2",
            "packNo",
            1,
            "2",
            "PACK-NO",
            "InventoryHead/packNo",
        ),
        (
            "grossWeight below netWeight",
            "grossWeight",
            1,
            "1",
            "WEIGHT",
            "InventoryHead/grossWeight",
        ),
        (
            "netWeight with 20 digits",
            "netWeight",
            1,
            "12345678901234567890",
            "XSD-DECIMAL",
            "InventoryHead/netWeight",
        ),
        (
            "insuredFee negative",
            "insuredFee",
            1,
            "-0.5",
            "NEGATIVE",
            "InventoryHead/insuredFee",
        ),
        (
            "freight with 7 fraction digits",
            "freight",
            1,
            "1.0000001",
            "XSD-DECIMAL",
            "InventoryHead/freight",
        ),
        (
            "qty1 negative",
            "qty1",
            1,
            "-1",
            "NEGATIVE",
            "InventoryList[1]/qty1",
        ),
        (
            "line price of 10^20",
            "price",
            1,
            "100000000000000000000",
            "XSD-DECIMAL",
            "InventoryList[1]/price",
        ),
        (
            "gcode of 5 digits",
            "gcode",
            1,
            "96190",
            "XSD-LENGTH",
            "InventoryList[1]/gcode",
        ),
        (
            "gcode not digits",
            "gcode",
            1,
            "96190019AB",
            "XSD-FORMAT",
            "InventoryList[1]/gcode",
        ),
        (
            "gcode on the negative list",
            "gcode",
            1,
            "9302000000",
            "NEG-HS",
            "InventoryList[1]/gcode",
        ),
        (
            "gnum duplicated",
            "gnum",
            2,
            "1",
            "GNUM",
            "InventoryList[2]/gnum",
        ),
        (
            "tradeMode 9710",
            "tradeMode",
            1,
            "9710",
            "XSD-ENUM",
            "InventoryHead/tradeMode",
        ),
        (
            "ieFlag E",
            "ieFlag",
            1,
            "E",
            "IE-FLAG",
            "InventoryHead/ieFlag",
        ),
        (
            "declTime of 9 digits",
            "declTime",
            1,
            "202611241",
            "XSD-LENGTH",
            "InventoryHead/declTime",
        ),
        (
            "customsCode 9999",
            "customsCode",
            1,
            "9999",
            "CODE-CUSTOMS",
            "InventoryHead/customsCode",
        ),
    ];
    for (name, element, nth, text, rule, path) in inv_rejects {
        let mutated = set(&inv, element, *nth, text);
        assert_ne!(mutated, inv, "{name}: nothing changed");
        t.xml(
            format!("inventory: {name}"),
            mutated,
            Expect::Reject(rule, path),
        );
    }

    // --- empty payloads -------------------------------------------------------------------------
    t.category("empty payloads");
    t.push(
        "no payload",
        Input::Request(Box::new(v1::SubmitRequest {
            sender: "3301960001".into(),
            idempotency_key: "k".into(),
            payload: None,
        })),
        Expect::Status(
            Code::InvalidArgument,
            "payload: one of ceb_xml, inspection, fx_settlement, tax is required",
        ),
    );
    t.xml(
        "an empty ceb_xml",
        "",
        decode("unexpected end of document", ""),
    );
    t.xml(
        "only whitespace",
        " \n\t\r\n ",
        decode("unexpected end of document", ""),
    );
    t.xml(
        "only an XML declaration",
        decl,
        decode("unexpected end of document", ""),
    );
    t.xml(
        "only a UTF-8 BOM",
        "\u{feff}",
        decode("unexpected end of document", ""),
    );
    t.xml(
        "only a UTF-16LE BOM",
        vec![0xFF, 0xFE],
        decode("unexpected end of document", ""),
    );
    t.xml(
        "only a comment",
        "<!-- nothing -->",
        decode("unexpected end of document", ""),
    );
    t.xml(
        "only a processing instruction",
        "<?pi x?>",
        decode("unexpected end of document", ""),
    );
    t.xml(
        "a single NUL byte",
        vec![0],
        decode("unexpected text \"\\0\"", ""),
    );
    t.xml("a single '<'", "<", decode("tag not closed", ""));
    t.xml(
        "an empty root",
        format!("<ceb:CEB311Message guid=\"0000025B-0000-0000-0000-000000000000\" version=\"1.0\" xmlns:ceb=\"{CEB_NS}\"/>"),
        decode("required element Order is missing", root),
    );
    t.xml(
        "an empty Order block",
        o.replacen(&order_block, "<ceb:Order/>", 1),
        decode(
            "required element OrderHead is missing",
            "CEB311Message/Order[1]",
        ),
    );
    t.xml(
        "an empty OrderHead",
        {
            let r = element_text(&o, "OrderHead", 1);
            format!("{}{}", &o[..r.start], &o[r.end..])
        },
        Expect::Reject("XSD-REQUIRED", "OrderHead/guid"),
    );

    // --- oversize gRPC messages ---------------------------------------------------------------
    t.category("oversize messages");
    let limit = rules().limits.max_message_bytes;
    for (name, size) in [
        ("a payload one byte over max_message_bytes", limit + 1),
        ("a payload of 2 × max_message_bytes", 2 * limit),
    ] {
        t.xml(
            name,
            note(&"x".repeat(size - o.len())),
            Expect::OneOf(
                &[Code::OutOfRange, Code::ResourceExhausted],
                "message length too large",
            ),
        );
    }
    t.push(
        "an oversize message in SubmitStream",
        Input::Stream(vec![xml_request(note(&"x".repeat(limit + 1 - o.len())))]),
        Expect::OneOf(
            &[Code::OutOfRange, Code::ResourceExhausted],
            "message length too large",
        ),
    );
    t.push(
        "a frame that claims 1 GiB",
        Input::Http(frame(0, 1 << 30, b"\x52\x00"), GRPC),
        Expect::OneOf(
            &[Code::OutOfRange, Code::ResourceExhausted],
            "message length too large",
        ),
    );
    t.xml(
        "a payload just under the gRPC limit: the text limit refuses it",
        note(&"x".repeat(limit - 64 - o.len())),
        decode(too_long, note_path),
    );

    // --- garbage protobuf ----------------------------------------------------------------------
    t.category("garbage protobuf");
    let garbage: &[(&str, Vec<u8>, Code, &str)] = &[
        (
            "sixteen 0xFF bytes",
            vec![0xFF; 16],
            Code::Internal,
            "failed to decode Protobuf message",
        ),
        (
            "a truncated varint",
            vec![0x08, 0x80],
            Code::Internal,
            "failed to decode Protobuf message",
        ),
        (
            "ceb_xml longer than the message",
            vec![0x52, 0x10, b'a'],
            Code::Internal,
            "failed to decode Protobuf message",
        ),
        (
            "ceb_xml length of 2^63",
            vec![0x52, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
            Code::Internal,
            "failed to decode Protobuf message",
        ),
        (
            "sender not UTF-8",
            vec![0x0A, 0x02, 0xC3, 0x28],
            Code::Internal,
            "failed to decode Protobuf message",
        ),
        (
            "wire type 7",
            vec![0x0F],
            Code::Internal,
            "failed to decode Protobuf message",
        ),
        (
            "field number 0",
            vec![0x00, 0x01],
            Code::Internal,
            "failed to decode Protobuf message",
        ),
        (
            "a group that never ends",
            vec![0x0B],
            Code::Internal,
            "failed to decode Protobuf message",
        ),
        (
            "ceb_xml as a varint",
            vec![0x50, 0x01],
            Code::Internal,
            "failed to decode Protobuf message",
        ),
        (
            "tax as a varint",
            vec![0x68, 0x01],
            Code::Internal,
            "failed to decode Protobuf message",
        ),
        (
            "a tax message with garbage inside",
            vec![0x6A, 0x03, 0xFF, 0xFF, 0xFF],
            Code::Internal,
            "failed to decode Protobuf message",
        ),
        (
            "a 10-byte varint overflowing u64",
            vec![
                0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F,
            ],
            Code::Internal,
            "failed to decode Protobuf message",
        ),
        (
            "an empty message",
            vec![],
            Code::InvalidArgument,
            "payload: one of",
        ),
        (
            "only an unknown field",
            vec![0xF8, 0x3F, 0x01],
            Code::InvalidArgument,
            "payload: one of",
        ),
        (
            "an XML document as the protobuf",
            o.as_bytes().to_vec(),
            Code::Internal,
            "failed to decode Protobuf message",
        ),
        (
            "ceb_xml that is not XML",
            proto_xml(b"\x00\x01\x02hello"),
            Code::InvalidArgument,
            "unexpected text",
        ),
    ];
    for (name, bytes, code, text) in garbage {
        t.push(
            *name,
            Input::Proto(bytes.clone()),
            Expect::Status(*code, text),
        );
    }
    let valid_frame = proto_xml(order(SEED_BAD, 1).as_bytes());
    let n = valid_frame.len() as u32;
    let raw: &[(&str, Vec<u8>, &str, Code, &str)] = &[
        (
            "compressed flag without grpc-encoding",
            frame(1, n, &valid_frame),
            GRPC,
            Code::Internal,
            "compressed-flag but no grpc-encoding",
        ),
        (
            "compression flag 2",
            frame(2, n, &valid_frame),
            GRPC,
            Code::Internal,
            "invalid compression flag",
        ),
        (
            "a length prefix longer than the body",
            frame(0, n + 100, &valid_frame),
            GRPC,
            Code::Internal,
            "Unexpected EOF decoding stream",
        ),
        (
            "three bytes of a frame header",
            vec![0, 0, 0],
            GRPC,
            Code::Internal,
            "Unexpected EOF decoding stream",
        ),
        (
            "no frame at all",
            vec![],
            GRPC,
            Code::Internal,
            "Missing request message",
        ),
        (
            "two frames in a unary call (tonic takes the first)",
            [frame(0, n, &valid_frame), frame(0, n, &valid_frame)].concat(),
            GRPC,
            Code::Ok,
            "",
        ),
        (
            "garbage inside a well-framed message",
            frame(0, 4, &[0xFF, 0xFF, 0xFF, 0xFF]),
            GRPC,
            Code::Internal,
            "failed to decode Protobuf message",
        ),
        (
            "content-type text/plain (tonic does not check it)",
            frame(0, n, &valid_frame),
            "text/plain",
            Code::Ok,
            "",
        ),
    ];
    for (name, body, content_type, code, text) in raw {
        t.push(
            *name,
            Input::Http(body.clone(), content_type),
            Expect::Status(*code, text),
        );
    }

    // --- typed declarations with bad fields ----------------------------------------------
    t.category("typed declarations");
    typed_cases(&mut t);

    t.cases
}

/// What cutting `text` at byte `at` gives: inside a start or end tag the tag is not closed;
/// anywhere else (text, between tags, inside the XML declaration) the document ended early.
fn cut_error(text: &str, at: usize) -> &'static str {
    let prefix = &text[..at];
    match (prefix.rfind('<'), prefix.rfind('>')) {
        (Some(lt), gt)
            if gt.is_none_or(|gt| gt < lt)
                && !prefix[lt..].starts_with("<?")
                && !prefix[lt..].starts_with("<!") =>
        {
            "malformed XML: syntax error: tag not closed"
        }
        _ => "unexpected end of document",
    }
}

/// A typed declaration; every case has its own idempotency key (`key`).
fn typed(key: &str, payload: Payload) -> v1::SubmitRequest {
    v1::SubmitRequest {
        sender: "3301960001".into(),
        idempotency_key: format!("bad-input {key}"),
        payload: Some(payload),
    }
}

fn typed_cases(t: &mut Table) {
    type TaxEdit = fn(&mut v1::TaxDeclaration);
    let tax: &[FieldCase<TaxEdit>] = &[
        (
            "freight 'ten'",
            |p| p.freight = "ten".into(),
            &[("Tax/freight", "XSD-FORMAT")],
        ),
        (
            "freight with 6 fraction digits",
            |p| p.freight = "1.000001".into(),
            &[("Tax/freight", "XSD-DECIMAL")],
        ),
        (
            "freight of 20 digits",
            |p| p.freight = "12345678901234567890".into(),
            &[("Tax/freight", "XSD-DECIMAL")],
        ),
        (
            "insuredFee empty",
            |p| p.insured_fee.clear(),
            &[("Tax/insuredFee", "XSD-REQUIRED")],
        ),
        (
            "customsTax NaN",
            |p| p.customs_tax = "NaN".into(),
            &[("Tax/customsTax", "XSD-FORMAT")],
        ),
        (
            "valueAddedTax in exponent notation",
            |p| p.value_added_tax = "2.238e1".into(),
            &[("Tax/valueAddedTax", "XSD-FORMAT")],
        ),
        (
            "consumptionTax empty",
            |p| p.consumption_tax.clear(),
            &[("Tax/consumptionTax", "XSD-REQUIRED")],
        ),
        (
            "assureCode empty",
            |p| p.assure_code.clear(),
            &[("Tax/assureCode", "XSD-REQUIRED")],
        ),
        (
            // The schema allows 30 characters for assureCode (18 for the other codes).
            "assureCode of 31 characters",
            |p| p.assure_code = "3301960001330196000133019600013".into(),
            &[("Tax/assureCode", "XSD-LENGTH")],
        ),
        (
            "no shipment",
            |p| p.shipment = None,
            &[
                ("Tax/shipment.ebpCode", "XSD-REQUIRED"),
                ("Tax/shipment.orderNo", "XSD-REQUIRED"),
            ],
        ),
        (
            "line gcode of 8 digits",
            |p| p.lines[0].gcode = "33049900".into(),
            &[("TaxLine[1]/gcode", "XSD-FORMAT")],
        ),
        (
            "line goodsValue with 6 fraction digits",
            |p| p.lines[0].goods_value = "1.000001".into(),
            &[("TaxLine[1]/goodsValue", "XSD-DECIMAL")],
        ),
        (
            "line customsTax empty",
            |p| p.lines[0].customs_tax.clear(),
            &[("TaxLine[1]/customsTax", "XSD-REQUIRED")],
        ),
        (
            "every money field broken",
            |p| {
                p.freight = "x".into();
                p.insured_fee = "y".into();
                p.customs_tax = "z".into();
            },
            &[
                ("Tax/freight", "XSD-FORMAT"),
                ("Tax/insuredFee", "XSD-FORMAT"),
                ("Tax/customsTax", "XSD-FORMAT"),
            ],
        ),
    ];
    for (name, edit, fields) in tax {
        let mut pb = tax_pb();
        edit(&mut pb);
        t.push(
            format!("tax: {name}"),
            Input::Request(Box::new(typed(name, Payload::Tax(pb)))),
            Expect::Fields(fields.to_vec()),
        );
    }
    type FxEdit = fn(&mut v1::FxSettlement);
    let fx: &[FieldCase<FxEdit>] = &[
        (
            "payerIdType 3",
            |p| p.payer_id_type = "3".into(),
            &[("FxSettlement/payerIdType", "XSD-ENUM")],
        ),
        (
            "settleTime with dashes",
            |p| p.settle_time = "2026-11-24".into(),
            &[("FxSettlement/settleTime", "XSD-FORMAT")],
        ),
        (
            "rate empty",
            |p| p.rate.clear(),
            &[("FxSettlement/rate", "XSD-REQUIRED")],
        ),
        (
            "settleCurrency of 2 letters",
            |p| p.settle_currency = "US".into(),
            &[("FxSettlement/settleCurrency", "XSD-FORMAT")],
        ),
        (
            "amountCny with 20 digits",
            |p| p.amount_cny = "12345678901234567890".into(),
            &[("FxSettlement/amountCny", "XSD-DECIMAL")],
        ),
        (
            "settleAmount a dash",
            |p| p.settle_amount = "-".into(),
            &[("FxSettlement/settleAmount", "XSD-FORMAT")],
        ),
        (
            "payCode empty",
            |p| p.pay_code.clear(),
            &[("FxSettlement/payCode", "XSD-REQUIRED")],
        ),
        (
            "payerName empty",
            |p| p.payer_name.clear(),
            &[("FxSettlement/payerName", "XSD-REQUIRED")],
        ),
        (
            "payerIdNumber empty",
            |p| p.payer_id_number.clear(),
            &[("FxSettlement/payerIdNumber", "XSD-REQUIRED")],
        ),
        (
            "payTransactionId of 100000 characters",
            |p| p.pay_transaction_id = "P".repeat(100_000),
            &[("FxSettlement/payTransactionId", "XSD-LENGTH")],
        ),
        (
            "payerName of 100000 characters",
            |p| p.payer_name = "张".repeat(100_000),
            &[("FxSettlement/payerName", "XSD-LENGTH")],
        ),
        (
            "shipment orderNo empty",
            |p| p.shipment.as_mut().unwrap().order_no.clear(),
            &[("FxSettlement/shipment.orderNo", "XSD-REQUIRED")],
        ),
    ];
    for (name, edit, fields) in fx {
        let mut pb = fx_pb();
        edit(&mut pb);
        t.push(
            format!("fx: {name}"),
            Input::Request(Box::new(typed(name, Payload::FxSettlement(pb)))),
            Expect::Fields(fields.to_vec()),
        );
    }
    type InspectionEdit = fn(&mut v1::InspectionDeclaration);
    let inspection: &[FieldCase<InspectionEdit>] = &[
        (
            "unit of 2 digits",
            |p| p.lines[0].unit = "07".into(),
            &[("InspectionLine[1]/unit", "XSD-FORMAT")],
        ),
        (
            "qty 'two'",
            |p| p.lines[0].qty = "two".into(),
            &[("InspectionLine[1]/qty", "XSD-FORMAT")],
        ),
        (
            "origin of 4 digits",
            |p| p.lines[0].origin = "5020".into(),
            &[("InspectionLine[1]/origin", "XSD-FORMAT")],
        ),
        (
            "appTime month 13",
            |p| p.app_time = "20261324080000".into(),
            &[("Inspection/appTime", "XSD-FORMAT")],
        ),
        (
            "declarant empty",
            |p| p.declarant.clear(),
            &[("Inspection/declarant", "XSD-REQUIRED")],
        ),
        (
            "gname empty",
            |p| p.lines[0].gname.clear(),
            &[("InspectionLine[1]/gname", "XSD-REQUIRED")],
        ),
        (
            "gcode with letters",
            |p| p.lines[0].gcode = "19011010AB".into(),
            &[("InspectionLine[1]/gcode", "XSD-FORMAT")],
        ),
    ];
    for (name, edit, fields) in inspection {
        let mut pb = inspection_pb();
        edit(&mut pb);
        t.push(
            format!("inspection: {name}"),
            Input::Request(Box::new(typed(name, Payload::Inspection(pb)))),
            Expect::Fields(fields.to_vec()),
        );
    }
    let key_rule = "idempotency_key and sender: both are required";
    t.push(
        "typed: no idempotency key",
        Input::Request(Box::new(v1::SubmitRequest {
            idempotency_key: String::new(),
            ..typed("no key", Payload::Tax(tax_pb()))
        })),
        Expect::Status(Code::InvalidArgument, key_rule),
    );
    t.push(
        "typed: no sender",
        Input::Request(Box::new(v1::SubmitRequest {
            sender: String::new(),
            ..typed("no sender", Payload::FxSettlement(fx_pb()))
        })),
        Expect::Status(Code::InvalidArgument, key_rule),
    );
}

// ---------------------------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------------------------

/// What came back.
enum Got {
    Reply(v1::SubmitReply),
    Error(Status),
    Hang,
}

impl Got {
    fn describe(&self) -> String {
        match self {
            Got::Hang => format!("no answer within {CALL_TIMEOUT:?}"),
            Got::Error(s) => {
                let details = s.get_error_details();
                let fields: Vec<String> = details
                    .bad_request()
                    .map(|b| {
                        b.field_violations
                            .iter()
                            .map(|v| format!("{} = {}", v.field, v.description))
                            .collect()
                    })
                    .unwrap_or_default();
                format!("{:?} {:?} {fields:?}", s.code(), clip(s.message()))
            }
            Got::Reply(r) => {
                let blocks: Vec<String> = r
                    .blocks
                    .iter()
                    .take(3)
                    .map(|b| {
                        let v: Vec<String> = b
                            .violations
                            .iter()
                            .map(|v| format!("{} {} = {}", v.rule, v.path, clip(&v.value)))
                            .collect();
                        format!("{:?} {v:?}", outcome(b))
                    })
                    .collect();
                format!("OK {} blocks: {blocks:?}", r.blocks.len())
            }
        }
    }
}

fn clip(s: &str) -> String {
    if s.len() <= 300 {
        return s.to_owned();
    }
    let mut end = 300;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn outcome(block: &v1::BlockOutcome) -> Outcome {
    Outcome::try_from(block.outcome).unwrap_or(Outcome::Unspecified)
}

/// `None` when `got` is what `expect` says, else why not.
fn mismatch(expect: &Expect, got: &Got) -> Option<String> {
    let status = |codes: &[Code], text: &str| -> Option<String> {
        match got {
            Got::Error(s) if codes.contains(&s.code()) && s.message().contains(text) => None,
            _ => Some(format!("expected {codes:?} with {text:?}")),
        }
    };
    match expect {
        Expect::Status(code, text) => status(&[*code], text),
        Expect::OneOf(codes, text) => status(codes, text),
        Expect::Decode(text, path) => {
            let Got::Error(s) = got else {
                return Some(format!("expected a decoding failure {text:?} at {path:?}"));
            };
            let details = s.get_error_details();
            let field = details
                .bad_request()
                .and_then(|b| b.field_violations.first())
                .map(|v| v.field.clone());
            let ceb900 = details
                .debug_info()
                .is_some_and(|d| d.detail.contains("CEB900Message"));
            let want_field = if path.is_empty() {
                "(document)"
            } else {
                path.as_str()
            };
            let field_ok = field.as_deref().is_some_and(|f| {
                if path == ANY_PATH {
                    true
                } else if path.is_empty() {
                    f == want_field
                } else {
                    f.starts_with(want_field)
                }
            });
            if s.code() == Code::InvalidArgument
                && s.message().contains(text.as_str())
                && field_ok
                && ceb900
            {
                None
            } else {
                Some(format!(
                    "expected INVALID_ARGUMENT {text:?} at {want_field:?} with a CEB900 (CEB900: {ceb900})"
                ))
            }
        }
        Expect::Reject(rule, path) => match got {
            Got::Reply(r)
                if r.blocks.first().is_some_and(|b| {
                    outcome(b) == Outcome::Rejected
                        && b.violations
                            .iter()
                            .any(|v| v.rule == *rule && v.path == *path)
                }) =>
            {
                None
            }
            _ => Some(format!("expected block 1 REJECTED with {rule} at {path}")),
        },
        Expect::Fields(fields) => {
            let Got::Error(s) = got else {
                return Some(format!("expected invalid fields {fields:?}"));
            };
            let details = s.get_error_details();
            let named: Vec<(String, String)> = details
                .bad_request()
                .map(|b| {
                    b.field_violations
                        .iter()
                        .map(|v| (v.field.clone(), v.description.clone()))
                        .collect()
                })
                .unwrap_or_default();
            let all = fields.iter().all(|(field, rule)| {
                named
                    .iter()
                    .any(|(f, d)| f == field && d.starts_with(&format!("[{rule}]")))
            });
            if s.code() == Code::InvalidArgument
                && s.message() == "invalid declaration fields"
                && all
                && named.len() == fields.len()
            {
                None
            } else {
                Some(format!("expected exactly the invalid fields {fields:?}"))
            }
        }
    }
}

/// Raw bytes in and out of a gRPC call: the request bytes are the protobuf message as is.
#[derive(Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

/// An HTTP body of one chunk.
struct Once(Option<Bytes>);

impl http_body::Body for Once {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.take().map(|b| Ok(http_body::Frame::data(b))))
    }
}

/// POSTs `body` to `Submit` as it is; the grpc-status of the answer (headers or trailers).
async fn raw_http(url: &str, channel: &Channel, body: Vec<u8>, content_type: &str) -> Status {
    let mut svc = channel.clone();
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("{url}{SUBMIT}"))
        .header("content-type", content_type)
        .header("te", "trailers")
        .body(tonic::body::Body::new(Once(Some(Bytes::from(body)))))
        .expect("a valid request");
    if let Err(e) = poll_fn(|cx| tower::Service::poll_ready(&mut svc, cx)).await {
        return Status::unavailable(format!("channel: {e}"));
    }
    let response = match tower::Service::call(&mut svc, request).await {
        Ok(r) => r,
        Err(e) => return Status::unavailable(format!("transport: {e}")),
    };
    let (parts, mut body) = response.into_parts();
    if let Some(status) = Status::from_header_map(&parts.headers) {
        return status;
    }
    loop {
        match poll_fn(|cx| http_body::Body::poll_frame(Pin::new(&mut body), cx)).await {
            None => break,
            Some(Err(e)) => return Status::unavailable(format!("body: {e}")),
            Some(Ok(frame)) => {
                if let Ok(trailers) = frame.into_trailers() {
                    if let Some(status) = Status::from_header_map(&trailers) {
                        return status;
                    }
                }
            }
        }
    }
    Status::unknown(format!("HTTP {} without a grpc-status", parts.status))
}

async fn send(running: &node::Running, input: &Input) -> Got {
    let mut client = running.gateway.clone();
    let call = async {
        match input {
            Input::Xml(xml) => match client.submit(xml_request(xml.clone())).await {
                Ok(r) => Got::Reply(r.into_inner()),
                Err(s) => Got::Error(s),
            },
            Input::Request(request) => match client.submit((**request).clone()).await {
                Ok(r) => Got::Reply(r.into_inner()),
                Err(s) => Got::Error(s),
            },
            Input::Stream(requests) => {
                let mut replies = match client
                    .submit_stream(tokio_stream::iter(requests.clone()))
                    .await
                {
                    Ok(r) => r.into_inner(),
                    Err(s) => return Got::Error(s),
                };
                let mut last = None;
                loop {
                    match replies.message().await {
                        Ok(Some(reply)) => last = Some(reply),
                        Ok(None) => break,
                        Err(s) => return Got::Error(s),
                    }
                }
                match last {
                    Some(reply) => Got::Reply(reply),
                    None => Got::Error(Status::ok("the stream ended without a reply")),
                }
            }
            Input::Proto(bytes) => {
                let mut grpc = tonic::client::Grpc::new(running.channel.clone());
                if let Err(e) = grpc.ready().await {
                    return Got::Error(Status::unavailable(e.to_string()));
                }
                let path = http::uri::PathAndQuery::from_static(SUBMIT);
                match grpc
                    .unary(tonic::Request::new(bytes.clone()), path, RawCodec)
                    .await
                {
                    Ok(r) => match v1::SubmitReply::decode(r.into_inner().as_slice()) {
                        Ok(reply) => Got::Reply(reply),
                        Err(e) => Got::Error(Status::unknown(format!("reply: {e}"))),
                    },
                    Err(s) => Got::Error(s),
                }
            }
            Input::Http(body, content_type) => Got::Error(
                raw_http(
                    &running.node.url,
                    &running.channel,
                    body.clone(),
                    content_type,
                )
                .await,
            ),
        }
    };
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .unwrap_or(Got::Hang)
}

/// The gateway answers and accepts a fresh valid order (shipment `n` of `SEED_ALIVE`). A
/// connection the last case broke is re-established first (the channel reconnects): what must
/// hold is that the server is up, not that one connection survived.
async fn assert_alive(running: &node::Running, n: u64, after: &str) {
    let mut client = running.gateway.clone();
    let mut attempt = 0;
    let reply = loop {
        attempt += 1;
        let sent = tokio::time::timeout(
            CALL_TIMEOUT,
            client.submit(xml_request(order(SEED_ALIVE, n))),
        )
        .await
        .unwrap_or_else(|_| panic!("the gateway hangs after {after:?}"));
        match sent {
            Ok(reply) => break reply.into_inner(),
            Err(s)
                if attempt < 5
                    && matches!(
                        s.code(),
                        Code::Unavailable | Code::Cancelled | Code::Unknown
                    ) =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(s) => panic!("the gateway refuses a valid order after {after:?}: {s:?}"),
        }
    };
    assert_eq!(
        reply.blocks.iter().map(outcome).collect::<Vec<_>>(),
        [Outcome::Accepted],
        "a fresh valid order after {after:?}: {reply:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_gets_its_specific_error_and_the_gateway_survives() {
    let started = Instant::now();
    let running = node::start().await;
    let mut client = running.gateway.clone();

    // What is accepted first must still be there at the end.
    let kept: Vec<Vec<u8>> = (0..KEPT)
        .flat_map(|n| synth::shipment_messages(SEED_KEPT, n, rules()))
        .map(|(_, m)| encode(&m).into_bytes())
        .collect();
    for xml in &kept {
        let reply = client
            .submit(xml_request(xml.clone()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            reply.blocks.iter().map(outcome).collect::<Vec<_>>(),
            [Outcome::Accepted],
            "{reply:?}"
        );
    }

    let cases = table();
    let probe = std::env::var_os("BAD_INPUT_PROBE").is_some();
    let mut failures = Vec::new();
    let mut per_category: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, case) in cases.iter().enumerate() {
        *per_category.entry(case.category).or_default() += 1;
        let got = send(&running, &case.input).await;
        if probe {
            eprintln!("[{}] {}: {}", case.category, case.name, got.describe());
        }
        if let Some(why) = mismatch(&case.expect, &got) {
            failures.push(format!(
                "[{}] {}: {why}; got {}",
                case.category,
                case.name,
                got.describe()
            ));
        }
        if (i + 1) % BATCH == 0
            || i + 1 == cases.len()
            || matches!(got, Got::Hang)
            || matches!(&got, Got::Error(s) if s.message().contains("h2 protocol error"))
        {
            assert_alive(&running, i as u64, &case.name).await;
        }
    }

    // Nothing accepted before is lost: every block is a repeat, every shipment is on file.
    for xml in &kept {
        let reply = client
            .submit(xml_request(xml.clone()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            reply.blocks.iter().map(outcome).collect::<Vec<_>>(),
            [Outcome::Repeat],
            "{reply:?}"
        );
    }
    for n in 0..KEPT {
        let view = client
            .get_shipment(v1::GetShipmentRequest {
                shipment: Some(v1::ShipmentKey {
                    ebp_code: synth::PLATFORM.to_owned(),
                    order_no: format!("SW{SEED_KEPT:04}{n:012}"),
                }),
            })
            .await
            .unwrap_or_else(|s| panic!("shipment {n} of the first ones: {s:?}"))
            .into_inner();
        let kinds: Vec<&str> = view.documents.iter().map(|d| d.kind.as_str()).collect();
        for kind in ["order", "payment", "waybill", "inventory"] {
            assert!(
                kinds.contains(&kind),
                "shipment {n} lost its {kind}: {kinds:?}"
            );
        }
    }

    eprintln!(
        "bad-input corpus: {} cases, {} categories ({:.1} s)",
        cases.len(),
        per_category.len(),
        started.elapsed().as_secs_f64()
    );
    for (category, n) in &per_category {
        eprintln!("  {category}: {n}");
    }
    assert!(cases.len() >= 200, "only {} cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn case_names_are_unique() {
    let cases = table();
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(names.len(), before, "duplicate case names");
}
