"""The one error type the generator raises for problems a user can fix."""


class CodegenError(Exception):
    """A failure with a message meant for people (no traceback is shown for it)."""
