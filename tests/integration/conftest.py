"""Shared fixtures for the integration tests: where the binaries are and how to run them.

ctest sets CEDGE_BIN (the build's bin/ directory) and CEDGE_SRC; run by hand
the tests fall back to ./build/bin of the source tree.
"""
import os
import pathlib
import subprocess

import pytest

SRC = pathlib.Path(os.environ.get("CEDGE_SRC", pathlib.Path(__file__).resolve().parents[2]))
BIN = pathlib.Path(os.environ.get("CEDGE_BIN", SRC / "build" / "bin"))


def run(prog, *args, timeout=30, **kw):
    """Runs one of our programs and returns the CompletedProcess (text mode)."""
    return subprocess.run([str(BIN / prog), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, **kw)


@pytest.fixture
def cedge():
    return run


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=20.0, interval=0.05, what="condition"):
    """Polls pred() until it returns a truthy value (returned) or timeout (AssertionError)."""
    import time
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - polled conditions may fail while starting
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")
