//! Splitting a card into its YAML front matter and Markdown body, and detecting its line ending.
//!
//! The split follows the pattern the Hub and Python use (spec §1.2), anchored at the start, without
//! a multi-line flag:
//!
//! ```text
//! ^(\s*---(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$))
//! ```
//!
//! It is implemented here as a single forward scan, which is linear in the input and needs no
//! regex engine; `\s` has JavaScript's meaning, as on the Hub.

/// The line ending of a card (spec P5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineEnding {
    /// `\n` (also used for cards without any line break).
    #[default]
    Lf,
    /// `\r\n`: every `\r` and `\n` of the card is part of a `\r\n` pair.
    CrLf,
    /// `\r`: carriage returns outnumber line feeds.
    Cr,
}

impl LineEnding {
    /// The line ending as text.
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::CrLf => "\r\n",
            LineEnding::Cr => "\r",
        }
    }

    /// Detects the line ending of a whole card as Python does: `\r\n` if every `\r` and `\n`
    /// belongs to a `\r\n` pair; else `\r` if `\r` outnumbers `\n`; else `\n`.
    pub fn detect(text: &str) -> LineEnding {
        let bytes = text.as_bytes();
        let cr = bytes.iter().filter(|&&b| b == b'\r').count();
        let lf = bytes.iter().filter(|&&b| b == b'\n').count();
        let pairs = bytes.windows(2).filter(|w| w == b"\r\n").count();
        if pairs > 0 && cr == pairs && lf == pairs {
            LineEnding::CrLf
        } else if cr > lf {
            LineEnding::Cr
        } else {
            LineEnding::Lf
        }
    }
}

/// A card split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Split<'a> {
    /// Everything up to and including the closing fence's line break (`None` without front matter).
    pub prefix: Option<&'a str>,
    /// The YAML text between the fences.
    pub yaml: &'a str,
    /// Byte offset of the YAML text in the card (to turn YAML line numbers into card lines).
    pub yaml_offset: usize,
    /// Everything after the closing fence's line break, verbatim.
    pub body: &'a str,
}

/// JavaScript's `\s`: ASCII whitespace plus the Unicode space separators, line/paragraph
/// separators and U+FEFF; U+001C–U+001F and U+0085 are not in it.
pub(crate) fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// Length of the line break starting at `i` (`\r\n`, `\r` or `\n`), if any.
fn line_break_at(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i) {
        Some(b'\r') if b.get(i + 1) == Some(&b'\n') => Some(2),
        Some(b'\r') | Some(b'\n') => Some(1),
        _ => None,
    }
}

/// Splits `text` into front matter and body.
pub(crate) fn split(text: &str) -> Split<'_> {
    let none = Split {
        prefix: None,
        yaml: "",
        yaml_offset: 0,
        body: text,
    };
    // Group 1: leading whitespace, `---`, one line break.
    let start = text
        .char_indices()
        .find(|&(_, c)| !is_js_space(c))
        .map_or(text.len(), |(i, _)| i);
    let b = text.as_bytes();
    if !b[start..].starts_with(b"---") {
        return none;
    }
    let Some(lb) = line_break_at(b, start + 3) else {
        return none;
    };
    let yaml_start = start + 3 + lb;
    // Groups 2 and 3: the first later line break followed by `---`, optional spaces or tabs, and
    // `\r\n`, `\n` or the end of the input.
    let mut p = yaml_start;
    while p < b.len() {
        if let Some(lb) = line_break_at(b, p) {
            // `\r\n` is tried first; `\r` alone cannot be followed by `---` when `\n` follows.
            let fence = p + lb;
            if b[fence..].starts_with(b"---") {
                let mut q = fence + 3;
                while q < b.len() && (b[q] == b' ' || b[q] == b'\t') {
                    q += 1;
                }
                let end = if q == b.len() {
                    Some(q)
                } else if b[q] == b'\n' {
                    Some(q + 1)
                } else if b[q] == b'\r' && b.get(q + 1) == Some(&b'\n') {
                    Some(q + 2)
                } else {
                    None
                };
                if let Some(end) = end {
                    return Split {
                        prefix: Some(&text[..end]),
                        yaml: &text[yaml_start..p],
                        yaml_offset: yaml_start,
                        body: &text[end..],
                    };
                }
            }
        }
        p += 1;
    }
    none
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_split() {
        let s = split("---\nlicense: mit\n---\n\nHello\n");
        assert_eq!(s.yaml, "license: mit");
        assert_eq!(s.body, "\nHello\n");
        assert_eq!(s.prefix, Some("---\nlicense: mit\n---\n"));
    }

    #[test]
    fn empty_and_non_blocks() {
        let s = split("---\n\n---\n");
        assert_eq!(s.yaml, "");
        assert!(s.prefix.is_some());
        assert!(split("---\n---\n").prefix.is_none());
        assert!(split("--- \nx: 1\n---\n").prefix.is_none());
        assert!(split("---\nx: 1\n----\n").prefix.is_none());
        let s = split("---\r\n---\r\nlanguage: en\r\n---\r\nbody");
        assert_eq!(s.yaml, "---\r\nlanguage: en");
        assert_eq!(s.body, "body");
    }

    #[test]
    fn leading_whitespace_and_bom() {
        let s = split("\u{FEFF} \n---\nx: 1\n--- \t\nb");
        assert_eq!(s.yaml, "x: 1");
        assert_eq!(s.body, "b");
        assert!(split("\u{85}---\nx: 1\n---\n").prefix.is_none());
        assert!(split("text\n---\nx: 1\n---\n").prefix.is_none());
    }

    #[test]
    fn closing_fence_at_end_and_lone_cr() {
        let s = split("---\nx: 1\n---");
        assert_eq!(s.yaml, "x: 1");
        assert_eq!(s.body, "");
        assert!(split("---\rx: 1\r---\rbody").prefix.is_none());
        assert_eq!(split("---\rx: 1\r---").yaml, "x: 1");
    }

    #[test]
    fn line_endings() {
        assert_eq!(LineEnding::detect("a\r\nb\r\n"), LineEnding::CrLf);
        assert_eq!(LineEnding::detect("a\r\nb\n"), LineEnding::Lf);
        assert_eq!(LineEnding::detect("a\rb\r"), LineEnding::Cr);
        assert_eq!(LineEnding::detect("abc"), LineEnding::Lf);
    }
}
