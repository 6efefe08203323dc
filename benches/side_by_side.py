#!/usr/bin/env python3
"""Side-by-side transport benchmark: MUG (Multi-User Gymnasium) vs cohort.

    python3 benches/side_by_side.py --cohort-bin target/release/cohort \
        --scenarios one,100,500,200@50 --out /tmp/side.json   [--only mug|cohort]

Needs the packages in benches/requirements.txt (pip install -r benches/requirements.txt).

For each server, and for each scenario, the script starts the server afresh on
127.0.0.1 with a free port, drives it with Python bots (asyncio tasks in this one
process, one connection each), stops it, and at the end prints the figures as JSON
on stdout (and writes them to --out).

What "join -> match" means (the primary latency)
================================================
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
All times are time.monotonic() in this process, so they include the loopback round
trip and this process's own scheduling delay.

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
bots_cpu_s         CPU of this (bot) process over the same window: if it approaches
                   wall_s, the bots, not the server, are the bottleneck.
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
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.cwd / 'server.log'}:\n"
                                   + self.log_tail())
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
    waiting: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)  # matched or failed

    @property
    def matched(self) -> bool:
        return not math.isnan(self.t_match)

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
            hello = {"type": "hello", "protocol": 1, "params": {"PROLIFIC_PID": f"bot{self.tag}x{bot.i}"}}
            bot.t_join = now()
            await ws.send_str(json.dumps(hello))

            async def reader():
                async for msg in ws:  # also answers the host's pings
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        continue
                    m = json.loads(msg.data)
                    t = m.get("type")
                    if t == "match_found" and not bot.matched:
                        bot.t_match = now()
                        bot.done.set()
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
            if not bot.matched:
                bot.t_match = now()
                bot.done.set()

        async def _signal(_data=None):
            if math.isnan(bot.t_signal):
                bot.t_signal = now()

        # Emitted to each player inside the join_game handler that forms the group,
        # before `match_found_countdown` (which a background task emits).
        sio.on("pyodide_player_assigned", _signal)
        sio.on("pyodide_game_ready", _signal)

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


def summarize(bots: list[Bot], measured: list[Bot], cpu_s: float, bots_cpu: float, wall: float) -> dict:
    matched = [b for b in bots if b.matched]
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
        "join_to_match_ms": dist_ms([b.t_match - b.t_join for b in m_measured]),
        "arrive_to_match_ms": dist_ms([b.t_match - b.t_start for b in m_measured]),
        **({"join_to_first_match_signal_ms": dist_ms([b.t_signal - b.t_join for b in m_measured
                                                       if not math.isnan(b.t_signal)])}
           if any(not math.isnan(b.t_signal) for b in m_measured) else {}),
        "pairs_per_s": round(len(matched) / 2 / span, 2) if span else None,
        "first_join_to_last_match_s": round(span, 3) if span else None,
        "host_cpu_s": round(cpu_s, 3),
        "cpu_s_per_1000_matched": round(cpu_s * 1000 / len(matched), 3) if matched else None,
        "bots_cpu_s": round(bots_cpu, 3),
        "wall_s": round(wall, 3),
        "errors": errors,
    }


async def scenario_burst(driver: Driver, server: ServerProc, n: int, rate: float | None, first_index: int = 0,
                         settle_after_match: float = 0.0) -> tuple[dict, list[Bot]]:
    release = asyncio.Event()
    bots = [Bot(first_index + i) for i in range(n)]
    cpu0, self0, t0 = proc_cpu_s(server.pid), self_cpu_s(), now()

    async def launch(b: Bot, delay: float):
        if delay > 0:
            await asyncio.sleep(max(0.0, t0 + delay - now()))
        await driver.run_bot(b, release)

    tasks = [asyncio.create_task(launch(b, (k / rate) if rate else 0.0)) for k, b in enumerate(bots)]
    overall = (n / rate if rate else 0) + driver.args.connect_timeout + driver.args.match_timeout + 30
    try:
        await asyncio.wait_for(asyncio.gather(*(b.done.wait() for b in bots)), overall)
    except asyncio.TimeoutError:
        for b in bots:
            b.fail("scenario_timeout")
    cpu1, self1, t1 = proc_cpu_s(server.pid), self_cpu_s(), now()
    result = summarize(bots, bots, cpu1 - cpu0, self1 - self0, t1 - t0)
    if settle_after_match:
        await asyncio.sleep(settle_after_match)
    result["_release"] = release  # caller releases (after RSS reading if any)
    result["_tasks"] = tasks
    return result, bots


async def close_burst(result: dict) -> None:
    result.pop("_release").set()
    tasks = result.pop("_tasks")
    done, pending = await asyncio.wait(tasks, timeout=30)
    for t in pending:
        t.cancel()
    for t in done:
        t.exception() if not t.cancelled() else None


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
    res["note"] = "join_to_match/arrive_to_match are the second bot's; host_cpu_s covers all repeats incl. disconnects"
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
        return ServerProc("mug", cmd, workdir, f"http://127.0.0.1:{port}/favicon.ico", None), port
    data = workdir / "data"
    data.mkdir(exist_ok=True)
    cmd = [str(Path(args.cohort_bin).resolve()), "serve", str(PAIRS_YAML), "--addr", f"127.0.0.1:{port}",
           "--data", str(data)]
    return ServerProc("cohort", cmd, workdir, f"http://127.0.0.1:{port}/healthz", "ok"), port


async def with_server(kind: str, args, fn):
    workdir = Path(tempfile.mkdtemp(prefix=f"side_{kind}_"))
    server, port = make_server(kind, args, workdir)
    server.start()
    try:
        await asyncio.sleep(args.settle)
        driver = (MugDriver if kind == "mug" else CohortDriver)(port, args)
        return await fn(driver, server)
    finally:
        tail = server.log_tail(1500)
        alive = server.proc is not None and server.proc.poll() is None
        server.stop()
        if not alive:
            log(f"{kind} server had died during the step; log tail:\n{tail}")
        if args.keep_logs:
            log(f"{kind} logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


async def run_kind(kind: str, args) -> dict:
    out: dict = {}
    if kind == "cohort" and not args.skip_admission_check:
        log("cohort: admission check")

        async def adm(driver, _server):
            return await admission_check(driver.port)

        out["admission_check"] = await with_server(kind, args, adm)
        log(f"cohort: admission {out['admission_check']}")
    for spec in args.scenarios:
        name, n, rate = parse_scenario(spec)
        log(f"{kind}: scenario {name}")

        async def go(driver, server, name=name, n=n, rate=rate):
            if name == "one":
                return await scenario_one(driver, server, args.one_repeats)
            res, _ = await scenario_burst(driver, server, n, rate)
            await close_burst(res)
            res["rate_per_s"] = rate
            return res

        try:
            out[name] = await with_server(kind, args, go)
        except Exception as e:  # noqa: BLE001
            out[name] = {"failed": f"{type(e).__name__}: {e}"}
        log(f"{kind}: {name} -> " + json.dumps({k: v for k, v in out[name].items()
                                                  if k in ("matched", "unmatched", "join_to_match_ms",
                                                           "pairs_per_s", "host_cpu_s", "errors", "failed")}))
    if args.rss_bots > 0:
        log(f"{kind}: RSS with {args.rss_bots} bots")

        async def rss(driver, server):
            rss0 = proc_rss_kb(server.pid)
            res, bots = await scenario_burst(driver, server, args.rss_bots, args.rss_rate, settle_after_match=5.0)
            connected = sum(1 for b in bots if b.matched)
            rss1 = proc_rss_kb(server.pid)
            await close_burst(res)
            return {"bots": args.rss_bots, "connected_matched": connected, "rss_before_kb": rss0,
                    "rss_after_kb": rss1,
                    "kb_per_participant": round((rss1 - rss0) / connected, 2) if connected else None,
                    "state": "matched, game started (5 s after the last match), idle, connection open",
                    "arrival_rate_per_s": args.rss_rate}

        try:
            out["rss_per_participant"] = await with_server(kind, args, rss)
        except Exception as e:  # noqa: BLE001
            out["rss_per_participant"] = {"failed": f"{type(e).__name__}: {e}"}
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
    info["bots"] = "asyncio tasks in one Python process, one connection each"
    return info


def mug_version(python: str) -> str | None:
    try:
        return subprocess.run([python, "-c", "from importlib.metadata import version;"
                               "print(version('multi-user-gymnasium'))"],
                              capture_output=True, text=True, timeout=60).stdout.strip() or None
    except Exception:  # noqa: BLE001
        return None


async def amain(args) -> dict:
    result = {"machine": machine_info(args), "mug_version": None, "cohort_bin": None,
              "settings": {"scenarios": args.scenarios, "one_repeats": args.one_repeats,
                           "match_timeout_s": args.match_timeout, "connect_timeout_s": args.connect_timeout,
                           "rss_bots": args.rss_bots, "rss_rate_per_s": args.rss_rate,
                           "mug_quiet": args.mug_quiet},
              "results": {}}
    kinds = [args.only] if args.only else ["mug", "cohort"]
    if "mug" in kinds:
        result["mug_version"] = mug_version(args.python)
    if "cohort" in kinds:
        binp = Path(args.cohort_bin)
        if not binp.exists():
            raise SystemExit(f"cohort binary not found: {binp} (build it, or pass --only mug)")
        result["cohort_bin"] = str(binp)
        try:
            result["cohort_version"] = subprocess.run([str(binp.resolve()), "--version"], capture_output=True,
                                                      text=True, timeout=30).stdout.strip()
        except Exception:  # noqa: BLE001
            pass
    for kind in kinds:
        result["results"][kind] = await run_kind(kind, args)
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
    ap.add_argument("--python", default=sys.executable, help="interpreter that runs the MUG server")
    ap.add_argument("--mug-quiet", action="store_true", help="MUG logger at WARNING (default: as shipped, DEBUG)")
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

    try:
        result = asyncio.run(amain(args))
    finally:
        _kill_all()
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
