"""A test policy (not an example): it reports what the sandbox lets it see, and
raises a Python exception when the arriving participant asks for one
(`matchmaker.attributes: [param:explode]`, `?explode=1`), so that the test can check
the traceback reaches the event log."""

import os
import random
import time

from wit_world import WitWorld as Policy
from wit_world.imports import host


def attribute(p, name):
    for key, value in p.attributes:
        if key == name:
            return value
    return ""


class WitWorld(Policy):
    def configure(self, config: str) -> None:
        try:
            open("/etc/hostname").read()
            files = "readable"
        except OSError as e:
            files = type(e).__name__
        print(f"sandbox: files={files} env={len(os.environ)}")

    def on_join(self, p) -> None:
        pass

    def on_leave(self, id: str) -> None:
        pass

    def find_match(self, arriving, group_size: int):
        print(f"decision: clock={time.time():.3f} random={random.random():.9f}")
        if attribute(arriving, "explode") == "1":
            raise ValueError("exploding as asked")
        if host.waiting_count() + 1 < group_size:
            return None
        return [arriving.id] + [host.waiting_get(i).id for i in range(group_size - 1)]

    def should_reject_for_rtt(self, a, b, rtt_ms, max_p2p_rtt_ms) -> bool:
        return max_p2p_rtt_ms is not None and (rtt_ms is None or rtt_ms > max_p2p_rtt_ms)
