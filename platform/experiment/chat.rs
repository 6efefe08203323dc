//! Group chat (`chat` of a multiplayer scene): the members of one game talk through
//! the host during the countdown, beside the game and on the scenes after it that the
//! scene names. A line is checked (length, rate), logged, then delivered to the group's
//! members only; a page that comes back gets the latest lines again. A chat is kept
//! while a member can still use it, and holds at most [`HISTORY`] lines.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use super::state::{ConnId, Place, State};
use crate::eventlog::Event;
use crate::protocol::{ChatLine, ErrorCode, GameId, ParticipantId, ServerMsg};

/// Lines a chat keeps for pages that come back (the log keeps every line).
pub const HISTORY: usize = 50;

/// One group's chat.
#[derive(Debug, Clone)]
pub struct Chat {
    /// The multiplayer scene whose `chat` this is.
    pub scene: usize,
    /// The group's players, in slot order.
    pub members: Vec<ParticipantId>,
    /// The latest lines: (sender's slot, text).
    lines: VecDeque<(usize, String)>,
    /// When each member's lines of the last minute were sent.
    sent: HashMap<ParticipantId, VecDeque<Duration>>,
}

impl Chat {
    pub fn new(scene: usize, members: Vec<ParticipantId>) -> Self {
        Self { scene, members, lines: VecDeque::new(), sent: HashMap::new() }
    }

    /// The lines as `pid` sees them.
    fn lines_for(&self, pid: ParticipantId) -> Vec<ChatLine> {
        let me = self.members.iter().position(|m| *m == pid);
        self.lines
            .iter()
            .map(|(slot, text)| ChatLine { slot: *slot, mine: Some(*slot) == me, text: text.clone() })
            .collect()
    }

    /// Counts a line of `pid` at `now`; false when it is over `per_minute`.
    fn within_rate(&mut self, pid: ParticipantId, per_minute: u32, now: Duration) -> bool {
        let times = self.sent.entry(pid).or_default();
        while times.front().is_some_and(|t| now.saturating_sub(*t) >= Duration::from_secs(60)) {
            times.pop_front();
        }
        if times.len() >= per_minute as usize {
            return false;
        }
        times.push_back(now);
        true
    }
}

impl State {
    /// The chat `pid` may use where they are now, if any: their game's during the
    /// countdown or the game, their last game's on a scene after it.
    fn chat_here(&self, pid: ParticipantId) -> Option<GameId> {
        let p = self.participants.get(&pid)?;
        match p.place {
            Place::Playing(scene, game) => {
                let chat = self.multiplayer(scene).chat.as_ref()?;
                let started = self.rooms.get(&scene)?.games.get(&game)?.started();
                let here = if started { "game" } else { "countdown" };
                (chat.during(here) && self.chats.contains_key(&game)).then_some(game)
            }
            Place::Scene(index) => {
                let game = p.last_game?;
                let chat = self.chats.get(&game)?;
                let settings = self.multiplayer(chat.scene).chat.as_ref()?;
                settings.during(self.experiment.scenes[index].id().as_str()).then_some(game)
            }
            _ => None,
        }
    }

    /// A game was created in the scene at `scene`: its players get a chat if the scene
    /// has one.
    pub(super) fn create_chat(&mut self, scene: usize, game: GameId, players: &[ParticipantId]) {
        if self.multiplayer(scene).chat.is_some() {
            self.chats.insert(game, Chat::new(scene, players.to_vec()));
        }
    }

    /// Tells `pid`'s page to show the chat, with its latest lines, if they may chat
    /// where they are.
    pub(super) fn open_chat(&mut self, pid: ParticipantId) {
        let Some(game) = self.chat_here(pid) else { return };
        let chat = &self.chats[&game];
        let max_chars = self.multiplayer(chat.scene).chat.as_ref().map_or(0, |c| c.max_chars);
        let lines = chat.lines_for(pid);
        self.send_to(pid, ServerMsg::ChatOpen { game, max_chars, lines });
    }

    pub(super) fn on_chat(&mut self, pid: ParticipantId, conn: ConnId, text: String, seq: Option<u64>) {
        let Some(game) = self.chat_here(pid) else {
            return self.refuse(conn, ErrorCode::InvalidState, "there is no chat here", seq);
        };
        let scene = self.chats[&game].scene;
        let Some(settings) = self.multiplayer(scene).chat.clone() else { return };
        let text = text.trim().to_owned();
        let chars = text.chars().count();
        if chars == 0 || chars > settings.max_chars as usize {
            let message = format!("a chat message has 1 to {} characters (this has {chars})", settings.max_chars);
            return self.refuse(conn, ErrorCode::Malformed, message, seq);
        }
        if text.chars().any(|c| c.is_control() && c != '\n') {
            return self.refuse(conn, ErrorCode::Malformed, "a chat message cannot hold control characters", seq);
        }
        let now = self.now;
        let chat = self.chats.get_mut(&game).expect("chat exists");
        if !chat.within_rate(pid, settings.per_minute, now) {
            let message = format!("at most {} chat messages a minute", settings.per_minute);
            return self.send(conn, ServerMsg::error(ErrorCode::RateLimited, message, seq));
        }
        let slot = chat.members.iter().position(|m| *m == pid).unwrap_or_default();
        chat.lines.push_back((slot, text.clone()));
        if chat.lines.len() > HISTORY {
            chat.lines.pop_front();
        }
        let members = chat.members.clone();
        let place = match self.participants[&pid].place {
            Place::Playing(s, _) | Place::Scene(s) => self.experiment.scenes[s].id().to_string(),
            _ => String::new(),
        };
        self.log(Event::ChatSent { game, participant: pid, slot, scene: place, text: text.clone() });
        self.ack(conn, seq);
        for member in members {
            let line = ChatLine { slot, mine: member == pid, text: text.clone() };
            self.send_to(member, ServerMsg::Chat { game, line });
        }
    }

    /// Forgets the chats no member can use any more (after places changed).
    pub(super) fn close_chats(&mut self, moved: &[ParticipantId]) {
        for pid in moved {
            let Some(game) = self.participants.get(pid).and_then(|p| p.last_game) else { continue };
            let Some(chat) = self.chats.get(&game) else { continue };
            let members = chat.members.clone();
            // In use, or a member still in the game, with the scenes after it to come.
            let in_game = |m: &ParticipantId| {
                self.participants.get(m).is_some_and(|p| matches!(p.place, Place::Playing(_, g) if g == game))
            };
            if !members.iter().any(|m| in_game(m) || self.chat_here(*m) == Some(game)) {
                self.chats.remove(&game);
            }
        }
    }
}
