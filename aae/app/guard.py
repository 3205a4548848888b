"""`python -m aae.app.guard SERVER_PID MODULE [ARG ...]`: run MODULE as a script in a process that ends with the
server that started it, set up before MODULE's own imports (PyTorch's take seconds on a busy machine, and a server
stopped meanwhile must not leave the process behind)."""

from __future__ import annotations

import os
import signal
import sys


def die_with(server_pid: int) -> None:
    """Linux: the kernel sends this process SIGTERM when the server's thread that started it ends. A server that
    died before that was set up has left this process to another parent: then end now."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != server_pid:
        sys.exit(0)


if __name__ == "__main__":
    import runpy

    die_with(int(sys.argv[1]))
    sys.argv = [sys.argv[2], *sys.argv[3:]]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
