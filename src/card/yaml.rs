//! Reading and writing the YAML of a card's front matter.
//!
//! Reading uses `serde-saphyr` with the Hub's YAML 1.2 semantics (spec P6): only `true`/`false`
//! are booleans, numbers with leading zeros or underscores and timestamps stay strings, and
//! budgets bound the work on hostile input (size, nesting depth, alias expansion).
//!
//! Writing is done here, in PyYAML's block style (spec S6), so that both Python's YAML 1.1 reader
//! and YAML 1.2 readers see the same values: strings that would read back as something else are
//! quoted, sequences sit at their parent key's column, long lines are never folded.

use std::fmt;

use indexmap::IndexMap;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::{Error, Result};

/// The largest front matter hfkit reads: 1 MiB of YAML text. Real cards stay far below; larger
/// blocks are rejected before parsing so a hostile `README.md` cannot cost unbounded time or memory.
pub const MAX_FRONT_MATTER_BYTES: usize = 1 << 20;

/// The deepest nesting of mappings and sequences accepted in front matter.
pub const MAX_DEPTH: usize = 64;

/// The most parser events (nodes, including those replayed from aliases) accepted in one front
/// matter; this bounds alias bombs ("billion laughs").
pub const MAX_EVENTS: usize = 200_000;

fn card_error(line: Option<usize>, message: impl Into<String>) -> Error {
    Error::Card {
        line,
        message: message.into(),
    }
}

/// Parses the YAML of a front matter into an ordered map. `line_offset` is the number of card
/// lines before the YAML text (so errors name card lines). Top-level nulls are dropped (spec S4).
pub(crate) fn parse_mapping(yaml: &str, line_offset: usize) -> Result<IndexMap<String, Value>> {
    if yaml.len() > MAX_FRONT_MATTER_BYTES {
        return Err(card_error(
            Some(line_offset + 1),
            format!(
                "the YAML front matter is {} bytes, more than the {} bytes hfkit accepts",
                yaml.len(),
                MAX_FRONT_MATTER_BYTES
            ),
        ));
    }
    let value = parse_value(yaml, line_offset)?;
    match value {
        Value::Null => Ok(IndexMap::new()),
        Value::Object(map) => Ok(map.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        other => Err(card_error(
            Some(line_offset + 1),
            format!(
                "the card metadata must be a YAML mapping (key: value), found {}",
                kind_name(&other)
            ),
        )),
    }
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Parses any YAML value with the card reading options.
pub(crate) fn parse_value(yaml: &str, line_offset: usize) -> Result<Value> {
    if yaml.trim().is_empty() {
        return Ok(Value::Null);
    }
    let budget = serde_saphyr::budget! {
        max_depth: MAX_DEPTH,
        max_events: MAX_EVENTS,
        max_nodes: MAX_EVENTS,
        max_documents: 1,
        max_total_scalar_bytes: 4 * MAX_FRONT_MATTER_BYTES,
    };
    let aliases = serde_saphyr::alias_limits! {
        max_total_replayed_events: MAX_EVENTS,
        max_replay_stack_depth: 16,
    };
    let options = serde_saphyr::options! {
        budget: budget,
        alias_limits: aliases,
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
    };
    match serde_saphyr::from_str_with_options::<YamlValue>(yaml, options) {
        Ok(v) => Ok(v.0),
        Err(e) => {
            let line = e
                .location()
                .map(|l| line_offset + usize::try_from(l.line()).unwrap_or(0).max(1));
            let column = e.location().map(|l| l.column());
            let rendered = e.without_snippet().to_string();
            let first = rendered.lines().next().unwrap_or("").trim();
            // serde-saphyr appends its own (YAML-relative) position; the card line is in `line`.
            let first = first.split(" at line ").next().unwrap_or(first).to_owned();
            let message = match column {
                Some(c) => format!("invalid YAML in the front matter (column {c}): {first}"),
                None => format!("invalid YAML in the front matter: {first}"),
            };
            Err(card_error(line, message))
        }
    }
}

/// A YAML value read into JSON's data model, with the Hub's restrictions: scalar keys become
/// strings, duplicate keys and complex keys are errors, `.inf`/`.nan` are errors.
struct YamlValue(Value);

impl<'de> serde::Deserialize<'de> for YamlValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor).map(YamlValue)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> std::result::Result<Value, E> {
        i64::try_from(v)
            .map(|v| Value::Number(v.into()))
            .map_err(|_| E::custom(format!("the integer {v} is too large")))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> std::result::Result<Value, E> {
        u64::try_from(v)
            .map(|v| Value::Number(v.into()))
            .map_err(|_| E::custom(format!("the integer {v} is too large")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Value, E> {
        Number::from_f64(v).map(Value::Number).ok_or_else(|| {
            E::custom("infinite and NaN numbers (.inf, .nan) are not valid card metadata")
        })
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> std::result::Result<Value, E> {
        String::from_utf8(v.to_vec())
            .map(Value::String)
            .map_err(|_| E::custom("binary values are not valid card metadata"))
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(YamlValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(YamlKey(k)) = map.next_key()? {
            let YamlValue(v) = map.next_value()?;
            if out.contains_key(&k) {
                return Err(de::Error::custom(format!("duplicate key `{k}`")));
            }
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

/// A mapping key: any scalar, as text.
struct YamlKey(String);

impl<'de> serde::Deserialize<'de> for YamlKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match d.deserialize_any(ValueVisitor)? {
            Value::String(s) => Ok(YamlKey(s)),
            Value::Null => Ok(YamlKey("null".to_owned())),
            Value::Bool(b) => Ok(YamlKey(b.to_string())),
            Value::Number(n) => Ok(YamlKey(n.to_string())),
            _ => Err(de::Error::custom(
                "complex mapping keys (lists or mappings as keys) are not valid card metadata",
            )),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// Writes a top-level mapping as PyYAML-style block YAML, without document markers and without a
/// trailing line break, using `lb` for every line break. Top-level nulls are omitted; an empty
/// mapping is `{}`.
pub(crate) fn to_yaml(map: &IndexMap<String, Value>, lb: &str) -> String {
    let mut out = String::new();
    let mut first = true;
    for (k, v) in map {
        if v.is_null() {
            continue;
        }
        if !first {
            out.push('\n');
        }
        first = false;
        write_entry(&mut out, k, v, 0);
    }
    if first {
        out.push_str("{}");
    }
    if lb == "\n" {
        out
    } else {
        out.replace('\n', lb)
    }
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn write_entry(out: &mut String, k: &str, v: &Value, ind: usize) {
    out.push_str(&string_scalar(k, ind, true));
    out.push(':');
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_map(out, m, ind + 2, false);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_seq(out, a, ind, false);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other, ind));
        }
    }
}

fn write_map(out: &mut String, m: &Map<String, Value>, ind: usize, inline_first: bool) {
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if i > 0 || !inline_first {
            indent(out, ind);
        }
        write_entry(out, k, v, ind);
    }
}

fn write_seq(out: &mut String, a: &[Value], ind: usize, inline_first: bool) {
    for (i, v) in a.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if i > 0 || !inline_first {
            indent(out, ind);
        }
        out.push_str("- ");
        match v {
            Value::Object(m) if !m.is_empty() => write_map(out, m, ind + 2, true),
            Value::Array(a) if !a.is_empty() => write_seq(out, a, ind + 2, true),
            other => out.push_str(&scalar(other, ind + 2)),
        }
    }
}

fn scalar(v: &Value, ind: usize) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n),
        Value::String(s) => string_scalar(s, ind, false),
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
    }
}

/// A number as PyYAML writes it: integers as is, floats as Python's `repr` with `.0` added to a
/// dot-less mantissa (`1.0e-05`).
pub(crate) fn number(n: &Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    python_float(f)
}

/// Python's `repr(float)`, then PyYAML's `.0` insertion before an exponent.
pub(crate) fn python_float(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    let sci = format!("{f:e}"); // shortest digits, e.g. `1.5e-5`, `1e16`
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let s = format!("{f}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        let mantissa = if mantissa.contains('.') {
            mantissa.to_owned()
        } else {
            format!("{mantissa}.0")
        };
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    }
}

/// Whether a character forces double quotes (escapes).
fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(
            c,
            '\u{FEFF}' | '\u{2028}' | '\u{2029}' | '\u{85}' | '\u{FFFE}' | '\u{FFFF}'
        )
}

/// A string scalar: plain when it reads back as itself in YAML 1.1 and 1.2, a literal block when
/// multi-line and exact, else single- or double-quoted.
fn string_scalar(s: &str, ind: usize, is_key: bool) -> String {
    if s.chars().any(needs_escape) || (s.contains('\n') && (is_key || !block_ok(s))) {
        return double_quoted(s);
    }
    if s.contains('\n') {
        return literal_block(s, ind + 2);
    }
    if super::quoting::plain_ok(s) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if needs_escape(c) => {
                let n = c as u32;
                if n < 0x100 {
                    out.push_str(&format!("\\x{n:02X}"));
                } else {
                    out.push_str(&format!("\\u{n:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether a multi-line string can be written exactly as a literal block (`|`, `|-`).
fn block_ok(s: &str) -> bool {
    !s.starts_with(['\n', ' ', '\t'])
        && !s.ends_with("\n\n")
        && s.lines()
            .all(|l| !l.ends_with([' ', '\t']) && !l.starts_with('\t'))
        && !s.contains('\r')
}

fn literal_block(s: &str, ind: usize) -> String {
    let (content, chomp) = match s.strip_suffix('\n') {
        Some(c) => (c, "|"),
        None => (s, "|-"),
    };
    let mut out = chomp.to_owned();
    for line in content.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            indent(&mut out, ind);
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> IndexMap<String, Value> {
        match v {
            Value::Object(m) => m.into_iter().collect(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn pyyaml_shape() {
        let m = map(json!({"license": "test", "datasets": ["foo", "bar"]}));
        assert_eq!(to_yaml(&m, "\n"), "license: test\ndatasets:\n- foo\n- bar");
        let m = map(json!({"a": {"b": [{"c": 1, "d": [1, 2]}], "e": {}}, "f": []}));
        assert_eq!(
            to_yaml(&m, "\n"),
            "a:\n  b:\n  - c: 1\n    d:\n    - 1\n    - 2\n  e: {}\nf: []"
        );
        assert_eq!(to_yaml(&IndexMap::new(), "\n"), "{}");
    }

    #[test]
    fn quoting() {
        for (s, want) in [
            ("no", "'no'"),
            ("2024-01-01", "'2024-01-01'"),
            ("0123", "'0123'"),
            ("1e5", "'1e5'"),
            ("12:30", "'12:30'"),
            ("", "''"),
            (" x", "' x'"),
            ("a: b", "'a: b'"),
            ("x #y", "'x #y'"),
            ("#x", "'#x'"),
            ("- x", "'- x'"),
            ("it's", "it's"),
            ("'q'", "'''q'''"),
            ("a\tb", "\"a\\tb\""),
            ("finiĝas", "finiĝas"),
            ("0.71 ± 0.02", "0.71 ± 0.02"),
            ("https://x.y/z", "https://x.y/z"),
            ("n<1K", "n<1K"),
            ("4.0.0", "4.0.0"),
            ("1.2.3", "1.2.3"),
            ("1.", "'1.'"),
            ("1_000", "'1_000'"),
            ("09", "'09'"),
            ("0o17", "'0o17'"),
            ("+.inf", "'+.inf'"),
            ("2024-1-2 3:04:05", "'2024-1-2 3:04:05'"),
            ("1:2:3", "'1:2:3'"),
            ("v1.0", "v1.0"),
            ("1.0.0-rc1", "1.0.0-rc1"),
        ] {
            assert_eq!(string_scalar(s, 0, false), want, "{s:?}");
        }
    }

    #[test]
    fn floats_like_python() {
        assert_eq!(python_float(0.9), "0.9");
        assert_eq!(python_float(1.0), "1.0");
        assert_eq!(python_float(1e-5), "1.0e-05");
        assert_eq!(python_float(1e16), "1.0e+16");
        assert_eq!(python_float(1.5e-7), "1.5e-07");
        assert_eq!(python_float(123456.0), "123456.0");
        assert_eq!(python_float(0.0001), "0.0001");
    }

    #[test]
    fn reads_hub_semantics() {
        let m = parse_mapping(
            "a: no\nb: 0123\nc: 2024-01-01\nd: 1_000\ne: true\nf: 0.5\ng:",
            0,
        )
        .unwrap();
        assert_eq!(m["a"], json!("no"));
        assert_eq!(m["b"], json!("0123"));
        assert_eq!(m["c"], json!("2024-01-01"));
        assert_eq!(m["d"], json!("1_000"));
        assert_eq!(m["e"], json!(true));
        assert_eq!(m["f"], json!(0.5));
        assert!(!m.contains_key("g"));
    }

    #[test]
    fn round_trips_written_strings() {
        for s in [
            "no",
            "x: y",
            "multi\nline\n",
            "multi\nline",
            "  lead",
            "tab\there",
            "#",
            "-",
            "~",
            "'",
            "\"",
            "a #b",
            "1:30",
            ".5",
            "+1",
            "0x1F",
            "true",
            "Yes",
            "é",
            "\u{FEFF}x",
        ] {
            let m = map(json!({ "k": s, "l": [s] }));
            let text = to_yaml(&m, "\n");
            let back = parse_mapping(&text, 0).unwrap();
            assert_eq!(back["k"], json!(s), "{text}");
            assert_eq!(back["l"], json!([s]), "{text}");
        }
    }
}
