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
