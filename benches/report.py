#!/usr/bin/env python3
"""Writes docs/benchmarks.md from the results of benches/run.sh:

    python3 benches/report.py target/bench > docs/benchmarks.md

Reads DIR/side.json (benches/side_by_side.py), DIR/scale.json (benches/scale.py) and
DIR/decision.md (cargo bench --bench decision) and DIR/game.md (cargo bench --bench
game); any may be missing.
"""

import datetime
import json
import os
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def ms(v):
    return "—" if v is None else (f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 100 else f"{v:.0f}")


def num(v, digits=2):
    return "—" if v is None else f"{v:.{digits}f}"


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


SCENARIOS = [("one", "one pair"), ("100", "100 at once"), ("500", "500 at once"), ("200@50", "200 at 50/s")]


def side_section(side, goals):
    mug, coh = side["results"].get("mug", {}), side["results"].get("cohort", {})
    m = side.get("machine", {})
    out = [
        "## Transport: side by side with MUG",
        "",
        f"`python3 benches/side_by_side.py --cohort-bin target/release/cohort` — MUG "
        f"{side.get('mug_version', '?')} (Flask-SocketIO on eventlet, as shipped) and cohort (release build), "
        "each serving a two-player first-come-first-served experiment without probing "
        "(`benches/mug/server.py`, `benches/experiments/pairs.yaml`), each driven by the same style "
        f"of Python bots ({m.get('bots', 'asyncio')}) from spread source addresses, in the same run "
        f"({side.get('run_s', '?')} s). Fresh server per scenario.",
        "",
        "- *group complete → match*: from the join that completed a pair to each member's match "
        "message — the host's part. *join → match* also counts waiting for the partner.",
        "- *pairs/s*: matched pairs from the first join to the last match; *CPU*: the host process's "
        "utime+stime (10 ms ticks) per 1,000 matched.",
        "",
        "| scenario | MUG complete→match p50 / p99 ms | cohort complete→match p50 / p99 ms | ratio p99 "
        "| MUG join→match p99 | cohort join→match p99 | MUG pairs/s | cohort pairs/s | MUG CPU s/1,000 | cohort CPU s/1,000 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, name in SCENARIOS:
        a, b = mug.get(key) or {}, coh.get(key) or {}
        ac, bc = a.get("complete_to_match_ms") or {}, b.get("complete_to_match_ms") or {}
        aj, bj = a.get("join_to_match_ms") or {}, b.get("join_to_match_ms") or {}
        r = ratio(ac.get("p99"), bc.get("p99"))
        out.append(
            f"| {name} | {ms(ac.get('p50'))} / {ms(ac.get('p99'))} | {ms(bc.get('p50'))} / {ms(bc.get('p99'))} "
            f"| {num(r, 1)}× | {ms(aj.get('p99'))} | {ms(bj.get('p99'))} | {num(a.get('pairs_per_s'), 0)} "
            f"| {num(b.get('pairs_per_s'), 0)} | {num(a.get('cpu_s_per_1000_matched'))} "
            f"| {num(b.get('cpu_s_per_1000_matched'))} |"
        )
    ra, rb = mug.get("rss_per_participant") or {}, coh.get("rss_per_participant") or {}
    out += [
        "",
        f"Host RSS per connected participant ({ra.get('bots', rb.get('bots', '?'))} bots, matched, games "
        f"started, idle): MUG {num(ra.get('kb_per_participant'), 1)} KB, cohort "
        f"{num(rb.get('kb_per_participant'), 1)} KB "
        f"({num(ratio(ra.get('kb_per_participant'), rb.get('kb_per_participant')), 1)}× less).",
        "",
    ]
    one = (coh.get("one") or {}).get("complete_to_match_ms") or {}
    at50 = (coh.get("200@50") or {}).get("complete_to_match_ms") or {}
    hundred = ratio(((mug.get("100") or {}).get("complete_to_match_ms") or {}).get("p99"),
                    ((coh.get("100") or {}).get("complete_to_match_ms") or {}).get("p99"))
    goals.append(("one pair, join → match ≤ 3 ms (Python driver, p99 of 20 pairs)", one.get("p99"), "ms",
                  one.get("p99") is not None and one["p99"] <= 3))
    goals.append(("200 arriving at 50/s, p99 ≤ 2 ms (Python driver, group complete → match)", at50.get("p99"),
                  "ms", at50.get("p99") is not None and at50["p99"] <= 2))
    goals.append(("100 arriving at once, p99 ≥ 20× better than MUG's in the same run", hundred, "×",
                  hundred is not None and hundred >= 20))
    cpu = (coh.get("500") or {}).get("cpu_s_per_1000_matched")
    goals.append(("host CPU ≤ 0.1 s per 1,000 matched (500 at once, Python driver)", cpu, "s",
                  cpu is not None and cpu <= 0.1))
    return out


def scale_section(scale, goals):
    out = [
        "## cohort bots at scale",
        "",
        "`python3 benches/scale.py --cohort-bin target/release/cohort` — `cohort bots --spread` "
        "(Rust, one process, same machine) against `cohort serve` (release build), pairs FIFO. "
        f"Open-file limit of both processes: {scale.get('nofile_limit')}.",
        "",
        "| bots at once | matched | complete→match p50 / p95 / p99 / max ms | join→match p99 ms "
        "| host CPU s per 1,000 (whole walk) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for n, r in scale.get("burst", {}).items():
        c, j = r["complete_to_match_ms"] or {}, r["join_to_match_ms"] or {}
        out.append(f"| {n} | {r['matched']} | {ms(c.get('p50'))} / {ms(c.get('p95'))} / {ms(c.get('p99'))} / "
                   f"{ms(c.get('max'))} | {ms(j.get('p99'))} | {num(r['host_cpu_s_per_1000_matched'])} |")
    out += [
        "",
        "| connected and idle (on their first scene) | host RSS before | host RSS connected | per participant | "
        "time to connect all |",
        "|---:|---:|---:|---:|---:|",
    ]
    for n, r in scale.get("idle", {}).items():
        out.append(f"| {n} | {r['host_rss_before_mb']} MB | {r['host_rss_connected_mb']} MB | "
                   f"{r['host_rss_per_participant_kb']} KB | {r['connect_secs']} s |")
    out.append("")
    burst500 = ((scale.get("burst", {}).get("500") or {}).get("complete_to_match_ms") or {}).get("p99")
    goals.append(("500 at once, p99 ≤ 5 ms (cohort bots, group complete → match)", burst500, "ms",
                  burst500 is not None and burst500 <= 5))
    for n, r in scale.get("idle", {}).items():
        per = r["host_rss_per_participant_kb"]
        goals.append((f"{n} connected: ≤ 20 KB per participant", per, "KB", per <= 20))
    return out


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "target/bench"
    side, scale = load(os.path.join(d, "side.json")), load(os.path.join(d, "scale.json"))
    machine = (side or {}).get("machine", {})
    out = [
        "# Benchmarks",
        "",
        f"Generated by `benches/run.sh` on {datetime.date.today().isoformat()}, on the development machine: "
        f"{machine.get('cpus', os.cpu_count())} cores ({machine.get('cpu_model', 'unknown CPU')}), "
        f"{machine.get('platform', sys.platform)}. Everything runs on this one machine: servers, bots "
        "and the benchmark share its two cores, so figures under load include the bots' own CPU.",
        "",
    ]
    goals = []
    if side:
        out += side_section(side, goals)
    if scale:
        out += scale_section(scale, goals)
    if goals:
        out += ["## Transport goals", ""]
        for text, value, unit, met in goals:
            shown = "not measured" if value is None else f"{num(value)} {unit}"
            out.append(f"- {text}: {shown} — {'met' if met else 'NOT met'}")
        out.append("")
    for name in ("decision.md", "game.md"):
        try:
            with open(os.path.join(d, name)) as f:
                out += [f.read().rstrip(), ""]
        except FileNotFoundError:
            pass
    print("\n".join(out))


if __name__ == "__main__":
    main()
