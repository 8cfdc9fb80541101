"""Error types for problems a user can fix: the CLI and the app show their message, not a traceback."""


class UserError(Exception):
    """One clear sentence that says what went wrong and what to do."""


class GeneratorMismatch(UserError):
    """A file made for one generator met another; `made_for` and `loaded` are the two ids."""

    def __init__(self, message: str, made_for: str | None, loaded: str):
        super().__init__(message)
        self.made_for = made_for
        self.loaded = loaded
