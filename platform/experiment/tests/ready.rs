//! The ready-check: a formed group plays only once every member confirmed; whoever
//! misses it is taken out (their outcome, or back to the waitroom but not offered until
//! they confirm after all), and the others wait again with their places.
//! A participant about to play with bots confirms the same way, alone.

use super::cells::has;
use super::{Harness, PAIR, secs};
use crate::eventlog::Event;
use crate::experiment::state::Place;
use crate::protocol::{ClientMsg, ErrorCode, OutcomeReason, ParticipantId, ServerMsg};

fn yaml(check: &str, probed: bool) -> String {
    let base = if probed { PAIR.to_owned() } else { PAIR.replace("    max_p2p_rtt_ms: 80\n", "") };
    base.replace("waitroom: {timeout_secs: 60}", &format!("waitroom: {{timeout_secs: 60, ready_check: {check}}}"))
}

fn check_of(h: &Harness, pid: ParticipantId) -> Option<String> {
    h.sent(pid).into_iter().rev().find_map(|m| match m {
        ServerMsg::ReadyCheck { check, .. } => Some(check),
        _ => None,
    })
}

fn ready(h: &mut Harness, pid: ParticipantId, check: &str) {
    h.send(pid, ClientMsg::Ready { check: check.to_owned(), seq: Some(9) });
}

#[test]
fn a_group_plays_once_every_member_confirmed() {
    let mut h = Harness::new(&yaml("{timeout_secs: 10, click: true}", false));
    let (a, b) = (h.arrive(), h.arrive());
    let check = check_of(&h, a).expect("a ready-check, not a game");
    assert!(has(&h.sent(b), |m| matches!(m, ServerMsg::ReadyCheck { click: true, ready: 0, players: 2, .. })));
    assert_eq!((h.place(a), h.place(b)), (Place::Waiting(0), Place::Waiting(0)));
    h.take();
    ready(&mut h, a, &check);
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::Ack { seq: 9 })));
    assert!(has(&h.sent(b), |m| matches!(m, ServerMsg::ReadyCheck { ready: 1, .. })), "the others see the count");
    assert!(h.game_of(a).is_none());
    ready(&mut h, b, &check);
    assert!(h.game_of(a).is_some() && h.game_of(a) == h.game_of(b));
    let confirmed = h.log.iter().filter(|(_, e)| matches!(e, Event::ReadyConfirmed { .. })).count();
    assert_eq!(confirmed, 2);
}

#[test]
fn a_probed_group_is_checked_after_its_pairs_are_accepted() {
    let mut h = Harness::new(&yaml("{timeout_secs: 10}", true));
    let (a, b) = (h.arrive(), h.arrive());
    assert!(check_of(&h, a).is_none(), "probed first");
    let probe = h.probes_of(a)[0].clone();
    h.measure(&probe, Some(20.0));
    let check = check_of(&h, a).expect("then checked");
    ready(&mut h, a, &check);
    ready(&mut h, b, &check);
    assert!(h.game_of(a).is_some());
}

#[test]
fn a_member_who_misses_the_check_gets_the_outcome_and_the_others_wait_again() {
    let mut h = Harness::new(&yaml("{timeout_secs: 10, on_missed: {message: Gone., completion_code: MISS1}}", false));
    let (a, b) = (h.arrive(), h.arrive());
    let check = check_of(&h, a).unwrap();
    ready(&mut h, a, &check);
    h.take();
    h.wait(secs(11));
    assert_eq!(h.place(b), Place::Over(0, OutcomeReason::ReadyMissed));
    assert!(has(&h.sent(b), |m| matches!(m, ServerMsg::Outcome { completion_code: Some(c), .. } if c == "MISS1")));
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::ReadyAbort { reason, .. } if reason == "group_dropped")));
    assert_eq!(h.place(a), Place::Waiting(0));
    assert!(h.available(a), "the one who confirmed waits again");
    let c = h.arrive();
    assert!(check_of(&h, c).is_some(), "and is grouped with the next");
}

#[test]
fn with_missed_waitroom_the_absent_member_is_offered_again_only_once_back() {
    let mut h = Harness::new(&yaml("{timeout_secs: 10, missed: waitroom}", false));
    let (a, b) = (h.arrive(), h.arrive());
    let check = check_of(&h, a).unwrap();
    ready(&mut h, a, &check);
    h.take();
    h.wait(secs(11));
    assert!(has(&h.sent(b), |m| matches!(m, ServerMsg::ReadyAbort { reason, .. } if reason == "missed")));
    assert_eq!(h.place(b), Place::Waiting(0));
    assert!(!h.available(b), "a ghost is not offered");
    let c = h.arrive();
    let second = check_of(&h, c).expect("a and c are grouped, not b");
    assert_eq!(check_of(&h, a), Some(second.clone()));
    ready(&mut h, a, &second);
    ready(&mut h, c, &second);
    assert!(h.game_of(a).is_some() && h.game_of(a) == h.game_of(c));
    ready(&mut h, b, &check); // back after all
    assert!(h.available(b));
}

#[test]
fn leaving_during_the_check_drops_it_and_a_stray_ready_is_refused() {
    let mut h = Harness::new(&yaml("{timeout_secs: 10}", false));
    let (a, b) = (h.arrive(), h.arrive());
    let check = check_of(&h, a).unwrap();
    h.take();
    h.disconnect(b);
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::ReadyAbort { reason, .. } if reason == "group_dropped")));
    assert!(h.available(a));
    ready(&mut h, a, &check);
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::Error { code: ErrorCode::InvalidState, .. })));
}

fn bot_fill(check: &str) -> String {
    yaml(check, false)
        .replace("group_size: 2\n", "group_size: 2\n    on_dropout: bot\n")
        .replace("waitroom: {timeout_secs: 60,", "waitroom: {timeout_secs: 60, fill_with_bots_after_secs: 20,")
}

#[test]
fn a_participant_about_to_play_with_bots_confirms_alone_first() {
    let mut h = Harness::new(&bot_fill("{timeout_secs: 10}"));
    let a = h.arrive();
    h.wait(secs(20));
    let check = check_of(&h, a).expect("a ready-check before the bots' game");
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::ReadyCheck { players: 1, ready: 0, .. })));
    assert!(h.game_of(a).is_none(), "no game before confirming");
    // A newcomer meanwhile is not grouped with a participant being checked.
    let b = h.arrive();
    assert!(check_of(&h, b).is_none() && h.game_of(b).is_none());
    h.wait(secs(3));
    ready(&mut h, a, &check);
    let game = h.game_of(a).expect("a plays with a bot once confirmed");
    let filled = h.log.iter().any(|(_, e)| {
        matches!(e, Event::BotsFilled { participant, game: g, waited_ms: 23_000, bot_seats: 1, .. }
            if *participant == a && *g == game)
    });
    assert!(filled, "logged when the game starts, with the whole wait");
}

#[test]
fn a_participant_not_told_about_bots_sees_their_computer_partner_as_a_player_who_confirmed() {
    let yaml = bot_fill("{timeout_secs: 10}")
        .replace("fill_with_bots_after_secs: 20,", "fill_with_bots_after_secs: 20, tell_about_bots: false,");
    let mut h = Harness::new(&yaml);
    let a = h.arrive();
    h.wait(secs(20));
    let check = check_of(&h, a).expect("a ready-check before the game");
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::ReadyCheck { players: 2, ready: 1, .. })), "not 0 of 1");
    ready(&mut h, a, &check);
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::ReadyCheck { players: 2, ready: 2, .. })));
    assert!(h.game_of(a).is_some());
}

#[test]
fn missing_the_bot_fill_check_ends_the_part_or_waits_until_the_participant_is_back() {
    let mut h = Harness::new(&bot_fill("{timeout_secs: 10}"));
    let a = h.arrive();
    h.wait(secs(31));
    assert_eq!(h.place(a), Place::Over(0, OutcomeReason::ReadyMissed));
    assert!(h.log.iter().all(|(_, e)| !matches!(e, Event::BotsFilled { .. })));

    let mut h = Harness::new(&bot_fill("{timeout_secs: 10, missed: waitroom}"));
    let a = h.arrive();
    h.wait(secs(20));
    let first = check_of(&h, a).unwrap();
    h.wait(secs(11));
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::ReadyAbort { reason, .. } if reason == "missed")));
    assert_eq!(h.place(a), Place::Waiting(0));
    h.wait(secs(5));
    assert_eq!(check_of(&h, a), Some(first.clone()), "no new check while a is away");
    h.take();
    h.disconnect(a);
    h.reconnect(a); // a reloaded page learns again that it missed the check
    let missed =
        |m: &ServerMsg| matches!(m, ServerMsg::ReadyAbort { check, reason } if *check == first && reason == "missed");
    assert!(has(&h.sent(a), missed));
    ready(&mut h, a, &first); // back
    h.wait(secs(1));
    let second = check_of(&h, a).expect("a new check once back");
    assert_ne!(second, first);
    ready(&mut h, a, &second);
    assert!(h.game_of(a).is_some());
}
