//! From received bytes to UTF-8 text: size limit, byte-order mark, the encoding that the XML
//! declaration names (UTF-8, GBK/GB2312/GB18030, UTF-16, and whatever else WHATWG labels).

use std::borrow::Cow;

use encoding_rs::Encoding;

use super::error::{DecodeError, DecodeErrorKind};
use super::Limits;

/// The document as UTF-8, borrowed when it already was UTF-8. A byte-order mark is taken
/// once; a second one (or one after decoding) is text before the XML declaration, refused:
/// the XML reader would skip it and every later position would be off by its length.
pub fn to_utf8<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Cow<'a, str>, DecodeError> {
    let text = decode(bytes, limits)?;
    if text.starts_with('\u{feff}') {
        return Err(at_start(DecodeErrorKind::Syntax(
            "a second byte-order mark before the XML declaration".to_owned(),
        )));
    }
    Ok(text)
}

fn decode<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Cow<'a, str>, DecodeError> {
    if bytes.len() > limits.max_message_bytes {
        return Err(at_start(DecodeErrorKind::TooLarge {
            size: bytes.len(),
            limit: limits.max_message_bytes,
        }));
    }
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        if encoding == encoding_rs::UTF_8 {
            return utf8(&bytes[bom_len..]);
        }
        return transcode(encoding, &bytes[bom_len..]);
    }
    match declared_encoding(bytes) {
        None => utf8(bytes),
        Some(label) => match Encoding::for_label(label) {
            Some(e) if e == encoding_rs::UTF_8 => utf8(bytes),
            // GBK and GB2312 labels map to GBK; GB18030 is its superset and decodes both.
            Some(e) if e == encoding_rs::GBK || e == encoding_rs::GB18030 => {
                transcode(encoding_rs::GB18030, bytes)
            }
            Some(e) => transcode(e, bytes),
            None => Err(at_start(DecodeErrorKind::Encoding(format!(
                "unsupported encoding {:?} in the XML declaration",
                String::from_utf8_lossy(label)
            )))),
        },
    }
}

fn utf8(bytes: &[u8]) -> Result<Cow<'_, str>, DecodeError> {
    // SIMD validation first (the whole message is checked once); std's for the error position.
    if let Ok(text) = simdutf8::basic::from_utf8(bytes) {
        return Ok(Cow::Borrowed(text));
    }
    std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let text = std::str::from_utf8(valid).unwrap_or_default();
        let (line, column) = line_column(text, text.len());
        DecodeError {
            kind: DecodeErrorKind::Encoding(format!("invalid UTF-8 at byte {}", e.valid_up_to())),
            path: String::new(),
            line,
            column,
        }
    })
}

fn transcode(encoding: &'static Encoding, bytes: &[u8]) -> Result<Cow<'static, str>, DecodeError> {
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| Cow::Owned(text.into_owned()))
        .ok_or_else(|| {
            at_start(DecodeErrorKind::Encoding(format!(
                "bytes that are not valid {}",
                encoding.name()
            )))
        })
}

/// The `encoding` pseudo-attribute of a leading `<?xml …?>`, if any.
fn declared_encoding(bytes: &[u8]) -> Option<&[u8]> {
    let decl = bytes.strip_prefix(b"<?xml")?;
    let end = decl.windows(2).take(256).position(|w| w == b"?>")?;
    let decl = &decl[..end];
    let at = decl.windows(8).position(|w| w == b"encoding")?;
    let rest = &decl[at + 8..];
    let rest = rest
        .trim_ascii_start()
        .strip_prefix(b"=")?
        .trim_ascii_start();
    let quote = *rest.first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let rest = &rest[1..];
    let close = rest.iter().position(|&b| b == quote)?;
    Some(&rest[..close])
}

fn at_start(kind: DecodeErrorKind) -> DecodeError {
    DecodeError {
        kind,
        path: String::new(),
        line: 1,
        column: 1,
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(super) fn line_column(text: &str, offset: usize) -> (u32, u32) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_second_byte_order_mark() {
        let limits = Limits::default();
        let twice = b"\xEF\xBB\xBF\xEF\xBB\xBF<?xml version=\"1.0\"?><a/>";
        let err = to_utf8(twice, &limits).unwrap_err();
        assert!(err.to_string().contains("second byte-order mark"), "{err}");
        assert!(to_utf8(&twice[3..], &limits).is_ok());
    }

    #[test]
    fn strips_the_bom_and_borrows_utf8() {
        let text = to_utf8(b"\xEF\xBB\xBF<a/>", &Limits::default()).unwrap();
        assert_eq!(text, "<a/>");
        assert!(matches!(text, Cow::Borrowed(_)));
    }

    #[test]
    fn transcodes_the_declared_gbk_and_gb2312() {
        let (gbk, _, _) = encoding_rs::GBK.encode("<a>测试企业</a>");
        for label in ["GBK", "gb2312", "GB18030"] {
            let mut doc = format!("<?xml version=\"1.0\" encoding=\"{label}\"?>").into_bytes();
            doc.extend_from_slice(&gbk);
            let text = to_utf8(&doc, &Limits::default()).unwrap();
            assert!(text.ends_with("<a>测试企业</a>"), "{label}: {text}");
        }
    }

    #[test]
    fn refuses_bad_bytes_and_unknown_encodings() {
        let err = to_utf8(b"<a>\n\xff</a>", &Limits::default()).unwrap_err();
        assert_eq!((err.line, err.column), (2, 1));
        let err = to_utf8(
            b"<?xml version='1.0' encoding='klingon'?><a/>",
            &Limits::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("klingon"));
        let limits = Limits {
            max_message_bytes: 3,
            ..Limits::default()
        };
        assert!(matches!(
            to_utf8(b"<a/>", &limits).unwrap_err().kind,
            DecodeErrorKind::TooLarge { size: 4, limit: 3 }
        ));
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\n测试x", 9), (2, 3));
    }
}
