//! Which strings the card YAML writer may leave plain: PyYAML's decisions (so regenerated cards
//! are byte-identical to Python's), plus quotes for YAML 1.2 numbers so the Hub reads strings.

const YAML11_WORDS: &[&str] = &[
    "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on",
    "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~", "=", "<<", ".inf", ".Inf",
    ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN",
];

/// Whether a single-line string reads back as the same string, unquoted, for PyYAML (YAML 1.1)
/// and YAML 1.2 readers.
pub(super) fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.starts_with([' ', '\t']) || s.ends_with([' ', '\t']) {
        return false;
    }
    if YAML11_WORDS.contains(&s) {
        return false;
    }
    // Indicators at the start; `-`, `?`, `:` only when followed by whitespace or the end (as
    // PyYAML decides for block context; YAML 1.2 reads `-x` or `:x` as plain text too).
    if "-?:".contains(first) {
        let second = s[first.len_utf8()..].chars().next();
        if second.is_none_or(|c| {
            matches!(
                c,
                ' ' | '\t' | '\r' | '\n' | '\0' | '\u{85}' | '\u{2028}' | '\u{2029}'
            )
        }) {
            return false;
        }
    } else if ",[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    // Document markers.
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    !looks_numeric(s)
}

/// Plain scalars that a reader would not take for a string: PyYAML's (YAML 1.1) int, float and
/// timestamp resolvers, then YAML 1.2 core numbers (quoted too, so the Hub reads a string).
const NON_STRING_PATTERNS: &[&str] = &[
    // YAML 1.1 int (binary, octal, decimal, hex, sexagesimal).
    r"^[-+]?0b[0-1_]+$",
    r"^[-+]?0[0-7_]+$",
    r"^[-+]?(?:0|[1-9][0-9_]*)$",
    r"^[-+]?0x[0-9a-fA-F_]+$",
    r"^[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+$",
    // YAML 1.1 float (a dot is required; an exponent needs a sign).
    r"^[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?$",
    r"^\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?$",
    r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*$",
    r"^[-+]?\.(?:inf|Inf|INF)$",
    r"^\.(?:nan|NaN|NAN)$",
    // YAML 1.1 timestamp.
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?$",
    // YAML 1.2 core int and float.
    r"^[-+]?[0-9]+$",
    r"^0o[0-7]+$",
    r"^0x[0-9a-fA-F]+$",
    r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$",
];

static NON_STRING: std::sync::LazyLock<Option<regex::RegexSet>> =
    std::sync::LazyLock::new(|| regex::RegexSet::new(NON_STRING_PATTERNS).ok());

/// Whether a YAML 1.1 (PyYAML) or YAML 1.2 reader would take the plain scalar `s` for a number
/// or a timestamp, so it must be quoted. Strings such as `4.0.0` or `1.2.3` stay plain, as PyYAML
/// writes them.
fn looks_numeric(s: &str) -> bool {
    match NON_STRING.as_ref() {
        Some(set) => set.is_match(s),
        None => looks_numeric_broadly(s),
    }
}

/// A conservative fallback (never used while the patterns compile): anything made of digits,
/// signs, dots, `_`, `:` and number letters, with a digit in it.
fn looks_numeric_broadly(s: &str) -> bool {
    let first = s.chars().next().unwrap_or(' ');
    if !(first.is_ascii_digit() || "+-.".contains(first)) {
        return false;
    }
    let numeric_chars = s
        .chars()
        .all(|c| c.is_ascii_hexdigit() || "+-._:xXoObBtTzZ ".contains(c) || c.is_ascii_digit());
    numeric_chars && s.chars().any(|c| c.is_ascii_digit())
}
