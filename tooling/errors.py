"""The toolkit's own exception: the CLI prints it as one line, exit code 1."""

from __future__ import annotations


class DataOpsError(Exception):
    """A problem the user can fix: bad config, missing state, failed build input."""

    exit_code = 1


class UsageError(DataOpsError):
    """Options that contradict each other or name things that do not exist."""

    exit_code = 2
