//! The built-in first-come-first-served policy: the arriving participant plus those who
//! have waited longest, skipping anyone who may not be grouped with a member already
//! chosen; slots in arrival order.

use super::{Candidate, Matchmaker, PolicyError, WaitroomView};
use crate::protocol::ParticipantId;

/// First come, first served.
#[derive(Debug, Default, Clone, Copy)]
pub struct Fifo;

impl Fifo {
    /// The FIFO group for `arriving`, if enough compatible participants wait.
    pub fn group(arriving: &Candidate, waiting: &WaitroomView<'_>, group_size: usize) -> Option<Vec<ParticipantId>> {
        let mut chosen: Vec<&Candidate> = vec![arriving];
        let compatible = |c: &Candidate, chosen: &[&Candidate]| {
            chosen.iter().all(|m| !m.avoid.contains(&c.id) && !c.avoid.contains(&m.id))
        };
        // The view is oldest first: stop as soon as the group is full.
        for c in waiting.iter() {
            if chosen.len() == group_size {
                break;
            }
            if c.id != arriving.id && compatible(c, &chosen) {
                chosen.push(c);
            }
        }
        // Slots follow arrival order too.
        chosen.sort_by_key(|c| c.joined_at);
        (chosen.len() == group_size).then(|| chosen.iter().map(|c| c.id).collect())
    }
}

/// Whether `c`'s entry condition is the one `key` names: a condition's name, or a
/// `factor=level` of it (`conditions.entry.compose`).
pub fn fills(c: &Candidate, key: &str) -> bool {
    match key.split_once('=') {
        Some((factor, level)) => c.attributes.get(&format!("condition.{factor}")).is_some_and(|v| v == level),
        None => c.attributes.get("condition").is_some_and(|v| v == key),
    }
}

/// Whether `members` hold exactly `composition`'s counts (each key's count of members
/// whose condition it names).
pub fn follows(members: &[&Candidate], composition: &[(String, usize)]) -> bool {
    composition.iter().map(|(_, n)| n).sum::<usize>() == members.len()
        && composition.iter().all(|(key, n)| members.iter().filter(|m| fills(m, key)).count() == *n)
}

impl Fifo {
    /// The FIFO group for `arriving` that holds `composition`'s counts: the arriving
    /// participant takes a place of their condition, and those who waited longest fill
    /// the places left (others wait for a group of their own).
    pub fn composed(
        arriving: &Candidate,
        waiting: &WaitroomView<'_>,
        composition: &[(String, usize)],
    ) -> Option<Vec<ParticipantId>> {
        let mut left: Vec<usize> = composition.iter().map(|(_, n)| *n).collect();
        let mut take = |c: &Candidate| {
            let place = composition.iter().zip(left.iter()).position(|((key, _), n)| *n > 0 && fills(c, key));
            place.map(|i| left[i] -= 1).is_some()
        };
        if !take(arriving) {
            return None;
        }
        let mut chosen: Vec<&Candidate> = vec![arriving];
        let size: usize = composition.iter().map(|(_, n)| n).sum();
        for c in waiting.iter() {
            if chosen.len() == size {
                break;
            }
            let compatible = chosen.iter().all(|m| !m.avoid.contains(&c.id) && !c.avoid.contains(&m.id));
            if c.id != arriving.id && compatible && take(c) {
                chosen.push(c);
            }
        }
        chosen.sort_by_key(|c| c.joined_at);
        (chosen.len() == size).then(|| chosen.iter().map(|c| c.id).collect())
    }
}

/// FIFO that forms only groups of a composition of entry conditions.
#[derive(Debug, Clone)]
pub struct ComposedFifo(pub Vec<(String, usize)>);

impl Matchmaker for ComposedFifo {
    fn name(&self) -> &str {
        "fifo"
    }

    fn depends_on_time(&self) -> bool {
        false
    }

    fn find_match(
        &mut self,
        arriving: &Candidate,
        waiting: &WaitroomView<'_>,
        _group_size: usize,
    ) -> Result<Option<Vec<ParticipantId>>, PolicyError> {
        Ok(Fifo::composed(arriving, waiting, &self.0))
    }
}

impl Matchmaker for Fifo {
    fn name(&self) -> &str {
        "fifo"
    }

    fn depends_on_time(&self) -> bool {
        false
    }

    fn find_match(
        &mut self,
        arriving: &Candidate,
        waiting: &WaitroomView<'_>,
        group_size: usize,
    ) -> Result<Option<Vec<ParticipantId>>, PolicyError> {
        Ok(Self::group(arriving, waiting, group_size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matchmaking::tests::candidate;
    use std::time::Duration;

    #[test]
    fn longest_waiting_first_and_avoided_pairs_skipped() {
        let arriving = candidate(1, 900);
        let (old, older, mut oldest) = (candidate(2, 300), candidate(3, 200), candidate(4, 100));
        let view = WaitroomView::new(Duration::from_secs(1), vec![&oldest, &older, &old]);
        assert_eq!(Fifo::group(&arriving, &view, 2), Some(vec![oldest.id, arriving.id]));
        assert_eq!(Fifo::group(&arriving, &view, 3), Some(vec![oldest.id, older.id, arriving.id]));
        assert_eq!(Fifo::group(&arriving, &view, 5), None);
        drop(view);
        oldest.avoid.push(older.id);
        let view = WaitroomView::new(Duration::from_secs(1), vec![&oldest, &older, &old]);
        assert_eq!(Fifo::group(&arriving, &view, 3), Some(vec![oldest.id, old.id, arriving.id]));
    }
}
