//! Sessions and identity: `hello` (new session, resume by token or recruitment id,
//! duplicate tabs), disconnects and the reconnect grace period.

use std::collections::BTreeMap;
use std::time::Duration;

use super::state::{Arrivals, ConnId, Ended, Participant, Place, State};
use super::timers::Timer;
use crate::eventlog::Event;
use crate::protocol::{ErrorCode, OutcomeReason, PROTOCOL_VERSION, ParticipantId, ServerMsg};

/// Limits on `hello.params`.
pub const MAX_PARAMS: usize = 32;
pub const MAX_PARAM_KEY: usize = 64;
pub const MAX_PARAM_VALUE: usize = 512;
/// How long the socket of a participant whose part ended stays open after they were
/// shown it: then it is closed (the page keeps showing the end, and a return shows it
/// again), so that end pages left open hold no connection slot.
pub const LINGER: Duration = Duration::from_secs(60);
/// Most sessions one experiment holds (earlier runs' included, since they are restored).
pub const MAX_SESSIONS: usize = 100_000;

/// The key under which a resume token is found: its SHA-256, hex. Only this is logged
/// (so that a restarted host recognises the tab), never the token.
pub(super) fn token_key(token: &str) -> String {
    crate::eventlog::sha256_hex(token.as_bytes())
}

/// A recruitment id must look like one: 1-128 of letters, digits and `_-.@:`.
fn valid_recruitment_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || "_-.@:".contains(c))
}

impl State {
    pub(super) fn on_hello(
        &mut self,
        conn: ConnId,
        protocol: u32,
        params: BTreeMap<String, String>,
        (resume_token, takeover, environment): (Option<String>, bool, Option<crate::protocol::Environment>),
        seq: Option<u64>,
        now: Duration,
    ) {
        if self.by_conn.contains_key(&conn) {
            return self.refuse(conn, ErrorCode::HelloFirst, "`hello` was already received on this connection", seq);
        }
        if let Err((code, why)) = self.check_hello(protocol, &params) {
            self.refuse(conn, code, why, seq);
            return self.close(conn);
        }
        let recruitment_id = params.get(&self.experiment.recruitment.id_param).cloned();
        // The token proves the same browser tab (it lives in that tab's sessionStorage)
        // and may take the session over from a stale socket; the recruitment id alone
        // resumes only a session nobody holds (a second tab is refused), unless the
        // participant asked to continue in this tab instead (`takeover`).
        let by_token = resume_token.as_ref().and_then(|t| self.by_token.get(&token_key(t))).copied();
        let by_id = recruitment_id.as_ref().and_then(|r| self.by_recruitment.get(r)).copied();
        for pid in by_token.iter().chain(&by_id) {
            self.restore_ended(*pid);
        }
        // The tab keeps the token it has (its hash is in the log since the session
        // started), also when a restart had to issue the session another one.
        if let (Some(pid), Some(token)) = (by_token, &resume_token)
            && let Some(p) = self.participants.get_mut(&pid)
        {
            p.token.clone_from(token);
        }
        match by_token.map(|p| (p, true, false)).or(by_id.map(|p| (p, takeover, takeover))) {
            Some((pid, takeover, by_id)) => self.attach(pid, conn, (takeover, by_id), now),
            None if self.participants.len() + self.ended.len() >= MAX_SESSIONS => {
                self.refuse(conn, ErrorCode::Unavailable, "this experiment is full", seq);
                self.close(conn);
            }
            None if self.arrivals != Arrivals::Open => {
                let Arrivals::Closed { message, .. } = self.arrivals.clone() else { unreachable!("not open") };
                self.refuse(conn, ErrorCode::Unavailable, message, seq);
                self.close(conn);
            }
            None => {
                let pid = ParticipantId(self.new_uuid());
                let pid = self.create(pid, recruitment_id.clone(), params.clone(), Place::Scene(0), now);
                let token_sha256 = Some(token_key(&self.participants[&pid].token));
                self.log(Event::SessionStarted { participant: pid, recruitment_id, params, token_sha256 });
                self.bind(pid, conn, false);
                if self.screen_entry(pid, environment.as_ref(), now) && self.assign_entry(pid, now) {
                    self.send_condition_texts(pid);
                    let first = self.assign_route(pid);
                    self.enter_scene(pid, first, now);
                }
            }
        }
    }

    fn check_hello(&self, protocol: u32, params: &BTreeMap<String, String>) -> Result<(), (ErrorCode, String)> {
        if protocol != PROTOCOL_VERSION {
            let why = format!("protocol {protocol} is not supported; this host speaks {PROTOCOL_VERSION}");
            return Err((ErrorCode::UnsupportedProtocol, why));
        }
        if params.len() > MAX_PARAMS || params.iter().any(|(k, v)| k.len() > MAX_PARAM_KEY || v.len() > MAX_PARAM_VALUE)
        {
            let why =
                format!("at most {MAX_PARAMS} params, keys ≤ {MAX_PARAM_KEY} and values ≤ {MAX_PARAM_VALUE} bytes");
            return Err((ErrorCode::Malformed, why));
        }
        let recruitment = &self.experiment.recruitment;
        match params.get(&recruitment.id_param) {
            Some(id) if !valid_recruitment_id(id) => {
                Err((ErrorCode::MissingId, format!("`{}` in the link is malformed", recruitment.id_param)))
            }
            None if recruitment.require_id => Err((
                ErrorCode::MissingId,
                format!(
                    "this study link must carry your `{}`; please use the link from the study page",
                    recruitment.id_param
                ),
            )),
            _ => Ok(()),
        }
    }

    /// A new session record (not yet bound to a connection).
    fn create(
        &mut self,
        pid: ParticipantId,
        recruitment_id: Option<String>,
        params: BTreeMap<String, String>,
        place: Place,
        now: Duration,
    ) -> ParticipantId {
        let token = self.new_secret();
        self.by_token.insert(token_key(&token), pid);
        if let Some(r) = &recruitment_id {
            self.by_recruitment.insert(r.clone(), pid);
        }
        let participant =
            Participant { params, ..Participant::new(pid, recruitment_id, token, place, now + self.max_duration) };
        self.participants.insert(pid, participant);
        pid
    }

    /// Binds `conn` to an existing session. If another connection holds it, `takeover`
    /// (the tab's own token, or `took_over`: the recruitment id after the participant
    /// chose to continue here) moves the session to `conn` and tells the old one;
    /// otherwise `conn` is refused as a second tab.
    fn attach(&mut self, pid: ParticipantId, conn: ConnId, (takeover, took_over): (bool, bool), now: Duration) {
        if let Some(old) = self.participants[&pid].conn {
            let message = self.experiment.text("host.duplicate_session");
            let refused = if takeover { old } else { conn };
            self.log(Event::DuplicateRefused { participant: pid, took_over });
            self.send(refused, ServerMsg::DuplicateSession { message });
            self.close(refused);
            if !takeover {
                return;
            }
            self.by_conn.remove(&old);
            // The old page's peer connections are gone with it: abort its probes (not
            // held against anyone) so that it is proposed afresh.
            if let Place::Waiting(scene) = self.participants[&pid].place {
                self.waiting_disconnected(pid, scene, now);
            }
        }
        self.bind(pid, conn, true);
        self.show_place(pid, now);
    }

    /// Marks `conn` as `pid`'s connection and sends `welcome`.
    fn bind(&mut self, pid: ParticipantId, conn: ConnId, resumed: bool) {
        self.by_conn.insert(conn, pid);
        if self.participants[&pid].token.is_empty() {
            // A session restored from an earlier run, resumed without its old token: a
            // new one, whose hash is logged so that a later restart knows it too.
            let token = self.new_secret();
            let token_sha256 = token_key(&token);
            self.by_token.insert(token_sha256.clone(), pid);
            self.log(Event::TokenIssued { participant: pid, token_sha256 });
            self.participants.get_mut(&pid).expect("bound participant exists").token = token;
        }
        let p = self.participants.get_mut(&pid).expect("bound participant exists");
        p.conn = Some(conn);
        p.away_since = None;
        p.server_rtt_ms = None;
        let welcome = ServerMsg::Welcome {
            protocol: PROTOCOL_VERSION,
            participant: pid,
            resume_token: p.token.clone(),
            experiment: self.experiment.id.to_string(),
            title: self.experiment.title.clone(),
            resumed,
        };
        self.log(Event::Connected { participant: pid, resumed });
        self.send(conn, welcome);
        self.send_condition_texts(pid);
    }

    /// Shows a (re)connected participant where they are, and picks up where they were.
    fn show_place(&mut self, pid: ParticipantId, now: Duration) {
        match self.participants[&pid].place {
            Place::Scene(index) | Place::Finished(index) => self.show_scene(pid, index),
            Place::Waiting(index) => {
                self.show_scene(pid, index);
                self.waiting_reconnected(pid, index, now);
            }
            Place::Playing(index, game) => {
                self.show_scene(pid, index);
                let Some(g) = self.rooms[&index].games.get(&game) else { return };
                let msg = if g.started() {
                    self.start_msg(index, game, pid)
                } else {
                    let countdown_secs = g.starts_at.saturating_sub(now).as_secs_f64();
                    let bots = if self.told_about_bots(index, pid) { g.bot_seats } else { 0 };
                    let seats = g.players.len() as u32 + g.bot_seats;
                    ServerMsg::MatchFound { game, players: g.players.clone(), countdown_secs, seats, bots }
                };
                self.send_to(pid, msg);
                self.open_chat(pid);
            }
            Place::Over(index, reason) => {
                let msg = self.outcome_msg(pid, index, reason);
                self.send_to(pid, msg);
            }
        }
    }

    pub(super) fn on_closed(&mut self, conn: ConnId, now: Duration) {
        let Some(pid) = self.by_conn.remove(&conn) else {
            return;
        };
        let p = self.participants.get_mut(&pid).expect("bound participant exists");
        if p.conn != Some(conn) {
            return; // a connection the session was taken over from
        }
        p.conn = None;
        p.away_since = Some(now);
        p.server_rtt_ms = None;
        let place = p.place;
        self.touched.push(pid);
        if let Some(at) = self.expires_at(pid) {
            self.timers.schedule(at, Timer::Away(pid));
        }
        self.log(Event::Disconnected { participant: pid });
        if let Place::Waiting(scene) = place {
            self.waiting_disconnected(pid, scene, now);
        }
    }

    /// Participants away longer than the grace period leave everywhere; their session
    /// is over. `due` are the participants whose grace timer fired.
    pub(super) fn expire_away(&mut self, due: Vec<ParticipantId>, now: Duration) {
        for pid in due {
            // Back in the meantime, or moved by an earlier expiry in this loop (a game
            // ended): the timer no longer applies.
            if self.expires_at(pid).is_none_or(|at| at > now) {
                continue;
            }
            let p = &self.participants[&pid];
            let place = p.place;
            match place {
                Place::Waiting(scene) => self.leave_room(pid, scene, "expired", now),
                Place::Playing(scene, game) => self.player_left_game(pid, scene, game, now),
                _ => {}
            }
            self.end_early(pid, place.scene(), OutcomeReason::Expired, now);
        }
    }

    /// When an away participant's session ends: after the reconnect grace where
    /// partners wait for them (waitroom, probes, games); on a solo scene (consent,
    /// instructions, survey) nobody waits, so not before `session.max_duration_secs`
    /// from its start. `None` when connected or over.
    pub(super) fn expires_at(&self, pid: ParticipantId) -> Option<Duration> {
        let p = self.participants.get(&pid)?;
        let away = p.away_since.filter(|_| p.place.active() && p.conn.is_none())?;
        let after_grace = away + self.grace;
        Some(match p.place {
            Place::Scene(_) => after_grace.max(p.lasts_until),
            _ => after_grace,
        })
    }

    /// Sessions that ended and have no connection keep only what a return needs (who,
    /// where it ended, the token and recruitment id that find it): their answers,
    /// parameters and partners are in the event log, not in memory.
    pub(super) fn evict_ended(&mut self) {
        for pid in std::mem::take(&mut self.touched) {
            let Some(p) = self.participants.get(&pid) else { continue };
            if p.place.active() {
                continue;
            }
            self.known_rtts.forget(pid); // their pairs' RTTs go with the session
            if p.conn.is_some() {
                self.timers.schedule(self.now + LINGER, Timer::Linger(pid));
                continue;
            }
            let p = self.participants.remove(&pid).expect("checked above");
            let ended = Ended {
                recruitment_id: p.recruitment_id,
                token: p.token,
                place: p.place,
                condition: p.condition,
                last_game: p.last_game,
                bonus_points: p.bonus_points,
            };
            self.ended.insert(pid, ended);
            for (source, count) in self.budgets.forget(pid) {
                self.log_suppressed(source, count);
            }
        }
    }

    /// Closes the sockets of participants whose part ended and who were shown it long
    /// enough (see [`LINGER`]).
    pub(super) fn close_lingering(&mut self, due: Vec<ParticipantId>) {
        for pid in due {
            let Some(p) = self.participants.get(&pid) else { continue };
            if let (false, Some(conn)) = (p.place.active(), p.conn) {
                self.close(conn);
            }
        }
    }

    /// Brings an evicted session back as a light record (for a returning participant).
    fn restore_ended(&mut self, pid: ParticipantId) {
        let Some(ended) = self.ended.remove(&pid) else { return };
        let participant = Participant {
            condition: ended.condition,
            last_game: ended.last_game,
            bonus_points: ended.bonus_points,
            ..Participant::new(pid, ended.recruitment_id, ended.token, ended.place, Duration::ZERO)
        };
        self.participants.insert(pid, participant);
        self.touched.push(pid);
    }
}
