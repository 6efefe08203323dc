//! Scenes as participants see them: bodies rendered once at start-up (markdown → HTML,
//! body files read), per-participant details (end-page redirect) filled at send time.

use std::collections::HashMap;
use std::path::Path;

use crate::config::by_condition::{Audience, applies};

use crate::config::model::TextFormat;
use crate::config::survey::Question;
use crate::config::{Experiment, Scene};
use crate::protocol::{MatrixItemView, QuestionKind, QuestionView, SceneView};

use super::state::Participant;

/// A participant's conditions by index: (entry, group of their last game).
type Conditions = (Option<usize>, Option<usize>);

/// Rendered scenes, index-aligned with `experiment.scenes`.
#[derive(Debug, Clone)]
pub struct Views {
    scenes: Vec<SceneView>,
    /// Per scene with texts by condition (`by_condition`): its view for each (entry
    /// condition, group condition) by index, a group's only where the scene names group
    /// conditions. A participant gets only their own conditions'.
    by_condition: Vec<HashMap<Conditions, SceneView>>,
    /// Per scene, whether its texts hold a participant's placeholders (`{condition…}`,
    /// `{group_code}`, `{pay}`, `{bonus}`, piped values): only those are rewritten for
    /// each participant.
    personal: Vec<bool>,
}

/// A body file could not be read at start-up.
#[derive(Debug, thiserror::Error)]
#[error("experiment `{experiment}`, scene `{scene}`: cannot read {path}: {source}")]
pub struct ViewError {
    pub experiment: String,
    pub scene: String,
    pub path: String,
    pub source: std::io::Error,
}

impl Views {
    /// Renders every scene (and each scene with texts by condition once per entry
    /// condition, and per group condition when it names them); body files are resolved
    /// against `base_dir`.
    pub fn render(experiment: &Experiment, base_dir: &Path) -> Result<Self, ViewError> {
        let entries = experiment.conditions.entry.as_ref().map(|e| e.conditions()).unwrap_or_default();
        let groups = experiment.conditions.group.as_ref().map(|g| g.conditions()).unwrap_or_default();
        let mut scenes = Vec::new();
        let mut by_condition = Vec::new();
        for scene in &experiment.scenes {
            scenes.push(render_scene(experiment, base_dir, scene)?);
            let mut variants = HashMap::new();
            if scene.varies_by_condition() {
                let names_groups = scene.condition_keys().iter().any(|k| groups.iter().any(|g| applies(k, g)));
                let entry_options = std::iter::once(None).chain((0..entries.len()).map(Some));
                let group_options: Vec<Option<usize>> = if names_groups {
                    std::iter::once(None).chain((0..groups.len()).map(Some)).collect()
                } else {
                    vec![None]
                };
                for e in entry_options {
                    for g in &group_options {
                        if e.is_none() && g.is_none() {
                            continue;
                        }
                        let audience = Audience { entry: e.map(|i| &entries[i]), group: g.map(|i| &groups[i]) };
                        let view = render_scene(experiment, base_dir, &scene.for_condition(audience))?;
                        variants.insert((e, *g), view);
                    }
                }
            }
            by_condition.push(variants);
        }
        let personal = scenes
            .iter()
            .zip(&by_condition)
            .map(|(view, variants)| {
                std::iter::once(view).chain(variants.values()).any(|v| {
                    let text = serde_json::to_string(v).unwrap_or_default();
                    ["{condition", "{group_code}", "{pay}", "{bonus}", "{answer:", "{result:"]
                        .iter()
                        .any(|p| text.contains(p))
                })
            })
            .collect();
        Ok(Self { scenes, by_condition, personal })
    }
}

/// One scene as participants see it.
fn render_scene(experiment: &Experiment, base_dir: &Path, scene: &Scene) -> Result<SceneView, ViewError> {
    let body = |scene: &Scene, inline: &Option<String>, file: &Option<std::path::PathBuf>, format: TextFormat| {
        let text = match (inline, file) {
            (Some(text), _) => text.clone(),
            (None, Some(file)) => std::fs::read_to_string(base_dir.join(file)).map_err(|source| ViewError {
                experiment: experiment.id.to_string(),
                scene: scene.id().to_string(),
                path: base_dir.join(file).display().to_string(),
                source,
            })?,
            (None, None) => String::new(),
        };
        Ok::<_, ViewError>(match format {
            TextFormat::Html => text,
            TextFormat::Markdown => markdown(&text),
        })
    };
    let view = match scene {
        Scene::Consent(s) => SceneView::Consent {
            id: s.id.to_string(),
            title: s.title.clone(),
            html: body(scene, &s.body, &s.body_file, s.format)?,
            agree_label: s.agree_label.clone(),
            button: s.button.clone(),
        },
        Scene::Instructions(s) => SceneView::Instructions {
            id: s.id.to_string(),
            title: s.title.clone(),
            html: body(scene, &s.body, &s.body_file, s.format)?,
            button: s.button.clone(),
        },
        Scene::Survey(s) => SceneView::Survey {
            id: s.id.to_string(),
            title: s.title.clone(),
            questions: s.questions.iter().map(question_view).collect(),
            button: s.button.clone(),
            try_again: None,
        },
        Scene::Multiplayer(m) => SceneView::Multiplayer {
            id: m.id.to_string(),
            title: m.title.clone(),
            group_size: m.group_size,
            show_count: m.waitroom.show_count,
            timeout_secs: m.waitroom.timeout_secs,
        },
        Scene::End(e) => SceneView::End {
            id: e.id.to_string(),
            title: e.title.clone(),
            message: e.message.clone(),
            completion_code: e
                .completion_code
                .as_ref()
                .or(experiment.recruitment.completion_code.as_ref())
                .map(|c| c.to_string()),
            redirect_url: e
                .redirect_url
                .as_ref()
                .or(experiment.recruitment.redirect_url.as_ref())
                .map(|u| u.to_string()),
        },
    };
    Ok(view)
}

impl Views {
    /// Whether the scene at `index` names the participant's condition or group code.
    pub fn personal(&self, index: usize) -> bool {
        self.personal[index]
    }

    /// The scene at `index` as `participant` sees it, `group` the condition of their last
    /// group (if it had one).
    pub fn scene(
        &self,
        index: usize,
        experiment: &Experiment,
        participant: &Participant,
        group: Option<usize>,
    ) -> SceneView {
        let variants = &self.by_condition[index];
        let variant =
            variants.get(&(participant.condition, group)).or_else(|| variants.get(&(participant.condition, None)));
        let mut view = variant.unwrap_or(&self.scenes[index]).clone();
        if let SceneView::End { redirect_url: Some(url), completion_code, .. } = &mut view {
            *url = fill_redirect(
                url,
                completion_code.as_deref(),
                &experiment.recruitment.id_param,
                participant.recruitment_id.as_deref(),
            );
        }
        view
    }
}

/// Fills `{completion_code}` and `{participant_id}` (the recruitment id); without a
/// `{participant_id}` placeholder the recruitment id is appended as `id_param=<id>`.
/// Both values are URL-safe by validation (codes and recruitment ids use a restricted
/// alphabet), so no escaping is needed.
pub fn fill_redirect(url: &str, code: Option<&str>, id_param: &str, recruitment_id: Option<&str>) -> String {
    let mut out = url.replace("{completion_code}", code.unwrap_or_default());
    match recruitment_id {
        Some(id) if out.contains("{participant_id}") => out = out.replace("{participant_id}", id),
        Some(id) => {
            let sep = if out.contains('?') { '&' } else { '?' };
            out = format!("{out}{sep}{id_param}={id}");
        }
        None => out = out.replace("{participant_id}", ""),
    }
    out
}

fn markdown(text: &str) -> String {
    let mut html = String::new();
    let parser = pulldown_cmark::Parser::new_ext(
        text,
        pulldown_cmark::Options::ENABLE_TABLES | pulldown_cmark::Options::ENABLE_STRIKETHROUGH,
    );
    pulldown_cmark::html::push_html(&mut html, parser);
    html
}

fn question_view(q: &Question) -> QuestionView {
    let kind = match q {
        Question::Text(q) => QuestionKind::Text { multiline: q.multiline, max_length: q.max_length },
        Question::SingleChoice(q) => QuestionKind::SingleChoice { options: q.options.clone() },
        Question::MultipleChoice(q) => QuestionKind::MultipleChoice {
            options: q.options.clone(),
            min_selected: q.min_selected,
            max_selected: q.max_selected,
        },
        Question::Likert(q) => QuestionKind::Likert {
            points: q.points,
            low_label: q.low_label.clone(),
            high_label: q.high_label.clone(),
            labels: q.labels.clone(),
        },
        Question::Number(q) => {
            QuestionKind::Number { min: q.min, max: q.max, decimals: q.decimals, unit: q.unit.clone() }
        }
        Question::Slider(q) => QuestionKind::Slider {
            min: q.min,
            max: q.max,
            step: q.step,
            start: q.start,
            low_label: q.low_label.clone(),
            high_label: q.high_label.clone(),
        },
        Question::Dropdown(q) => QuestionKind::Dropdown { options: q.options.clone() },
        Question::Matrix(q) => QuestionKind::Matrix {
            items: q.items.iter().map(|i| MatrixItemView { id: i.id.to_string(), text: i.text.clone() }).collect(),
            points: q.points,
            labels: q.labels.clone(),
            low_label: q.low_label.clone(),
            high_label: q.high_label.clone(),
        },
        Question::Rank(q) => QuestionKind::Rank { options: q.options.clone() },
    };
    QuestionView {
        id: q.id().to_string(),
        prompt: q.prompt().to_owned(),
        required: q.required(),
        show_if: None,
        wrong: None,
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::fill_redirect;

    #[test]
    fn redirects_fill_placeholders_or_append_the_id() {
        assert_eq!(
            fill_redirect("https://p.co/done?cc={completion_code}", Some("C1"), "PROLIFIC_PID", Some("abc")),
            "https://p.co/done?cc=C1&PROLIFIC_PID=abc"
        );
        assert_eq!(fill_redirect("https://x.org/{participant_id}/end", None, "w", Some("w1")), "https://x.org/w1/end");
        assert_eq!(fill_redirect("https://x.org/end", None, "w", None), "https://x.org/end");
    }
}
