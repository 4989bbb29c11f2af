"""Time from process start to the app's first frame showing dataset rows, in a pseudo-terminal.

Builds a dataset of N tiny PNG images with captions (2,000 and 10,000 by default), starts the real
`loratui DIR` in a pty at 80x24 with TERM=xterm-256color, reads the terminal output until the first
image's file name is drawn, and prints the seconds. Target: under 0.5 s at 10,000 images (issue 8).
Also prints the time to a bare `python -c pass` and to `import textual.app`, run the same way, so a
busy machine shows up in the ratio, not as a false failure.

    .venv/bin/python bench/tui_startup.py [--counts 2000 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a730000001049444154789c63f8cfc0"
    "00440c100a001fee03fd8b5f14d40000000049454e44ae426082"
)


def build(root: Path, count: int) -> Path:
    concepts = ["10_alice", "5_bob", "1_style"]
    for c in concepts:
        (root / c).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        folder = root / concepts[i % len(concepts)]
        (folder / f"img_{i:05d}.png").write_bytes(PNG)
        (folder / f"img_{i:05d}.txt").write_text(f"trigger, solo, tag{i % 97}, long hair, outdoors\n")
    return root


def time_until(argv: list[str], needle: bytes, timeout: float = 30.0) -> float:
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.environ["COLUMNS"], os.environ["LINES"] = "80", "24"
        os.execvp(argv[0], argv)
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    start = time.perf_counter()
    seen = b""
    elapsed = float("nan")
    try:
        while time.perf_counter() - start < timeout:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if needle in seen:
                elapsed = time.perf_counter() - start
                break
    finally:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per count; the best is reported")
    args = parser.parse_args()
    exe = str(Path(sys.executable).with_name("loratui"))
    python = sys.executable
    base = min(time_until([python, "-c", "print('ready-mark'); import time; time.sleep(5)"], b"ready-mark")
               for _ in range(args.repeat))
    textual = min(time_until([python, "-c", "import textual.app; print('ready-mark'); import time; time.sleep(5)"],
                             b"ready-mark") for _ in range(args.repeat))
    print(f"python start: {base:.3f} s; python + import textual.app: {textual:.3f} s")
    for count in args.counts:
        with tempfile.TemporaryDirectory() as tmp:
            root = build(Path(tmp) / "img", count)
            best = min(time_until([exe, str(root)], b"img_00000.png") for _ in range(args.repeat))
        verdict = "meets" if best < 0.5 else "misses"
        print(f"{count:>6} images: first frame with rows {best:.3f} s ({verdict} the 0.5 s target; "
              f"ratio to target {best / 0.5:.2f}; {best / textual:.2f}x a bare textual import)")


if __name__ == "__main__":
    main()
