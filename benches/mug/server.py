"""Minimal MUG (Multi-User Gymnasium) experiment server for benches/side_by_side.py.

Usage: python3 benches/mug/server.py --port PORT [--host 127.0.0.1] [--quiet]

The experiment mirrors benches/experiments/pairs.yaml as closely as MUG allows:

* MUG's Stager insists that the first scene be a StartScene and the last an
  EndScene, so the flow is  start (StartScene) -> play (GymScene) -> end.
  A bot advances through `start` at once (`advance_scene`), then asks to join
  the waitroom (`join_game`).
* `play` has two Human slots, the default FIFOMatchmaker with no
  `max_p2p_rtt_ms` (so no P2P RTT probing) and no `max_rtt`, and runs the game
  in the participants' browsers (Pyodide P2P mode), so that, as with cohort,
  the host has no game loop to run after a match. The environment code is a
  stub: no browser ever loads it.
* The waitroom timeout is 600 s, as in pairs.yaml.

Run as MUG's docs say: `eventlet.monkey_patch()` first, then `app.run(config)`.
MUG logs at DEBUG to ./iglog.log and to stderr, and writes per-participant
metadata under ./data; run this with a scratch directory as the working
directory. `--quiet` raises MUG's logger to WARNING (the f-strings are still
built: only the I/O is saved).

`--nodelay` sets TCP_NODELAY on every accepted connection (MUG as shipped does
not: eventlet's sockets keep Nagle's algorithm on, so a burst of small Socket.IO
frames waits for the client's delayed ACK, about 40 ms on Linux). Off by default:
the default measures MUG as shipped.

`mug.server.app.run()` looks up the machine's public address (an HTTPS request
to a public "what is my IP" service) and its LAN address (a UDP socket
"connected" to a public resolver) only to print them. Both are disabled here:
the benchmark talks to loopback addresses only.
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import urllib.request  # noqa: E402


def _no_network(*_args, **_kwargs):
    raise OSError("outside network disabled by the benchmark")


# Must precede the import of mug.server.app (it only looks these up in run(),
# but be safe).
urllib.request.urlopen = _no_network

from mug.configurations import configuration_constants, experiment_config  # noqa: E402
from mug.scenes import gym_scene, stager, static_scene  # noqa: E402
from mug.server import app  # noqa: E402
from mug.server.matchmaker import FIFOMatchmaker  # noqa: E402


class _NoLanSocket:
    """Stands in for the `socket` module inside mug.server.app.run()."""

    AF_INET = 2
    SOCK_DGRAM = 2

    @staticmethod
    def socket(*_args, **_kwargs):
        raise OSError("outside network disabled by the benchmark")


app.socket = _NoLanSocket  # only used for the LAN-address lookup in run()

ENV_STUB = """
# Benchmark stub: no browser ever runs this.
env = None
"""


def build_stager() -> stager.Stager:
    start = (
        static_scene.StartScene()
        .scene(scene_id="start")
        .display(scene_header="Benchmark", scene_body="Benchmark start scene.")
    )
    play = (
        gym_scene.GymScene()
        .scene(scene_id="play")
        .policies(
            policy_mapping={
                0: configuration_constants.PolicyTypes.Human,
                1: configuration_constants.PolicyTypes.Human,
            }
        )
        .runtime(run_through_pyodide=True, environment_initialization_code=ENV_STUB)
        .waitroom(timeout=600_000)
        .multiplayer(mode="p2p", matchmaker=FIFOMatchmaker(max_p2p_rtt_ms=None))
    )
    end = (
        static_scene.EndScene()
        .scene(scene_id="end")
        .display(scene_header="Thank you.", scene_body="Thank you.")
    )
    return stager.Stager(scenes=[start, play, end])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--quiet", action="store_true", help="MUG logger at WARNING")
    parser.add_argument("--nodelay", action="store_true", help="TCP_NODELAY on accepted connections")
    args = parser.parse_args()

    if args.nodelay:
        import socket

        from eventlet.greenio.base import GreenSocket

        accept = GreenSocket.accept

        def accept_nodelay(self):
            conn, addr = accept(self)
            if conn.family in (socket.AF_INET, socket.AF_INET6):
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return conn, addr

        GreenSocket.accept = accept_nodelay

    if args.quiet:
        logging.getLogger("mug.server.app").setLevel(logging.WARNING)
        logging.getLogger("mug").setLevel(logging.WARNING)

    config = (
        experiment_config.ExperimentConfig()
        .experiment(stager=build_stager(), experiment_id="pairs")
        .hosting(host=args.host, port=args.port)
    )
    print(f"mug server pid {os.getpid()} on {args.host}:{args.port}", flush=True)
    sys.stdout.flush()
    app.run(config)


if __name__ == "__main__":
    main()
