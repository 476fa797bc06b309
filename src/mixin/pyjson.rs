//! JSON text as Python's `json.dumps(..., indent=2)` writes it (spec §4.1 step 4, §4.2), so a
//! `config.json` or an index saved by hfkit is byte-identical to Python's (apart from raw UTF-8
//! where Python escapes non-ASCII characters; `json.load` reads both).

use serde_json::Value;

/// Writes `value` with a two-space indent, one item per line, `": "` after keys, `{}`/`[]` when
/// empty, no final newline, and floats spelled as Python's `repr` (`1e-05`, `1e+16`, `1.0`).
/// With `sort_keys`, object keys are sorted by code point at every depth (Python's
/// `sort_keys=True`); otherwise their order is kept.
pub fn to_python_json(value: &Value, sort_keys: bool) -> String {
    let mut out = String::new();
    write_value(value, 0, sort_keys, &mut out);
    out
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn write_string(s: &str, out: &mut String) {
    // serde_json escapes exactly Python's set with `ensure_ascii=False`: `"`, `\`, and the
    // control characters below U+0020 (`\b \f \n \r \t` by name, the rest as `\u00XX`).
    match serde_json::to_string(s) {
        Ok(text) => out.push_str(&text),
        // Serialising a `&str` cannot fail; keep a valid (empty) string if it ever did.
        Err(_) => out.push_str("\"\""),
    }
}

fn write_value(value: &Value, level: usize, sort_keys: bool, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if n.is_f64() {
                match n.as_f64() {
                    Some(f) => out.push_str(&python_float_repr(f)),
                    None => out.push_str(&n.to_string()),
                }
            } else {
                out.push_str(&n.to_string());
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                indent(out, level + 1);
                write_value(item, level + 1, sort_keys, out);
            }
            out.push('\n');
            indent(out, level);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if sort_keys {
                // `String`'s order is byte order of UTF-8, which is code-point order (Python's).
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push_str("{\n");
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                indent(out, level + 1);
                write_string(k, out);
                out.push_str(": ");
                write_value(v, level + 1, sort_keys, out);
            }
            out.push('\n');
            indent(out, level);
            out.push('}');
        }
    }
}

/// A finite float as Python's `repr`: the shortest digits that read back as the same value,
/// positional for decimal exponents in `[-4, 16)` (with `.0` added to integral values), otherwise
/// scientific with a signed exponent of at least two digits (`1e-05`, `1.5e+16`). Non-finite
/// values (which JSON cannot hold) are written as Python's `json` would: `NaN`, `Infinity`,
/// `-Infinity`.
pub fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    // Rust's `{:e}` gives the shortest round-tripping digits: `1e-5`, `1.5e16`, `-2.25e0`.
    let sci = format!("{f:e}");
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    // Position of the decimal point relative to the start of `digits`.
    let decpt = exp + 1;
    if !(-4 < decpt && decpt <= 16) {
        let (head, tail) = digits.split_at(1);
        let mut out = format!("{sign}{head}");
        if !tail.is_empty() {
            out.push('.');
            out.push_str(tail);
        }
        let esign = if exp < 0 { '-' } else { '+' };
        out.push_str(&format!("e{esign}{:02}", exp.unsigned_abs()));
        return out;
    }
    let n = digits.len() as i32;
    if decpt <= 0 {
        let zeros = "0".repeat(decpt.unsigned_abs() as usize);
        format!("{sign}0.{zeros}{digits}")
    } else if decpt >= n {
        let zeros = "0".repeat((decpt - n) as usize);
        format!("{sign}{digits}{zeros}.0")
    } else {
        let (int, frac) = digits.split_at(decpt as usize);
        format!("{sign}{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_are_spelled_as_python_repr() {
        let cases = [
            (1e-05, "1e-05"),
            (1e16, "1e+16"),
            (1.0, "1.0"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (1.5e-7, "1.5e-07"),
            (1e15, "1000000000000000.0"),
            (1234567890123456.0, "1234567890123456.0"),
            (1.5e16, "1.5e+16"),
            (0.1, "0.1"),
            (123.456, "123.456"),
            (-2.5, "-2.5"),
            (1e100, "1e+100"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
        ];
        for (f, want) in cases {
            assert_eq!(python_float_repr(f), want, "{f:?}");
        }
    }

    #[test]
    fn sorted_indented_layout() {
        let v = json!({"name": "h\u{e9}llo", "hidden": 8, "layers": [3, 2], "scale": 1e-05,
                       "empty": {}, "none": [], "nested": {"b": null, "a": true}});
        assert_eq!(
            to_python_json(&v, true),
            "{\n  \"empty\": {},\n  \"hidden\": 8,\n  \"layers\": [\n    3,\n    2\n  ],\n  \
             \"name\": \"h\u{e9}llo\",\n  \"nested\": {\n    \"a\": true,\n    \"b\": null\n  },\n  \
             \"none\": [],\n  \"scale\": 1e-05\n}"
        );
    }

    #[test]
    fn strings_escape_like_python() {
        let v = json!(["a\"b\\c\n\t\u{1}\u{7f}"]);
        assert_eq!(
            to_python_json(&v, true),
            "[\n  \"a\\\"b\\\\c\\n\\t\\u0001\u{7f}\"\n]"
        );
    }
}
