//! Scene flow: entering scenes, leaving consent/instructions, finishing at an `end`
//! scene (surveys are submitted in `survey`).

use std::time::Duration;

use super::state::{ConnId, Place, State};
use crate::config::Scene;
use crate::eventlog::Event;
use crate::protocol::{ErrorCode, ParticipantId, ServerMsg};

impl State {
    /// Moves `pid` into the scene at `index` and shows it.
    pub(super) fn enter_scene(&mut self, pid: ParticipantId, index: usize, now: Duration) {
        // A scene whose `show_if` does not hold for the participant is skipped, as if
        // left at once (end scenes are shown to everyone: the walk always ends).
        let mut index = index;
        while !self.scene_shown(pid, index) {
            self.step_to(pid, index);
            index = self.next_scene(pid, index);
        }
        let scene_id = self.experiment.scenes[index].id().to_string();
        self.step_to(pid, index);
        let iteration = self.iteration(pid);
        self.log(Event::SceneEntered { participant: pid, scene: scene_id.clone(), index, iteration });
        self.on_scene_entered(pid, index);
        let place = match &self.experiment.scenes[index] {
            Scene::End(end) => {
                let p = &self.participants[&pid];
                let completion_code = end
                    .completion_code
                    .as_ref()
                    .or(self.experiment.recruitment.completion_code.as_ref())
                    .map(|c| c.to_string());
                self.log(Event::Finished {
                    participant: pid,
                    recruitment_id: p.recruitment_id.clone(),
                    scene: scene_id,
                    completion_code,
                });
                self.settle_entry(pid, true);
                Place::Finished(index)
            }
            Scene::Multiplayer(_) => Place::Waiting(index),
            _ => Place::Scene(index),
        };
        self.participants.get_mut(&pid).expect("participant exists").place = place;
        self.touched.push(pid);
        self.show_scene(pid, index);
        if place == Place::Waiting(index) {
            self.join_room(pid, index, now);
        }
    }

    /// Sends the scene at `index` as this participant sees it.
    pub(super) fn show_scene(&mut self, pid: ParticipantId, index: usize) {
        let group = self.group_condition_of(pid);
        let view = self.views.scene(index, &self.experiment, &self.participants[&pid], group);
        let view = if self.views.personal(index) { self.pipe_view(pid, self.personalize(pid, view)) } else { view };
        let view = self.survey_view(pid, index, view);
        let ((at, total), iteration) = (self.progress(pid, index), self.iteration(pid));
        self.send_to(pid, ServerMsg::Scene { index: at, total, scene: view, iteration });
        if matches!(self.participants[&pid].place, Place::Scene(_)) {
            self.open_chat(pid);
        }
    }

    /// Leaves the current scene for the next one.
    pub(super) fn leave_scene(&mut self, pid: ParticipantId, index: usize, now: Duration) {
        let scene = self.experiment.scenes[index].id().to_string();
        let iteration = self.iteration(pid);
        self.log(Event::SceneLeft { participant: pid, scene, index, iteration });
        let next = self.next_scene(pid, index);
        self.enter_scene(pid, next, now);
    }

    /// The participant's current scene, if they are in `scene_id`; otherwise an error
    /// naming where they are.
    pub(super) fn current_scene(
        &mut self,
        pid: ParticipantId,
        conn: ConnId,
        (scene_id, iteration): (&str, Option<u32>),
        seq: Option<u64>,
    ) -> Option<usize> {
        let now_at = self.iteration(pid);
        match self.participants[&pid].place {
            Place::Scene(index)
                if self.experiment.scenes[index].id().as_str() == scene_id
                    && iteration.is_some_and(|i| i != now_at) =>
            {
                let message =
                    format!("scene `{scene_id}` is at its iteration {now_at}, not {}", iteration.unwrap_or(0));
                self.refuse(conn, ErrorCode::InvalidState, message, seq);
                None
            }
            Place::Scene(index) if self.experiment.scenes[index].id().as_str() == scene_id => Some(index),
            Place::Scene(index) | Place::Waiting(index) | Place::Playing(index, _) => {
                let here = self.experiment.scenes[index].id().to_string();
                self.refuse(conn, ErrorCode::InvalidState, format!("you are in scene `{here}`, not `{scene_id}`"), seq);
                None
            }
            Place::Finished(_) | Place::Over(..) => {
                self.refuse(conn, ErrorCode::InvalidState, "your session is over", seq);
                None
            }
        }
    }

    pub(super) fn on_advance(
        &mut self,
        pid: ParticipantId,
        conn: ConnId,
        (scene_id, iteration): (&str, Option<u32>),
        agreed: bool,
        seq: Option<u64>,
        now: Duration,
    ) {
        let Some(index) = self.current_scene(pid, conn, (scene_id, iteration), seq) else {
            return;
        };
        match &self.experiment.scenes[index] {
            Scene::Consent(_) if !agreed => {
                let message = self.experiment.text("host.must_agree");
                return self.refuse(conn, ErrorCode::MustAgree, message, seq);
            }
            Scene::Consent(_) => self.log(Event::ConsentGiven { participant: pid, scene: scene_id.to_owned() }),
            Scene::Instructions(_) => {}
            other => {
                let kind = other.kind();
                return self.refuse(
                    conn,
                    ErrorCode::InvalidState,
                    format!("a `{kind}` scene is not left with `advance`"),
                    seq,
                );
            }
        }
        self.ack(conn, seq);
        self.leave_scene(pid, index, now);
    }
}
