//! An experiment and its disk: the guard that closes arrivals before the disk holding
//! the event log is full, and the copies of the files a run serves.

use std::path::Path;

use crate::config::{Loaded, Scene};
use crate::eventlog;

/// Closes arrivals before the disk holding the event log is full: below
/// `min_free_bytes` new participants are turned away (running sessions go on, so that
/// what they do can still be written); above twice that they are admitted again.
#[derive(Debug, Clone, Copy)]
pub struct DiskGuard {
    pub min_free_bytes: u64,
    /// How often free space is looked at.
    pub every: std::time::Duration,
}

impl Default for DiskGuard {
    fn default() -> Self {
        Self { min_free_bytes: 100 << 20, every: std::time::Duration::from_secs(5) }
    }
}

impl DiskGuard {
    /// What arrivals should be with `free` bytes left, given what they are now.
    pub(super) fn arrivals(&self, free: u64, now: &super::Arrivals) -> super::Arrivals {
        let closed = !matches!(now, super::Arrivals::Open);
        if free < self.min_free_bytes || (closed && free < self.min_free_bytes.saturating_mul(2)) {
            super::Arrivals::Closed {
                reason: "disk_space".to_owned(),
                message: "This study is not taking new participants at the moment. Please try again later.".to_owned(),
            }
        } else {
            super::Arrivals::Open
        }
    }
}

/// Free bytes for unprivileged writers on the filesystem holding `dir`.
#[cfg(unix)]
pub(super) fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes only into the struct passed, and the path is a valid C string.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Some(st.f_bavail as u64 * st.f_frsize as u64)
}

#[cfg(not(unix))]
pub(super) fn free_bytes(_dir: &Path) -> Option<u64> {
    None
}

/// Files larger than this are recorded by their hash only.
const KEEP_FILES_UP_TO: usize = 4 << 20;

/// Copies the files this run serves (the experiment file, its policies, each game's
/// folder) into
/// `run_dir/files/`, and returns their SHA-256 by path relative to the experiment file,
/// so that the data says exactly what ran.
pub(super) fn keep_files(
    loaded: &Loaded,
    run_dir: &Path,
) -> std::io::Result<std::collections::BTreeMap<String, String>> {
    let mut files =
        vec![(loaded.path.file_name().map(std::path::PathBuf::from).unwrap_or_default(), loaded.path.clone())];
    for scene in &loaded.experiment.scenes {
        if let Scene::Multiplayer(m) = scene
            && let Some(plugin) = &m.matchmaker.plugin
        {
            files.push((plugin.clone(), loaded.base_dir.join(plugin)));
        }
        if let Scene::Multiplayer(m) = scene
            && let Some(folder) = loaded.games.get(m.id.as_str())
        {
            let prefix = m.game.module.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
            for name in folder.files.keys() {
                files.push((prefix.join(name), folder.dir.join(name)));
            }
        }
    }
    let mut hashes = std::collections::BTreeMap::new();
    for (name, source) in files {
        let bytes = std::fs::read(&source)?;
        let hash = eventlog::sha256_hex(&bytes);
        // Kept under its hash (no name of the experiment's may leave the run dir, or
        // collide); large files (a Python policy is tens of MB) only by their hash.
        if bytes.len() <= KEEP_FILES_UP_TO {
            let base = name.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            std::fs::create_dir_all(run_dir.join("files"))?;
            std::fs::write(run_dir.join("files").join(format!("{}-{base}", &hash[..16])), &bytes)?;
        }
        hashes.insert(name.to_string_lossy().into_owned(), hash);
    }
    Ok(hashes)
}
