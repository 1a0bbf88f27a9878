//! Cutting text to a size (pure): for log fields, error texts, audit notes and receipts, which
//! must stay bounded whatever a client sent.

/// `text` cut to at most `bytes` bytes, on a character boundary.
pub fn cut(text: &str, bytes: usize) -> &str {
    let mut end = text.len().min(bytes);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The first `chars` characters of `text`.
pub fn first_chars(text: &str, chars: usize) -> &str {
    match text.char_indices().nth(chars) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_fall_on_character_boundaries() {
        assert_eq!(cut("张三丰", 4), "张");
        assert_eq!(cut("SW1", 64), "SW1");
        assert_eq!(first_chars("张三丰", 2), "张三");
        assert_eq!(first_chars("ab", 5), "ab");
    }
}
