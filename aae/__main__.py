"""`python -m aae ...`: the same as the `aae` command (and what torchrun runs)."""

import atexit
import os
import sys
import threading

from aae.cli import main

code = main()
# Leave without the interpreter's teardown once everything of ours is done: torch's (its libraries' destructors)
# added 140–175 MB to a process's peak resident memory after the last line ran (`aae train`: 972 MB at the end,
# 1,066 MB by /usr/bin/time) and takes time. The exit handlers still run and the streams are flushed; when a thread
# of someone else's is still working, the ordinary exit waits for it.
others = [t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive() and not t.daemon]
if (code is None or isinstance(code, int)) and not others:
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:  # the reader went away
            pass
    os._exit(code or 0)
sys.exit(code)
