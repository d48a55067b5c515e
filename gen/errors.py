"""The one error type a user can cause, and the one for hlsgen's own bugs.

Every message names the offending thing and the fix, on one line. The CLI
prints it as `error: <message>` and exits with code 2, without a traceback.
An inconsistency inside hlsgen is an InternalError (exit 3): never shown as
advice to the user, always as a bug to report.
"""


class HlsgenError(Exception):
    """A problem with the user's input (model, board, options, files)."""

    exit_code = 2

    def __init__(self, message: str):
        # One line: collapse any newlines a caller may have let through.
        super().__init__(" ".join(str(message).split()))


class InternalError(HlsgenError):
    """hlsgen contradicted itself (a shape, folding or type it produced is
    inconsistent): a bug in hlsgen, not a problem with the user's input."""

    exit_code = 3

    def __init__(self, message: str):
        super().__init__(f"internal error in hlsgen: {message}; this is a bug in hlsgen, not in "
                         "your model: please report it with the model and the command")
