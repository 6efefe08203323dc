#!/usr/bin/env python3
"""cohort beyond what a Python driver can push: `cohort bots` against `cohort serve`.

    python3 benches/scale.py --cohort-bin target/release/cohort --out /tmp/scale.json

Scenarios (each on a fresh host, pairs FIFO from benches/experiments/pairs.yaml):
  burst-N   N bots arriving at once (`cohort bots -n N --spread --json`): group
            complete -> match and join -> match percentiles, host CPU-seconds per
            1,000 matched (utime+stime of the host process, /proc/<pid>/stat).
  idle-N    N bots connected and idle on their first scene (`--hold`): the host's
            RSS (VmRSS) before and with all N connected, per participant in KB.

Both processes need more open files than the usual soft limit: the script raises its
own limits (as root, also the hard limit) before starting them, and reports the limit
it ran with. Progress goes to stderr, the JSON result to stdout (and --out).
"""

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENT = os.path.join(ROOT, "benches", "experiments", "pairs.yaml")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, soft), max(want, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_secs(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick  # utime, stime


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Host:
    def __init__(self, binary):
        self.data = tempfile.mkdtemp(prefix="cohort-scale-")
        self.port = free_port()
        env = dict(os.environ, COHORT_LOG="warn")
        self.proc = subprocess.Popen(
            [binary, "serve", EXPERIMENT, "--addr", f"127.0.0.1:{self.port}", "--data", self.data, "--drain-secs", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the host did not start: {self.proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.05)
        time.sleep(0.3)  # let it settle before the baseline

    @property
    def link(self):
        return f"http://127.0.0.1:{self.port}/x/pairs"

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
        shutil.rmtree(self.data, ignore_errors=True)


def bots(binary, link, args, timeout):
    cmd = [binary, "bots", link, "--spread", "--json", *args]
    out = subprocess.run(cmd, capture_output=True, timeout=timeout, env=dict(os.environ, COHORT_LOG="warn"))
    if not out.stdout:
        raise SystemExit(f"`{' '.join(cmd)}` printed nothing: {out.stderr.decode()[-2000:]}")
    return json.loads(out.stdout)


def burst(binary, n):
    host = Host(binary)
    try:
        cpu0 = cpu_secs(host.proc.pid)
        summary = bots(binary, host.link, ["-n", str(n)], timeout=300)
        cpu = cpu_secs(host.proc.pid) - cpu0
    finally:
        host.stop()
    matched = summary["matched"]
    if matched < 0.99 * n:
        raise SystemExit(f"burst-{n}: only {matched} of {n} matched: {summary}")
    return {
        "bots": n,
        "matched": matched,
        "complete_to_match_ms": summary["complete_to_match_ms"],
        "join_to_match_ms": summary["join_to_match_ms"],
        "errors": summary["errors"],
        # Includes the 3 s countdown, the games and the end scene of every bot.
        "host_cpu_s": round(cpu, 3),
        "host_cpu_s_per_1000_matched": round(cpu * 1000 / matched, 3),
    }


def sessions_started(data):
    count = 0
    for dirpath, _, files in os.walk(data):
        for name in files:
            if name == "events.jsonl":
                with open(os.path.join(dirpath, name), "rb") as f:
                    count += sum(1 for line in f if b'"session_started"' in line)
    return count


def idle(binary, n, hold_secs):
    host = Host(binary)
    try:
        before = rss_kb(host.proc.pid)
        cmd = [binary, "bots", host.link, "--spread", "--json", "-n", str(n), "--hold",
               "--hold-secs", str(hold_secs), "--timeout-secs", str(hold_secs + 60)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=dict(os.environ, COHORT_LOG="warn"))
        started = time.monotonic()
        while sessions_started(host.data) < n:
            if proc.poll() is not None or time.monotonic() - started > hold_secs:
                out, err = proc.communicate()
                raise SystemExit(f"idle-{n}: only {sessions_started(host.data)} connected: {err.decode()[-2000:]}")
            time.sleep(0.5)
        connect_secs = time.monotonic() - started
        time.sleep(2)  # the last welcomes and heartbeats settle
        during = rss_kb(host.proc.pid)
        out, err = proc.communicate(timeout=hold_secs + 120)
        summary = json.loads(out)
    finally:
        host.stop()
    return {
        "bots": n,
        "held": summary["held"],
        "errors": summary["errors"],
        "connect_secs": round(connect_secs, 1),
        "host_rss_before_mb": round(before / 1024, 1),
        "host_rss_connected_mb": round(during / 1024, 1),
        "host_rss_per_participant_kb": round((during - before) / n, 1),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cohort-bin", default=os.path.join(ROOT, "target", "release", "cohort"))
    ap.add_argument("--bursts", default="500,5000")
    ap.add_argument("--idle", default="10000,50000")
    ap.add_argument("--hold-secs", type=float, default=120)
    ap.add_argument("--out")
    args = ap.parse_args()
    limit = raise_nofile(200_000)
    log(f"open-file limit: {limit}")
    result = {"nofile_limit": limit, "burst": {}, "idle": {}}
    for n in [int(x) for x in args.bursts.split(",") if x]:
        log(f"burst of {n} ...")
        result["burst"][str(n)] = burst(args.cohort_bin, n)
        log(f"  {result['burst'][str(n)]}")
    for n in [int(x) for x in args.idle.split(",") if x]:
        if limit < n + 1000:
            raise SystemExit(f"idle-{n} needs an open-file limit above {n + 1000} (have {limit}; run as root)")
        log(f"{n} idle ...")
        result["idle"][str(n)] = idle(args.cohort_bin, n, args.hold_secs)
        log(f"  {result['idle'][str(n)]}")
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
