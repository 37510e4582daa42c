"""The consoles the commands print to: Rich on a terminal, unwrapped text when output goes to a file or a pipe.

Rich wraps at 80 columns when its stream is not a terminal, which splits names inside
table cells ("si-threshold-halv/ed"); piped output is read by programs and by `grep`, so it
gets lines as long as their content instead.
"""

from __future__ import annotations

import sys

from rich.console import Console

PIPED_WIDTH = 400  # wide enough for every table yibao prints; Rich tables shrink to their content


def terminal(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=PIPED_WIDTH, soft_wrap=True)
