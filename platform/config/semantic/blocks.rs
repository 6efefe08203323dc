//! Semantic check of `blocks`: each names scenes that exist, consecutive and in order,
//! holding no `end` scene, blocks not overlapping, and routes of a sane length.

use std::collections::HashSet;

use serde_json::Value;

use super::{Checker, SceneView};
use crate::config::KeyPath;
use crate::config::blocks::{Block, MAX_ROUTE};

impl Checker<'_> {
    pub(super) fn blocks(&mut self, document: &Value, views: &[SceneView]) {
        let Some(raw) = document.get("blocks") else { return };
        let Ok(blocks) = serde_json::from_value::<Vec<Block>>(raw.clone()) else { return }; // schema errors
        let at = KeyPath::root().key("blocks");
        let position = |id: &str| views.iter().position(|v| v.id.as_ref().is_some_and(|s| s.as_str() == id));
        let (mut ids, mut taken) = (HashSet::new(), HashSet::new());
        let mut length = views.len();
        for (i, block) in blocks.iter().enumerate() {
            let here = at.index(i);
            if !ids.insert(block.id.as_str()) {
                self.report(here.key("id"), format!("another block is named `{}`", block.id));
            }
            let mut previous: Option<usize> = None;
            for (j, scene) in block.scenes.iter().enumerate() {
                let Some(p) = position(scene.as_str()) else {
                    self.report(here.key("scenes").index(j), format!("no scene has the id `{scene}`"));
                    continue;
                };
                if previous.is_some_and(|q| p != q + 1) {
                    self.report(
                        here.key("scenes").index(j),
                        format!("`{scene}` does not follow the block's previous scene in `scenes`: a block's scenes are consecutive, in order"),
                    );
                }
                if views[p].kind.as_deref() == Some("end") {
                    self.report(here.key("scenes").index(j), "an `end` scene cannot be in a block");
                }
                if !taken.insert(p) {
                    self.report(here.key("scenes").index(j), format!("`{scene}` is in another block already"));
                }
                previous = Some(p);
            }
            if block.randomize && block.scenes.len() < 2 {
                self.report(here.key("randomize"), "randomizing the order of one scene changes nothing");
            }
            length += block.scenes.len() * (block.repeat as usize).saturating_sub(1);
        }
        if length > MAX_ROUTE {
            self.report(at, format!("participants would see {length} scenes; at most {MAX_ROUTE}"));
        }
    }
}
