//! A game's folder: the module and the files beside it (imports, sprites, sounds),
//! read once and bounded, served to participants under `/x/<experiment>/game/<scene>/`
//! and copied into the run directory. Nothing outside the folder is ever read, and
//! only files of the kinds a page loads are taken.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Most files taken from a game's folder.
pub const MAX_FILES: usize = 256;
/// Most bytes taken from a game's folder, all files together.
pub const MAX_TOTAL_BYTES: u64 = 32 << 20;
/// How deep subfolders are followed.
const MAX_DEPTH: usize = 4;

/// Why a game folder could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error(
        "the game module must be in a folder of its own beside the experiment (e.g. `games/{0}`): the host serves that folder to participants"
    )]
    NotInSubfolder(String),
    #[error("`{0}` must not contain `..`: the game's folder is served to participants")]
    ParentDir(String),
    #[error("`{0}` should be a .js or .mjs file")]
    NotJs(String),
    #[error("file not found: `{0}`")]
    Missing(String),
    #[error("cannot read `{path}`: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("the game's folder `{0}` holds more than {MAX_FILES} files or {MAX_TOTAL_BYTES} bytes")]
    TooLarge(String),
}

/// One file a page may load.
#[derive(Debug, Clone)]
pub struct GameFile {
    pub content_type: &'static str,
    pub bytes: Arc<[u8]>,
    pub sha256: String,
}

/// The files of one game's folder, by path relative to it (`/`-separated).
#[derive(Debug, Clone, Default)]
pub struct GameFolder {
    /// The folder on disk.
    pub dir: PathBuf,
    /// The module's path relative to the folder.
    pub main: String,
    pub files: BTreeMap<String, GameFile>,
}

/// The content type a page gets for a file name, or `None` for a kind never served.
pub fn content_type(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
    Some(match ext.as_str() {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "css" => "text/css; charset=utf-8",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "txt" => "text/plain; charset=utf-8",
        _ => return None,
    })
}

impl GameFolder {
    /// Reads the folder of `module` (a path as written in the experiment, relative to
    /// `base`). `exclude` are files never served even if they lie there (secrets).
    pub fn read(base: &Path, module: &Path, exclude: &[PathBuf]) -> Result<Self, FolderError> {
        let shown = module.display().to_string();
        if module.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(FolderError::ParentDir(shown));
        }
        if !matches!(module.extension().and_then(|e| e.to_str()), Some("js" | "mjs")) {
            return Err(FolderError::NotJs(shown));
        }
        let path = base.join(module);
        if !path.is_file() {
            return Err(FolderError::Missing(path.display().to_string()));
        }
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let same = |a: &Path, b: &Path| a.canonicalize().ok().zip(b.canonicalize().ok()).is_some_and(|(a, b)| a == b);
        if module.parent().is_none_or(|p| p.as_os_str().is_empty()) || same(&dir, base) {
            let name = module.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            return Err(FolderError::NotInSubfolder(name));
        }
        let main = module.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let exclude: Vec<PathBuf> = exclude.iter().filter_map(|p| base.join(p).canonicalize().ok()).collect();
        let mut folder = GameFolder { dir: dir.clone(), main, files: BTreeMap::new() };
        let mut total = 0u64;
        folder.walk(&dir, "", 0, &exclude, &mut total)?;
        Ok(folder)
    }

    fn walk(
        &mut self,
        dir: &Path,
        prefix: &str,
        depth: usize,
        exclude: &[PathBuf],
        total: &mut u64,
    ) -> Result<(), FolderError> {
        let read_err = |path: &Path, error| FolderError::Read { path: path.display().to_string(), error };
        let mut entries: Vec<_> =
            std::fs::read_dir(dir).map_err(|e| read_err(dir, e))?.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let rel = format!("{prefix}{name}");
            if path.is_dir() {
                if depth < MAX_DEPTH {
                    self.walk(&path, &format!("{rel}/"), depth + 1, exclude, total)?;
                }
                continue;
            }
            let Some(content_type) = content_type(&name) else { continue };
            if path.canonicalize().is_ok_and(|p| exclude.contains(&p)) {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|e| read_err(&path, e))?;
            *total += bytes.len() as u64;
            if self.files.len() >= MAX_FILES || *total > MAX_TOTAL_BYTES {
                return Err(FolderError::TooLarge(self.dir.display().to_string()));
            }
            let sha256 = crate::eventlog::sha256_hex(&bytes);
            self.files.insert(rel, GameFile { content_type, bytes: bytes.into(), sha256 });
        }
        Ok(())
    }

    /// The module's source.
    pub fn main_source(&self) -> &[u8] {
        self.files.get(&self.main).map_or(&[], |f| &f.bytes)
    }

    /// JavaScript sources by relative path (for the host's engine).
    pub fn sources(&self) -> BTreeMap<String, String> {
        self.files
            .iter()
            .filter(|(name, _)| name.ends_with(".js") || name.ends_with(".mjs") || name.ends_with(".json"))
            .map(|(name, f)| (name.clone(), String::from_utf8_lossy(&f.bytes).into_owned()))
            .collect()
    }

    /// A file by its relative path as a page asks for it; never anything outside.
    pub fn get(&self, rel: &str) -> Option<&GameFile> {
        if rel.split('/').any(|part| part.is_empty() || part == "." || part == ".." || part.starts_with('.')) {
            return None;
        }
        self.files.get(rel)
    }
}
