use super::*;
use proptest::prelude::*;

/// (pattern, path, expected). The expected values were produced by Python 3.11.7 with
/// huggingface_hub 2.4.0: `bool(list(filter_repo_objects([path], allow_patterns=[pattern])))`,
/// i.e. `fnmatch.fnmatchcase` after `\` → `/` and the trailing-`/` rule.
const CASES: &[(&str, &str, bool)] = &[
    ("*.json", "a/b/config.json", true),
    ("*.json", "config.json", true),
    ("*.json", "config.jsonl", false),
    ("data/*.json", "data/x/y.json", true),
    ("data/*.json", "data/y.json", true),
    ("data/*.json", "other/data/y.json", false),
    ("**/logs/*.txt", "logs/a.txt", false),
    ("**/logs/*.txt", "x/logs/a.txt", true),
    ("[!a]bc", "xbc", true),
    ("[!a]bc", "abc", false),
    ("[!a]bc", "/bc", true),
    ("logs/", "logs/2024/x.txt", true),
    ("logs/", "logs", false),
    ("logs/", "mylogs/x", false),
    ("**/foo.txt", "foo.txt", false),
    ("**/foo.txt", "a/foo.txt", true),
    ("a/**/b", "a/b", false),
    ("a/**/b", "a/x/b", true),
    ("a/**/b", "a/x/y/b", true),
    ("{a,b}.txt", "a.txt", false),
    ("{a,b}.txt", "{a,b}.txt", true),
    ("[^a]bc", "xbc", false),
    ("[^a]bc", "abc", true),
    ("[^a]bc", "^bc", true),
    ("[abc", "[abc", true),
    ("[abc", "a", false),
    ("onnx/", "onnx/model.onnx", true),
    ("onnx/", "onnx", false),
    ("?.txt", "a.txt", true),
    ("?.txt", "/.txt", true),
    ("?.txt", "ab.txt", false),
    ("a?b", "a/b", true),
    ("*", "anything/at/all", true),
    ("*", "", true),
    ("Model.bin", "model.bin", false),
    ("*.BIN", "x.bin", false),
    ("[a-c]x", "bx", true),
    ("[a-c]x", "dx", false),
    ("[z-a]x", "zx", false),
    ("[!z-a]x", "qx", true),
    ("[]]x", "]x", true),
    ("[!]]x", "]x", false),
    ("[!]]x", "ax", true),
    ("[]-a]", "^", true),
    ("[a-]", "-", true),
    ("[a-]", "b", false),
    ("[!-a]", "-", false),
    ("[!-a]", "b", true),
    ("[a--b]", "b", true),
    ("[a--b]", "a", false),
    ("[a--b]", "-", false),
    ("[[:alpha:]]", "a]", true),
    ("[[:alpha:]]", "a", false),
    ("a\\b", "a/b", true),
    ("dir\\*.txt", "dir/sub/x.txt", true),
    ("*.txt", "dir\\x.txt", true),
    ("é?.txt", "éx.txt", true),
    ("?.txt", "é.txt", true),
    ("[é]x", "éx", true),
    ("[!a]", "é", true),
    ("a[/]b", "a/b", true),
    ("[a-c-e]", "d", false),
    ("[a-c-e]", "-", true),
    ("[a-c-e]", "e", true),
    ("x[!]", "x[!]", true),
    ("***a", "ba", true),
    ("*a*b*c", "xaybzc", true),
    ("*a*b*c", "xaybzcd", false),
    ("a,b", "a,b", true),
    ("[&~|]", "~", true),
    ("[\\]", "/", true),
];

#[test]
fn table_matches_python() {
    assert!(CASES.len() >= 30);
    for &(pattern, path, want) in CASES {
        assert_eq!(
            fnmatch(pattern, path),
            want,
            "fnmatch({pattern:?}, {path:?})"
        );
        let filter = PatternFilter::new(Some(&[pattern.to_string()]), &[]).unwrap();
        assert_eq!(
            filter.is_match(path),
            want,
            "filter {pattern:?} on {path:?}"
        );
    }
}

#[test]
fn allow_and_ignore() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let all = PatternFilter::new(None, &[]).unwrap();
    assert!(all.is_match("anything/at/all.bin"));
    let none = PatternFilter::new(Some(&[]), &[]).unwrap();
    assert!(!none.is_match("config.json"));
    let f = PatternFilter::new(
        Some(&s(&["*.json", "onnx/"])),
        &s(&["onnx/*.json", "secret*"]),
    )
    .unwrap();
    assert!(f.is_match("config.json"));
    assert!(f.is_match("onnx/model.onnx"));
    assert!(!f.is_match("onnx/config.json"), "ignore wins over allow");
    assert!(!f.is_match("secret.json"));
    assert!(!f.is_match("model.safetensors"));
    let ignore_only = PatternFilter::new(None, &s(&["*.bin", "logs/"])).unwrap();
    assert!(ignore_only.is_match("model.safetensors"));
    assert!(!ignore_only.is_match("sub/pytorch_model.bin"));
    assert!(!ignore_only.is_match("logs/2024/x.txt"));
    // Windows-style separators in paths and patterns.
    let win = PatternFilter::new(Some(&s(&["data\\*.json"])), &[]).unwrap();
    assert!(win.is_match("data\\x\\y.json"));
    assert!(win.is_match("data/x/y.json"));
}

#[test]
fn non_ascii_paths_match_by_character() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let f = PatternFilter::new(Some(&s(&["?.txt", "[é]x", "[!a]"])), &[]).unwrap();
    assert!(f.is_match("é.txt"));
    assert!(f.is_match("éx"));
    assert!(f.is_match("ü"));
    assert!(!f.is_match("éé.txt"));
    assert!(fnmatch("*", "line\nbreak"));
    assert!(fnmatch("a?b", "a\nb"));
    assert!(
        PatternFilter::new(Some(&s(&["a*b"])), &[])
            .unwrap()
            .is_match("a\nb")
    );
}

#[test]
fn empty_classes_never_match() {
    assert!(!fnmatch("[z-a]", "z"));
    assert!(!fnmatch("x[z-a]*", "xa"));
    let f = PatternFilter::new(Some(&["[z-a]".to_string()]), &[]).unwrap();
    assert!(!f.is_match("a"));
    assert!(fnmatch("[!z-a]", "q"));
}

/// ASCII characters that matter to one engine or the other.
const ALPHABET: &[char] = &[
    'a', 'b', 'z', 'A', '0', '-', '!', '^', ']', '[', '*', '?', '/', '\\', '{', '}', ',', ':', '&',
    '~', '|', '.', ' ', '"', '_', '\t', '\u{7f}', '\u{1}',
];

fn ascii_string(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(ALPHABET), 0..max)
        .prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary patterns and paths never panic, whatever they contain.
    #[test]
    fn never_panics(pattern in ".{0,24}", path in ".{0,24}") {
        let _ = fnmatch(&pattern, &path);
        if let Ok(f) = PatternFilter::new(Some(std::slice::from_ref(&pattern)), std::slice::from_ref(&pattern)) {
            let _ = f.is_match(&path);
        }
    }

    /// The globset engine (ASCII paths) agrees with the character matcher on every pattern.
    #[test]
    fn globset_agrees_with_character_matcher(
        pattern in ascii_string(10),
        path in ascii_string(8),
    ) {
        let f = PatternFilter::new(Some(std::slice::from_ref(&pattern)), &[]).unwrap();
        prop_assert_eq!(f.is_match(&path), fnmatch(&pattern, &path), "{:?} on {:?}", pattern, path);
    }

    /// Same for single-character paths against arbitrary classes of printable ASCII.
    #[test]
    fn classes_agree(body in "[ -~]{0,8}", c in "[\\x00-\\x7f]") {
        let pattern = format!("[{body}]");
        let f = PatternFilter::new(Some(std::slice::from_ref(&pattern)), &[]).unwrap();
        prop_assert_eq!(f.is_match(&c), fnmatch(&pattern, &c), "{:?} on {:?}", pattern, c);
    }
}
