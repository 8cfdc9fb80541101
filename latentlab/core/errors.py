"""Error types for problems a user can fix: the CLI and the app show their message, not a traceback.

`quoted` is how such a message shows the bad input: never whole (a 10 MB value would come back as a
10 MB reply from a server open to a crowd), at most `QUOTE_LIMIT` characters of it.
"""

import reprlib

QUOTE_LIMIT = 40  # characters of a refused value an error message shows

_short = reprlib.Repr()  # a repr that never builds the whole of a huge list or dict
_short.maxstring = _short.maxother = QUOTE_LIMIT + 8
_short.maxlist = _short.maxtuple = _short.maxdict = _short.maxset = 4
_short.maxlevel = 2


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """`value` as an error message quotes it: its repr, cut to `limit` characters plus "…"."""
    if isinstance(value, str):
        return repr(value[:limit]) + ("…" if len(value) > limit else "")
    text = _short.repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


class UserError(Exception):
    """One clear sentence that says what went wrong and what to do."""


class GeneratorMismatch(UserError):
    """A file made for one generator met another; `made_for` and `loaded` are the two ids."""

    def __init__(self, message: str, made_for: str | None, loaded: str):
        super().__init__(message)
        self.made_for = made_for
        self.loaded = loaded
