"""Suite-wide guards: offline Hugging Face, and no socket to anything but loopback."""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# new configs get the GPU defaults whatever machine runs the tests (config new would pick AdamW / fp32
# on one without a GPU); the tests of that choice set LORATUI_GPU themselves
os.environ.setdefault("LORATUI_GPU", "1")
# One OpenMP thread for torch here and in every process a test starts (inherited: loratui train, torchrun,
# the tmux app): the tests' models are tiny, and two threads spin-waiting on each other on a busy 2-core
# box made the tiny training runs ~3x slower (test_train's sd1_run: 76 s -> 23 s). Set before torch is
# imported; a developer's own OMP_NUM_THREADS wins.
os.environ.setdefault("OMP_NUM_THREADS", "1")

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_local(address) -> bool:
    if isinstance(address, (str, bytes)):
        return True  # AF_UNIX path
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded(real):
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
            raise RuntimeError(f"test tried to open a network connection to {address!r}; tests run offline")
        return real(self, address)

    return connect


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _guarded(_real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(_real_connect_ex))
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host not in (None, "localhost") and not _is_loopback_literal(host):
            raise RuntimeError(f"test tried to resolve {host!r}; tests run offline")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield


def _is_loopback_literal(host) -> bool:
    try:
        return ipaddress.ip_address(host.decode() if isinstance(host, bytes) else host).is_loopback
    except ValueError:
        return False


def pytest_collection_modifyitems(config, items):
    """Test files with a test marked slow run first, each file's tests in their own order.

    ./dev.sh test runs two pytest-xdist workers, a file at a time each, in this order
    (--no-loadscope-reorder): the minute-long files (the demo's training run, torchrun, the tmux demo)
    start early, and the many short files fill in beside them instead of waiting behind the last one.
    """
    def path(item):
        return item.nodeid.split("::", 1)[0]

    slow_files = {path(item) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: path(item) not in slow_files)  # stable: the rest keeps its order
