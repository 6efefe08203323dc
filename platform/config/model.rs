//! The experiment a researcher writes: top level, recruitment, the scene list and the
//! simple scene kinds. Survey and multiplayer scenes have their own files.
//!
//! Doc comments here become the `description`s of `schemas/experiment.schema.json`,
//! which is what researchers read in their editor: write them for researchers.
//! Adding an option is one field with `#[serde(default = ...)]`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::multiplayer::MultiplayerScene;
use super::survey::SurveyScene;
use super::types::{CompletionCode, HttpUrl, Slug};

/// One experiment: who takes part and what they see, scene by scene.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "cohort experiment")]
pub struct Experiment {
    /// Identifies the experiment; it is served at `/x/<id>`. Unique across the files a
    /// host serves.
    pub id: Slug,
    /// Shown in the browser tab and page header.
    #[schemars(length(min = 1, max = 200))]
    pub title: String,
    /// How participants arrive from the recruitment panel and how they leave.
    #[serde(default)]
    pub recruitment: Recruitment,
    /// Connection handling: how long a disconnected participant keeps their place.
    #[serde(default)]
    pub session: SessionSettings,
    /// Conditions (treatments) assigned to participants when they start, and to groups
    /// once formed; balanced by completions.
    #[serde(default)]
    pub conditions: super::conditions::Conditions,
    /// The scenes, in the order participants see them.
    #[schemars(length(min = 1, max = 100))]
    pub scenes: Vec<Scene>,
    /// Who may take part (browser, device, WebRTC, round trip), and monitoring of the
    /// round trip while waiting and playing.
    #[serde(default)]
    pub screening: super::screening::Screening,
    /// The language of the built-in texts participants see (`en`, or `de`).
    #[serde(default)]
    pub language: super::texts::Language,
    /// Any participant-facing text in other words: key → text (keys and placeholders in
    /// `docs/texts.md`). Also the default outcome messages (`outcome.<reason>`).
    #[serde(default)]
    pub texts: BTreeMap<String, String>,
    /// The page's texts in other words for participants of some entry conditions:
    /// condition name or `factor=level` → key → text (e.g. the partner-found wording).
    /// Over `texts`; the host's own messages (`outcome.*`, `host.*`) are not among them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub texts_by_condition: BTreeMap<String, BTreeMap<String, String>>,
    /// Blocks of consecutive scenes shown in a random order per participant, or
    /// repeated (or both).
    #[serde(default)]
    #[schemars(length(max = 20))]
    pub blocks: Vec<super::blocks::Block>,
}

/// Connection handling.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    /// A participant who reconnects within this many seconds continues exactly where
    /// they were (same scene, same waitroom place, same game). Past it, their session
    /// ends: they are removed from the waitroom or game and see that it expired.
    #[serde(default = "default_grace")]
    #[schemars(extend("exclusiveMinimum" = 0), range(max = 3600))]
    pub reconnect_grace_secs: f64,
    /// How long a session may last while its participant is away on a consent,
    /// instructions or survey page (a laptop asleep, a closed tab): such a session is
    /// not ended by the reconnect grace (nobody waits for them there) but once this
    /// long has passed since it started, if they are still away. Default 3 hours.
    #[serde(default = "default_max_duration")]
    #[schemars(extend("exclusiveMinimum" = 0), range(max = 604800))]
    pub max_duration_secs: f64,
    /// Most participant connections this experiment holds at once; beyond it a new
    /// connection is refused (HTTP 503) while other experiments of the host go on. The
    /// host-wide cap (50,000) applies as well. Default: only the host-wide cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000000))]
    pub max_connections: Option<u32>,
}

fn default_grace() -> f64 {
    30.0
}

fn default_max_duration() -> f64 {
    3.0 * 3600.0
}

defaults_from_empty!(SessionSettings);

/// Recruitment panel settings (Prolific, MTurk, or none).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Recruitment {
    /// The URL query parameter that carries the participant's recruitment id, e.g.
    /// `PROLIFIC_PID` or `workerId`. The id stays on the server and in the data.
    #[serde(default = "default_id_param")]
    #[schemars(length(min = 1, max = 64))]
    pub id_param: String,
    /// Turn away visitors whose link lacks `id_param`. When false, such visitors get an
    /// anonymous id.
    #[serde(default)]
    pub require_id: bool,
    /// The completion code of the study: shown by `end` scenes that name none, and to
    /// those whose session the researchers ended (`/admin`). Early outcomes show only
    /// their own `completion_code`.
    #[serde(default)]
    pub completion_code: Option<CompletionCode>,
    /// Where participants go when they finish, unless a scene says otherwise.
    #[serde(default)]
    pub redirect_url: Option<HttpUrl>,
    /// How `cohort export` computes each participant's bonus (the payments table, and
    /// Prolific's bulk-bonus file).
    #[serde(default)]
    pub bonus: Option<Bonus>,
    /// Base pay per outcome (`finished`, `left_waitroom`, `partner_left`, …), in the
    /// study's currency; the export's `payments` table gives each session its base pay
    /// and bonus. An outcome not listed is paid nothing.
    #[serde(default, skip_serializing_if = "crate::config::pay::Pay::is_unset")]
    pub pay: super::pay::Pay,
    /// The link parameter holding the panel's study id (`STUDY_ID` on Prolific,
    /// `hitId` on MTurk): the `study_id` column of the export.
    #[serde(default = "default_study_param")]
    #[schemars(length(min = 1, max = 64))]
    pub study_param: String,
    /// The link parameter holding the panel's id of this submission (`SESSION_ID` on
    /// Prolific, `assignmentId` on MTurk): the `session_id` column of the export.
    #[serde(default = "default_session_param")]
    #[schemars(length(min = 1, max = 64))]
    pub session_param: String,
}

fn default_study_param() -> String {
    "STUDY_ID".to_owned()
}

fn default_session_param() -> String {
    "SESSION_ID".to_owned()
}

defaults_from_empty!(Recruitment);

/// A bonus proportional to a number in the data: a game result's key, or a survey
/// answer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bonus {
    /// `<scene id>.<key>`: in a multiplayer scene, that key of the game's result (e.g.
    /// `play.total`; summed over the participant's games in that scene); in a survey,
    /// that question's answer (a rating, or text holding a number).
    #[schemars(regex(pattern = super::types::BONUS_FROM_PATTERN))]
    pub from: String,
    /// Currency per unit of that number (e.g. 0.01: a point is a cent).
    #[schemars(range(min = 0, max = 1000))]
    pub per_unit: f64,
    /// Largest bonus per participant.
    #[schemars(range(min = 0, max = 10000))]
    pub max: f64,
}

impl Bonus {
    /// The scene and the key (a result's key, or a question) `from` names.
    pub fn source(&self) -> (&str, &str) {
        self.from.split_once('.').unwrap_or((self.from.as_str(), ""))
    }

    /// The number a game result of the scene `scene` counts towards the bonus (what it
    /// holds under the key), if `from` names that scene.
    pub fn points_in(&self, scene: &str, result: &serde_json::Value) -> Option<f64> {
        let (from, key) = self.source();
        (from == scene).then(|| result.get(key).and_then(serde_json::Value::as_f64)).flatten()
    }

    /// The bonus for `points` (the number `from` gave): `points × per_unit`, between 0
    /// and `max`. The one definition the end page and the export share.
    pub fn amount(&self, points: f64) -> f64 {
        (points * self.per_unit).clamp(0.0, self.max)
    }
}

fn default_id_param() -> String {
    "PROLIFIC_PID".to_owned()
}

/// One step of the experiment, chosen by `kind`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scene {
    Consent(ConsentScene),
    Instructions(InstructionsScene),
    Survey(SurveyScene),
    Multiplayer(Box<MultiplayerScene>),
    End(EndScene),
}

impl Scene {
    /// The scene's id, whatever its kind.
    pub fn id(&self) -> &Slug {
        match self {
            Scene::Consent(s) => &s.id,
            Scene::Instructions(s) => &s.id,
            Scene::Survey(s) => &s.id,
            Scene::Multiplayer(s) => &s.id,
            Scene::End(s) => &s.id,
        }
    }

    /// The `kind` tag as written in YAML.
    pub fn kind(&self) -> &'static str {
        match self {
            Scene::Consent(_) => "consent",
            Scene::Instructions(_) => "instructions",
            Scene::Survey(_) => "survey",
            Scene::Multiplayer(_) => "multiplayer",
            Scene::End(_) => "end",
        }
    }
}

/// How a text body is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TextFormat {
    #[default]
    Markdown,
    Html,
}

/// The consent form: participants must tick the agreement box to continue.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentScene {
    /// Identifies the scene in the data and in `goto`.
    pub id: Slug,
    /// Shown only when this rule holds for the participant: their entry condition
    /// (`{condition: [told_ai]}`), an earlier answer or game result (`{value:
    /// "answer:pre.age", at_least: 18}`), combined with `all` / `any` / `not`; others
    /// skip it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<crate::config::show_if::ShowIf>,
    /// Heading shown above the body.
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub title: Option<String>,
    /// The consent text, inline. Give exactly one of `body` and `body_file`.
    #[serde(default)]
    #[schemars(length(max = 200000))]
    pub body: Option<String>,
    /// A file holding the consent text, relative to this YAML file.
    #[serde(default)]
    pub body_file: Option<PathBuf>,
    /// How the body is written.
    #[serde(default)]
    pub format: TextFormat,
    /// Label of the checkbox participants must tick.
    #[serde(default = "default_agree_label")]
    #[schemars(length(min = 1, max = 500))]
    pub agree_label: String,
    /// Label of the button that continues.
    #[serde(default = "default_button")]
    #[schemars(length(min = 1, max = 100))]
    pub button: String,
    /// Texts for participants of some conditions, by condition name or `factor=level`
    /// (entry conditions; group conditions on scenes after a multiplayer scene); what
    /// an entry does not give comes from the scene above.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub by_condition: super::by_condition::ByCondition<super::by_condition::ConsentTexts>,
}

fn default_agree_label() -> String {
    "I have read the information above and agree to take part.".to_owned()
}

fn default_button() -> String {
    "Continue".to_owned()
}

/// A page of instructions.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstructionsScene {
    /// Identifies the scene in the data and in `goto`.
    pub id: Slug,
    /// Shown only when this rule holds for the participant: their entry condition
    /// (`{condition: [told_ai]}`), an earlier answer or game result (`{value:
    /// "answer:pre.age", at_least: 18}`), combined with `all` / `any` / `not`; others
    /// skip it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<crate::config::show_if::ShowIf>,
    /// Heading shown above the body.
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub title: Option<String>,
    /// The instructions, inline. Give exactly one of `body` and `body_file`.
    #[serde(default)]
    #[schemars(length(max = 200000))]
    pub body: Option<String>,
    /// A file holding the instructions, relative to this YAML file.
    #[serde(default)]
    pub body_file: Option<PathBuf>,
    /// How the body is written.
    #[serde(default)]
    pub format: TextFormat,
    /// Label of the button that continues.
    #[serde(default = "default_button")]
    #[schemars(length(min = 1, max = 100))]
    pub button: String,
    /// Texts for participants of some conditions, by condition name or `factor=level`
    /// (entry conditions; group conditions on scenes after a multiplayer scene); what
    /// an entry does not give comes from the scene above.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub by_condition: super::by_condition::ByCondition<super::by_condition::InstructionsTexts>,
}

/// The last page: a message, the completion code, and optionally a redirect back to
/// the recruitment panel.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndScene {
    /// Identifies the scene in the data and in `goto`.
    pub id: Slug,
    /// Heading shown above the message.
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub title: Option<String>,
    /// What participants read at the end. `{pay}` and `{bonus}` become their pay for
    /// finishing (`recruitment.pay.finished`) and their bonus (`recruitment.bonus`),
    /// two decimals each.
    #[serde(default = "default_end_message")]
    #[schemars(length(min = 1, max = 5000))]
    pub message: String,
    /// Completion code shown; defaults to `recruitment.completion_code`.
    #[serde(default)]
    pub completion_code: Option<CompletionCode>,
    /// Where participants are sent; defaults to `recruitment.redirect_url`.
    #[serde(default)]
    pub redirect_url: Option<HttpUrl>,
    /// Texts for participants of some conditions, by condition name or `factor=level`
    /// (entry conditions; group conditions on scenes after a multiplayer scene); what
    /// an entry does not give comes from the scene above.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub by_condition: super::by_condition::ByCondition<super::by_condition::EndTexts>,
}

fn default_end_message() -> String {
    "Thank you for taking part.".to_owned()
}

/// What happens to a participant when something ends their part early (no partner
/// found in time, a partner left): go to another scene, or see a message with a
/// completion code and optionally be redirected.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// Continue with this scene instead. Cannot be combined with the other keys.
    #[serde(default)]
    pub goto: Option<Slug>,
    /// Message shown to the participant. `{pay}` and `{bonus}` become the base pay of
    /// this outcome (`recruitment.pay`) and their bonus so far.
    #[serde(default)]
    #[schemars(length(min = 1, max = 5000))]
    pub message: Option<String>,
    /// Completion code shown with the message (e.g. a partial-payment code).
    #[serde(default)]
    pub completion_code: Option<CompletionCode>,
    /// Where the participant is sent after the message.
    #[serde(default)]
    pub redirect_url: Option<HttpUrl>,
    /// The message for participants of some conditions (entry or group), by condition
    /// name or `factor=level` (`{told_ai: {message: …}}`); others read `message`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub by_condition: super::by_condition::ByCondition<super::by_condition::OutcomeTexts>,
}
