//! Shared helpers: running the `cohort` binary from the repository root.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where `Cargo.toml` is).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `cohort ARGS...` from the repository root.
pub fn cohort<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_cohort"))
        .args(args)
        .current_dir(root())
        .env("COHORT_LOG", "warn")
        .output()
        .expect("the cohort binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Files in `dir` (relative to the root) with extension `ext`, sorted, as paths
/// relative to the root.
pub fn files_with_extension(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
        .map(|entry| entry.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .map(|p| Path::new(dir).join(p.file_name().expect("file name")))
        .collect();
    files.sort();
    files
}

/// Whether golden files should be rewritten instead of compared.
pub fn blessing() -> bool {
    std::env::var_os("COHORT_BLESS").is_some()
}
