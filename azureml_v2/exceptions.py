"""The one exception type for bad input, with one located line per problem."""
from __future__ import annotations


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
        return f"{where} {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def __repr__(self) -> str:
        return f"Problem({str(self)!r})"


class ValidationError(ValueError):
    """Bad input: the message has one line per problem, `file:line:col field: message`."""

    def __init__(self, problems: list[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem(problems)]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
