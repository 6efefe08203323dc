//! Semantic check of `recruitment.pay`: every paid outcome can be claimed (it shows a
//! completion code or sends the participant to a redirect), can happen at all, and no
//! completion code stands for two different pays (panels pay by code).

use std::collections::BTreeMap;

use super::{Checker, SceneView};
use crate::config::KeyPath;
use crate::config::conditions::Conditions;
use crate::config::model::{Outcome, Recruitment, Scene};
use crate::config::screening::Screening;

/// One place an outcome is shown: where it is set, the code it shows, whether it
/// redirects (the panel's link may carry the code) or goes on to another scene.
struct Claim {
    at: KeyPath,
    code: Option<String>,
    redirects: bool,
    goes_on: bool,
}

impl Claim {
    fn of(at: KeyPath, o: &Outcome) -> Self {
        let code = o.completion_code.as_ref().map(ToString::to_string);
        Claim { at, code, redirects: o.redirect_url.is_some(), goes_on: o.goto.is_some() }
    }
}

/// What the experiment says about each outcome, for the check.
pub(super) struct PaySetting<'a> {
    pub recruitment: &'a Recruitment,
    pub conditions: &'a Conditions,
    pub screening: Option<&'a Screening>,
}

impl Checker<'_> {
    pub(super) fn pay(&mut self, setting: &PaySetting, views: &[SceneView]) {
        let recruitment = setting.recruitment;
        let at = KeyPath::root().key("recruitment").key("pay");
        let paid = serde_json::to_value(&recruitment.pay).unwrap_or_default();
        let Some(paid) = paid.as_object() else { return };
        let mut codes: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
        for (outcome, amount) in paid {
            let amount = amount.as_f64().unwrap_or(0.0);
            if amount <= 0.0 {
                continue;
            }
            let here = at.key(outcome);
            let Some(claims) = claims(outcome, setting, views) else {
                let why = "it is the host's own outcome and shows no completion code";
                self.report(here, format!("`{outcome}` cannot be paid: {why}, so participants could not claim it"));
                continue;
            };
            if claims.is_empty() {
                let why = match outcome.as_str() {
                    "left_idle_game" => "no game sets `partner_idle_secs`",
                    "waitroom_timeout" => {
                        "those who wait long enough play with bots (`fill_with_bots_after_secs`) first"
                    }
                    "left_waitroom" => "those who wait long enough play with bots before `leave_after_secs`",
                    "ready_missed" => "no waitroom has a `ready_check`",
                    "condition_full" => "there are no entry conditions",
                    "group_condition_full" => "there are no group conditions",
                    "failed_check" => {
                        "no check ends a participant's part: `on_fail` with a message, or `rounds` with `on_give_up`"
                    }
                    _ => "nothing in the experiment leads to it",
                };
                self.report(here, format!("`{outcome}` cannot happen here ({why}): this pay never applies"));
                continue;
            }
            for claim in claims {
                match claim.code {
                    _ if claim.goes_on => {} // continues in another scene: paid by how it ends
                    Some(code) => codes.entry(code).or_default().push((outcome.clone(), amount)),
                    None if claim.redirects => {}
                    None => self.report(
                        here.clone(),
                        format!(
                            "`{outcome}` is paid {amount:.2}, but `{}` shows no completion code (nor a `redirect_url`): participants could not claim it",
                            claim.at
                        ),
                    ),
                }
            }
        }
        for (code, uses) in codes {
            let mut amounts: Vec<String> = uses.iter().map(|(_, a)| format!("{a:.2}")).collect();
            amounts.sort();
            amounts.dedup();
            if amounts.len() > 1 {
                let list: Vec<String> = uses.iter().map(|(o, a)| format!("`{o}` ({a:.2})")).collect();
                self.report(
                    at.clone(),
                    format!(
                        "the completion code `{code}` is shown for {}: panels pay by code, so give each pay its own code",
                        list.join(" and ")
                    ),
                );
            }
        }
    }
}

/// Where the outcome named `outcome` (a `recruitment.pay` key) is shown: `None` for the
/// host's own outcomes, which show no code; empty when it cannot happen here.
fn claims(outcome: &str, setting: &PaySetting, views: &[SceneView]) -> Option<Vec<Claim>> {
    let scenes =
        views.iter().enumerate().filter_map(|(i, v)| Some((KeyPath::root().key("scenes").index(i), v.typed.as_ref()?)));
    let multiplayer: Vec<_> =
        scenes.clone().filter_map(|(at, s)| if let Scene::Multiplayer(m) = s { Some((at, m)) } else { None }).collect();
    let study_code = setting.recruitment.completion_code.as_ref().map(ToString::to_string);
    let mut out = Vec::new();
    match outcome {
        "finished" => {
            for (at, s) in scenes {
                if let Scene::End(e) = s {
                    let code = e.completion_code.as_ref().map(ToString::to_string).or_else(|| study_code.clone());
                    let redirects = e.redirect_url.is_some() || setting.recruitment.redirect_url.is_some();
                    out.push(Claim { at, code, redirects, goes_on: false });
                }
            }
        }
        "ended_by_researcher" => {
            let at = KeyPath::root().key("recruitment").key("completion_code");
            out.push(Claim { at, code: study_code, redirects: false, goes_on: false });
        }
        // Those who wait long enough play with bots (`fill_with_bots_after_secs`) before
        // they could time out, or leave with pay after it.
        "waitroom_timeout" => out.extend(
            multiplayer
                .iter()
                .filter(|(_, m)| {
                    m.waitroom.fill_with_bots_after_secs.is_none() || m.waitroom.fill_with_bots_if.is_some()
                })
                .map(|(at, m)| Claim::of(at.key("waitroom").key("on_timeout"), &m.waitroom.on_timeout)),
        ),
        "left_waitroom" => out.extend(
            multiplayer
                .iter()
                .filter(|(_, m)| {
                    let w = &m.waitroom;
                    w.fill_with_bots_if.is_some() || w.fill_with_bots_after_secs.is_none_or(|f| w.leave_after_secs < f)
                })
                .map(|(at, m)| Claim::of(at.key("waitroom").key("on_leave"), &m.waitroom.on_leave)),
        ),
        "partner_left" | "host_restarted" => {
            out.extend(multiplayer.iter().map(|(at, m)| Claim::of(at.key("on_partner_leave"), &m.on_partner_leave)))
        }
        "left_idle_game" => out.extend(
            multiplayer
                .iter()
                .filter(|(_, m)| m.game.partner_idle_secs.is_some())
                .map(|(at, m)| Claim::of(at.key("on_partner_idle"), &m.on_partner_idle)),
        ),
        "ready_missed" => out.extend(multiplayer.iter().filter_map(|(at, m)| {
            let check = m.waitroom.ready_check.as_ref()?;
            Some(Claim::of(at.key("waitroom").key("ready_check").key("on_missed"), &check.on_missed))
        })),
        "failed_check" => out.extend(scenes.filter_map(|(at, s)| match s {
            Scene::Survey(survey) => {
                let key = if survey.on_give_up.is_some() { "on_give_up" } else { "on_fail" };
                Some(Claim::of(at.key(key), survey.failed_outcome()?))
            }
            _ => None,
        })),
        "condition_full" | "group_condition_full" => {
            let (name, set) = match outcome {
                "condition_full" => ("entry", &setting.conditions.entry),
                _ => ("group", &setting.conditions.group),
            };
            let at = KeyPath::root().key("conditions").key(name).key("on_full");
            out.extend(set.as_ref().map(|c| Claim::of(at, &c.on_full)));
        }
        "device_excluded" | "webrtc_unavailable" | "connection_too_slow" | "connection_degraded" => {
            let Some(s) = setting.screening else { return Some(out) };
            let at = KeyPath::root().key("screening");
            let rule = match outcome {
                "device_excluded" => s.device.as_ref().map(|r| ("device", r.on_fail.as_ref())),
                "webrtc_unavailable" => s.webrtc.as_ref().map(|r| ("webrtc", r.on_fail.as_ref())),
                "connection_too_slow" => s.server_rtt.as_ref().map(|r| ("server_rtt", r.on_fail.as_ref())),
                _ => s.monitor.as_ref().map(|r| ("monitor", r.on_fail.as_ref())),
            };
            match rule {
                None => {}
                // The built-in outcome's message, without a code.
                Some((rule, None)) => {
                    out.push(Claim { at: at.key(rule), code: None, redirects: false, goes_on: false })
                }
                Some((rule, Some(o))) => out.push(Claim::of(at.key(rule).key("on_fail"), o)),
            }
        }
        _ => return None, // expired, input_limit, invalid_input: the host's, without a code
    }
    Some(out)
}
