"""The error type for problems a user can fix: the CLI and the app show its message, not a traceback."""


class UserError(Exception):
    """One clear sentence that says what went wrong and what to do."""
