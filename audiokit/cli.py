"""What every command-line entry point shares (main.py, the restoration tools, the data and benchmark scripts):
errors the user can act on end as one line on stderr, never as a traceback.

Our own code raises ValueError (and its subclasses: bad audio, manifests, configs, checkpoints, arguments),
OSError (paths, permissions, full disks) and UserError (a training split that does not decode) with a message
that names the file and the problem; a traceback adds nothing for the user. A2SB_DEBUG=1 shows it anyway, for
bug reports.
"""
import os
import sys


class UserError(RuntimeError):
    """A failure the user can act on that is neither a bad value nor a path, such as a training split whose files
    do not decode (datasets/segments.py); it lives here so that the handler imports nothing above this package."""


USER_ERRORS = (ValueError, OSError, UserError)
DEBUG_ENV = "A2SB_DEBUG"
INTERRUPTED_STATUS = 130  # what shells report for a process ended by Ctrl-C


def run_main(body, *args):
    """body(*args) -> exit status (None counts as 0); user errors -> one line and status 1, Ctrl-C -> 130."""
    try:
        return body(*args) or 0
    except USER_ERRORS as error:
        if os.environ.get(DEBUG_ENV):
            raise
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if os.environ.get(DEBUG_ENV):
            raise
        print("error: interrupted", file=sys.stderr)
        return INTERRUPTED_STATUS
