//! Survey scenes: questions of four kinds, each answer validated by the server.
//!
//! Every question kind repeats `id`, `prompt` and `required` as plain fields rather than
//! a `#[serde(flatten)]`ed common struct, which would disable `deny_unknown_fields`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::types::Slug;

/// A questionnaire page.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyScene {
    /// Identifies the scene in the data and in `goto`.
    pub id: Slug,
    /// Shown only to participants of some entry conditions (`show_if: {condition:
    /// [told_ai, "framing=loss"]}`); others skip it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<crate::config::by_condition::ShowIf>,
    /// Heading shown above the questions.
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub title: Option<String>,
    /// The questions, in order. Question ids are unique within the survey.
    #[schemars(length(min = 1, max = 200))]
    pub questions: Vec<Question>,
    /// Label of the submit button.
    #[serde(default = "default_submit")]
    #[schemars(length(min = 1, max = 100))]
    pub button: String,
    /// Texts for participants of some conditions, by condition name or `factor=level`
    /// (entry conditions; group conditions on scenes after a multiplayer scene); what
    /// an entry does not give comes from the scene above.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub by_condition: super::by_condition::ByCondition<super::by_condition::SurveyTexts>,
}

fn default_submit() -> String {
    "Submit".to_owned()
}

fn yes() -> bool {
    true
}

/// One question, chosen by `kind`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Question {
    Text(TextQuestion),
    SingleChoice(ChoiceQuestion),
    MultipleChoice(MultipleChoiceQuestion),
    Likert(LikertQuestion),
}

impl Question {
    /// The question's `show_if`.
    pub fn show_if(&self) -> &Option<super::by_condition::ShowIf> {
        match self {
            Question::Text(q) => &q.show_if,
            Question::SingleChoice(q) => &q.show_if,
            Question::MultipleChoice(q) => &q.show_if,
            Question::Likert(q) => &q.show_if,
        }
    }

    pub fn id(&self) -> &Slug {
        match self {
            Question::Text(q) => &q.id,
            Question::SingleChoice(q) => &q.id,
            Question::MultipleChoice(q) => &q.id,
            Question::Likert(q) => &q.id,
        }
    }

    pub fn required(&self) -> bool {
        match self {
            Question::Text(q) => q.required,
            Question::SingleChoice(q) => q.required,
            Question::MultipleChoice(q) => q.required,
            Question::Likert(q) => q.required,
        }
    }
}

/// A free-text answer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TextQuestion {
    /// Identifies the answer in the data.
    pub id: Slug,
    /// Shown only to participants of some entry conditions (`show_if: {condition:
    /// [told_ai, "framing=loss"]}`); others skip it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<crate::config::by_condition::ShowIf>,
    /// The question as participants read it.
    #[schemars(length(min = 1, max = 2000))]
    pub prompt: String,
    /// Whether the survey can be submitted without an answer.
    #[serde(default = "yes")]
    pub required: bool,
    /// A multi-line text area instead of a one-line field.
    #[serde(default)]
    pub multiline: bool,
    /// Longest answer accepted, in characters.
    #[serde(default = "default_max_length")]
    #[schemars(range(min = 1, max = 10000))]
    pub max_length: u32,
}

fn default_max_length() -> u32 {
    1000
}

/// Pick exactly one of the options.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChoiceQuestion {
    /// Identifies the answer in the data.
    pub id: Slug,
    /// Shown only to participants of some entry conditions (`show_if: {condition:
    /// [told_ai, "framing=loss"]}`); others skip it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<crate::config::by_condition::ShowIf>,
    /// The question as participants read it.
    #[schemars(length(min = 1, max = 2000))]
    pub prompt: String,
    /// Whether the survey can be submitted without an answer.
    #[serde(default = "yes")]
    pub required: bool,
    /// The options, as shown and as recorded. Unique.
    #[schemars(length(min = 2, max = 50), inner(length(min = 1, max = 500)))]
    pub options: Vec<String>,
}

/// Pick any number of the options, within bounds.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MultipleChoiceQuestion {
    /// Identifies the answer in the data.
    pub id: Slug,
    /// Shown only to participants of some entry conditions (`show_if: {condition:
    /// [told_ai, "framing=loss"]}`); others skip it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<crate::config::by_condition::ShowIf>,
    /// The question as participants read it.
    #[schemars(length(min = 1, max = 2000))]
    pub prompt: String,
    /// Whether the survey can be submitted without an answer.
    #[serde(default = "yes")]
    pub required: bool,
    /// The options, as shown and as recorded. Unique.
    #[schemars(length(min = 2, max = 50), inner(length(min = 1, max = 500)))]
    pub options: Vec<String>,
    /// Fewest options a participant must pick (when answering).
    #[serde(default)]
    #[schemars(range(max = 50))]
    pub min_selected: u32,
    /// Most options a participant may pick; no limit when absent.
    #[serde(default)]
    #[schemars(range(min = 1, max = 50))]
    pub max_selected: Option<u32>,
}

/// A rating on a scale of `points` (e.g. 1-7).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LikertQuestion {
    /// Identifies the answer in the data.
    pub id: Slug,
    /// Shown only to participants of some entry conditions (`show_if: {condition:
    /// [told_ai, "framing=loss"]}`); others skip it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<crate::config::by_condition::ShowIf>,
    /// The question as participants read it.
    #[schemars(length(min = 1, max = 2000))]
    pub prompt: String,
    /// Whether the survey can be submitted without an answer.
    #[serde(default = "yes")]
    pub required: bool,
    /// Number of points on the scale; answers are recorded as 1..=points.
    #[serde(default = "default_points")]
    #[schemars(range(min = 2, max = 11))]
    pub points: u8,
    /// Label under the first point (e.g. "Strongly disagree").
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub low_label: Option<String>,
    /// Label under the last point (e.g. "Strongly agree").
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub high_label: Option<String>,
    /// A label for every point instead; exactly `points` of them.
    #[serde(default)]
    #[schemars(length(max = 11), inner(length(min = 1, max = 200)))]
    pub labels: Option<Vec<String>>,
}

fn default_points() -> u8 {
    5
}
