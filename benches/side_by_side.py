#!/usr/bin/env python3
"""Side-by-side transport benchmark: MUG (Multi-User Gymnasium) vs cohort.

    python3 benches/side_by_side.py --cohort-bin target/release/cohort \
        --scenarios one,100,500,200@50 --out /tmp/side.json   [--only mug|cohort]

Needs the packages in benches/requirements.txt (pip install -r benches/requirements.txt).

For each server, and for each scenario, the script starts the server afresh on
127.0.0.1 with a free port, drives it with Python bots (asyncio tasks in this one
process, one connection each; --bot-procs N spreads the N / N@R / RSS bots over N
spawned worker processes instead), stops it, and at the end prints the figures as
JSON on stdout (and writes them to --out). Progress goes to stderr. The default run
(both servers, one,100,500,200@50 and the RSS step) takes about 65 s on 2 cores; the
JSON's run_s says how long it took.

Exit status: 0 if every step ran; 1 (after printing the JSON, with the reasons on
stderr and in the JSON's "problems") if a server failed to start or answer its
readiness check within --start-timeout (its remaining steps are then skipped), the
cohort binary is missing, a step raised, or a scenario (or the RSS step) matched fewer
than 90% of its bots.

"group complete -> match" (the first latency of each scenario: complete_to_match_ms)
====================================================================================
The host's part of matching, without the time a bot waits for its partner to arrive.
For each group the host formed (a pair), each member's match time minus the latest
join time among the group's members (the join that completed the group), so a pair
gives two values. Groups are identified by what the match tells the bots:
    cohort: `match_found` carries `game` (the game's UUID) and `players` (the members'
            participant UUIDs); each bot learns its own UUID from `welcome.participant`.
    MUG:    `match_found_countdown` carries only {countdown_seconds, message} (it is
            emitted to the game's Socket.IO room) and `start_game` (3 s later) carries
            {scene_metadata, game_id}. The group is taken from the two frames MUG sends,
            in order, inside the join_game handler that forms it, before the countdown:
            `pyodide_player_assigned` (to each member's socket: {player_id, game_id,
            game_seed, num_players}) and `pyodide_game_ready` (to the game's room:
            {game_id, players (slot ids), player_subjects {slot: subject_id}, ...}); a
            bot's own id is its subject id. The bot's match time is still that of
            `match_found_countdown`.
A group counts only if all its members are bots of this scenario: the host's member
list (cohort: players; MUG: player_subjects) names only this scenario's bots, and all
the members (as many as the list or num_players says) are matched bots here;
"groups_left_out" counts the others. In `one` it is the second bot's join -> match for
the second bot, plus the first (waiting) bot's match time measured from the same join.
Diagnostic: complete_to_match_by_member_ms splits the values into the member with the
latest join ("completing") and the others ("waiting"). MUG as shipped (Nagle on, see
below) tells the completing member ~40 ms late (the client's delayed ACK), and a
waiting member that joined < 40 ms earlier late too; --mug-nodelay removes that.

What "join -> match" means
==========================
cohort (benches/experiments/pairs.yaml, multiplayer scene first):
    join  = the bot sends `{"type":"hello",...}` on its freshly opened WebSocket
            (ws://127.0.0.1:<port>/x/pairs/ws). The host answers `welcome`, `scene`
            (the multiplayer scene) and `waiting_room`.
    match = the bot receives `match_found` (`start_game` follows 3 s later).
MUG (benches/mug/server.py: StartScene -> GymScene with 2 Human slots, FIFOMatchmaker
without P2P probing -> EndScene; MUG insists on the start and end scenes):
    before joining, the bot does what MUG's browser client does on page load, as fast
    as it can: GET /<subject_id> (creates the participant's Stager), Socket.IO connect
    (websocket transport only, as MUG's client), emit `register_subject`, receive
    `activate_scene` (StartScene), emit `advance_scene`, receive `activate_scene`
    (GymScene). Then:
    join  = the bot emits `join_game` (what the GymScene's start button does: it
            enters the waitroom; MUG answers `waiting_room` while no partner is there);
    match = the bot receives `match_found_countdown` ("Players found!", countdown 3;
            MUG emits `start_game` 3 s later). This is the event MUG emits to the
            game's room when the FIFO matchmaker has formed a full group.
    Diagnostic (MUG only), join_to_first_match_signal_ms: join to the first frame
    that tells of the match (`pyodide_player_assigned`, emitted inside the join_game
    handler that forms the group, before the background task emits
    `match_found_countdown`). MUG as shipped leaves Nagle's algorithm on (eventlet
    does not set TCP_NODELAY), so the later frames of such a burst wait for the
    client's delayed ACK (~40 ms on Linux): that is most of MUG's join -> match for
    a lone pair. --mug-nodelay sets TCP_NODELAY on MUG's accepted sockets (cohort
    sets it itself); the default measures MUG as shipped.
All times are time.monotonic() (CLOCK_MONOTONIC, shared by all processes), so they
include the loopback round trip and the bot process's own scheduling delay.

Secondary latency, "arrive -> match": from the bot's first network action (cohort:
opening the WebSocket; MUG: the GET of the participant page) to the match event,
i.e. everything a participant's arrival costs, including MUG's start scene.

Other figures, per scenario
===========================
matched            bots that received the match event within --match-timeout (60 s)
                   of joining; a bot that does not is counted unmatched (never a hang).
pairs_per_s        matched pairs / (last match - first join).
host_cpu_s         utime+stime of the server process tree (/proc/<pid>/stat, children
                   included, threads included) from just before the first bot starts to
                   the moment every bot is matched or has given up. Connections are
                   closed only after that (closing is not counted).
cpu_s_per_1000_matched  host_cpu_s * 1000 / matched.
listen_overflows   TcpExt ListenOverflows during the scenario (SYNs dropped by a full
                   accept queue; each costs that client a 1 s SYN retransmission).
bots_cpu_s         CPU of this (bot) process over the same window: if it approaches
                   wall_s, the bots, not the server, are the bottleneck.
ratios (top level, per scenario when both servers ran it; > 1 means cohort does better;
null when a figure is missing or its denominator is 0, e.g. host CPU below one 10 ms tick):
    join_to_match_p99_mug_over_cohort, complete_to_match_p99_mug_over_cohort,
    pairs_per_s_cohort_over_mug (null for `one`), cpu_per_1000_matched_mug_over_cohort;
    ratios.rss_per_participant.kb_per_participant_mug_over_cohort for the RSS step.
Scenarios:
    one     one pair at a time: bot A joins and waits (its `waiting_room` arrived),
            then bot B arrives; join->match is B's. Repeated --one-repeats (20) times
            on one server; both bots disconnect after each match.
    N       N bots arriving at once (all start together).
    N@R     N bots arriving at R per second.
Matched bots keep their connection open (reading and answering pings) until the
scenario is over, then all close.

RSS per connected participant (separate step, fresh server): VmRSS of the server
process tree (/proc/<pid>/status) once it is ready and idle, then K bots (--rss-bots,
default 500) arrive at 100/s, all get matched (pairs FIFO matches them all), and
after the countdown (5 s after the last match: their games have started and are
idle) VmRSS is read again: (after - before) / K in KB. Same state on both servers:
K connected participants in started two-player games.

cohort admission check (separate step, fresh server): 61 WebSocket upgrades from one
source address (expect the 61st to get HTTP 429), then 61 from 61 distinct addresses
(expect none refused). Bots bind their source address to 127.0.<i//250>.<i%250+2> to
get past cohort's per-address admission limit (60 at once, then 1/s); MUG has no such
limit, but its bots use the same addresses.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import math
import os
import platform
import random
import resource
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
MUG_SERVER = HERE / "mug" / "server.py"
PAIRS_YAML = HERE / "experiments" / "pairs.yaml"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def now() -> float:
    return time.monotonic()


def log(msg: str) -> None:
    print(f"[side_by_side {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def bot_addr(i: int) -> str:
    """Source address of bot i, spread over 127.0.0.0/8 (never 127.0.0.1)."""
    return f"127.{(i // 62500) % 250}.{(i // 250) % 250}.{i % 250 + 2}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_tag() -> str:
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=6))


# --------------------------------------------------------------------------- #
# Server processes
# --------------------------------------------------------------------------- #

_LIVE: list["ServerProc"] = []


def _kill_all() -> None:
    for p in list(_LIVE):
        p.stop()


atexit.register(_kill_all)


def _on_signal(signum, _frame):
    _kill_all()
    raise SystemExit(128 + signum)


def _tree(pid: int) -> list[int]:
    """pid and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def proc_cpu_s(pid: int) -> float:
    """utime+stime (+ waited-for children's) of the process tree rooted at pid."""
    total = 0.0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        # fields[0] is field 3 (state); utime=14, stime=15, cutime=16, cstime=17
        utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
        total += (utime + stime + cutime + cstime) / CLK_TCK
    return total


def proc_rss_kb(pid: int) -> int:
    total = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


def listen_overflows() -> int | None:
    """TcpExt ListenOverflows of this network namespace (SYNs dropped by a full accept queue)."""
    try:
        with open("/proc/net/netstat") as f:
            lines = f.read().splitlines()
        for head, vals in zip(lines[::2], lines[1::2]):
            if head.startswith("TcpExt:"):
                return int(dict(zip(head.split()[1:], vals.split()[1:]))["ListenOverflows"])
    except (OSError, KeyError, ValueError):
        pass
    return None


def self_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class ServerProc:
    def __init__(self, name: str, cmd: list[str], cwd: Path, ready_url: str, ready_body: str | None):
        self.name, self.cmd, self.cwd = name, cmd, cwd
        self.ready_url, self.ready_body = ready_url, ready_body
        self.proc: subprocess.Popen | None = None
        self.logfile = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> None:
        self.logfile = open(self.cwd / "server.log", "wb")
        self.proc = subprocess.Popen(
            self.cmd, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=self.logfile,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        _LIVE.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log_tail().strip()
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.cwd / 'server.log'}"
                                   + (f":\n{tail}" if tail else " (empty)"))
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2) as r:
                    body = r.read().decode(errors="replace")
                    if self.ready_body is None or body.strip() == self.ready_body:
                        return
            except urllib.error.HTTPError:
                if self.ready_body is None:  # any HTTP answer means it is listening
                    return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout} s:\n" + self.log_tail())

    def log_tail(self, n: int = 3000) -> str:
        try:
            return (self.cwd / "server.log").read_bytes()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        else:
            try:  # leftovers of the group, if any
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.logfile:
            self.logfile.close()
            self.logfile = None
        if self in _LIVE:
            _LIVE.remove(self)
        self.proc = None


# --------------------------------------------------------------------------- #
# Bots
# --------------------------------------------------------------------------- #


@dataclass
class Bot:
    i: int
    t_start: float = math.nan  # first network action
    t_join: float = math.nan
    t_wait: float = math.nan  # waiting_room received
    t_match: float = math.nan
    t_signal: float = math.nan  # MUG only: first message that tells of the match (diagnostic)
    error: str | None = None
    # Group identification (for complete -> match): the bot's own id as the host knows
    # it (cohort: welcome.participant; MUG: the subject id), the game it was matched
    # into, the members' ids as the host announced them, and the group's size.
    ident: str | None = None
    game: str | None = None
    members: list | None = None
    group_size: int | None = None
    waiting: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)  # matched or failed

    @property
    def matched(self) -> bool:
        return not math.isnan(self.t_match)

    @property
    def may_match(self) -> bool:
        """Not matched yet and not given up (a match after a timeout does not count)."""
        return not self.matched and self.error is None

    def fail(self, reason: str) -> None:
        if self.error is None and not self.matched:
            self.error = reason
        self.done.set()
        self.waiting.set()


def _err_name(e: BaseException) -> str:
    import aiohttp

    if isinstance(e, aiohttp.WSServerHandshakeError):
        return f"http_{e.status}"
    if isinstance(e, asyncio.TimeoutError):
        return "timeout"
    msg = str(e).strip().splitlines()[0][:80] if str(e).strip() else ""
    return type(e).__name__ + (f": {msg}" if msg else "")


class Driver:
    """One server kind: how a bot arrives, joins and learns it is matched."""

    kind = ""

    def __init__(self, port: int, args):
        self.port, self.args = port, args
        self.tag = run_tag()

    async def run_bot(self, bot: Bot, release: asyncio.Event) -> None:
        raise NotImplementedError


class CohortDriver(Driver):
    kind = "cohort"

    async def run_bot(self, bot: Bot, release: asyncio.Event) -> None:
        import aiohttp

        url = f"ws://127.0.0.1:{self.port}/x/pairs/ws"
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(bot_addr(bot.i), 0), limit=0))
        ws = None
        try:
            bot.t_start = now()
            ws = await asyncio.wait_for(
                session.ws_connect(url, autoping=True, heartbeat=None, max_msg_size=4 << 20),
                self.args.connect_timeout)
            hello = {"type": "hello", "protocol": 2, "params": {"PROLIFIC_PID": f"bot{self.tag}x{bot.i}"}}
            bot.t_join = now()
            await ws.send_str(json.dumps(hello))

            async def reader():
                async for msg in ws:  # also answers the host's pings
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        continue
                    m = json.loads(msg.data)
                    t = m.get("type")
                    if t == "match_found" and bot.may_match:
                        bot.t_match = now()
                        bot.game = str(m.get("game"))
                        bot.members = [str(p) for p in m.get("players") or []]
                        bot.group_size = len(bot.members)
                        bot.done.set()
                    elif t == "welcome":
                        bot.ident = str(m.get("participant"))
                    elif t == "waiting_room" and math.isnan(bot.t_wait):
                        bot.t_wait = now()
                        bot.waiting.set()
                    elif t in ("error", "outcome", "duplicate_session", "shutdown") and not bot.matched:
                        bot.fail(f"{t}:{m.get('code') or m.get('reason') or ''}")
                if not bot.matched:
                    bot.fail("closed_by_host")

            rtask = asyncio.create_task(reader())
            try:
                await asyncio.wait_for(bot.done.wait(), self.args.match_timeout)
            except asyncio.TimeoutError:
                bot.fail("not_matched_in_time")
            await release.wait()
            rtask.cancel()
        except Exception as e:  # noqa: BLE001
            bot.fail(_err_name(e))
            await release.wait()
        finally:
            bot.done.set()
            bot.waiting.set()
            try:
                if ws is not None:
                    await asyncio.wait_for(ws.close(), 5)
            except Exception:  # noqa: BLE001
                pass
            await session.close()


class MugDriver(Driver):
    kind = "mug"

    async def run_bot(self, bot: Bot, release: asyncio.Event) -> None:
        import aiohttp
        import socketio

        base = f"http://127.0.0.1:{self.port}"
        subject = f"bot{self.tag}x{bot.i}"
        bot.ident = subject
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(bot_addr(bot.i), 0), limit=0))
        sio = socketio.AsyncClient(reconnection=False, handle_sigint=False, http_session=session,
                                   request_timeout=self.args.connect_timeout)
        state = {"session_id": None}
        joined = asyncio.Event()

        @sio.on("server_session_id")
        async def _sid(data):
            state["session_id"] = data.get("session_id")

        @sio.on("activate_scene")
        async def _scene(data):
            kind = data.get("scene_type")
            if kind == "StartScene":
                await sio.emit("advance_scene", {"session_id": state["session_id"]})
            elif kind == "GymScene" and math.isnan(bot.t_join):
                bot.t_join = now()
                joined.set()
                await sio.emit("join_game", {"session_id": state["session_id"]})

        @sio.on("waiting_room")
        async def _wait(_data):
            if math.isnan(bot.t_wait):
                bot.t_wait = now()
                bot.waiting.set()

        @sio.on("match_found_countdown")
        async def _match(_data):
            if math.isnan(bot.t_signal):
                bot.t_signal = now()
            if bot.may_match:
                bot.t_match = now()
                bot.done.set()

        # `match_found_countdown` carries only {countdown_seconds, message}: the group
        # is known from the two frames MUG sends before it, inside the join_game
        # handler that forms the group (a background task emits the countdown later):
        #   pyodide_player_assigned (to each player's socket): {player_id, game_id,
        #       game_seed, num_players}
        #   pyodide_game_ready (to the game's room): {game_id, players (slot ids),
        #       player_subjects {slot: subject_id}, turn_config, scene_metadata}
        @sio.on("pyodide_player_assigned")
        async def _assigned(data):
            if math.isnan(bot.t_signal):
                bot.t_signal = now()
            if isinstance(data, dict) and bot.may_match:
                bot.game = str(data.get("game_id"))
                if isinstance(data.get("num_players"), int):
                    bot.group_size = data["num_players"]

        @sio.on("pyodide_game_ready")
        async def _ready(data):
            if math.isnan(bot.t_signal):
                bot.t_signal = now()
            if isinstance(data, dict) and bot.may_match:
                bot.game = str(data.get("game_id"))
                subjects = data.get("player_subjects")
                if isinstance(subjects, dict):
                    bot.members = [str(v) for v in subjects.values()]

        for ev in ("join_game_error", "waiting_room_error", "create_game_failed", "duplicate_session",
                   "invalid_session"):
            sio.on(ev, (lambda name: (lambda _d=None: bot.fail(name)))(ev))

        @sio.event
        async def disconnect(*_a):
            if not bot.matched:
                bot.fail("closed_by_host")

        try:
            bot.t_start = now()

            async def arrive():
                async with session.get(f"{base}/{subject}") as r:
                    await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"page_http_{r.status}")
                await sio.connect(base, transports=["websocket"], wait_timeout=self.args.connect_timeout)
                await sio.emit("register_subject", {"subject_id": subject, "mugGlobals": {}})
                await joined.wait()

            await asyncio.wait_for(arrive(), self.args.connect_timeout)
            try:
                await asyncio.wait_for(bot.done.wait(), self.args.match_timeout)
            except asyncio.TimeoutError:
                bot.fail("not_matched_in_time")
            await release.wait()
        except Exception as e:  # noqa: BLE001
            bot.fail(_err_name(e))
            await release.wait()
        finally:
            bot.done.set()
            bot.waiting.set()
            try:
                await asyncio.wait_for(sio.disconnect(), 5)
            except Exception:  # noqa: BLE001
                pass
            await session.close()


# --------------------------------------------------------------------------- #
# Scenarios
# --------------------------------------------------------------------------- #


def pct(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))
    return s[k]


def dist_ms(values_s: list[float]) -> dict:
    ms = [v * 1000 for v in values_s]
    r = lambda v: None if v is None else round(v, 2)  # noqa: E731
    return {"n": len(ms), "p50": r(pct(ms, 50)), "p99": r(pct(ms, 99)), "max": r(max(ms) if ms else None),
            "mean": r(sum(ms) / len(ms) if ms else None)}


def complete_to_match(bots: list[Bot]) -> tuple[list[float], int, int, list[float], list[float]]:
    """Per group formed entirely of these bots: each member's match time minus the
    latest join among the members. Returns (values in s, groups counted, groups left out,
    the values of the member with the latest join, those of the other members).

    A group is the set of matched bots that name the same game. It is counted only if
    the host's member list (cohort: match_found.players; MUG: pyodide_game_ready's
    player_subjects) names only these bots, and all of its members (group_size of them)
    are here and matched; otherwise it is left out.
    """
    ours = {b.ident for b in bots if b.ident}
    games: dict[str, list[Bot]] = {}
    for b in bots:
        if b.matched and b.game:
            games.setdefault(b.game, []).append(b)
    out: list[float] = []
    completing: list[float] = []
    waiting: list[float] = []
    counted = left_out = 0
    for members in games.values():
        declared = next((m.members for m in members if m.members), None)
        size = len(declared) if declared else next((m.group_size for m in members if m.group_size), None)
        if (declared is not None and not set(declared) <= ours) or size is None or len(members) != size \
                or any(math.isnan(m.t_join) for m in members):
            left_out += 1
            continue
        last = max(members, key=lambda m: m.t_join)
        for m in members:
            out.append(m.t_match - last.t_join)
            (completing if m is last else waiting).append(m.t_match - last.t_join)
        counted += 1
    return out, counted, left_out, completing, waiting


def summarize(bots: list[Bot], measured: list[Bot], cpu_s: float, bots_cpu: float, wall: float) -> dict:
    matched = [b for b in bots if b.matched]
    c2m, groups, groups_left_out, c2m_completing, c2m_waiting = complete_to_match(bots)
    m_measured = [b for b in measured if b.matched]
    errors: dict[str, int] = {}
    for b in bots:
        if not b.matched:
            errors[b.error or "unknown"] = errors.get(b.error or "unknown", 0) + 1
    joins = [b.t_join for b in bots if not math.isnan(b.t_join)]
    span = (max(b.t_match for b in matched) - min(joins)) if matched and joins else None
    return {
        "bots": len(bots),
        "matched": len(matched),
        "unmatched": len(bots) - len(matched),
        "complete_to_match_ms": {**dist_ms(c2m), "groups": groups, "groups_left_out": groups_left_out},
        "join_to_match_ms": dist_ms([b.t_match - b.t_join for b in m_measured]),
        "arrive_to_match_ms": dist_ms([b.t_match - b.t_start for b in m_measured]),
        **({"join_to_first_match_signal_ms": dist_ms([b.t_signal - b.t_join for b in m_measured
                                                       if not math.isnan(b.t_signal)])}
           if any(not math.isnan(b.t_signal) for b in m_measured) else {}),
        "complete_to_match_by_member_ms": {"completing": dist_ms(c2m_completing),
                                           "waiting": dist_ms(c2m_waiting)},
        "pairs_per_s": round(len(matched) / 2 / span, 2) if span else None,
        "first_join_to_last_match_s": round(span, 3) if span else None,
        "host_cpu_s": round(cpu_s, 3),
        "cpu_s_per_1000_matched": round(cpu_s * 1000 / len(matched), 3) if matched else None,
        "bots_cpu_s": round(bots_cpu, 3),
        "wall_s": round(wall, 3),
        "errors": errors,
    }


BOT_FIELDS = ("i", "t_start", "t_join", "t_wait", "t_match", "t_signal", "error", "ident", "game", "members",
              "group_size")


def make_driver(kind: str, port: int, args, tag: str | None = None) -> Driver:
    d = (MugDriver if kind == "mug" else CohortDriver)(port, args)
    if tag:
        d.tag = tag
    return d


async def _launch_all(driver: Driver, items: list[tuple[int, float]], t0: float, release: asyncio.Event):
    """Start bot i at t0 + offset for each (i, offset); return (bots, tasks, all_done)."""
    bots = [Bot(i) for i, _ in items]

    async def launch(b: Bot, delay: float):
        if delay > 0:
            await asyncio.sleep(max(0.0, t0 + delay - now()))
        await driver.run_bot(b, release)

    tasks = [asyncio.create_task(launch(b, off)) for b, (_, off) in zip(bots, items)]
    last = max((off for _, off in items), default=0.0)
    overall = last + driver.args.connect_timeout + driver.args.match_timeout + 30

    async def all_done():
        try:
            await asyncio.wait_for(asyncio.gather(*(b.done.wait() for b in bots)), overall)
        except asyncio.TimeoutError:
            for b in bots:
                b.fail("scenario_timeout")

    return bots, tasks, all_done


def _worker_entry(conn, kind: str, port: int, args_dict: dict, tag: str, items: list[tuple[int, float]]) -> None:
    """A bot worker process (--bot-procs > 1): runs its share of the bots."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    args = argparse.Namespace(**args_dict)
    import aiohttp  # noqa: F401  (import before saying ready)
    import socketio  # noqa: F401

    async def run():
        loop = asyncio.get_running_loop()
        conn.send(("ready",))
        _, t0 = await loop.run_in_executor(None, conn.recv)
        driver = make_driver(kind, port, args, tag)
        release = asyncio.Event()
        c0 = self_cpu_s()
        bots, tasks, all_done = await _launch_all(driver, items, t0, release)
        await all_done()
        conn.send(("done", [{f: getattr(b, f) for f in BOT_FIELDS} for b in bots], self_cpu_s() - c0))
        await loop.run_in_executor(None, conn.recv)  # release
        release.set()
        await asyncio.wait(tasks, timeout=30)
        conn.send(("closed",))

    asyncio.run(run())


class Burst:
    """n bots arriving at once or at `rate`/s; bots stay connected until close()."""

    def __init__(self, driver: Driver, server: ServerProc, n: int, rate: float | None, procs: int):
        self.driver, self.server, self.n, self.rate, self.procs = driver, server, n, rate, max(1, procs)
        self.items = [(k, (k / rate) if rate else 0.0) for k in range(n)]
        self.release = asyncio.Event()
        self.tasks: list[asyncio.Task] = []
        self.workers: list = []

    async def run(self) -> tuple[dict, list[Bot]]:
        if self.procs == 1:
            cpu0, self0, t0 = proc_cpu_s(self.server.pid), self_cpu_s(), now()
            bots, self.tasks, all_done = await _launch_all(self.driver, self.items, t0, self.release)
            await all_done()
            cpu1, self1, t1 = proc_cpu_s(self.server.pid), self_cpu_s(), now()
            return summarize(bots, bots, cpu1 - cpu0, self1 - self0, t1 - t0), bots
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        loop = asyncio.get_running_loop()
        args_dict = vars(self.driver.args).copy()
        for w in range(self.procs):
            parent, child = ctx.Pipe()
            share = self.items[w::self.procs]
            p = ctx.Process(target=_worker_entry, daemon=True,
                            args=(child, self.driver.kind, self.driver.port, args_dict, self.driver.tag, share))
            p.start()
            self.workers.append((p, parent))
        for _, c in self.workers:
            await asyncio.wait_for(loop.run_in_executor(None, c.recv), 60)
        t0 = now() + 0.2
        cpu0 = proc_cpu_s(self.server.pid)
        for _, c in self.workers:
            c.send(("go", t0))
        overall = (self.items[-1][1] if self.items else 0) + self.driver.args.connect_timeout \
            + self.driver.args.match_timeout + 60
        replies = await asyncio.wait_for(
            asyncio.gather(*(loop.run_in_executor(None, c.recv) for _, c in self.workers)), overall)
        cpu1, t1 = proc_cpu_s(self.server.pid), now()
        bots = []
        for _, recs, _ in replies:
            for r in recs:
                b = Bot(r["i"])
                for f in BOT_FIELDS[1:]:
                    setattr(b, f, r[f])
                bots.append(b)
        bots.sort(key=lambda b: b.i)
        res = summarize(bots, bots, cpu1 - cpu0, sum(r[2] for r in replies), t1 - t0)
        res["bot_procs"] = self.procs
        return res, bots

    async def close(self) -> None:
        self.release.set()
        if self.tasks:
            done, pending = await asyncio.wait(self.tasks, timeout=30)
            for t in pending:
                t.cancel()
        loop = asyncio.get_running_loop()
        for p, c in self.workers:
            try:
                c.send(("release",))
                await asyncio.wait_for(loop.run_in_executor(None, c.recv), 40)
            except Exception:  # noqa: BLE001
                pass
        for p, _ in self.workers:
            p.join(5)
            if p.is_alive():
                p.kill()


async def scenario_one(driver: Driver, server: ServerProc, repeats: int) -> dict:
    all_bots: list[Bot] = []
    measured: list[Bot] = []
    cpu0, self0, t0 = proc_cpu_s(server.pid), self_cpu_s(), now()
    for r in range(repeats):
        release = asyncio.Event()
        a, b = Bot(2 * r), Bot(2 * r + 1)
        ta = asyncio.create_task(driver.run_bot(a, release))
        try:
            await asyncio.wait_for(a.waiting.wait(), driver.args.connect_timeout)
        except asyncio.TimeoutError:
            a.fail("no_waiting_room")
        tb = asyncio.create_task(driver.run_bot(b, release))
        try:
            await asyncio.wait_for(asyncio.gather(a.done.wait(), b.done.wait()),
                                   driver.args.connect_timeout + driver.args.match_timeout + 10)
        except asyncio.TimeoutError:
            a.fail("scenario_timeout")
            b.fail("scenario_timeout")
        release.set()
        await asyncio.wait([ta, tb], timeout=30)
        all_bots += [a, b]
        measured.append(b)
        await asyncio.sleep(0.2)
    cpu1, self1, t1 = proc_cpu_s(server.pid), self_cpu_s(), now()
    res = summarize(all_bots, measured, cpu1 - cpu0, self1 - self0, t1 - t0)
    res["repeats"] = repeats
    res["pairs_per_s"] = None  # pairs arrive one at a time: not a throughput figure
    res["first_join_to_last_match_s"] = None
    res["note"] = ("join_to_match/arrive_to_match are the second bot's; complete_to_match has both bots of each pair "
                   "(from the second bot's join); host_cpu_s covers all repeats incl. disconnects")
    return res


async def admission_check(port: int) -> dict:
    import aiohttp

    url = f"ws://127.0.0.1:{port}/x/pairs/ws"

    async def attempt(addr: str) -> str:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(addr, 0), limit=0)) as s:
            try:
                ws = await asyncio.wait_for(s.ws_connect(url), 10)
                await ws.close()
                return "ok"
            except Exception as e:  # noqa: BLE001
                return _err_name(e)

    async def tally(addrs: list[str]) -> dict:
        out: dict[str, int] = {}
        for r in await asyncio.gather(*(attempt(a) for a in addrs)):
            out[r] = out.get(r, 0) + 1
        return out

    one = await tally(["127.0.250.2"] * 61)
    spread = await tally([bot_addr(10_000 + k) for k in range(61)])
    return {"61_from_one_address": one, "61_from_61_addresses": spread,
            "spreading_works": one.get("http_429", 0) >= 1 and spread.get("ok", 0) == 61}


def parse_scenario(s: str) -> tuple[str, int, float | None]:
    s = s.strip()
    if s == "one":
        return ("one", 2, None)
    if "@" in s:
        n, r = s.split("@", 1)
        return (s, int(n), float(r))
    return (s, int(s), None)


# --------------------------------------------------------------------------- #
# Per-server runs
# --------------------------------------------------------------------------- #


def make_server(kind: str, args, workdir: Path) -> tuple[ServerProc, int]:
    port = free_port()
    if kind == "mug":
        cmd = [args.python, str(MUG_SERVER), "--port", str(port), "--host", "127.0.0.1"]
        if args.mug_quiet:
            cmd.append("--quiet")
        if args.mug_nodelay:
            cmd.append("--nodelay")
        return ServerProc("mug", cmd, workdir, f"http://127.0.0.1:{port}/favicon.ico", None), port
    data = workdir / "data"
    data.mkdir(exist_ok=True)
    cmd = [str(Path(args.cohort_bin).resolve()), "serve", str(PAIRS_YAML), "--addr", f"127.0.0.1:{port}",
           "--data", str(data), "--drain-secs", "0"]
    return ServerProc("cohort", cmd, workdir, f"http://127.0.0.1:{port}/healthz", "ok"), port


class ServerStartError(RuntimeError):
    """The server did not start (or did not answer its readiness check)."""


async def with_server(kind: str, args, fn):
    workdir = Path(tempfile.mkdtemp(prefix=f"side_{kind}_"))
    server, port = make_server(kind, args, workdir)
    started = False
    try:
        try:
            server.start(args.start_timeout)
        except Exception as e:  # noqa: BLE001
            raise ServerStartError(f"{kind} server failed to start ({' '.join(server.cmd)}): "
                                   f"{type(e).__name__}: {e}") from e
        started = True
        await asyncio.sleep(args.settle)
        driver = make_driver(kind, port, args)
        return await fn(driver, server)
    finally:
        tail = server.log_tail(1500)
        died = started and server.proc is not None and server.proc.poll() is not None
        server.stop()
        if died:
            log(f"{kind} server had died during the step; log tail:\n{tail}")
        if args.keep_logs or not started:
            log(f"{kind} logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


MIN_MATCHED = 0.9  # a scenario (or the RSS step) that matches fewer of its bots is a failure


def check_matched(kind: str, step: str, matched: int, bots: int, errors: dict | None, problems: list[str]) -> None:
    if bots and matched < MIN_MATCHED * bots:
        problems.append(f"{kind} {step}: only {matched} of {bots} bots matched (< {MIN_MATCHED:.0%}); "
                        f"errors: {json.dumps(errors or {})}")


async def run_kind(kind: str, args, problems: list[str]) -> dict:
    """Every step for one server kind. Failures are recorded in `problems` (the script
    then exits non-zero); once the server fails to start, its remaining steps are skipped."""
    out: dict = {}
    dead: str | None = None  # why this server's remaining steps are skipped

    async def step(name: str, fn):
        nonlocal dead
        if dead:
            out[name] = {"skipped": dead}
            return None
        try:
            out[name] = await with_server(kind, args, fn)
        except ServerStartError as e:
            dead = f"{kind} server failed to start"
            out[name] = {"failed": str(e)}
            problems.append(f"{kind} {name}: {e}")
        except Exception as e:  # noqa: BLE001
            out[name] = {"failed": f"{type(e).__name__}: {e}"}
            problems.append(f"{kind} {name}: {type(e).__name__}: {e}")
        return out[name]

    if kind == "cohort" and not args.skip_admission_check:
        log("cohort: admission check")

        async def adm(driver, _server):
            return await admission_check(driver.port)

        await step("admission_check", adm)
        log(f"cohort: admission {out['admission_check']}")
    for spec in args.scenarios:
        name, n, rate = parse_scenario(spec)
        log(f"{kind}: scenario {name}")

        async def go(driver, server, name=name, n=n, rate=rate):
            lo0 = listen_overflows()
            if name == "one":
                res = await scenario_one(driver, server, args.one_repeats)
            else:
                burst = Burst(driver, server, n, rate, args.bot_procs)
                try:
                    res, _ = await burst.run()
                finally:
                    await burst.close()
                res["rate_per_s"] = rate
            lo1 = listen_overflows()
            # SYNs dropped because the server's accept queue was full (each costs the
            # client a 1 s SYN retransmission): a property of the server's listen backlog.
            res["listen_overflows"] = (lo1 - lo0) if lo0 is not None and lo1 is not None else None
            return res

        res = await step(name, go)
        if res is not None and "matched" in res:
            check_matched(kind, name, res["matched"], res["bots"], res.get("errors"), problems)
        log(f"{kind}: {name} -> " + json.dumps({k: v for k, v in out[name].items()
                                                  if k in ("matched", "unmatched", "complete_to_match_ms",
                                                           "join_to_match_ms", "pairs_per_s", "host_cpu_s",
                                                           "errors", "failed", "skipped")}))
    if args.rss_bots > 0:
        log(f"{kind}: RSS with {args.rss_bots} bots")

        async def rss(driver, server):
            rss0 = proc_rss_kb(server.pid)
            burst = Burst(driver, server, args.rss_bots, args.rss_rate, args.bot_procs)
            try:
                summary, bots = await burst.run()
                connected = sum(1 for b in bots if b.matched)
                await asyncio.sleep(5.0)
                rss1 = proc_rss_kb(server.pid)
            finally:
                await burst.close()
            return {"bots": args.rss_bots, "connected_matched": connected, "rss_before_kb": rss0,
                    "rss_after_kb": rss1,
                    "kb_per_participant": round((rss1 - rss0) / connected, 2) if connected else None,
                    "state": "matched, game started (5 s after the last match), idle, connection open",
                    "arrival_rate_per_s": args.rss_rate, "errors": summary["errors"]}

        res = await step("rss_per_participant", rss)
        if res is not None and "connected_matched" in res:
            check_matched(kind, "rss_per_participant", res["connected_matched"], res["bots"], res.get("errors"),
                          problems)
        log(f"{kind}: rss -> {out['rss_per_participant']}")
    return out


def machine_info(args) -> dict:
    info = {"platform": platform.platform(), "python": sys.version.split()[0], "cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["mem_total_kb"] = int(f.readline().split()[1])
    except OSError:
        pass
    from importlib import metadata

    for pkg in ("aiohttp", "python-socketio", "python-engineio", "flask-socketio", "eventlet"):
        try:
            info[f"{pkg}_version"] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    info["bots"] = ("asyncio tasks in one Python process, one connection each" if args.bot_procs == 1 else
                    f"asyncio tasks in {args.bot_procs} worker processes (round-robin), one connection each; "
                    "the `one` scenario runs in the main process")
    return info


def mug_version(python: str) -> str | None:
    try:
        return subprocess.run([python, "-c", "from importlib.metadata import version;"
                               "print(version('multi-user-gymnasium'))"],
                              capture_output=True, text=True, timeout=60).stdout.strip() or None
    except Exception:  # noqa: BLE001
        return None


def _ratio(num, den) -> float | None:
    if not isinstance(num, (int, float)) or not isinstance(den, (int, float)) or den <= 0:
        return None
    return round(num / den, 2)


def _get(d: dict, *path):
    for k in path:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def ratios(results: dict, scenarios: list[str]) -> dict:
    """MUG vs cohort per scenario (and for the RSS step), oriented so that > 1 means
    cohort does better; only where both sides ran the step. None: a figure is missing
    or its denominator is 0 (e.g. a host CPU below one clock tick)."""
    mug, co = results.get("mug"), results.get("cohort")
    if not isinstance(mug, dict) or not isinstance(co, dict):
        return {}
    out: dict = {}
    for name in scenarios:
        m, c = mug.get(name), co.get(name)
        if not (isinstance(m, dict) and isinstance(c, dict) and "matched" in m and "matched" in c):
            continue
        out[name] = {
            "join_to_match_p99_mug_over_cohort": _ratio(_get(m, "join_to_match_ms", "p99"),
                                                        _get(c, "join_to_match_ms", "p99")),
            "complete_to_match_p99_mug_over_cohort": _ratio(_get(m, "complete_to_match_ms", "p99"),
                                                            _get(c, "complete_to_match_ms", "p99")),
            "pairs_per_s_cohort_over_mug": _ratio(c.get("pairs_per_s"), m.get("pairs_per_s")),
            "cpu_per_1000_matched_mug_over_cohort": _ratio(m.get("cpu_s_per_1000_matched"),
                                                           c.get("cpu_s_per_1000_matched")),
        }
    m, c = mug.get("rss_per_participant"), co.get("rss_per_participant")
    if isinstance(m, dict) and isinstance(c, dict) and "kb_per_participant" in m and "kb_per_participant" in c:
        out["rss_per_participant"] = {
            "kb_per_participant_mug_over_cohort": _ratio(m["kb_per_participant"], c["kb_per_participant"])}
    return out


async def amain(args, problems: list[str]) -> dict:
    result = {"machine": machine_info(args), "mug_version": None, "cohort_bin": None,
              "settings": {"scenarios": args.scenarios, "one_repeats": args.one_repeats,
                           "match_timeout_s": args.match_timeout, "connect_timeout_s": args.connect_timeout,
                           "rss_bots": args.rss_bots, "rss_rate_per_s": args.rss_rate, "bot_procs": args.bot_procs,
                           "mug_quiet": args.mug_quiet, "mug_nodelay": args.mug_nodelay},
              "results": {}}
    kinds = [args.only] if args.only else ["mug", "cohort"]
    if "mug" in kinds:
        result["mug_version"] = mug_version(args.python)
    if "cohort" in kinds:
        binp = Path(args.cohort_bin)
        if not binp.exists():
            msg = f"cohort binary not found: {binp} (build it, pass --cohort-bin, or pass --only mug)"
            log(msg + "; skipping cohort")
            kinds.remove("cohort")
            result["results"]["cohort"] = {"failed": msg}
            problems.append(msg)
    if "cohort" in kinds:
        result["cohort_bin"] = str(binp)
        try:
            result["cohort_version"] = subprocess.run([str(binp.resolve()), "--version"], capture_output=True,
                                                      text=True, timeout=30).stdout.strip()
        except Exception:  # noqa: BLE001
            pass
    for kind in kinds:
        result["results"][kind] = await run_kind(kind, args, problems)
        result["results"] = dict(sorted(result["results"].items(), key=lambda kv: kv[0] != "mug"))
    result["ratios"] = ratios(result["results"], args.scenarios)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cohort-bin", default="target/release/cohort")
    ap.add_argument("--scenarios", default="one,100,500,200@50")
    ap.add_argument("--out", default=None, help="also write the JSON here")
    ap.add_argument("--only", choices=["mug", "cohort"], default=None)
    ap.add_argument("--one-repeats", type=int, default=20)
    ap.add_argument("--rss-bots", type=int, default=500, help="K for the RSS step (0: skip)")
    ap.add_argument("--rss-rate", type=float, default=100.0, help="arrivals per second in the RSS step")
    ap.add_argument("--match-timeout", type=float, default=60.0, help="join -> match deadline per bot (s)")
    ap.add_argument("--connect-timeout", type=float, default=60.0, help="arrival -> join deadline per bot (s)")
    ap.add_argument("--settle", type=float, default=1.0, help="idle seconds after the server is ready")
    ap.add_argument("--start-timeout", type=float, default=30.0,
                    help="seconds a server has to answer its readiness check before the step fails")
    ap.add_argument("--python", default=sys.executable, help="interpreter that runs the MUG server")
    ap.add_argument("--mug-quiet", action="store_true", help="MUG logger at WARNING (default: as shipped, DEBUG)")
    ap.add_argument("--bot-procs", type=int, default=1,
                    help="bot worker processes for the N and N@R scenarios and the RSS step (default 1: bots "
                         "run in this process)")
    ap.add_argument("--mug-nodelay", action="store_true",
                    help="TCP_NODELAY on MUG's accepted sockets (default: as shipped, Nagle on; cohort sets it)")
    ap.add_argument("--skip-admission-check", action="store_true")
    ap.add_argument("--keep-logs", action="store_true", help="keep the servers' scratch directories")
    args = ap.parse_args()
    args.scenarios = [s for s in args.scenarios.split(",") if s.strip()]
    for s in args.scenarios:
        parse_scenario(s)  # fail early on a bad spec

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    t_run0 = now()
    problems: list[str] = []
    try:
        result = asyncio.run(amain(args, problems))
    finally:
        _kill_all()
    run_s = now() - t_run0
    result["run_s"] = round(run_s, 1)
    result["problems"] = problems
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    log(f"done in {run_s:.0f} s")
    if problems:
        print("side_by_side: FAILED:\n" + "\n".join(f"  - {p}" for p in problems), file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
