//! The one wasmtime engine for policies: fuel to count each call's work, epoch
//! interruption for per-call deadlines (a
//! background thread advances the epoch every millisecond), and compiled components
//! cached on disk, keyed by the component's bytes and the engine's compatibility hash,
//! so that a large component (a Python policy is tens of MB) starts in milliseconds
//! the second time.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

/// One epoch tick.
pub const TICK: Duration = Duration::from_millis(1);

/// The shared engine (its epoch ticker starts with it).
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.consume_fuel(true); // counts work (see `WORK_PER_MS`); deadlines stop calls
        config.wasm_component_model(true);
        let engine = Engine::new(&config).expect("the policy engine configuration is valid");
        let ticker = engine.weak();
        std::thread::Builder::new()
            .name("cohort-epoch".into())
            .spawn(move || {
                while let Some(engine) = ticker.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(TICK);
                }
            })
            .expect("the epoch thread starts");
        engine
    })
}

/// Where compiled components are cached: `$COHORT_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/cohort/components`, else `~/.cache/cohort/components`; none (no
/// caching) without a home — never a shared temporary directory, where another user
/// could plant compiled code.
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("COHORT_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("cohort").join("components"))
}

/// How a component was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Compiled now (and cached).
    Compiled,
    /// Loaded from the on-disk cache.
    Cached,
}

/// Compiles `bytes`, or loads the cached compilation.
pub fn component(bytes: &[u8]) -> wasmtime::Result<(Component, Source)> {
    let engine = engine();
    let mut hasher = Sha256::new();
    hasher.update(bytes);
    let mut compat = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut compat);
    let key = format!("{:x}-{:016x}", hasher.finalize(), std::hash::Hasher::finish(&compat));
    let Some(path) = cache_dir().map(|dir| dir.join(format!("{key}.cwasm"))) else {
        return Ok((Component::new(engine, bytes)?, Source::Compiled));
    };
    if path.is_file() {
        // SAFETY: the file was written by `Component::serialize` of this same engine
        // configuration (the compatibility hash is part of its name), in cohort's own
        // cache directory.
        if let Ok(component) = unsafe { Component::deserialize_file(engine, &path) } {
            return Ok((component, Source::Cached));
        }
    }
    let component = Component::new(engine, bytes)?;
    if let Ok(serialized) = component.serialize() {
        store_atomically(&path, &serialized);
    }
    Ok((component, Source::Compiled))
}

/// Writes `bytes` to `path` through a uniquely named temporary file in the same
/// (private) directory, so a crash or a concurrent writer leaves no torn file.
fn store_atomically(path: &Path, bytes: &[u8]) {
    let Some(dir) = path.parent() else { return };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    if builder.create(dir).is_err() {
        return;
    }
    let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir) else { return };
    if std::io::Write::write_all(&mut tmp, bytes).is_ok() {
        let _ = tmp.persist(path);
    }
}
