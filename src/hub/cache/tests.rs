//! Unit tests of the cache layout.

use super::*;
use std::time::{Duration, SystemTime};

const C1: &str = "2439f60ef33a0d46d85da5001d52aeda5b00ce9f";
const C2: &str = "1111111111111111111111111111111111111111";
const E1: &str = "d7edf6bd2a681fb0175f7735299831ee1b22b812";

fn setup() -> (tempfile::TempDir, Repo, CacheRepo) {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::model("julien-c/EsperBERTo-small").unwrap();
    let cache = CacheRepo::new(dir.path(), &repo);
    (dir, repo, cache)
}

fn write_blob(cache: &CacheRepo, etag: &str, content: &[u8]) {
    let blob = cache.blob_path(etag);
    fs::create_dir_all(blob.parent().unwrap()).unwrap();
    fs::write(blob, content).unwrap();
}

#[test]
fn paths() {
    let (dir, _, cache) = setup();
    let c = dir.path();
    let r = c.join("models--julien-c--EsperBERTo-small");
    assert_eq!(cache.repo_dir(), r);
    assert_eq!(cache.blob_path(E1), r.join("blobs").join(E1));
    assert_eq!(
        cache.incomplete_path(E1),
        r.join("blobs").join(format!("{E1}.incomplete"))
    );
    assert_eq!(cache.snapshot_dir(C1), r.join("snapshots").join(C1));
    assert_eq!(
        cache.pointer_path(C1, "onnx/model.onnx").unwrap(),
        r.join("snapshots").join(C1).join("onnx").join("model.onnx")
    );
    assert_eq!(cache.ref_path("main"), r.join("refs").join("main"));
    assert_eq!(
        cache.ref_path("refs/pr/1"),
        r.join("refs").join("refs").join("pr").join("1")
    );
    assert_eq!(
        cache.no_exist_path(C1, "a/b.txt").unwrap(),
        r.join(".no_exist").join(C1).join("a").join("b.txt")
    );
    assert_eq!(
        cache.lock_path(E1),
        c.join(".locks")
            .join("models--julien-c--EsperBERTo-small")
            .join(format!("{E1}.lock"))
    );
    assert_eq!(
        cache.tree_cache_path(C1),
        r.join("trees").join(format!("{C1}.json"))
    );
    let ds = CacheRepo::new(c, &Repo::dataset("glue").unwrap());
    assert_eq!(ds.repo_dir(), c.join("datasets--glue"));
    let sp = CacheRepo::new(c, &Repo::space("ns/name").unwrap());
    assert_eq!(sp.repo_dir(), c.join("spaces--ns--name"));
}

#[test]
fn unsafe_paths_are_refused() {
    let (_dir, _, cache) = setup();
    for bad in ["../x", "/etc/passwd", "a/../../b", "a//b", ""] {
        assert!(
            matches!(cache.pointer_path(C1, bad), Err(Error::InvalidInput(_))),
            "{bad}"
        );
        assert!(cache.no_exist_path(C1, bad).is_err(), "{bad}");
        assert!(cache.link_pointer(C1, bad, E1, false).is_err(), "{bad}");
    }
    for bad_commit in ["..", ".", "a/b", ""] {
        assert!(cache.pointer_path(bad_commit, "x").is_err(), "{bad_commit}");
    }
    for bad_etag in ["..", "a/b", "", "x\n"] {
        assert!(validate_etag(bad_etag).is_err(), "{bad_etag:?}");
        assert!(cache.link_pointer(C1, "x", bad_etag, false).is_err());
    }
    assert!(validate_etag(E1).is_ok());
}

#[test]
fn write_ref_exact_bytes_and_atomic() {
    let (_dir, _, cache) = setup();
    cache.write_ref("main", C1).unwrap();
    assert_eq!(fs::read(cache.ref_path("main")).unwrap(), C1.as_bytes());
    assert_eq!(cache.read_ref("main").as_deref(), Some(C1));
    // Unchanged content: the file is not rewritten.
    let before = fs::metadata(cache.ref_path("main"))
        .unwrap()
        .modified()
        .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    cache.write_ref("main", C1).unwrap();
    let after = fs::metadata(cache.ref_path("main"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
    // Changed content is replaced.
    cache.write_ref("main", C2).unwrap();
    assert_eq!(fs::read_to_string(cache.ref_path("main")).unwrap(), C2);
    // Nested refs.
    cache.write_ref("refs/pr/1", C1).unwrap();
    assert_eq!(
        fs::read(cache.ref_path("refs/pr/1")).unwrap(),
        C1.as_bytes()
    );
    assert_eq!(cache.resolve_commit("refs/pr/1").as_deref(), Some(C1));
    // No temporary file is left behind.
    let refs = cache.repo_dir().join("refs");
    let names: Vec<String> = fs::read_dir(&refs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().all(|n| !n.ends_with(".tmp")));
    // Invalid input.
    assert!(cache.write_ref("main", "abc").is_err());
    assert!(cache.write_ref("../evil", C1).is_err());
}

#[test]
fn commit_revisions_get_no_ref() {
    let (_dir, _, cache) = setup();
    cache.write_ref(C1, C1).unwrap();
    assert!(!cache.repo_dir().exists());
    assert_eq!(cache.resolve_commit(C1).as_deref(), Some(C1));
    assert_eq!(cache.resolve_commit("main"), None);
}

#[test]
fn read_ref_requires_a_bare_commit() {
    let (_dir, _, cache) = setup();
    let path = cache.ref_path("main");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, format!("{C1}\n")).unwrap();
    assert_eq!(cache.read_ref("main"), None);
    fs::write(&path, "not a commit").unwrap();
    assert_eq!(cache.read_ref("main"), None);
    fs::write(&path, C1).unwrap();
    assert_eq!(cache.read_ref("main").as_deref(), Some(C1));
}

#[cfg(unix)]
#[test]
fn link_pointer_relative_targets() {
    let (_dir, _, cache) = setup();
    write_blob(&cache, E1, b"hello");
    let p = cache.link_pointer(C1, "README.md", E1, false).unwrap();
    assert_eq!(
        fs::read_link(&p).unwrap(),
        Path::new("../../blobs").join(E1)
    );
    assert_eq!(fs::read(&p).unwrap(), b"hello");
    let p = cache
        .link_pointer(C1, "onnx/model.onnx", E1, false)
        .unwrap();
    assert_eq!(
        fs::read_link(&p).unwrap(),
        Path::new("../../../blobs").join(E1)
    );
    assert_eq!(fs::read(&p).unwrap(), b"hello");
    let p = cache.link_pointer(C1, "a/b/c/d.bin", E1, false).unwrap();
    assert_eq!(
        fs::read_link(&p).unwrap(),
        Path::new("../../../../../blobs").join(E1)
    );
    // Linking again (as a concurrent download would) is fine.
    cache.link_pointer(C1, "README.md", E1, false).unwrap();
    // Another blob replaces the pointer.
    let e2 = "0".repeat(64);
    write_blob(&cache, &e2, b"other");
    let p = cache.link_pointer(C1, "README.md", &e2, false).unwrap();
    assert_eq!(
        fs::read_link(&p).unwrap(),
        Path::new("../../blobs").join(&e2)
    );
    assert_eq!(fs::read(&p).unwrap(), b"other");
    // A regular file at the pointer is replaced too.
    let p2 = cache.pointer_path(C1, "plain.txt").unwrap();
    fs::write(&p2, b"stale").unwrap();
    cache.link_pointer(C1, "plain.txt", E1, false).unwrap();
    assert_eq!(
        fs::read_link(&p2).unwrap(),
        Path::new("../../blobs").join(E1)
    );
    // No temporary names are left in the snapshot.
    let names: Vec<String> = fs::read_dir(cache.snapshot_dir(C1))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn link_pointer_without_symlinks_copies() {
    let (_dir, _, cache) = setup();
    write_blob(&cache, E1, b"content");
    let p = cache.link_pointer(C1, "dir/file.txt", E1, true).unwrap();
    let meta = fs::symlink_metadata(&p).unwrap();
    assert!(meta.is_file());
    assert_eq!(fs::read(&p).unwrap(), b"content");
    assert!(cache.blob_path(E1).exists(), "the blob stays");
    // Copying again replaces the pointer.
    write_blob(&cache, E1, b"content2");
    cache.link_pointer(C1, "dir/file.txt", E1, true).unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"content2");
    // A missing blob is an I/O error, and leaves no temporary file.
    let err = cache
        .link_pointer(C1, "x.txt", &"f".repeat(40), true)
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    let names: Vec<_> = fs::read_dir(cache.snapshot_dir(C1)).unwrap().collect();
    assert_eq!(names.len(), 1);
}

#[test]
fn cachedir_tag() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("hub");
    ensure_cachedir_tag(&c).unwrap();
    assert_eq!(
        fs::read(c.join("CACHEDIR.TAG")).unwrap(),
        CACHEDIR_TAG.as_bytes()
    );
    assert!(CACHEDIR_TAG.starts_with("Signature: 8a477f597d28d172789f06886806bc55\n"));
    fs::write(c.join("CACHEDIR.TAG"), "custom").unwrap();
    ensure_cachedir_tag(&c).unwrap();
    assert_eq!(
        fs::read_to_string(c.join("CACHEDIR.TAG")).unwrap(),
        "custom"
    );
}

#[test]
fn try_to_load() {
    let (dir, repo, cache) = setup();
    let c = dir.path();
    let load = |repo: &Repo, path: &str| try_to_load_from_cache(c, repo, path).unwrap();
    // No repo folder.
    assert_eq!(load(&repo, "README.md"), CachedFile::Unknown);
    write_blob(&cache, E1, b"readme");
    cache.write_ref("main", C1).unwrap();
    let pointer = cache
        .link_pointer(C1, "README.md", E1, cfg!(windows))
        .unwrap();
    cache.mark_missing(C1, "tokenizer.json").unwrap();
    assert_eq!(
        fs::metadata(cache.no_exist_path(C1, "tokenizer.json").unwrap())
            .unwrap()
            .len(),
        0
    );
    assert_eq!(load(&repo, "README.md"), CachedFile::Found(pointer.clone()));
    assert_eq!(load(&repo, "tokenizer.json"), CachedFile::KnownMissing);
    assert_eq!(load(&repo, "other.txt"), CachedFile::Unknown);
    // By commit id.
    let at_commit = repo.clone().with_revision(C1).unwrap();
    assert_eq!(
        load(&at_commit, "README.md"),
        CachedFile::Found(pointer.clone())
    );
    assert_eq!(load(&at_commit, "tokenizer.json"), CachedFile::KnownMissing);
    // A revision without ref.
    let dev = repo.clone().with_revision("dev").unwrap();
    assert_eq!(load(&dev, "README.md"), CachedFile::Unknown);
    // refs/pr/1 resolves through refs/refs/pr/1.
    cache.write_ref("refs/pr/1", C2).unwrap();
    let pr = repo.clone().with_revision("refs/pr/1").unwrap();
    assert_eq!(load(&pr, "README.md"), CachedFile::Unknown);
    let pr_pointer = cache
        .link_pointer(C2, "README.md", E1, cfg!(windows))
        .unwrap();
    cache.mark_missing(C2, "gone.txt").unwrap();
    assert_eq!(load(&pr, "README.md"), CachedFile::Found(pr_pointer));
    assert_eq!(load(&pr, "gone.txt"), CachedFile::KnownMissing);
    // Another repo type is another folder.
    let ds = Repo::dataset("julien-c/EsperBERTo-small").unwrap();
    assert_eq!(load(&ds, "README.md"), CachedFile::Unknown);
    // Bad paths are refused.
    assert!(try_to_load_from_cache(c, &repo, "../x").is_err());
    // A ref whose content is not a path segment names nothing.
    fs::write(cache.ref_path("main"), "../../x").unwrap();
    assert_eq!(load(&repo, "README.md"), CachedFile::Unknown);
}

#[test]
fn format_size_like_python() {
    // Expected values printed by huggingface_hub 2.4.0's `_format_size`.
    let cases: &[(u64, &str)] = &[
        (0, "0.0"),
        (8, "8.0"),
        (999, "999.0"),
        (1000, "1.0K"),
        (1049, "1.0K"),
        (1050, "1.1K"),
        (1250, "1.2K"),
        (1350, "1.4K"),
        (116_300, "116.3K"),
        (999_949, "999.9K"),
        (999_950, "1000.0K"),
        (1_900_000_000, "1.9G"),
        (5_000_000_000_000_000_000, "5.0E"),
        (u64::MAX, "18.4E"),
    ];
    for &(n, want) in cases {
        assert_eq!(format_size(n), want, "{n}");
    }
}

#[test]
fn format_timesince_like_python() {
    // Expected values printed by huggingface_hub 2.4.0's `format_timesince` with `time.time()`
    // pinned to `now` (2.5 and 6.5 round to even, as Python's `round` does).
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
    let cases: &[(f64, &str)] = &[
        (5.0, "a few seconds ago"),
        (19.9, "a few seconds ago"),
        (20.0, "20 seconds ago"),
        (59.0, "59 seconds ago"),
        (59.5, "1 minute ago"),
        (89.0, "1 minute ago"),
        (90.0, "2 minutes ago"),
        (3599.0, "1 hour ago"),
        (82_800.0, "23 hours ago"),
        (84_600.0, "1 day ago"),
        (259_200.0, "3 days ago"),
        (561_600.0, "6 days ago"),
        (604_800.0, "1 week ago"),
        (78_840_000.0, "2 years ago"),
        (3_628_800.0, "6 weeks ago"),
        (28_512_000.0, "11 months ago"),
        (30_067_200.0, "1 year ago"),
        (110_376_000.0, "4 years ago"),
        (-100.0, "a few seconds ago"),
    ];
    for &(delta, want) in cases {
        let then = if delta >= 0.0 {
            now - Duration::from_secs_f64(delta)
        } else {
            now + Duration::from_secs_f64(-delta)
        };
        assert_eq!(format_timesince(then, now), want, "{delta}");
    }
}
