"""The one failure the command line reports: a message for stderr and an exit code."""


class CliError(Exception):
    """Ends the command: `message` goes to stderr after the program name, `details` below it."""

    def __init__(self, message: str, *, exit_code: int = 1, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.details = details
