//! Survey scenes: questions of nine kinds, each answer validated by the server.
//!
//! Every question kind repeats `id`, `prompt` and `required` as plain fields rather than
//! a `#[serde(flatten)]`ed common struct, which would disable `deny_unknown_fields`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::types::Slug;
use crate::protocol::Answer;

/// A questionnaire page.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyScene {
    /// Identifies the scene in the data and in `goto`.
    pub id: Slug,
    /// Shown only when this rule holds for the participant: their entry condition
    /// (`{condition: [told_ai]}`), an earlier answer or game result (`{value:
    /// "answer:pre.age", at_least: 18}`), combined with `all` / `any` / `not`; others
    /// skip it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<crate::config::show_if::ShowIf>,
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
    /// A comprehension or attention check (questions with `correct`): how many tries a
    /// participant has before `on_fail` (default 1). Every attempt is logged and
    /// exported with its number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10))]
    pub attempts: Option<u32>,
    /// What happens after the last wrong attempt: `goto` a scene (back to the
    /// instructions: the check is taken again after them), or end the participant's
    /// part with a message and completion code (the outcome `failed_check`, paid as
    /// `recruitment.pay.failed_check`). Absent: they continue, and the data says they
    /// failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_fail: Option<Box<super::model::Outcome>>,
    /// With `on_fail: {goto: …}`: how many times a participant is sent back (absent: as
    /// often as they fail). Failing after the last time ends their part with
    /// `on_give_up` (the outcome `failed_check`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 20))]
    pub rounds: Option<u32>,
    /// The message and completion code for those who failed every round (`rounds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_give_up: Option<Box<super::model::Outcome>>,
    /// Shown above the questions after a wrong attempt that leaves tries.
    #[serde(default = "default_try_again")]
    #[schemars(length(min = 1, max = 2000))]
    pub try_again: String,
    /// Texts for participants of some conditions, by condition name or `factor=level`
    /// (entry conditions; group conditions on scenes after a multiplayer scene); what
    /// an entry does not give comes from the scene above.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub by_condition: super::by_condition::ByCondition<super::by_condition::SurveyTexts>,
}

fn default_submit() -> String {
    "Submit".to_owned()
}

fn default_try_again() -> String {
    "Some answers are not right yet. Please read the questions again and try once more.".to_owned()
}

impl SurveyScene {
    /// Whether it is a check: a question has a `correct` answer.
    pub fn is_check(&self) -> bool {
        self.questions.iter().any(|q| q.correct().is_some())
    }

    /// Tries a participant has per visit (1 unless set).
    pub fn tries(&self) -> u32 {
        self.attempts.unwrap_or(1)
    }

    /// The outcome of failing the check for good: `on_give_up` when `on_fail` sends
    /// back, else `on_fail`.
    pub fn failed_outcome(&self) -> Option<&super::model::Outcome> {
        match self.on_fail.as_deref() {
            Some(o) if o.goto.is_some() => self.on_give_up.as_deref(),
            other => other,
        }
    }
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
    Number(NumberQuestion),
    Slider(SliderQuestion),
    Dropdown(DropdownQuestion),
    Matrix(MatrixQuestion),
    Rank(RankQuestion),
}

/// `$q.$field` of whichever kind `$question` is (the fields every kind has).
macro_rules! common {
    ($question:expr, $q:ident => $e:expr) => {
        match $question {
            Question::Text($q) => $e,
            Question::SingleChoice($q) => $e,
            Question::MultipleChoice($q) => $e,
            Question::Likert($q) => $e,
            Question::Number($q) => $e,
            Question::Slider($q) => $e,
            Question::Dropdown($q) => $e,
            Question::Matrix($q) => $e,
            Question::Rank($q) => $e,
        }
    };
}

impl Question {
    /// The question's `show_if`.
    pub fn show_if(&self) -> &Option<super::show_if::ShowIf> {
        common!(self, q => &q.show_if)
    }

    pub fn id(&self) -> &Slug {
        common!(self, q => &q.id)
    }

    /// The question as participants read it.
    pub fn prompt(&self) -> &str {
        common!(self, q => &q.prompt)
    }

    pub fn required(&self) -> bool {
        common!(self, q => q.required)
    }

    /// The answer a comprehension or attention check expects, if it is one.
    pub fn correct(&self) -> Option<&Answer> {
        common!(self, q => q.correct.as_ref())
    }

    /// What a participant reads under this question after answering it wrongly.
    pub fn feedback(&self) -> Option<&str> {
        common!(self, q => q.feedback.as_deref())
    }

    /// The kind, as written in the YAML.
    pub fn kind(&self) -> &'static str {
        match self {
            Question::Text(_) => "text",
            Question::SingleChoice(_) => "single_choice",
            Question::MultipleChoice(_) => "multiple_choice",
            Question::Likert(_) => "likert",
            Question::Number(_) => "number",
            Question::Slider(_) => "slider",
            Question::Dropdown(_) => "dropdown",
            Question::Matrix(_) => "matrix",
            Question::Rank(_) => "rank",
        }
    }

    /// What each participant sees in an order of their own (`randomize`): the options,
    /// or a matrix's items (by id).
    pub fn shuffled(&self) -> Option<Vec<String>> {
        match self {
            Question::SingleChoice(q) if q.randomize => Some(q.options.clone()),
            Question::MultipleChoice(q) if q.randomize => Some(q.options.clone()),
            Question::Dropdown(q) if q.randomize => Some(q.options.clone()),
            Question::Rank(q) if q.randomize => Some(q.options.clone()),
            Question::Matrix(q) if q.randomize => Some(q.items.iter().map(|i| i.id.to_string()).collect()),
            _ => None,
        }
    }
}

/// Defines a question kind: the keys every kind has (`id`, `show_if`, `prompt`,
/// `required`, `correct`, `feedback`), then its own. Each kind is a struct of its own
/// with `deny_unknown_fields` (a flattened common struct would turn that off).
macro_rules! question {
    ($(#[$doc:meta])* $name:ident { $($(#[$meta:meta])* pub $field:ident: $ty:ty,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Identifies the answer in the data.
            pub id: Slug,
            /// Shown only when this rule holds (`show_if` of a scene); a rule may name
            /// the questions above it in the same survey.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub show_if: Option<crate::config::show_if::ShowIf>,
            /// The question as participants read it.
            #[schemars(length(min = 1, max = 2000))]
            pub prompt: String,
            /// Whether the survey can be submitted without an answer (a matrix: without
            /// a point for every item).
            #[serde(default = "yes")]
            pub required: bool,
            /// The answer a comprehension or attention check expects (see the scene's
            /// `attempts` and `on_fail`); a question without it is not graded. A matrix's
            /// may name some items only (`{attention: 2}`).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub correct: Option<Answer>,
            /// Shown under the question after a wrong answer to it (a check).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[schemars(length(min = 1, max = 2000))]
            pub feedback: Option<String>,
            $($(#[$meta])* pub $field: $ty,)*
        }
    };
}

question! {
    /// A free-text answer.
    TextQuestion {
        /// A multi-line text area instead of a one-line field.
        #[serde(default)]
        pub multiline: bool,
        /// Longest answer accepted, in characters.
        #[serde(default = "default_max_length")]
        #[schemars(range(min = 1, max = 10000))]
        pub max_length: u32,
    }
}

fn default_max_length() -> u32 {
    1000
}

question! {
    /// Pick exactly one of the options.
    ChoiceQuestion {
        /// The options, as shown and as recorded. Unique.
        #[schemars(length(min = 2, max = 50), inner(length(min = 1, max = 500)))]
        pub options: Vec<String>,
        /// Each participant sees the options in an order of their own (drawn when they
        /// enter the scene, logged as `order_drawn`).
        #[serde(default)]
        pub randomize: bool,
    }
}

question! {
    /// Pick any number of the options, within bounds.
    MultipleChoiceQuestion {
        /// The options, as shown and as recorded. Unique.
        #[schemars(length(min = 2, max = 50), inner(length(min = 1, max = 500)))]
        pub options: Vec<String>,
        /// Each participant sees the options in an order of their own (drawn when they
        /// enter the scene, logged as `order_drawn`).
        #[serde(default)]
        pub randomize: bool,
        /// Fewest options a participant must pick (when answering).
        #[serde(default)]
        #[schemars(range(max = 50))]
        pub min_selected: u32,
        /// Most options a participant may pick; no limit when absent.
        #[serde(default)]
        #[schemars(range(min = 1, max = 50))]
        pub max_selected: Option<u32>,
    }
}

question! {
    /// A rating on a scale of `points` (e.g. 1-7).
    LikertQuestion {
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
}

fn default_points() -> u8 {
    5
}

question! {
    /// A number typed in: whole numbers, or decimals with `decimals` digits at most.
    NumberQuestion {
        /// Smallest answer accepted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub min: Option<f64>,
        /// Largest answer accepted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub max: Option<f64>,
        /// Most digits after the decimal point; 0 (the default): whole numbers only.
        #[serde(default)]
        #[schemars(range(max = 6))]
        pub decimals: u8,
        /// Shown after the field (e.g. "years", "£"); not part of the answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(length(min = 1, max = 40))]
        pub unit: Option<String>,
    }
}

question! {
    /// A position on a line from `min` to `max` in steps of `step`. There is no handle
    /// until the participant moves it (unless `start` is given), so the first position
    /// does not anchor the answer, and a slider never moved is not answered.
    SliderQuestion {
        /// The left end's value.
        pub min: f64,
        /// The right end's value.
        pub max: f64,
        /// The distance between two positions; answers are `min + k × step`.
        #[serde(default = "one_step")]
        #[schemars(range(min = 0.000001))]
        pub step: f64,
        /// Where the handle starts; absent (the default): no handle until moved.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub start: Option<f64>,
        /// Label under the left end.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(length(max = 200))]
        pub low_label: Option<String>,
        /// Label under the right end.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(length(max = 200))]
        pub high_label: Option<String>,
    }
}

fn one_step() -> f64 {
    1.0
}

question! {
    /// Pick one option from a drop-down list (for long lists: countries, years).
    DropdownQuestion {
        /// The options, as shown and as recorded. Unique.
        #[schemars(length(min = 2, max = 500), inner(length(min = 1, max = 200)))]
        pub options: Vec<String>,
        /// Each participant sees the options in an order of their own (drawn when they
        /// enter the scene, logged as `order_drawn`).
        #[serde(default)]
        pub randomize: bool,
    }
}

question! {
    /// Several items rated on one shared scale (a questionnaire's usual form); the answer
    /// is each item's point, and the export has one row per item.
    MatrixQuestion {
        /// The items, each rated on the scale.
        #[schemars(length(min = 1, max = 100))]
        pub items: Vec<MatrixItem>,
        /// Number of points on the scale; answers are recorded as 1..=points.
        #[serde(default = "default_points")]
        #[schemars(range(min = 2, max = 11))]
        pub points: u8,
        /// A label for every point (the column headings); exactly `points` of them.
        /// Without them, the points are numbered and `low_label`/`high_label` name the ends.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(length(max = 11), inner(length(min = 1, max = 200)))]
        pub labels: Option<Vec<String>>,
        /// Label of the first point (e.g. "Strongly disagree").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(length(max = 200))]
        pub low_label: Option<String>,
        /// Label of the last point (e.g. "Strongly agree").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(length(max = 200))]
        pub high_label: Option<String>,
        /// Each participant sees the items in an order of their own (drawn when they
        /// enter the scene, logged as `order_drawn`).
        #[serde(default)]
        pub randomize: bool,
    }
}

/// One item of a matrix.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatrixItem {
    /// Identifies the item in the data (the export's `item` column).
    pub id: Slug,
    /// The statement as participants read it.
    #[schemars(length(min = 1, max = 1000))]
    pub text: String,
}

question! {
    /// Put every option in order, most preferred first.
    RankQuestion {
        /// The options to order. Unique.
        #[schemars(length(min = 2, max = 20), inner(length(min = 1, max = 500)))]
        pub options: Vec<String>,
        /// Each participant starts from an order of their own (drawn when they enter the
        /// scene, logged as `order_drawn`); otherwise from the order given.
        #[serde(default)]
        pub randomize: bool,
    }
}

impl Question {
    /// Whether `answer` is a valid answer to this question; why not, as the participant
    /// reads it under the question.
    pub fn check(&self, answer: &Answer) -> Result<(), String> {
        match (self, answer) {
            (Question::Text(q), Answer::Text(t)) => {
                let n = t.chars().count();
                if n > q.max_length as usize {
                    return Err(format!("at most {} characters (this has {n})", q.max_length));
                }
                Ok(())
            }
            (Question::SingleChoice(q), Answer::Text(choice)) => one_of(&q.options, choice),
            (Question::Dropdown(q), Answer::Text(choice)) => one_of(&q.options, choice),
            (Question::MultipleChoice(q), Answer::Choices(choices)) => {
                if let Some(bad) = choices.iter().find(|c| !q.options.contains(c)) {
                    return Err(format!("`{bad}` is not one of the options"));
                }
                if choices.iter().enumerate().any(|(i, c)| choices[..i].contains(c)) {
                    return Err("an option is chosen twice".to_owned());
                }
                let n = choices.len() as u32;
                if n < q.min_selected {
                    return Err(format!("choose at least {}", q.min_selected));
                }
                match q.max_selected {
                    Some(max) if n > max => Err(format!("choose at most {max}")),
                    _ => Ok(()),
                }
            }
            (Question::Rank(q), Answer::Choices(order)) => {
                if let Some(bad) = order.iter().find(|c| !q.options.contains(c)) {
                    return Err(format!("`{bad}` is not one of the options"));
                }
                if order.iter().enumerate().any(|(i, c)| order[..i].contains(c)) {
                    return Err("an option is ranked twice".to_owned());
                }
                if order.len() != q.options.len() {
                    return Err(format!("rank all {} options", q.options.len()));
                }
                Ok(())
            }
            (Question::Likert(q), Answer::Integer(r)) => point(q.points, *r),
            (Question::Matrix(q), Answer::Ratings(points)) => {
                if let Some(bad) = points.keys().find(|k| !q.items.iter().any(|i| i.id.as_str() == k.as_str())) {
                    return Err(format!("`{bad}` is not one of the items"));
                }
                if let Some((item, p)) = points.iter().find(|(_, p)| point(q.points, **p).is_err()) {
                    return Err(format!("`{item}`: {p} is not a point from 1 to {}", q.points));
                }
                let missing: Vec<&str> =
                    q.items.iter().map(|i| i.id.as_str()).filter(|i| !points.contains_key(*i)).collect();
                match missing.first() {
                    Some(_) if q.required => Err(format!("rate every item (`{}` is not rated)", missing.join("`, `"))),
                    _ => Ok(()),
                }
            }
            (Question::Number(q), Answer::Integer(_) | Answer::Decimal(_)) => {
                let x = answer.number().unwrap_or(f64::NAN);
                if !x.is_finite() {
                    return Err("a number".to_owned());
                }
                if q.decimals == 0 && x.fract() != 0.0 {
                    return Err("a whole number".to_owned());
                }
                if decimals(x) > u32::from(q.decimals) {
                    return Err(format!("at most {} digit(s) after the decimal point", q.decimals));
                }
                within(x, q.min, q.max)
            }
            (Question::Slider(q), Answer::Integer(_) | Answer::Decimal(_)) => {
                let x = answer.number().unwrap_or(f64::NAN);
                within(x, Some(q.min), Some(q.max))?;
                let k = (x - q.min) / q.step;
                if (k - k.round()).abs() > 1e-6 {
                    return Err(format!("a position from {} in steps of {}", q.min, q.step));
                }
                Ok(())
            }
            (Question::Text(_) | Question::SingleChoice(_) | Question::Dropdown(_), _) => {
                Err("expected text".to_owned())
            }
            (Question::MultipleChoice(_), _) => Err("expected a list of options".to_owned()),
            (Question::Rank(_), _) => Err("expected the options in order".to_owned()),
            (Question::Likert(_), _) => Err("expected a whole-number rating".to_owned()),
            (Question::Matrix(_), _) => Err("expected a point for each item".to_owned()),
            (Question::Number(_) | Question::Slider(_), _) => Err("expected a number".to_owned()),
        }
    }
}

fn one_of(options: &[String], choice: &str) -> Result<(), String> {
    if options.iter().any(|o| o == choice) { Ok(()) } else { Err("not one of the options".to_owned()) }
}

fn point(points: u8, p: i64) -> Result<(), String> {
    if (1..=i64::from(points)).contains(&p) { Ok(()) } else { Err(format!("a rating from 1 to {points}")) }
}

fn within(x: f64, min: Option<f64>, max: Option<f64>) -> Result<(), String> {
    if !x.is_finite() {
        return Err("a number".to_owned());
    }
    match (min, max) {
        (Some(lo), Some(hi)) if x < lo || x > hi => Err(format!("a number from {lo} to {hi}")),
        (Some(lo), _) if x < lo => Err(format!("at least {lo}")),
        (_, Some(hi)) if x > hi => Err(format!("at most {hi}")),
        _ => Ok(()),
    }
}

/// Digits after the decimal point of `x` as written shortest (0.1 → 1, 2.50 → 1).
fn decimals(x: f64) -> u32 {
    let text = x.to_string();
    text.split_once('.').map_or(0, |(_, f)| f.len() as u32)
}
