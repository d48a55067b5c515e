"""The one error type a user can cause.

Every message names the offending thing and the fix, on one line. The CLI
prints it as `error: <message>` and exits with code 2, without a traceback.
"""


class HlsgenError(Exception):
    """A problem with the user's input (model, board, options, files)."""

    exit_code = 2

    def __init__(self, message: str):
        # One line: collapse any newlines a caller may have let through.
        super().__init__(" ".join(str(message).split()))
