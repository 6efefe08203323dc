//! A partner who leaves a started game (`on_dropout`), and participants who waited
//! long enough to play with bots (`fill_with_bots_after_secs`).

use super::cells::has;
use super::{Harness, PAIR, secs};
use crate::eventlog::Event;
use crate::experiment::state::Place;
use crate::game::SeatKind;
use crate::protocol::{ClientMsg, GameId, OutcomeReason, ServerMsg};
use serde_json::json;

fn unprobed(extra: &str) -> String {
    PAIR.replace("    max_p2p_rtt_ms: 80\n", "").replace("  - id: end", &format!("{extra}  - id: end"))
}

fn inputs(game: GameId, from: u64, n: usize) -> ClientMsg {
    ClientMsg::GameInputs { game, from, inputs: vec![json!(null); n], hashes: Vec::new(), seq: None }
}

#[test]
fn with_a_bot_dropout_the_seat_changes_hands_at_the_first_tick_the_host_lacks_and_the_game_goes_on() {
    let mut h = Harness::new(&unprobed("    on_dropout: bot\n"));
    let (a, b) = (h.arrive(), h.arrive());
    let game = h.game_of(a).expect("playing");
    h.send(a, inputs(game, 0, 12));
    h.send(b, inputs(game, 0, 7));
    h.take();
    h.disconnect(b);
    h.wait(secs(30));
    assert_eq!(h.place(b), Place::Over(0, OutcomeReason::Expired));
    assert_eq!(h.game_of(a), Some(game), "a plays on");
    let change = |m: &ServerMsg| matches!(m, ServerMsg::SeatChange { tick: 7, to: SeatKind::Bot, told: true, .. });
    assert!(has(&h.sent(a), change), "a is told: from tick 7 the bot plays b's seat");
    assert!(h.log.iter().any(
        |(_, e)| matches!(e, Event::SeatChanged { tick: 7, to: SeatKind::Bot, participant, .. } if *participant == b)
    ));
    // a's copy ends; nobody else is left to report: the game is complete.
    let result = Some(json!({"score": 1}));
    h.send(a, ClientMsg::GameComplete { game, result, tick: Some(40), hash: Some("h".into()), seq: None });
    assert_eq!(h.place(a), Place::Finished(1));
    assert!(h.log.iter().any(|(_, e)| matches!(e, Event::GameEnded { reason: crate::game::EndReason::Completed, .. })));
}

#[test]
fn a_reconnecting_player_gets_the_seat_changes_with_the_catch_up() {
    let mut h = Harness::new(&unprobed("    on_dropout: continue\n").replace("group_size: 2", "group_size: 3"));
    let (a, b, c) = (h.arrive(), h.arrive(), h.arrive());
    let game = h.game_of(a).expect("playing");
    h.send(c, inputs(game, 0, 3));
    h.disconnect(c);
    h.wait(secs(30));
    h.disconnect(a);
    h.reconnect(a);
    let resumed = |m: &ServerMsg| {
        matches!(m, ServerMsg::StartGame { seat_changes, .. }
        if seat_changes.len() == 1 && seat_changes[0].to == SeatKind::Empty && seat_changes[0].tick == 3)
    };
    assert!(has(&h.sent(a), resumed));
    assert_eq!(h.game_of(b), Some(game));
}

#[test]
fn with_the_default_dropout_the_game_ends_for_everyone_as_before() {
    let mut h = Harness::new(&unprobed(""));
    let (a, b) = (h.arrive(), h.arrive());
    h.disconnect(b);
    h.wait(secs(30));
    assert_eq!(h.place(a), Place::Over(0, OutcomeReason::PartnerLeft));
}

#[test]
fn a_participant_waiting_long_enough_plays_with_bot_seats_untold_as_the_experiment_says() {
    let yaml = unprobed("").replace("group_size: 2\n", "group_size: 2\n    on_dropout: bot\n").replace(
        "waitroom: {timeout_secs: 60}",
        "waitroom: {timeout_secs: 60, fill_with_bots_after_secs: 20, tell_about_bots: false}",
    );
    let mut h = Harness::new(&yaml);
    let a = h.arrive();
    h.wait(secs(19));
    assert_eq!(h.place(a), Place::Waiting(0));
    h.wait(secs(1));
    let game = h.game_of(a).expect("a plays with a bot after 20 s");
    let found = |m: &ServerMsg| matches!(m, ServerMsg::MatchFound { seats: 2, bots: 0, .. });
    assert!(has(&h.sent(a), found), "two seats, and not told that one is a bot");
    // Not told: the page is told of two players, and the host plays the bot's seat.
    let started = |m: &ServerMsg| matches!(m, ServerMsg::StartGame { bot_seats: 0, players, relay: true, .. } if players.len() == 2);
    assert!(has(&h.sent(a), started));
    let filled = h.log.iter().any(|(_, e)| {
        matches!(e, Event::BotsFilled { participant, game: g, waited_ms: 20_000, bot_seats: 1, told: false, .. }
            if *participant == a && *g == game)
    });
    assert!(filled, "logged with the wait and that a was not told");
    // Someone arriving now waits for a partner of their own.
    let b = h.arrive();
    assert_eq!(h.place(b), Place::Waiting(0));
}

#[test]
fn with_backfill_a_newcomer_takes_the_left_seat_from_an_agreed_tick_and_catches_up() {
    let mut h = Harness::new(&unprobed("    on_dropout: backfill\n    backfill_secs: 60\n"));
    let (a, b) = (h.arrive(), h.arrive());
    let game = h.game_of(a).expect("playing");
    h.send(a, inputs(game, 0, 30));
    h.send(b, inputs(game, 0, 25));
    h.disconnect(b);
    h.wait(secs(30));
    assert_eq!(h.game_of(a), Some(game), "the bot holds b's seat");
    h.take();
    let c = h.arrive();
    assert_eq!(h.game_of(c), Some(game), "the newcomer joins the running game");
    let join = h.log.iter().find_map(|(_, e)| match e {
        Event::SeatChanged { to: SeatKind::Player, participant, tick, slot, .. } if *participant == c => {
            Some((*slot, *tick))
        }
        _ => None,
    });
    let (slot, tick) = join.expect("the newcomer's seat change is logged");
    // 30 s in at 20 ticks/s, plus the delay and a second to spare.
    assert!(tick >= 600 + 20, "a tick no copy can have reached yet: {tick}");
    let told = |m: &ServerMsg| matches!(m, ServerMsg::SeatChange { to: SeatKind::Player, player: Some(p), tick: t, .. } if *p == c && *t == tick);
    assert!(has(&h.sent(a), told), "a is told who plays the seat from when");
    let catch_up = |m: &ServerMsg| {
        matches!(m, ServerMsg::StartGame { slot: s, inputs, seat_changes, .. }
        if *s == slot && inputs[slot].len() as u64 == tick && seat_changes.len() == 2 && inputs[1 - slot].len() == 30)
    };
    assert!(has(&h.sent(c), catch_up), "c gets every input so far and both seat changes");
    // The newcomer has no channel to anyone: the group plays over the relay from the
    // backfill on, without anyone asking (protocol.md, `seat_change`).
    assert!(has(&h.sent(c), |m| matches!(m, ServerMsg::StartGame { relay: true, .. })), "c starts on the relay");
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::GameRelay { .. })), "a is told the group plays over the relay");
    assert!(
        h.log.iter().any(
            |(_, e)| matches!(e, Event::GameRelay { participant, need, .. } if *participant == c && *need == tick)
        )
    );
    h.take();
    // c's inputs continue from the agreed tick and reach a at once; a's and c's
    // copies complete the game.
    h.send(c, inputs(game, tick, 3));
    assert!(!has(&h.sent(c), |m| matches!(m, ServerMsg::Error { .. })));
    let forwarded = |m: &ServerMsg| matches!(m, ServerMsg::GameInputs { slot: s, from, inputs, .. } if *s == slot && *from == tick && inputs.len() == 3);
    assert!(has(&h.sent(a), forwarded), "c's first inputs are forwarded to a");
    for p in [a, c] {
        let result = Some(json!({"score": 2}));
        h.send(p, ClientMsg::GameComplete { game, result, tick: Some(900), hash: Some("h".into()), seq: None });
    }
    assert_eq!((h.place(a), h.place(c)), (Place::Finished(1), Place::Finished(1)));
}

#[test]
fn a_seat_offered_for_backfill_is_not_offered_after_its_time() {
    let mut h = Harness::new(&unprobed("    on_dropout: backfill\n    backfill_secs: 5\n"));
    let (a, b) = (h.arrive(), h.arrive());
    let game = h.game_of(a).expect("playing");
    h.disconnect(b);
    h.wait(secs(36));
    let c = h.arrive();
    assert_eq!(h.place(c), Place::Waiting(0), "the seat was offered for 5 s only");
    assert_eq!(h.game_of(a), Some(game), "the bot plays on");
}

fn moves(game: GameId, from: u64, moves: &[&str]) -> ClientMsg {
    let inputs = moves.iter().map(|m| if m.is_empty() { json!(null) } else { json!(m) }).collect();
    ClientMsg::GameInputs { game, from, inputs, hashes: Vec::new(), seq: None }
}

#[test]
fn a_player_may_leave_a_game_whose_partner_sent_nothing_for_partner_idle_secs() {
    let yaml = unprobed("").replace(
        "game: {module: experiments/games/demo.js, countdown_secs: 0, max_duration_secs: 100}",
        "game: {module: experiments/games/demo.js, countdown_secs: 0, max_duration_secs: 100, partner_idle_secs: 10}",
    );
    let mut h = Harness::new(&yaml);
    let (a, b) = (h.arrive(), h.arrive());
    let game = h.game_of(a).expect("playing");
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::StartGame { partner_idle_secs: Some(10.0), .. })));
    h.wait(secs(6));
    h.send(a, moves(game, 0, &["up", "", "left"]));
    h.send(b, moves(game, 0, &["", "", ""])); // b's page is there, but b does nothing
    h.take();
    let refused = |h: &Harness, p| has(&h.sent(p), |m| matches!(m, ServerMsg::Error { .. }));
    h.send(a, ClientMsg::LeaveGame { game, seq: Some(1) });
    assert!(refused(&h, a), "b has been idle 6 s only");
    h.send(b, ClientMsg::LeaveGame { game, seq: Some(1) });
    assert!(refused(&h, b), "a has just moved");
    assert_eq!((h.game_of(a), h.game_of(b)), (Some(game), Some(game)), "a refusal changes nothing");
    h.wait(secs(5));
    h.take();
    h.send(a, ClientMsg::LeaveGame { game, seq: Some(2) });
    assert!(!refused(&h, a));
    assert_eq!(h.place(a), Place::Over(0, OutcomeReason::LeftIdleGame));
    assert_eq!(h.place(b), Place::Over(0, OutcomeReason::PartnerLeft), "the one left behind: on_dropout (end)");
    let logged = h.log.iter().any(|(_, e)| {
        matches!(e, Event::Outcome { participant, reason: OutcomeReason::LeftIdleGame, .. } if *participant == a)
    });
    assert!(logged);
}

#[test]
fn a_partner_hidden_for_partner_idle_secs_may_be_left_when_the_game_pauses_for_it() {
    let yaml = unprobed("").replace(
        "game: {module: experiments/games/demo.js, countdown_secs: 0, max_duration_secs: 100}",
        "game: {module: experiments/games/demo.js, countdown_secs: 0, max_duration_secs: 100, partner_idle_secs: 10, on_hidden: pause}",
    );
    let mut h = Harness::new(&yaml);
    let (a, b) = (h.arrive(), h.arrive());
    let game = h.game_of(a).expect("playing");
    h.wait(secs(2));
    h.send(b, ClientMsg::Visibility { hidden: true, seq: None });
    for t in 0..9 {
        h.wait(secs(1));
        h.send(b, moves(game, t, &["up"])); // inputs keep coming (e.g. queued), but b's page is hidden
    }
    h.wait(secs(1));
    h.take();
    h.send(a, ClientMsg::LeaveGame { game, seq: Some(1) });
    assert_eq!(h.place(a), Place::Over(0, OutcomeReason::LeftIdleGame), "hidden for 10 s");
}

#[test]
fn without_partner_idle_secs_a_game_cannot_be_left() {
    let mut h = Harness::new(&unprobed(""));
    let (a, _) = (h.arrive(), h.arrive());
    let game = h.game_of(a).expect("playing");
    h.wait(secs(60));
    h.take();
    h.send(a, ClientMsg::LeaveGame { game, seq: Some(1) });
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::Error { .. })));
    assert_eq!(h.game_of(a), Some(game));
}

#[test]
fn the_end_page_and_outcome_messages_show_pay_and_bonus() {
    let yaml = unprobed("")
        .replace(
            "scenes:",
            "recruitment:\n  completion_code: DONE\n  pay: {finished: 3.0, left_waitroom: 1.25}\n  bonus: {from: play.ticks, per_unit: 0.05, max: 5}\nscenes:",
        )
        .replace(
            "waitroom: {timeout_secs: 60}",
            "waitroom: {timeout_secs: 60, leave_after_secs: 0, on_leave: {message: \"Paid {pay}.\", completion_code: W}}",
        )
        .replace("    kind: end\n", "    kind: end\n    message: \"You earn {pay} plus a bonus of {bonus}.\"\n");
    let mut h = Harness::new(&yaml);
    let (a, b) = (h.arrive(), h.arrive());
    let game = h.game_of(a).expect("playing");
    for (p, ticks) in [(a, 40), (b, 200)] {
        let result = Some(json!({"ticks": ticks}));
        h.send(p, ClientMsg::GameComplete { game, result, tick: Some(9), hash: Some("h".into()), seq: None });
    }
    let end = |h: &Harness, p| {
        h.sent(p).into_iter().find_map(|m| match m {
            ServerMsg::Scene { scene: crate::protocol::SceneView::End { message, .. }, .. } => Some(message),
            _ => None,
        })
    };
    assert_eq!(end(&h, a).as_deref(), Some("You earn 3.00 plus a bonus of 2.00."));
    assert_eq!(end(&h, b).as_deref(), Some("You earn 3.00 plus a bonus of 5.00."), "at most `max`");
    let c = h.arrive();
    h.send(c, ClientMsg::LeaveWaitroom { seq: None });
    let told = h.sent(c).into_iter().find_map(|m| match m {
        ServerMsg::Outcome { message, .. } => message,
        _ => None,
    });
    assert_eq!(told.as_deref(), Some("Paid 1.25."));
}

#[test]
fn a_seat_the_host_plays_for_an_untold_participant_counts_as_an_idle_partner_like_a_player() {
    let yaml = unprobed("")
        .replace(
            "waitroom: {timeout_secs: 60}",
            "waitroom: {timeout_secs: 60, fill_with_bots_after_secs: 5, tell_about_bots: false}",
        )
        .replace(
            "game: {module: experiments/games/demo.js, countdown_secs: 0, max_duration_secs: 100}",
            "game: {module: experiments/games/demo.js, countdown_secs: 0, max_duration_secs: 100, partner_idle_secs: 10}",
        );
    let mut h = Harness::new(&yaml);
    let a = h.arrive();
    h.wait(secs(5));
    let game = h.game_of(a).expect("a plays with the host's seat");
    // The host's copy sends only empty inputs for its seat (slot 1).
    h.input(crate::experiment::Input::BotInputs { game, slot: 1, from: 0, inputs: vec![json!(null); 20] });
    h.wait(secs(11));
    h.take();
    h.send(a, ClientMsg::LeaveGame { game, seq: Some(1) });
    assert!(!has(&h.sent(a), |m| matches!(m, ServerMsg::Error { .. })), "the page's offer to leave is honoured");
    assert_eq!(h.place(a), Place::Over(0, OutcomeReason::LeftIdleGame));
}
