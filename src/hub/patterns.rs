//! Allow/ignore path patterns with the semantics of Python's `fnmatch.fnmatchcase` (hub.md §5).
//!
//! Patterns apply to the whole repo-relative POSIX path and are case-sensitive. `*` matches any
//! run of characters **including `/`**, `?` one character (including `/`), `[abc]`, `[a-z]` and
//! `[!a]` one character of (or not of) a set. An unclosed `[` is a literal, `**` is just `*`,
//! braces are literal (no `{a,b}` alternation) and `^` never negates a class. A pattern ending in
//! `/` gets a `*` appended (`logs/` keeps everything under `logs/`), and `\` is read as `/` in
//! both patterns and paths.
//!
//! ```
//! use hfkit::hub::patterns::PatternFilter;
//! let filter = PatternFilter::new(
//!     Some(&["*.json".to_string(), "onnx/".to_string()]),
//!     &["*.bin".to_string()],
//! )?;
//! assert!(filter.is_match("a/b/config.json"));
//! assert!(filter.is_match("onnx/model.onnx"));
//! assert!(!filter.is_match("pytorch_model.bin"));
//! # Ok::<(), hfkit::Error>(())
//! ```
//!
//! How it works: each pattern is first parsed the way Python's `fnmatch.translate` reads it
//! (classes included, so every corner case of Python's class syntax is reproduced), then written
//! back in `globset` syntax with every special character escaped, and all patterns of a filter are
//! matched in one pass by a [`GlobSet`]. `globset` compiles to byte-oriented regexes, so `?` and
//! classes would see a multi-byte UTF-8 character as several characters; paths that are not plain
//! ASCII (or contain a newline, which globset's `*` does not cross) are therefore matched by a
//! small character-level matcher over the same parsed pattern instead.

use std::borrow::Cow;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::error::{Error, Result};

/// A compiled allow/ignore filter over repo-relative paths.
#[derive(Debug, Clone)]
pub struct PatternFilter {
    allow: Option<PatternList>,
    ignore: PatternList,
}

impl PatternFilter {
    /// Compiles a filter. `allow`: `None` keeps every path, `Some(&[])` keeps none; `ignore` may
    /// be empty. A pattern that cannot be compiled is an [`Error::InvalidInput`].
    pub fn new(allow: Option<&[String]>, ignore: &[String]) -> Result<Self> {
        Ok(PatternFilter {
            allow: allow.map(PatternList::new).transpose()?,
            ignore: PatternList::new(ignore)?,
        })
    }

    /// Whether `path` is kept: it matches some allow pattern (when allow patterns were given) and
    /// no ignore pattern.
    pub fn is_match(&self, path: &str) -> bool {
        let path = normalize_separators(path);
        let subject = Subject::new(&path);
        if let Some(allow) = &self.allow
            && !allow.any_match(&subject)
        {
            return false;
        }
        !self.ignore.any_match(&subject)
    }
}

/// Whether `path` matches `pattern` with the semantics of this module (Python's `fnmatchcase`
/// after `\` → `/` and the trailing-`/` rule). An invalid pattern matches nothing.
///
/// ```
/// use hfkit::hub::patterns::fnmatch;
/// assert!(fnmatch("data/*.json", "data/x/y.json"));
/// assert!(!fnmatch("**/logs/*.txt", "logs/a.txt"));
/// assert!(fnmatch("[!a]bc", "xbc"));
/// ```
pub fn fnmatch(pattern: &str, path: &str) -> bool {
    match Pattern::parse(pattern) {
        Ok(p) => p.matches_chars(&normalize_separators(path).chars().collect::<Vec<_>>()),
        Err(_) => false,
    }
}

fn normalize_separators(s: &str) -> Cow<'_, str> {
    if s.contains('\\') {
        Cow::Owned(s.replace('\\', "/"))
    } else {
        Cow::Borrowed(s)
    }
}

/// A path prepared for matching: whether globset can be used, and its characters otherwise.
struct Subject<'a> {
    path: &'a str,
    /// `None` when the fast globset path applies (plain ASCII without newline).
    chars: Option<Vec<char>>,
}

impl<'a> Subject<'a> {
    fn new(path: &'a str) -> Self {
        let fast = path.is_ascii() && !path.contains('\n');
        Subject {
            path,
            chars: (!fast).then(|| path.chars().collect()),
        }
    }
}

/// The patterns of one side (allow or ignore) of a filter.
#[derive(Debug, Clone)]
struct PatternList {
    patterns: Vec<Pattern>,
    /// Every pattern that can match an ASCII path, in globset syntax.
    set: GlobSet,
}

impl PatternList {
    fn new(patterns: &[String]) -> Result<Self> {
        let mut parsed = Vec::with_capacity(patterns.len());
        let mut builder = GlobSetBuilder::new();
        for raw in patterns {
            let pattern = Pattern::parse(raw)
                .map_err(|why| Error::InvalidInput(format!("invalid pattern {raw:?}: {why}")))?;
            if let Some(glob) = pattern.globset_syntax() {
                let glob = GlobBuilder::new(&glob)
                    .literal_separator(false)
                    .backslash_escape(true)
                    .case_insensitive(false)
                    .allow_unclosed_class(true)
                    .build()
                    .map_err(|e| Error::InvalidInput(format!("invalid pattern {raw:?}: {e}")))?;
                builder.add(glob);
            }
            parsed.push(pattern);
        }
        let set = builder
            .build()
            .map_err(|e| Error::InvalidInput(format!("invalid patterns {patterns:?}: {e}")))?;
        Ok(PatternList {
            patterns: parsed,
            set,
        })
    }

    fn any_match(&self, subject: &Subject<'_>) -> bool {
        match &subject.chars {
            None => self.set.is_match(subject.path),
            Some(chars) => self.patterns.iter().any(|p| p.matches_chars(chars)),
        }
    }
}

/// One element of a parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// This exact character.
    Lit(char),
    /// Any one character (`?`, or a negated empty class such as `[!z-a]`).
    Any,
    /// Any run of characters (`*`, runs collapsed).
    Star,
    /// One character in (or, negated, not in) these inclusive ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    fn matches(&self, c: char) -> bool {
        match self {
            Token::Lit(l) => *l == c,
            Token::Any => true,
            Token::Star => false,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
            }
        }
    }
}

/// A parsed pattern: `tokens`, or `None` when it can match nothing (an empty class like `[z-a]`).
#[derive(Debug, Clone)]
struct Pattern {
    tokens: Option<Vec<Token>>,
}

impl Pattern {
    /// Normalises (`\` → `/`, trailing `/` → `/*`) and parses `raw` as `fnmatch.translate` does.
    fn parse(raw: &str) -> std::result::Result<Self, String> {
        let mut pat: Vec<char> = raw
            .chars()
            .map(|c| if c == '\\' { '/' } else { c })
            .collect();
        if pat.last() == Some(&'/') {
            pat.push('*');
        }
        let n = pat.len();
        let mut tokens = Vec::new();
        let mut never = false;
        let mut i = 0;
        while i < n {
            let c = pat[i];
            i += 1;
            match c {
                '*' => {
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                }
                '?' => tokens.push(Token::Any),
                '[' => {
                    let mut j = i;
                    if j < n && pat[j] == '!' {
                        j += 1;
                    }
                    if j < n && pat[j] == ']' {
                        j += 1;
                    }
                    while j < n && pat[j] != ']' {
                        j += 1;
                    }
                    if j >= n {
                        tokens.push(Token::Lit('['));
                        continue;
                    }
                    match parse_class(&pat, i, j)? {
                        ClassOutcome::Never => never = true,
                        ClassOutcome::Token(t) => tokens.push(t),
                    }
                    i = j + 1;
                }
                c => tokens.push(Token::Lit(c)),
            }
        }
        Ok(Pattern {
            tokens: (!never).then_some(tokens),
        })
    }

    /// Wildcard matching over characters (`*` with single-point backtracking: every other token
    /// has length one, so the earliest placement after a star is always the best one).
    fn matches_chars(&self, s: &[char]) -> bool {
        let Some(tokens) = &self.tokens else {
            return false;
        };
        let (mut ti, mut si) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while si < s.len() {
            if let Some(t) = tokens.get(ti) {
                if *t == Token::Star {
                    star = Some((ti, si));
                    ti += 1;
                    continue;
                }
                if t.matches(s[si]) {
                    ti += 1;
                    si += 1;
                    continue;
                }
            }
            match star {
                Some((st, ss)) => {
                    ti = st + 1;
                    si = ss + 1;
                    star = Some((st, ss + 1));
                }
                None => return false,
            }
        }
        tokens[ti..].iter().all(|t| *t == Token::Star)
    }

    /// The pattern in globset syntax, valid for ASCII paths without newlines; `None` when it can
    /// match no such path.
    fn globset_syntax(&self) -> Option<String> {
        let mut out = String::new();
        for t in self.tokens.as_ref()? {
            match t {
                Token::Lit(c) => push_glob_literal(&mut out, *c)?,
                Token::Any => out.push('?'),
                Token::Star => out.push('*'),
                Token::Class { negated, ranges } => {
                    let mut set = [false; 128];
                    for (b, slot) in set.iter_mut().enumerate() {
                        let c = char::from(b as u8);
                        *slot = ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated;
                    }
                    push_glob_class(&mut out, &set)?;
                }
            }
        }
        Some(out)
    }
}

/// Appends `c` as a globset literal; `None` for a non-ASCII character (no ASCII path has it).
fn push_glob_literal(out: &mut String, c: char) -> Option<()> {
    if !c.is_ascii() {
        return None;
    }
    if !c.is_ascii_alphanumeric() {
        out.push('\\');
    }
    out.push(c);
    Some(())
}

/// Appends a globset class matching exactly the ASCII characters flagged in `set`, placing `]`,
/// `-`, `!` and `^` where globset reads them literally. `None` when the set is empty.
fn push_glob_class(out: &mut String, set: &[bool; 128]) -> Option<()> {
    let members: Vec<char> = (0u8..128)
        .filter(|&b| set[usize::from(b)])
        .map(char::from)
        .collect();
    match members.len() {
        0 => return None,
        1 => return push_glob_literal(out, members[0]),
        128 => {
            out.push('?');
            return Some(());
        }
        _ => {}
    }
    if let Some(body) = class_body(&members, false) {
        out.push('[');
        out.push_str(&body);
    } else {
        // Only `!`/`^` could come first, which would negate: write the complement, negated.
        let complement: Vec<char> = (0u8..128)
            .filter(|&b| !set[usize::from(b)])
            .map(char::from)
            .collect();
        out.push_str("[!");
        out.push_str(&class_body(&complement, true)?);
    }
    out.push(']');
    Some(())
}

/// The inside of a globset class (without brackets) holding exactly `members` (ASCII, sorted,
/// not empty). After a negation (`after_negation`) any character may come first; otherwise the
/// first one must not be `!` or `^`, and `None` is returned when that cannot be arranged.
fn class_body(members: &[char], after_negation: bool) -> Option<String> {
    let has_bracket = members.contains(&']');
    let has_dash = members.contains(&'-');
    // Contiguous runs of the other members.
    let mut runs: Vec<(char, char)> = Vec::new();
    for &c in members.iter().filter(|&&c| c != ']' && c != '-') {
        match runs.last_mut() {
            Some((_, hi)) if u32::from(*hi) + 1 == u32::from(c) => *hi = c,
            _ => runs.push((c, c)),
        }
    }
    let mut body = String::new();
    // `]` is literal only first; `-` only first or last (before the closing `]`).
    if has_bracket {
        body.push(']');
    } else if has_dash && (runs.is_empty() || !after_negation) {
        body.push('-');
    } else if !after_negation {
        let first = runs.iter().position(|&(lo, _)| lo != '!' && lo != '^')?;
        let run = runs.remove(first);
        runs.insert(0, run);
    }
    let dash_last = has_dash && !body.starts_with('-');
    for (lo, hi) in runs {
        body.push(lo);
        if hi > lo {
            if u32::from(hi) > u32::from(lo) + 1 {
                body.push('-');
            }
            body.push(hi);
        }
    }
    if dash_last {
        body.push('-');
    }
    Some(body)
}

enum ClassOutcome {
    /// The class matches nothing, so neither does the pattern.
    Never,
    Token(Token),
}

/// Parses the class `pat[i..j]` (between `[` and `]`) exactly as Python 3.11's
/// `fnmatch.translate` rewrites it into a regex set and `re` then reads that set.
fn parse_class(pat: &[char], i: usize, j: usize) -> std::result::Result<ClassOutcome, String> {
    // The regex set body as (char, escaped) pairs: an escaped character is always a literal.
    let escaped = |c: char| matches!(c, '\\' | '-' | '&' | '~' | '|');
    let mut stuff: Vec<(char, bool)> = Vec::new();
    let seg = &pat[i..j];
    if !seg.contains(&'-') {
        stuff.extend(seg.iter().map(|&c| (c, escaped(c))));
    } else {
        // Split at the hyphens that form ranges (translate's "chunks").
        let mut chunks: Vec<Vec<char>> = Vec::new();
        let mut start = i;
        let mut k = if pat[i] == '!' { i + 2 } else { i + 1 };
        while k < j {
            let Some(off) = pat[k..j].iter().position(|&c| c == '-') else {
                break;
            };
            let pos = k + off;
            chunks.push(pat[start..pos].to_vec());
            start = pos + 1;
            k = pos + 3;
        }
        let last = &pat[start..j];
        if !last.is_empty() {
            chunks.push(last.to_vec());
        } else if let Some(prev) = chunks.last_mut() {
            prev.push('-');
        } else {
            return Err("malformed character class".into());
        }
        // Drop reversed ranges (both endpoints go).
        for k in (1..chunks.len()).rev() {
            let (Some(&lo), Some(&hi)) = (chunks[k - 1].last(), chunks[k].first()) else {
                return Err("malformed character class".into());
            };
            if lo > hi {
                let tail: Vec<char> = chunks[k][1..].to_vec();
                let prev = &mut chunks[k - 1];
                prev.pop();
                prev.extend(tail);
                chunks.remove(k);
            }
        }
        for (n, chunk) in chunks.iter().enumerate() {
            if n > 0 {
                stuff.push(('-', false));
            }
            stuff.extend(chunk.iter().map(|&c| (c, escaped(c))));
        }
    }
    if stuff.is_empty() {
        return Ok(ClassOutcome::Never);
    }
    if stuff == [('!', false)] {
        return Ok(ClassOutcome::Token(Token::Any));
    }
    let (negated, body) = if stuff[0] == ('!', false) {
        (true, &stuff[1..])
    } else {
        (false, &stuff[..])
    };
    // Read the set the way `re` does: `x-y` is a range, a `-` before the end is a literal.
    let mut ranges = Vec::new();
    let mut p = 0;
    while p < body.len() {
        let (lo, esc) = body[p];
        p += 1;
        if lo == ']' && !esc && !ranges.is_empty() {
            return Err("unexpected `]` in character class".into());
        }
        if p < body.len() && body[p] == ('-', false) {
            p += 1;
            let Some(&(hi, _)) = body.get(p) else {
                ranges.push((lo, lo));
                ranges.push(('-', '-'));
                break;
            };
            p += 1;
            if hi < lo {
                return Err(format!("bad character range {lo}-{hi}"));
            }
            ranges.push((lo, hi));
        } else {
            ranges.push((lo, lo));
        }
    }
    Ok(ClassOutcome::Token(Token::Class { negated, ranges }))
}

#[cfg(test)]
mod tests;
