use super::*;

fn build(pairs: &[(&str, &str)]) -> Settings {
    let map = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::builder().env_map(map).build().unwrap()
}

#[test]
fn cache_chain() {
    let s = build(&[("HOME", "/home/u")]);
    assert_eq!(s.cache_dir(), Path::new("/home/u/.cache/huggingface/hub"));
    let s = build(&[("HOME", "/home/u"), ("XDG_CACHE_HOME", "/x")]);
    assert_eq!(s.cache_dir(), Path::new("/x/huggingface/hub"));
    let s = build(&[("HOME", "/home/u"), ("HF_HOME", "~/hf")]);
    assert_eq!(s.cache_dir(), Path::new("/home/u/hf/hub"));
    assert_eq!(s.token_path(), Path::new("/home/u/hf/token"));
    let s = build(&[("HF_HOME", "/h"), ("HUGGINGFACE_HUB_CACHE", "/legacy")]);
    assert_eq!(s.cache_dir(), Path::new("/legacy"));
    let s = build(&[
        ("HF_HOME", "/h"),
        ("HUGGINGFACE_HUB_CACHE", "/legacy"),
        ("HF_HUB_CACHE", "$ROOT/c"),
        ("ROOT", "/r"),
    ]);
    assert_eq!(s.cache_dir(), Path::new("/r/c"));
    // Empty means unset.
    let s = build(&[("HF_HOME", "/h"), ("HF_HUB_CACHE", "")]);
    assert_eq!(s.cache_dir(), Path::new("/h/hub"));
}

#[test]
fn endpoint_and_flags() {
    let s = build(&[
        ("HF_ENDPOINT", "http://127.0.0.1:9/"),
        ("HF_HUB_OFFLINE", "yes"),
    ]);
    assert_eq!(s.endpoint(), "http://127.0.0.1:9");
    assert!(s.offline());
    let s = build(&[("HF_HUB_OFFLINE", "2"), ("TRANSFORMERS_OFFLINE", "1")]);
    assert!(!s.offline(), "only 1/ON/YES/TRUE are truthy");
    let s = build(&[("TRANSFORMERS_OFFLINE", "On")]);
    assert!(s.offline());
    let s = build(&[("HF_HUB_ETAG_TIMEOUT", "0")]);
    assert_eq!(s.etag_timeout(), Duration::from_secs(10));
    let map = [("HF_HUB_ETAG_TIMEOUT".to_string(), "1.5".to_string())].into();
    assert!(matches!(
        Settings::builder().env_map(map).build(),
        Err(Error::Config(_))
    ));
    let s = build(&[("HF_HUB_DISABLE_PROGRESS_BARS", "0")]);
    assert_eq!(s.progress_bars(), Some(true));
    let s = build(&[("HF_HUB_DISABLE_PROGRESS_BARS", "1")]);
    assert_eq!(s.progress_bars(), Some(false));
}

#[test]
fn builder_beats_env() {
    let map = [("HF_ENDPOINT".to_string(), "http://a".to_string())].into();
    let s = Settings::builder()
        .env_map(map)
        .endpoint("http://b")
        .build()
        .unwrap();
    assert_eq!(s.endpoint(), "http://b");
}

#[test]
fn token_order() {
    let s = build(&[
        ("HF_TOKEN", " hf_abc\r\n"),
        ("HUGGING_FACE_HUB_TOKEN", "hf_legacy"),
    ]);
    assert_eq!(s.resolve_token().unwrap().expose(), "hf_abc");
    let s = build(&[
        ("HUGGING_FACE_HUB_TOKEN", "hf_legacy"),
        ("HF_HOME", "/nonexistent"),
    ]);
    assert_eq!(s.resolve_token().unwrap().expose(), "hf_legacy");
    let s = build(&[
        ("HF_TOKEN", "hf_abc"),
        ("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1"),
    ]);
    assert!(s.resolve_token().is_none());
}
