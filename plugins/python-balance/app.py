"""A matchmaking policy that balances groups by an attribute.

Config (the experiment's `matchmaker.config`):
  balance_by   the attribute to balance (required), e.g. "gender" from
               `matchmaker.attributes: [param:gender]` or an earlier survey answer
  values       the values to expect (optional); with fewer values than seats, each
               may fill its fair share of a group. Without it, every member of a
               group must have a different value
  max_wait_ms  after this long, a participant is grouped even if the group cannot be
               balanced (default 60000)
  scan         how many of the longest waiting to consider per decision (default 200)

A group is balanced when no value of the attribute appears more often than its fair
share: ceil(group_size / number of expected values).
"""

import json
import math

from componentize_py_types import Err
from wit_world import WitWorld as Policy
from wit_world.imports import host

SETTINGS = {"by": None, "values": None, "max_wait_ms": 60000, "scan": 200}


def value_of(p):
    for name, value in p.attributes:
        if name == SETTINGS["by"]:
            return value
    return ""


def compatible(p, group):
    """Nobody in the group must avoid `p` (a recent failed probe), nor `p` them."""
    return all(m.id != p.id and m.id not in p.avoid and p.id not in m.avoid for m in group)


def usual_rtt_rule(rtt_ms, max_p2p_rtt_ms):
    if max_p2p_rtt_ms is None:
        return False
    if rtt_ms is None:
        return True
    return rtt_ms > max_p2p_rtt_ms


class WitWorld(Policy):
    def configure(self, config: str) -> None:
        try:
            c = json.loads(config or "{}")
        except ValueError as e:
            raise Err(f"config is not JSON: {e}")
        by = c.get("balance_by")
        if not isinstance(by, str) or not by:
            raise Err("config needs `balance_by`: the attribute to balance groups by")
        SETTINGS["by"] = by
        values = c.get("values")
        if values is not None and (not isinstance(values, list) or not values):
            raise Err("config `values` must be a non-empty list")
        SETTINGS["values"] = values
        try:
            SETTINGS["max_wait_ms"] = int(c.get("max_wait_ms", 60000))
            SETTINGS["scan"] = max(1, int(c.get("scan", 200)))
        except (TypeError, ValueError):
            raise Err("config `max_wait_ms` and `scan` must be numbers")

    def on_join(self, p) -> None:
        pass

    def on_leave(self, id: str) -> None:
        pass

    def find_match(self, arriving, group_size: int):
        n = min(host.waiting_count(), SETTINGS["scan"])
        if n + 1 < group_size:
            return None
        # Common case first, reading the waitroom lazily: a group whose values all
        # differ, taken from the longest waiting.
        group, seen = [arriving], {value_of(arriving)}
        fetched = []
        for i in range(n):
            p = host.waiting_get(i)
            if p is None:
                continue
            fetched.append(p)
            if value_of(p) not in seen and compatible(p, group):
                group.append(p)
                seen.add(value_of(p))
                if len(group) == group_size:
                    host.log(f"balanced by {SETTINGS['by']}: all different ({', '.join(sorted(seen))})")
                    return [m.id for m in group]
        return self.fair_share_group(arriving, fetched, group_size)

    def fair_share_group(self, arriving, avail, group_size):
        """Fewer values than seats: no value more often than its fair share."""
        everyone = [arriving] + avail
        kinds = len(SETTINGS["values"]) if SETTINGS["values"] else group_size
        share = math.ceil(group_size / max(1, min(kinds, group_size)))
        group = [arriving]
        counts = {value_of(arriving): 1}
        while len(group) < group_size:
            best = None
            for p in avail:
                if p in group or not compatible(p, group) or counts.get(value_of(p), 0) >= share:
                    continue
                if best is None or counts.get(value_of(p), 0) < counts.get(value_of(best), 0):
                    best = p
            if best is None:
                break
            group.append(best)
            counts[value_of(best)] = counts.get(value_of(best), 0) + 1
        if len(group) == group_size:
            host.log(f"balanced by {SETTINGS['by']}: " + ", ".join(f"{v}x{k}" for v, k in sorted(counts.items())))
            return [p.id for p in group]
        oldest = max(p.waited_ms for p in everyone)
        if oldest >= SETTINGS["max_wait_ms"]:
            fifo = [arriving]
            for p in avail:
                if len(fifo) < group_size and compatible(p, fifo):
                    fifo.append(p)
            host.log(f"no balanced group after {oldest} ms: grouping first come, first served")
            return [p.id for p in fifo] if len(fifo) == group_size else None
        return None

    def should_reject_for_rtt(self, a, b, rtt_ms, max_p2p_rtt_ms) -> bool:
        return usual_rtt_rule(rtt_ms, max_p2p_rtt_ms)
