"""Errors a user can cause. Each carries one sentence: what went wrong, where, and how to fix it.

The CLI prints the message and exits with code 2; the magics print it without a traceback.
"""


class TltError(Exception):
    """Base class of every user-caused error in jupyter-tlt."""

    exit_code = 2


class SpecError(TltError):
    """A spec file, string or dict is malformed: names file:line and field."""


class DataError(TltError):
    """A dataset file (label, image, record) is malformed or missing: names the file and line."""


class UsageError(TltError):
    """Command-line flags that do not fit together (e.g. neither a model nor result files)."""


class OutputError(TltError):
    """An output path exists, is not writable, or cannot be created."""


def quote_input(value: object, limit: int = 60) -> str:
    """User input as messages and logs show it: escaped (repr) and cut to `limit` characters.

    Names, ids and paths come from untrusted places (a shared registry, an HTTP request); echoing
    them whole would let a 30 MB name flood a log, and a raw newline forge a line in it.
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def disk_full(exc: OSError, where: object = None) -> OutputError | None:
    """The user error for a write that failed because the disk, a quota or a file-size limit is full."""
    import errno

    if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return None
    prefix = f"{where or exc.filename}: " if (where or exc.filename) else ""
    return OutputError(f"{prefix}no space left to write ({exc.strerror}); nothing was left half-written: "
                       "free some space (or raise the quota) and run the step again, or write elsewhere")


class RangeError(TltError):
    """A number a user gave (a flag or a spec field) is outside what the step can run with."""
