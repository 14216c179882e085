"""One error path for every ``fraud`` command.

An exception that leaves a command becomes one line on stderr, ``error: WHAT WENT WRONG; WHAT TO DO``, with
card numbers masked, and an exit status:

* **2**, bad usage or input: the command was given something it cannot use. The project's errors say so by
  deriving from :class:`ValueError` or :class:`LookupError` as well as from their package's root (a file that
  cannot be read as transactions, an unknown model, a run folder already in use); so do invalid settings
  (pydantic's ``ValidationError``) and paths that do not exist, are of the wrong kind or may not be read or
  written.
* **1**, failure: the command was able to start but could not finish (a refused deployment, a broker that is
  down, a full disk, running out of memory), and any exception the project does not raise itself, which is
  reported as a bug to report.

``fraud --debug COMMAND ...`` lets the exception through instead, with its traceback (locals never shown).
Usage errors found by the command line parser itself keep click's own report (also exit status 2).
"""

from __future__ import annotations

import errno
from typing import Any, Final

import typer
from typer.core import TyperGroup

USAGE_ERROR: Final = 2
FAILURE: Final = 1
#: The project's own packages: an exception whose class (or one of its bases) is defined in one of them was
#: raised on purpose, with a message written for the user.
PROJECT_PACKAGES: Final = frozenset({"ingest", "features", "model_engine", "lifecycle", "monitoring", "scoring_api"})
#: Errors on a path the user named: it is missing, of the wrong kind, or may not be read or written.
_PATH_ERRNOS: Final = frozenset(
    {
        errno.ENOENT,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.EACCES,
        errno.EPERM,
        errno.EEXIST,
        errno.EROFS,
        errno.ENAMETOOLONG,
    }
)
#: The longest message printed: an error about a huge input value must not flood the terminal.
MAX_MESSAGE_CHARS: Final = 600


class ReportingGroup(TyperGroup):
    """The root command group: runs the chosen command and reports what escapes it (see the module docstring)."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click Context, not a public type
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # the command line's own exits and usage errors
        except Exception as error:
            if ctx.params.get("debug"):
                raise
            raise typer.Exit(report(error)) from None


def report(error: BaseException) -> int:
    """Print ``error`` as its one line on stderr; returns its exit status (for the root group, and for entry
    points outside it such as ``python -m scoring_api.worker``)."""
    message, code = describe(error)
    typer.echo(f"error: {message}", err=True)
    return code


def describe(error: BaseException) -> tuple[str, int]:
    """The one-line message and exit status for ``error``."""
    message, code = _classify(error)
    return _one_line(message), code


def _classify(error: BaseException) -> tuple[str, int]:
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        return f"invalid {error.title}: {_validation_problems(error)}", USAGE_ERROR
    if _is_project_error(error):
        code = USAGE_ERROR if isinstance(error, ValueError | LookupError) else FAILURE
        return str(error) or type(error).__name__, code
    if isinstance(error, OSError):
        where = f" {error.filename}" if error.filename is not None else ""
        reason = error.strerror or str(error)
        if error.errno in _PATH_ERRNOS:
            return f"cannot use{where}: {reason}; check the path and its permissions", USAGE_ERROR
        return f"input/output error on{where}: {reason}", FAILURE
    if isinstance(error, MemoryError):
        return "out of memory; ask for less (fewer days, customers or rows) or run on a larger machine", FAILURE
    return (
        f"unexpected {type(error).__name__}: {error}; this is a bug: run the command again with "
        "fraud --debug ... for the traceback and report it",
        FAILURE,
    )


def _is_project_error(error: BaseException) -> bool:
    return any(cls.__module__.partition(".")[0] in PROJECT_PACKAGES for cls in type(error).__mro__)


def _validation_problems(error: Any) -> str:
    # Inputs are never repeated (the settings may hold secrets): only where each problem is and what it is.
    problems = []
    for item in error.errors(include_url=False, include_input=False, include_context=False):
        where = ".".join(str(part) for part in item["loc"])
        text = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {text}" if where else text)
    return "; ".join(problems)


def _one_line(message: str) -> str:
    from ingest.validation.masking import mask_card_numbers

    flat = " ".join(mask_card_numbers(message[: 100 * MAX_MESSAGE_CHARS]).split())
    if len(flat) > MAX_MESSAGE_CHARS:
        flat = flat[: MAX_MESSAGE_CHARS - 3] + "..."
    return flat
