"""The one error type users see: a message and an exit code, never a traceback."""

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class CharrnnError(Exception):
    """A problem the user can fix (bad input, bad options); shown as one `error:` line."""

    def __init__(self, message: str, exit_code: int = EXIT_BAD_INPUT):
        super().__init__(message)
        self.exit_code = exit_code


class TrainingFailed(CharrnnError):
    """Training cannot go on (for example a non-finite loss); exit 1, last good checkpoint kept."""

    def __init__(self, message: str):
        super().__init__(message, EXIT_FAILURE)


class Interrupted(CharrnnError):
    """Ctrl-C or SIGTERM arrived; the caller has already saved what it could."""

    def __init__(self, message: str, exit_code: int = EXIT_INTERRUPTED):
        super().__init__(message, exit_code)
