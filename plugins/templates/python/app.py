"""__NAME__: a matchmaking policy for cohort.

It groups participants who share the value of an attribute (`group_by` in the
experiment's `matchmaker.config`, named as in `matchmaker.attributes` without its
`param:` or `answer:` prefix), the longest waiting first. Once someone has waited
`max_wait_ms`, they may be grouped with anyone. Without `group_by` it is first come,
first served.

componentize-py's conventions: the module is `app`, the class `WitWorld`, and a
refused configuration raises `Err`. `print` works (it becomes a line in the event
log, as does `host.log`), but find-match runs for every waiting participant on every
tick: log decisions, not every look.

Test the logic here with `python3 test_policy.py`; build with `./build.sh`; check the
component with `cohort plugin check policy.wasm --config '{"group_by": "team"}'`.
"""

import json

from componentize_py_types import Err
from wit_world import WitWorld as Policy
from wit_world.imports import host

SETTINGS = {"group_by": None, "max_wait_ms": 60000, "scan": 200}


def attribute(p, name):
    for key, value in p.attributes:
        if key == name:
            return value
    return None


def compatible(p, group):
    """Nobody in the group avoids `p` (a recent failed probe), nor `p` them."""
    return all(m.id != p.id and m.id not in p.avoid and p.id not in m.avoid for m in group)


class WitWorld(Policy):
    def configure(self, config: str) -> None:
        try:
            c = json.loads(config or "{}")
        except ValueError as e:
            raise Err(f"config is not JSON: {e}")
        by = c.get("group_by")
        if by is not None and (not isinstance(by, str) or not by):
            raise Err("config `group_by` must be an attribute name")
        SETTINGS["group_by"] = by
        for key in ("max_wait_ms", "scan"):
            if key in c:
                if not isinstance(c[key], (int, float)) or c[key] < 0:
                    raise Err(f"config `{key}` must be a non-negative number")
                SETTINGS[key] = c[key]

    def on_join(self, p) -> None:
        pass

    def on_leave(self, id: str) -> None:
        pass

    def find_match(self, arriving, group_size: int):
        # Read the waitroom lazily (index 0 has waited longest): a few reads cost a
        # few, however many wait.
        n = min(host.waiting_count(), int(SETTINGS["scan"]))
        if n + 1 < group_size:
            return None
        by, patience = SETTINGS["group_by"], SETTINGS["max_wait_ms"]
        key = attribute(arriving, by) if by else None
        group = [arriving]
        mixed = False
        for i in range(n):
            p = host.waiting_get(i)
            if p is None or not compatible(p, group):
                continue
            same = by is None or attribute(p, by) == key
            if same or p.waited_ms >= patience or arriving.waited_ms >= patience:
                group.append(p)
                mixed = mixed or not same
                if len(group) == group_size:
                    if mixed:
                        host.log(f"grouped across {by} after waiting {patience} ms")
                    return [m.id for m in group]
        return None

    def should_reject_for_rtt(self, a, b, rtt_ms, max_p2p_rtt_ms) -> bool:
        # The usual rule: no threshold → accept; no RTT → reject; above → reject.
        if max_p2p_rtt_ms is None:
            return False
        if rtt_ms is None:
            return True
        return rtt_ms > max_p2p_rtt_ms
