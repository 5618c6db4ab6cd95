"""The package's exceptions, all under AzureMLError.

    AzureMLError
      ValidationError       bad input: one located line per problem
        NotSupportedError   every problem is a real Azure ML feature this package does not handle yet
        NotAvailableError   a call this workspace cannot answer, with what to use instead
      JobStateError         a job is not in the state the call needs
        JobFailedError      a followed job ended Failed or Canceled

Errors from the service itself are azure-core's HttpResponseError family.
"""
from __future__ import annotations

import re

_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MAX_MESSAGE = 300
_MAX_PATH = 120


def _one_line(text: str, limit: int) -> str:
    # a problem is one short line whatever the input held (newlines in a value, a 1 MB key)
    text = _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def suggest(word, choices) -> str:
    """` (did you mean x?)` when one of `choices` is close to `word`, else ``."""
    word = str(word)
    if len(word) > 100:  # not a typo, and difflib is quadratic
        return ""
    import difflib  # import budget: loaded with the first message that needs it
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


class Problem:
    """One problem in one input: where it is and what is wrong."""

    __slots__ = ("source", "line", "column", "path", "message")

    def __init__(self, message: str, path: str = "", source: str | None = None,
                 line: int | None = None, column: int | None = None):
        self.message, self.path, self.source, self.line, self.column = message, path, source, line, column

    def __str__(self) -> str:
        where = self.source or "<input>"
        if self.line is not None:
            where += f":{self.line}:{self.column}"
        message = _one_line(self.message, _MAX_MESSAGE)
        return f"{where} {_one_line(self.path, _MAX_PATH)}: {message}" if self.path else f"{where}: {message}"

    def __repr__(self) -> str:
        return f"Problem({str(self)!r})"


NOT_SUPPORTED = "not supported yet"  # in the message of every problem of a NotSupportedError


class AzureMLError(Exception):
    """The root of this package's exceptions."""


class ValidationError(AzureMLError, ValueError):
    """Bad input: the message has one line per problem, `file:line:col field: message`."""

    def __init__(self, problems: list[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem(problems)]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    @classmethod
    def of(cls, problems: list[Problem]) -> "ValidationError":
        """A NotSupportedError when every problem is something not supported yet, else a ValidationError."""
        if problems and all(NOT_SUPPORTED in p.message for p in problems):
            return NotSupportedError(problems)
        return cls(problems)


class NotSupportedError(ValidationError):
    """Input Azure ML accepts that this package does not handle yet (a job type, a field, a datastore kind)."""


class NotAvailableError(ValidationError):
    """A call this workspace cannot answer, such as metrics on an Azure ML workspace: `what` is not available
    on `where`; `hint` says what to use instead."""

    def __init__(self, what: str, where: str, hint: str):
        super().__init__(f"{what} is not available on {where}: {hint}")
        self.what, self.where, self.hint = what, where, hint


class EndpointStateError(AzureMLError, RuntimeError):
    """An endpoint cannot take requests in its state (no scoring URI yet, not served on this workspace)."""


class JobStateError(AzureMLError, RuntimeError):
    """A job is not in the state the call needs (still running, ended without completing)."""

    def __init__(self, message: str, job=None):
        super().__init__(message)
        self.job = job


class JobFailedError(JobStateError):
    """A streamed job ended Failed or Canceled; `job` is its final state."""
