//! Every participant-facing string the host and its pages show, with its English
//! default and a shipped German translation. An experiment picks a `language` and may
//! override any text (`texts: {key: text}`); the pages load the resolved texts from
//! `/x/<id>/texts.js`, the host uses them for what it sends (duplicate tabs, pauses,
//! default outcome messages). `{name}` placeholders are filled in where shown.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The language of the built-in texts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// English.
    #[default]
    En,
    /// German (shipped as an example translation).
    De,
}

/// One text: its key, English and German.
pub struct Text {
    pub key: &'static str,
    pub en: &'static str,
    pub de: &'static str,
}

const fn t(key: &'static str, en: &'static str, de: &'static str) -> Text {
    Text { key, en, de }
}

/// The catalog. Keys starting `outcome.` are the default outcome messages: they apply
/// where the experiment does not write its own.
pub const TEXTS: &[Text] = &[
    t("status.reconnecting", "Connection lost. Reconnecting…", "Verbindung unterbrochen. Verbinde neu…"),
    t(
        "status.restarting",
        "The study server is restarting. Reconnecting…",
        "Der Studienserver startet neu. Verbinde neu…",
    ),
    t(
        "status.saving",
        "The study server cannot save right now. Retrying…",
        "Der Studienserver kann gerade nicht speichern. Neuer Versuch…",
    ),
    t(
        "status.not_connected",
        "Not connected; please wait a moment and try again.",
        "Keine Verbindung; bitte warten Sie einen Moment und versuchen Sie es erneut.",
    ),
    t(
        "status.checking_partner",
        "Checking the connection to a possible partner…",
        "Die Verbindung zu einem möglichen Partner wird geprüft…",
    ),
    t("status.finishing", "Waiting for the others to finish…", "Warten, bis die anderen fertig sind…"),
    t("progress", "Step {n} of {total}", "Schritt {n} von {total}"),
    t("button.wait", "Please wait", "Bitte warten"),
    t("consent.heading", "Consent", "Einwilligung"),
    t("consent.must_tick", "Please tick the box to continue.", "Bitte setzen Sie das Häkchen, um fortzufahren."),
    t("instructions.heading", "Instructions", "Anleitung"),
    t("survey.heading", "Questions", "Fragen"),
    t("survey.required", "This question needs an answer.", "Diese Frage muss beantwortet werden."),
    t("survey.max_length", "At most {n} characters.", "Höchstens {n} Zeichen."),
    t("survey.min_selected", "Choose at least {n}.", "Wählen Sie mindestens {n}."),
    t("survey.max_selected", "Choose at most {n}.", "Wählen Sie höchstens {n}."),
    t("survey.attention", "Some answers need attention.", "Einige Antworten sind noch unvollständig."),
    t("survey.number", "Please enter a number.", "Bitte geben Sie eine Zahl ein."),
    t("survey.whole_number", "Please enter a whole number.", "Bitte geben Sie eine ganze Zahl ein."),
    t("survey.decimals", "At most {n} digits after the point.", "Höchstens {n} Nachkommastellen."),
    t("survey.at_least", "At least {n}.", "Mindestens {n}."),
    t("survey.at_most", "At most {n}.", "Höchstens {n}."),
    t("survey.slider_unmoved", "Move the slider to answer.", "Bewegen Sie den Schieberegler, um zu antworten."),
    t("survey.slider_value", "Your answer: {value}", "Ihre Antwort: {value}"),
    t("survey.choose", "Choose…", "Bitte wählen…"),
    t("survey.rate_every_item", "Please rate every statement.", "Bitte bewerten Sie jede Aussage."),
    t("survey.move_up", "Move up", "Nach oben"),
    t("survey.move_down", "Move down", "Nach unten"),
    t("survey.wrong", "This answer is not right yet.", "Diese Antwort ist noch nicht richtig."),
    t("chat.heading", "Chat with your group", "Chat mit Ihrer Gruppe"),
    t("chat.label", "Your message", "Ihre Nachricht"),
    t("chat.send", "Send", "Senden"),
    t("chat.you", "You", "Sie"),
    t("chat.player", "Player {n}", "Spieler {n}"),
    t("waitroom.heading", "Waiting for other participants", "Warten auf andere Teilnehmende"),
    t("waitroom.looking", "Looking for other participants…", "Suche nach anderen Teilnehmenden…"),
    t("waitroom.count", "{waiting} of {needed} participants here.", "{waiting} von {needed} Teilnehmenden sind da."),
    t("waitroom.remaining", "Up to {time} remaining.", "Noch höchstens {time}."),
    t("waitroom.keep_open", "Please keep this tab open.", "Bitte lassen Sie diesen Tab geöffnet."),
    t("leave.button", "Leave and get paid", "Verlassen und Vergütung erhalten"),
    t(
        "leave.waitroom_question",
        "Stop waiting and leave the study now? You will get a completion code for the time you waited.",
        "Jetzt aufhören zu warten und die Studie verlassen? Sie erhalten einen Abschlusscode für die Wartezeit.",
    ),
    t(
        "leave.game_question",
        "Your partner seems to be away. Leave the game and the study now? You will get a completion code.",
        "Ihr Partner scheint abwesend zu sein. Das Spiel und die Studie jetzt verlassen? Sie erhalten einen Abschlusscode.",
    ),
    t("leave.confirm", "Yes, leave now", "Ja, jetzt verlassen"),
    t("leave.cancel", "Not now", "Nicht jetzt"),
    t("match.get_ready", "Get ready!", "Mach dich bereit!"),
    t("match.partner_found", "Partner found!", "Partner gefunden!"),
    t("match.partners_found", "{n} partners found!", "{n} Partner gefunden!"),
    t("match.bot_partner", "Your partner is a computer player.", "Dein Partner ist ein Computerspieler."),
    t("match.bot_partners", "Your partners are computer players.", "Deine Partner sind Computerspieler."),
    t("match.some_bots", "{n} of them are computer players.", "{n} davon sind Computerspieler."),
    t("match.starts_in", "The game starts in {n}…", "Das Spiel beginnt in {n}…"),
    t("match.starting", "Starting…", "Es geht los…"),
    t("ready.heading", "Your group is ready!", "Deine Gruppe ist bereit!"),
    t("ready.count", "{ready} of {players} ready.", "{ready} von {players} bereit."),
    t("ready.button", "I am ready", "Ich bin bereit"),
    t(
        "ready.keep_open",
        "Keep this tab open: the game starts when everyone is here.",
        "Lass diesen Tab geöffnet: Das Spiel beginnt, wenn alle da sind.",
    ),
    t(
        "ready.missed",
        "Your group could not wait for you. Are you still there?",
        "Deine Gruppe konnte nicht auf dich warten. Bist du noch da?",
    ),
    t("ready.back", "I am here", "Ich bin da"),
    t("ready.flash", "● Your group is ready", "● Deine Gruppe ist bereit"),
    t("game.could_not_start", "The game could not start", "Das Spiel konnte nicht starten"),
    t("game.over", "Game over", "Spiel vorbei"),
    t(
        "game.desync",
        "The game went out of step between players and had to stop. Loading the next step…",
        "Das Spiel lief bei den Spielenden auseinander und musste enden. Der nächste Schritt wird geladen…",
    ),
    t("game.thanks", "Thank you! Loading the next step…", "Danke! Der nächste Schritt wird geladen…"),
    t("game.partner_joined", "A new partner joined the game.", "Ein neuer Partner ist dem Spiel beigetreten."),
    t(
        "game.partner_bot",
        "Your partner left — a computer player took their place.",
        "Dein Partner ist gegangen – ein Computerspieler hat den Platz übernommen.",
    ),
    t("game.partner_left", "Your partner left — play on.", "Dein Partner ist gegangen – spiel weiter."),
    t(
        "game.partner_hidden",
        "Your partner's window is in the background — the game is paused.",
        "Das Fenster deines Partners ist im Hintergrund – das Spiel pausiert.",
    ),
    t("game.waiting_partner", "Waiting for your partner…", "Warten auf deinen Partner…"),
    t(
        "game.slow",
        "The connection to your partner is slow — continuing.",
        "Die Verbindung zu deinem Partner ist langsam – es geht weiter.",
    ),
    t("game.failed", "Sorry — {reason}.", "Entschuldigung – {reason}."),
    t("final.thank_you", "Thank you", "Vielen Dank"),
    t("final.code", "Your completion code:", "Ihr Abschlusscode:"),
    t("final.return", "Return to the study panel", "Zurück zur Studienplattform"),
    t(
        "final.redirecting",
        "You will be taken there in a few seconds.",
        "Sie werden in wenigen Sekunden weitergeleitet.",
    ),
    t("duplicate.heading", "Already open", "Bereits geöffnet"),
    t("duplicate.continue", "Continue here instead", "Stattdessen hier fortfahren"),
    t(
        "host.duplicate_session",
        "This study is already open in another tab or window. Please continue there.",
        "Diese Studie ist bereits in einem anderen Tab oder Fenster geöffnet. Bitte fahren Sie dort fort.",
    ),
    t(
        "host.pausing",
        "This study is pausing for a moment. Please try again in a few minutes.",
        "Diese Studie pausiert kurz. Bitte versuchen Sie es in einigen Minuten erneut.",
    ),
    t(
        "host.shutdown",
        "The study server is restarting. Please keep this tab open; it reconnects by itself when the server is back.",
        "Der Studienserver startet neu. Bitte lassen Sie diesen Tab geöffnet; er verbindet sich von selbst wieder, sobald der Server zurück ist.",
    ),
    t(
        "host.cannot_save",
        "The study server cannot save data at the moment. Please keep this page open; it retries by itself.",
        "Der Studienserver kann gerade keine Daten speichern. Bitte lassen Sie diese Seite geöffnet; sie versucht es von selbst erneut.",
    ),
    t(
        "host.must_agree",
        "please tick the agreement box to continue",
        "bitte setzen Sie das Häkchen bei der Einwilligung, um fortzufahren",
    ),
    t(
        "outcome.expired",
        "Your session ended because you were away for too long.",
        "Ihre Sitzung wurde beendet, weil Sie zu lange abwesend waren.",
    ),
    t(
        "outcome.failed_check",
        "Thank you. Your part of the study ends here, as the questions about the rules were not answered correctly.",
        "Vielen Dank. Ihr Teil der Studie endet hier, da die Fragen zu den Regeln nicht richtig beantwortet wurden.",
    ),
    t(
        "outcome.input_limit",
        "Your game ended because your browser sent more game input than this study allows.",
        "Ihr Spiel wurde beendet, weil Ihr Browser mehr Spieleingaben gesendet hat, als diese Studie erlaubt.",
    ),
    t(
        "outcome.invalid_input",
        "Your game ended because your browser sent game input it should not.",
        "Ihr Spiel wurde beendet, weil Ihr Browser unzulässige Spieleingaben gesendet hat.",
    ),
    t(
        "outcome.ended_by_researcher",
        "The researchers ended your session. Thank you for taking part.",
        "Die Forschenden haben Ihre Sitzung beendet. Vielen Dank für Ihre Teilnahme.",
    ),
    t(
        "outcome.host_restarted",
        "The study server restarted while you were waiting or playing, so your group could not go on. Thank you for your time.",
        "Der Studienserver wurde neu gestartet, während Sie gewartet oder gespielt haben; Ihre Gruppe konnte nicht weitermachen. Vielen Dank für Ihre Zeit.",
    ),
    t(
        "outcome.waitroom_timeout",
        "Sorry, we could not find a partner for you in time. Thank you for waiting.",
        "Leider konnten wir nicht rechtzeitig einen Partner für Sie finden. Vielen Dank fürs Warten.",
    ),
    t(
        "outcome.left_waitroom",
        "You left the waiting room. You can close this tab now.",
        "Sie haben den Warteraum verlassen. Sie können diesen Tab jetzt schließen.",
    ),
    t(
        "outcome.left_idle_game",
        "You left the game because your partner was away. Thank you for taking part.",
        "Sie haben das Spiel verlassen, weil Ihr Partner abwesend war. Vielen Dank für Ihre Teilnahme.",
    ),
    t(
        "outcome.partner_left",
        "Your partner left the game. Thank you for taking part.",
        "Ihr Partner hat das Spiel verlassen. Vielen Dank für Ihre Teilnahme.",
    ),
    t(
        "outcome.ready_missed",
        "Your group was ready to start, but you did not confirm in time. Thank you for waiting.",
        "Ihre Gruppe war bereit, aber Sie haben nicht rechtzeitig bestätigt. Vielen Dank fürs Warten.",
    ),
    t(
        "outcome.device_excluded",
        "Sorry, this study needs a different browser or device (see the study description). Please return it.",
        "Leider braucht diese Studie einen anderen Browser oder ein anderes Gerät (siehe Studienbeschreibung). Bitte geben Sie sie zurück.",
    ),
    t(
        "outcome.webrtc_unavailable",
        "Sorry, your browser cannot make the direct connections this study needs. Please return it.",
        "Leider kann Ihr Browser die direkten Verbindungen, die diese Studie braucht, nicht aufbauen. Bitte geben Sie sie zurück.",
    ),
    t(
        "outcome.connection_too_slow",
        "Sorry, your connection is too slow for this study. Please return it.",
        "Leider ist Ihre Verbindung für diese Studie zu langsam. Bitte geben Sie sie zurück.",
    ),
    t(
        "outcome.connection_degraded",
        "Your connection became too slow to go on. Thank you for taking part.",
        "Ihre Verbindung wurde zu langsam, um weiterzumachen. Vielen Dank für Ihre Teilnahme.",
    ),
    t(
        "outcome.condition_full",
        "Thank you for your interest: this study has all the participants it needs.",
        "Vielen Dank für Ihr Interesse: Diese Studie hat bereits alle benötigten Teilnehmenden.",
    ),
];

/// The catalog entry of `key`.
pub fn entry(key: &str) -> Option<&'static Text> {
    TEXTS.iter().find(|t| t.key == key)
}

/// The `{name}` placeholders of a text.
pub fn placeholders(text: &str) -> Vec<&str> {
    text.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name)).collect()
}

/// Every text for `language`, with `overrides` applied.
pub fn resolve(language: Language, overrides: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    TEXTS
        .iter()
        .map(|t| {
            let text = overrides.get(t.key).map(String::as_str).unwrap_or(match language {
                Language::En => t.en,
                Language::De => t.de,
            });
            (t.key.to_owned(), text.to_owned())
        })
        .collect()
}

impl super::Experiment {
    /// The text of `key` in this experiment (its language, its overrides).
    pub fn text(&self, key: &str) -> String {
        if let Some(own) = self.texts.get(key) {
            return own.clone();
        }
        let Some(t) = entry(key) else { return key.to_owned() };
        match self.language {
            Language::En => t.en,
            Language::De => t.de,
        }
        .to_owned()
    }

    /// An outcome message as configured: when it is one of the built-in English
    /// defaults (the researcher wrote none), the experiment's text for it; otherwise theirs.
    pub fn localized(&self, message: &str) -> String {
        match TEXTS.iter().find(|t| t.key.starts_with("outcome.") && t.en == message) {
            Some(t) => self.text(t.key),
            None => message.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_has_both_languages_with_the_same_placeholders() {
        let mut keys = std::collections::BTreeSet::new();
        for t in TEXTS {
            assert!(keys.insert(t.key), "{} twice", t.key);
            assert!(!t.en.is_empty() && !t.de.is_empty(), "{}", t.key);
            let (mut en, mut de) = (placeholders(t.en), placeholders(t.de));
            en.sort();
            de.sort();
            assert_eq!(en, de, "{}", t.key);
        }
    }

    #[test]
    fn every_text_the_pages_use_is_in_the_catalog() {
        let pages = [
            include_str!("../web/app.js"),
            include_str!("../web/scenes.js"),
            include_str!("../web/ready.js"),
            include_str!("../web/chat.js"),
            include_str!("../web/lockstep.js"),
        ];
        let mut used = 0;
        for page in pages {
            for (at, _) in page.match_indices("t(\"") {
                // `t(` itself, not the end of another name (`split("/")`).
                if page[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || "_.$".contains(c)) {
                    continue;
                }
                let key = page[at + 3..].split('"').next().unwrap_or_default();
                assert!(entry(key).is_some(), "the pages use `{key}`, which the catalog lacks");
                used += 1;
            }
        }
        assert!(used > 40, "only {used} texts found in the pages");
    }

    #[test]
    fn the_default_outcome_messages_are_the_catalogs_so_they_follow_the_language() {
        let yaml = r#"
id: t
title: T
language: de
conditions: {entry: {list: [a]}}
scenes:
  - id: play
    kind: multiplayer
    group_size: 2
    waitroom: {ready_check: {}}
    game: {module: experiments/games/demo.js}
  - id: end
    kind: end
"#;
        let e = crate::config::parse(yaml.as_bytes(), std::path::Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        let crate::config::Scene::Multiplayer(m) = &e.scenes[0] else { panic!("multiplayer") };
        let defaults = [
            m.waitroom.on_timeout.message.clone(),
            m.waitroom.on_leave.message.clone(),
            m.on_partner_leave.message.clone(),
            m.on_partner_idle.message.clone(),
            m.waitroom.ready_check.as_ref().and_then(|r| r.on_missed.message.clone()),
            e.conditions.entry.as_ref().and_then(|c| c.on_full.message.clone()),
        ];
        for message in defaults {
            let message = message.expect("a default message");
            let german = e.localized(&message);
            assert_ne!(german, message, "`{message}` is not in the catalog");
            assert_eq!(entry_of_en(&message).map(|t| t.de), Some(german.as_str()));
        }
        assert_eq!(e.localized("Our own words."), "Our own words.", "a researcher's message stays");
    }

    fn entry_of_en(message: &str) -> Option<&'static Text> {
        TEXTS.iter().find(|t| t.en == message)
    }
}

#[cfg(test)]
mod doc {
    /// `docs/texts.md` is what researchers read: it lists every key.
    #[test]
    fn the_texts_doc_lists_every_key() {
        let doc = include_str!("../../docs/texts.md");
        for t in super::TEXTS {
            assert!(doc.contains(&format!("| `{}` | {} |", t.key, t.en)), "docs/texts.md lacks `{}`", t.key);
        }
    }
}

#[cfg(test)]
mod host {
    /// Every key the host itself asks for is in the catalog (a missing one would show
    /// its key to participants).
    #[test]
    fn every_text_the_host_uses_is_in_the_catalog() {
        let sources = [
            include_str!("../experiment/actor/mod.rs"),
            include_str!("../experiment/actor/paused.rs"),
            include_str!("../experiment/sessions.rs"),
            include_str!("../experiment/state.rs"),
            include_str!("../experiment/flow.rs"),
            include_str!("../experiment/waitroom.rs"),
        ];
        let mut used = 0;
        for source in sources {
            for (at, _) in source.match_indices("text(\"") {
                let key = source[at + 6..].split('"').next().unwrap_or_default();
                assert!(super::entry(key).is_some(), "the host uses `{key}`, which the catalog lacks");
                used += 1;
            }
            for (at, _) in source.match_indices("\"outcome.") {
                let key = source[at + 1..].split('"').next().unwrap_or_default();
                assert!(super::entry(key).is_some(), "the host uses `{key}`, which the catalog lacks");
            }
        }
        assert!(used >= 5, "only {used} host texts found");
    }
}
