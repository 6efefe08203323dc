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
