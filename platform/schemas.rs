//! The generated JSON Schemas committed under `schemas/`: what they are named and how
//! they are rendered, so that `cohort schema` and the staleness test agree byte for byte.

use std::path::{Path, PathBuf};

/// Every generated schema: (file name, pretty JSON with a trailing newline).
pub fn rendered() -> Vec<(&'static str, String)> {
    let render = |value: serde_json::Value| {
        let mut text = serde_json::to_string_pretty(&value).expect("schemas serialize");
        text.push('\n');
        text
    };
    vec![
        ("experiment.schema.json", render(crate::config::schema::experiment_schema())),
        ("protocol.schema.json", render(crate::protocol::protocol_schema())),
    ]
}

/// Writes every schema into `dir`, returning the files written.
pub fn write_all(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    rendered()
        .into_iter()
        .map(|(name, text)| {
            let path = dir.join(name);
            std::fs::write(&path, text)?;
            Ok(path)
        })
        .collect()
}
