//! Property test over random event sequences: whatever participants do and whenever,
//! the state's invariants hold after every step (the sequences and checks are
//! in [`crate::experiment::testkit::sequences`], shared with the fuzz target `state`).

use proptest::prelude::*;

use crate::experiment::testkit::sequences::{self, Op, Variant};

fn run(variant: Variant, ops: Vec<Op>) -> Result<(), TestCaseError> {
    sequences::run(variant, ops).map_err(TestCaseError::fail)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Arrive),
        1 => any::<usize>().prop_map(Op::Disconnect),
        1 => any::<usize>().prop_map(Op::Reconnect),
        1 => any::<usize>().prop_map(Op::Leave),
        3 => any::<usize>().prop_map(Op::Ready),
        3 => (any::<usize>(), proptest::option::weighted(0.8, 0u16..200)).prop_map(|(i, r)| Op::Report(i, r)),
        1 => any::<usize>().prop_map(Op::Complete),
        2 => (0u16..40).prop_map(Op::Wait),
        1 => any::<usize>().prop_map(Op::TakeOver),
        1 => Just(Op::Restart),
        1 => any::<usize>().prop_map(Op::ResumeById),
        2 => (any::<usize>(), 1u8..80).prop_map(|(i, n)| Op::Inputs(i, n)),
        1 => any::<usize>().prop_map(Op::Relay),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(i, hidden)| Op::Visibility(i, hidden)),
        3 => any::<usize>().prop_map(Op::Confirm),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn invariants_hold_for_pairs(ops in proptest::collection::vec(op(), 1..60)) {
        run(Variant::Pairs, ops)?;
    }

    #[test]
    fn invariants_hold_for_trios(ops in proptest::collection::vec(op(), 1..60)) {
        run(Variant::Trios, ops)?;
    }

    #[test]
    fn invariants_hold_when_a_bot_takes_a_left_seat(ops in proptest::collection::vec(op(), 1..60)) {
        run(Variant::BotSeat, ops)?;
    }

    #[test]
    fn invariants_hold_with_backfill_and_bot_fill(ops in proptest::collection::vec(op(), 1..60)) {
        run(Variant::Backfill, ops)?;
    }

    #[test]
    fn invariants_hold_with_a_countdown(ops in proptest::collection::vec(op(), 1..60)) {
        run(Variant::Countdown, ops)?;
    }

    #[test]
    fn invariants_hold_for_trios_that_time_out(ops in proptest::collection::vec(op(), 1..60)) {
        run(Variant::TrioTimeouts, ops)?;
    }

    #[test]
    fn invariants_hold_with_a_ready_check(ops in proptest::collection::vec(op(), 1..60)) {
        run(Variant::ReadyCheck, ops)?;
    }

    #[test]
    fn groups_keep_their_entry_condition_whatever_happens(ops in proptest::collection::vec(op(), 1..60)) {
        run(Variant::Conditions, ops)?;
    }

    #[test]
    fn invariants_hold_when_the_host_plays_seats_for_participants_not_told(ops in proptest::collection::vec(op(), 1..60)) {
        run(Variant::Untold, ops)?;
    }

    #[test]
    fn invariants_hold_when_the_policy_fails_and_runs_out_of_budget(ops in proptest::collection::vec(op(), 1..60)) {
        run(Variant::FlakyPolicy, ops)?;
    }
}

/// Found by the fuzz target `state`: a participant taking their session over again and
/// again restarts their group's probes each time, and every old probe's deadline stayed
/// in the timer heap until its time — held timers grew with history, not with what is
/// alive. Now the heap is compacted.
#[test]
fn takeovers_in_a_row_do_not_pile_up_timers() {
    let mut ops = vec![Op::Arrive, Op::Arrive, Op::Arrive];
    ops.extend(std::iter::repeat_n(Op::TakeOver(218), 300));
    ops.extend(std::iter::repeat_n(Op::Arrive, 6));
    sequences::run(Variant::Trios, ops).unwrap();
}

/// The untold variant does reach the host's seats: two arrivals of different
/// conditions wait alone, both are given bots, and the untold one's game is played by
/// the host (its inputs logged for the seat) while they send theirs.
#[test]
fn the_untold_variant_plays_games_whose_seats_the_host_plays() {
    let mut h = Variant::Untold.harness();
    let (a, b) = (h.arrive(), h.arrive());
    h.wait(std::time::Duration::from_secs(31));
    let host_game = h.log.iter().find_map(|(_, e)| match e {
        crate::eventlog::Event::GameStarted { game, bots_by_host: true, .. } => Some(*game),
        _ => None,
    });
    let game = host_game.expect("the untold participant's bot fill is played by the host");
    let untold = [a, b].into_iter().find(|p| h.game_of(*p) == Some(game)).unwrap();
    h.send(
        untold,
        crate::protocol::ClientMsg::GameInputs {
            game,
            from: 0,
            inputs: vec![serde_json::Value::Null; 10],
            hashes: Vec::new(),
            seq: None,
        },
    );
    let seat_inputs = h.log.iter().any(|(_, e)| {
        matches!(e, crate::eventlog::Event::GameInputs { game: g, slot: 1, from, .. } if *g == game && *from > 0)
    });
    assert!(seat_inputs, "the seat's inputs follow the player's");
}
