//! Property tests of the CEB decoder: it never panics on hostile or damaged input, every error
//! it reports has a usable position, and encode → decode round-trips domain values exactly
//! (including XML special characters and GBK-encoded messages).

use std::borrow::Cow;
use std::sync::LazyLock;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use single_window::ceb::encode::encode;
use single_window::ceb::{decode, decode_str, DecodeError, DecodeErrorKind, Limits};
use single_window::domain::{Body, Document, Message, MessageKind, Text};
use single_window::rules::Rules;
use single_window::synth;

static RULES: LazyLock<Rules> = LazyLock::new(|| Rules::embedded().expect("embedded rules load"));

const GUID: &str = "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0";

fn limits() -> Limits {
    RULES.limits
}

/// `cases` per property (`PROPTEST_CASES` overrides it, for longer hunts); no file of failing
/// cases is written next to this test.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// An official sample with the byte offsets of its root element.
struct Sample {
    name: String,
    bytes: Vec<u8>,
    /// Offset just past the `>` of the root start tag.
    body_start: usize,
    /// Offset of the `<` of the root end tag.
    body_end: usize,
    /// The message kind, for the import samples.
    kind: Option<MessageKind>,
    /// `ceb:` or the empty prefix the sample uses.
    prefix: &'static str,
}

impl Sample {
    fn text(&self) -> &str {
        std::str::from_utf8(&self.bytes).expect("the samples are UTF-8")
    }
}

static SAMPLES: LazyLock<Vec<Sample>> = LazyLock::new(|| {
    let mut samples = Vec::new();
    for dir in ["../shared/ceb/import", "../shared/ceb/export"] {
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|entry| entry.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "xml"))
            .collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).expect("sample is readable");
            let text = std::str::from_utf8(&bytes).expect("sample is UTF-8");
            let open = text
                .match_indices('<')
                .map(|(i, _)| i)
                .find(|&i| !text[i + 1..].starts_with(['?', '!']))
                .expect("a root element");
            let body_start = open + text[open..].find('>').expect("root start tag ends") + 1;
            let body_end = text.rfind("</").expect("root end tag");
            let qname: String = text[open + 1..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '>')
                .collect();
            let (prefix, local) = match qname.strip_prefix("ceb:") {
                Some(local) => ("ceb:", local.to_owned()),
                None => ("", qname.clone()),
            };
            samples.push(Sample {
                name: path.file_name().unwrap().to_string_lossy().into_owned(),
                bytes: bytes.clone(),
                body_start,
                body_end,
                kind: MessageKind::from_root(local.as_bytes()),
                prefix,
            });
        }
    }
    assert_eq!(samples.len(), 22, "16 import and 6 export samples");
    samples
});

fn import_samples() -> Vec<&'static Sample> {
    SAMPLES.iter().filter(|s| s.kind.is_some()).collect()
}

fn line_count(bytes: &[u8]) -> u32 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u32 + 1
}

/// The checks every decoding result must pass: an error has a 1-based position inside the
/// document, and a path when it arose inside the root element (encoding errors are found
/// before any XML is read and carry no path).
fn check_result(
    bytes: &[u8],
    result: &Result<Message<'static>, DecodeError>,
    inside_root: bool,
) -> Result<(), TestCaseError> {
    let Err(e) = result else {
        return Ok(());
    };
    prop_assert!(e.line >= 1 && e.column >= 1, "position {e:?}");
    prop_assert!(e.line <= line_count(bytes), "line past the end: {e:?}");
    let before_xml = matches!(
        e.kind,
        DecodeErrorKind::Encoding(_) | DecodeErrorKind::TooLarge { .. }
    );
    if inside_root && !before_xml {
        prop_assert!(
            !e.path.is_empty(),
            "no path for an error in the root: {e:?}"
        );
    }
    prop_assert!(!e.to_string().is_empty());
    Ok(())
}

/// Single-line leaf elements (`<ceb:x>…</ceb:x>` or `<x>…</x>`, not `ds:`): line index and name.
fn leaf_lines(sample: &Sample) -> Vec<(usize, String)> {
    sample
        .text()
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let t = line.trim();
            let inner = t.strip_prefix('<')?;
            let name_end = inner.find('>')?;
            let qname = &inner[..name_end];
            let local = qname.strip_prefix(sample.prefix)?;
            if local.is_empty() || local.contains([':', ' ', '/']) {
                return None;
            }
            let rest = &inner[name_end + 1..];
            let close = format!("</{qname}>");
            let text = rest.strip_suffix(close.as_str())?;
            (!text.contains('<')).then(|| (i, local.to_owned()))
        })
        .collect()
}

#[derive(Debug, Clone)]
enum ByteEdit {
    Flip(Index, u8),
    Insert(Index, u8),
    Delete(Index),
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        (any::<Index>(), 1..=255u8).prop_map(|(i, x)| ByteEdit::Flip(i, x)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| ByteEdit::Insert(i, b)),
        any::<Index>().prop_map(ByteEdit::Delete),
    ]
}

/// XML-ish fragments for documents that get past the root start tag.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("<ceb:Order>".to_owned()),
        Just("</ceb:Order>".to_owned()),
        Just("<ceb:OrderHead>".to_owned()),
        Just("</ceb:OrderHead>".to_owned()),
        Just("<ceb:OrderHead/>".to_owned()),
        Just("<ceb:OrderList/>".to_owned()),
        Just("<ceb:OrderList>".to_owned()),
        Just("</ceb:OrderList>".to_owned()),
        Just("<ceb:note>".to_owned()),
        Just("</ceb:note>".to_owned()),
        Just("<ceb:gnum>1</ceb:gnum>".to_owned()),
        Just("<ceb:BaseTransfer>".to_owned()),
        Just("</ceb:BaseTransfer>".to_owned()),
        Just("<ceb:BaseSubscribe/>".to_owned()),
        Just("<ceb:ExtendMessage>".to_owned()),
        Just("</ceb:ExtendMessage>".to_owned()),
        Just("<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">".to_owned()),
        Just("</ds:Signature>".to_owned()),
        Just("<x:y xmlns:x=\"urn:x\">".to_owned()),
        Just("</x:y>".to_owned()),
        Just("&amp;".to_owned()),
        Just("&foo;".to_owned()),
        Just("&#0;".to_owned()),
        Just("&#x1F600;".to_owned()),
        Just("<![CDATA[a]]>".to_owned()),
        Just("<!-- c -->".to_owned()),
        Just("<?pi x?>".to_owned()),
        Just("<!DOCTYPE x>".to_owned()),
        Just("<?xml version=\"1.0\"?>".to_owned()),
        Just("\n\t".to_owned()),
        Just("</ceb:CEB311Message>".to_owned()),
        "[a-z<>&;/\"'= \u{4e2d}]{0,8}",
    ]
}

const ROOT_311: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ceb:CEB311Message \
     guid=\"0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0\" version=\"1.0\" \
     xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\">";

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let result = decode(&bytes, &limits());
        check_result(&bytes, &result, false)?;
    }

    #[test]
    fn arbitrary_bytes_inside_a_root_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..2048),
        close in any::<bool>(),
    ) {
        let mut bytes = ROOT_311.as_bytes().to_vec();
        bytes.extend_from_slice(&body);
        if close {
            bytes.extend_from_slice(b"</ceb:CEB311Message>");
        }
        let result = decode(&bytes, &limits());
        check_result(&bytes, &result, true)?;
    }

    #[test]
    fn xml_fragments_inside_a_root_never_panic(
        parts in prop::collection::vec(fragment(), 0..64),
    ) {
        let doc = format!("{ROOT_311}{}", parts.concat());
        let result = decode(doc.as_bytes(), &limits());
        check_result(doc.as_bytes(), &result, true)?;
        // Text input goes the same way.
        let from_str = decode_str(&doc, &limits()).map(Message::into_owned);
        prop_assert_eq!(from_str, result);
    }

    #[test]
    fn truncated_samples_never_panic(sample in any::<Index>(), cut in any::<Index>()) {
        let sample = sample.get(&SAMPLES);
        let cut = cut.index(sample.bytes.len() + 1);
        let bytes = &sample.bytes[..cut];
        let result = decode(bytes, &limits());
        let inside = cut > sample.body_start && cut <= sample.body_end;
        check_result(bytes, &result, inside)?;
        if inside {
            prop_assert!(result.is_err(), "{} cut at {cut} decoded", sample.name);
        }
    }

    #[test]
    fn byte_edited_samples_never_panic(
        sample in any::<Index>(),
        edits in prop::collection::vec(byte_edit(), 1..8),
    ) {
        let sample = sample.get(&SAMPLES);
        let (lo, hi) = (sample.body_start + 1, sample.body_end);
        // Apply from the back so that earlier offsets stay inside the root's content.
        let mut at: Vec<(usize, ByteEdit)> = edits
            .into_iter()
            .map(|e| {
                let i = match &e {
                    ByteEdit::Flip(i, _) | ByteEdit::Insert(i, _) | ByteEdit::Delete(i) => i,
                };
                (lo + i.index(hi - lo), e)
            })
            .collect();
        at.sort_by_key(|(pos, _)| std::cmp::Reverse(*pos));
        let mut bytes = sample.bytes.clone();
        for (pos, edit) in at {
            match edit {
                ByteEdit::Flip(_, x) => bytes[pos] ^= x,
                ByteEdit::Insert(_, b) => bytes.insert(pos, b),
                ByteEdit::Delete(_) => {
                    bytes.remove(pos);
                }
            }
        }
        let result = decode(&bytes, &limits());
        check_result(&bytes, &result, true)?;
    }

    #[test]
    fn duplicated_leaf_line_is_too_many(sample in any::<Index>(), line in any::<Index>()) {
        let sample = *sample.get(&import_samples());
        let leaves = leaf_lines(sample);
        prop_assume!(!leaves.is_empty());
        let (at, name) = line.get(&leaves).clone();
        let lines: Vec<&str> = sample.text().split('\n').collect();
        let mut edited: Vec<&str> = lines.clone();
        edited.insert(at + 1, lines[at]);
        let doc = edited.join("\n");
        let result = decode(doc.as_bytes(), &limits());
        check_result(doc.as_bytes(), &result, true)?;
        let e = result.expect_err("a duplicated element is refused");
        prop_assert!(
            matches!(&e.kind, DecodeErrorKind::TooMany { name: n, max: 1 } if *n == name),
            "{}: line {} ({name}) duplicated: {e:?}", sample.name, at + 1
        );
        prop_assert_eq!(e.line as usize, at + 2, "{:?}", e);
        let column = lines[at].chars().take_while(|c| *c != '<').count() + 1;
        prop_assert_eq!(e.column as usize, column, "{:?}", e);
        prop_assert!(e.path.starts_with(sample.kind.unwrap().root()), "{:?}", e);
    }

    #[test]
    fn dropped_leaf_line_still_decodes(sample in any::<Index>(), line in any::<Index>()) {
        let sample = *sample.get(&import_samples());
        let leaves = leaf_lines(sample);
        prop_assume!(!leaves.is_empty());
        let (at, name) = line.get(&leaves).clone();
        let mut lines: Vec<&str> = sample.text().split('\n').collect();
        lines.remove(at);
        let doc = lines.join("\n");
        let original = decode(&sample.bytes, &limits()).expect("the import samples decode");
        let message = decode(doc.as_bytes(), &limits())
            .map_err(|e| TestCaseError::fail(format!("{}: {name} dropped: {e}", sample.name)))?;
        prop_assert_eq!(message.blocks.len(), original.blocks.len());
        prop_assert_eq!(message.kind, original.kind);
    }

    #[test]
    fn repeated_blocks_are_counted(sample in any::<Index>(), copies in 1..=130usize) {
        let sample = *sample.get(&import_samples());
        let kind = sample.kind.unwrap();
        let text = sample.text();
        let open = format!("<{}{}>", sample.prefix, kind.block());
        let close = format!("</{}{}>", sample.prefix, kind.block());
        let first = text.find(&open).expect("a block");
        let first_end = first + text[first..].find(&close).expect("its end") + close.len();
        let last_end = text.rfind(&close).expect("a last block") + close.len();
        let block = &text[first..first_end];
        let doc = format!("{}{}{}", &text[..first], block.repeat(copies), &text[last_end..]);
        let result = decode(doc.as_bytes(), &limits());
        check_result(doc.as_bytes(), &result, true)?;
        let max = kind.max_blocks().min(limits().max_blocks);
        if copies <= max {
            let message = result.map_err(|e| TestCaseError::fail(format!("{}: {e}", sample.name)))?;
            prop_assert_eq!(message.blocks.len(), copies);
        } else {
            let e = result.expect_err("too many blocks");
            prop_assert!(
                matches!(&e.kind, DecodeErrorKind::TooMany { name, max: m } if name == kind.block() && *m == max),
                "{}: {e:?}", sample.name
            );
            prop_assert_eq!(e.path.as_str(), kind.root());
            let offending = first + max * block.len();
            prop_assert_eq!(e.line, line_count(&doc.as_bytes()[..offending]));
        }
    }
}

fn round_trip(kind: MessageKind, document: Document<'static>) -> Result<(), TestCaseError> {
    let message = synth::message(kind, GUID, synth::PLATFORM, vec![document.clone()]);
    let xml = encode(&message);
    let back = decode(xml.as_bytes(), &limits())
        .map_err(|e| TestCaseError::fail(format!("{kind:?}: {e}\n{xml}")))?;
    prop_assert_eq!(back.blocks.len(), 1);
    prop_assert!(
        back.blocks[0].defects.is_empty(),
        "{:?}: defects {:?}",
        kind,
        back.blocks[0].defects
    );
    prop_assert!(
        back.envelope_defects.is_empty(),
        "{:?}",
        back.envelope_defects
    );
    prop_assert_eq!(&back.blocks[0].body, &Body::Ceb(document));
    prop_assert_eq!(back, message);
    Ok(())
}

/// Text with every character that XML escapes, plus whitespace, CJK and emoji.
fn special_text(max: usize) -> impl Strategy<Value = String> {
    let alphabet: Vec<char> = "&<>\"'&;#]x 中文测試😀🇨🇳\t\n".chars().collect();
    prop::collection::vec(prop::sample::select(alphabet), 1..=max)
        .prop_map(|chars| chars.into_iter().collect())
}

/// Text that GBK can carry: ASCII and common CJK characters.
fn gbk_text(max: usize) -> impl Strategy<Value = String> {
    let alphabet: Vec<char> = "张三李四王五赵六测试企业东方物通科技北京有限公司浙江省杭州市西湖区\
         文路号备注订单 aZ09-_.,()&<>\"'"
        .chars()
        .collect();
    prop::collection::vec(prop::sample::select(alphabet), 1..=max)
        .prop_map(|chars| chars.into_iter().collect())
}

fn text(s: &str) -> Option<Text<'static>> {
    Some(Text(Cow::Owned(s.to_owned())))
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn synthetic_documents_round_trip(seed in any::<u64>(), n in 0..1_000_000u64) {
        let shipment = synth::shipment(seed, n, &RULES);
        round_trip(MessageKind::Ceb311, Document::Order(shipment.order))?;
        round_trip(MessageKind::Ceb411, Document::Payment(shipment.payment))?;
        round_trip(MessageKind::Ceb511, Document::Logistics(shipment.logistics))?;
        round_trip(MessageKind::Ceb621, Document::Inventory(shipment.inventory))?;
    }

    #[test]
    fn special_characters_in_free_text_round_trip(
        seed in any::<u64>(),
        note in special_text(40),
        buyer in special_text(20),
        item in special_text(20),
    ) {
        let mut order = synth::shipment(seed, 7, &RULES).order;
        order.head.note = text(&note);
        order.head.buyer_name = text(&buyer);
        order.items[0].item_name = text(&item);
        let message = synth::message(
            MessageKind::Ceb311,
            GUID,
            synth::PLATFORM,
            vec![Document::Order(order.clone())],
        );
        let xml = encode(&message);
        let back = decode(xml.as_bytes(), &limits())
            .map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        let borrowed = decode_str(&xml, &limits())
            .map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        prop_assert_eq!(&borrowed.clone().into_owned(), &back);
        let Body::Ceb(Document::Order(decoded)) = &back.blocks[0].body else {
            return Err(TestCaseError::fail("not an order"));
        };
        prop_assert_eq!(decoded.head.note.as_ref().map(Text::as_str), Some(note.as_str()));
        prop_assert_eq!(decoded.head.buyer_name.as_ref().map(Text::as_str), Some(buyer.as_str()));
        prop_assert_eq!(decoded.items[0].item_name.as_ref().map(Text::as_str), Some(item.as_str()));
        prop_assert!(back.blocks[0].defects.is_empty(), "{:?}", back.blocks[0].defects);
        prop_assert_eq!(&back.blocks[0].body, &Body::Ceb(Document::Order(order)));
        prop_assert_eq!(back, message);
    }

    #[test]
    fn gbk_message_decodes_like_utf8(
        seed in any::<u64>(),
        n in 0..1_000_000u64,
        note in gbk_text(60),
        buyer in gbk_text(20),
        address in gbk_text(60),
    ) {
        let mut order = synth::shipment(seed, n, &RULES).order;
        order.head.note = text(&note);
        order.head.buyer_name = text(&buyer);
        order.head.consignee_address = text(&address);
        let message = synth::message(
            MessageKind::Ceb311,
            GUID,
            synth::PLATFORM,
            vec![Document::Order(order)],
        );
        let xml = encode(&message);
        let declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
        prop_assert!(xml.starts_with(declaration));
        let gbk_xml = xml.replacen(declaration, "<?xml version=\"1.0\" encoding=\"GBK\"?>", 1);
        let (gbk, _, unmappable) = encoding_rs::GBK.encode(&gbk_xml);
        prop_assert!(!unmappable);
        prop_assert_ne!(gbk.as_ref(), gbk_xml.as_bytes(), "the text has CJK characters");
        let from_utf8 = decode(xml.as_bytes(), &limits())
            .map_err(|e| TestCaseError::fail(format!("UTF-8: {e}")))?;
        let from_gbk = decode(&gbk, &limits())
            .map_err(|e| TestCaseError::fail(format!("GBK: {e}")))?;
        prop_assert_eq!(&from_gbk, &from_utf8);
        prop_assert_eq!(from_gbk, message);
    }
}

proptest! {
    // A 100-block CEB621 takes a while in a debug build: fewer cases.
    #![proptest_config(config(24))]

    #[test]
    fn inventory_messages_round_trip_block_for_block(
        seed in any::<u64>(),
        first in 0..1_000_000u64,
        count in 1..=100usize,
    ) {
        let message = synth::inventory_message(seed, first, count, &RULES);
        prop_assert_eq!(message.blocks.len(), count);
        let xml = encode(&message);
        let back = decode(xml.as_bytes(), &limits())
            .map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(back.blocks.len(), count);
        for (i, (got, sent)) in back.blocks.iter().zip(&message.blocks).enumerate() {
            prop_assert!(got.defects.is_empty(), "block {}: {:?}", i + 1, got.defects);
            prop_assert_eq!(&got.body, &sent.body, "block {}", i + 1);
        }
        prop_assert!(back.signed);
        prop_assert_eq!(back, message);
    }
}

#[test]
fn hundred_block_inventory_round_trips() {
    let message = synth::inventory_message(42, 1000, 100, &RULES);
    let xml = encode(&message);
    let back = decode(xml.as_bytes(), &limits()).expect("100 blocks decode");
    assert_eq!(back, message);
}

#[test]
fn the_samples_are_loaded_with_their_root_offsets() {
    for sample in SAMPLES.iter() {
        let text = sample.text();
        assert!(text[..sample.body_start].ends_with('>'), "{}", sample.name);
        assert!(text[sample.body_end..].starts_with("</"), "{}", sample.name);
    }
    assert_eq!(import_samples().len(), 16);
    for sample in import_samples() {
        decode(&sample.bytes, &limits())
            .unwrap_or_else(|e| panic!("{} does not decode: {e}", sample.name));
        assert!(!leaf_lines(sample).is_empty(), "{}", sample.name);
    }
}

/// A carriage return in element text must be written as `&#13;`: a raw CR is a line end that
/// every XML reader (this decoder included) turns into LF, so the value changes on the way.
#[test]
fn carriage_returns_round_trip() {
    let mut order = synth::shipment(1, 1, &RULES).order;
    order.head.note = text("line 1\r\nline 2\rend");
    let message = synth::message(
        MessageKind::Ceb311,
        GUID,
        synth::PLATFORM,
        vec![Document::Order(order)],
    );
    let back = decode(encode(&message).as_bytes(), &limits()).expect("decodes");
    assert_eq!(back, message);
}
