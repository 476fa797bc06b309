//! Prints the sha256 (LFS oid) of each file given, the way hfkit's uploads hash them, in the
//! format of `sha256sum` (`HEX  PATH`). `benches/upload_compare.py` times it against `sha256sum`.
//!
//! Run it with `cargo run --release --example sha256_file -- FILE...`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut code = ExitCode::SUCCESS;
    for path in std::env::args_os().skip(1) {
        match hfkit::hub::commit::sha256_file(&path) {
            Ok(oid) => println!("{oid}  {}", path.to_string_lossy()),
            Err(e) => {
                eprintln!("error: {e}");
                code = ExitCode::FAILURE;
            }
        }
    }
    code
}
