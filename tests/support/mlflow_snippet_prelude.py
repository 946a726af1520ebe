"""Runs one test snippet inside an MLflow client's interpreter (2.7.1 or 3.x), with helpers in its globals.

Not imported by the test suite: ``mlflow_clients.py`` copies this file next to each snippet and runs
``python mlflow_snippet_prelude.py SNIPPET``. The snippet runs as ``__main__`` (so tracebacks show its own
file and line numbers) with these names already defined:

``emit(obj)``            hand one JSON value back to the test (at most once per snippet);
``error_of(call)``       ``None`` if ``call()`` returns, else ``{"error_code", "message", "type"}`` of the
                         ``MlflowException`` (``RestException`` included) it raised; anything else propagates;
``error_code_of(call)``  just the ``error_code`` of that, or ``None``.

Standard library only at import time, and nothing newer than Python 3.11: it runs in every client's venv.
"""

from __future__ import annotations

import json
import runpy
import sys
from collections.abc import Callable
from typing import Any

MARKER = "@@mlflow-harness-result@@ "

_emitted = False


def emit(obj: Any) -> None:
    global _emitted
    if _emitted:
        raise RuntimeError("emit() may be called once per snippet: put everything in one JSON value")
    _emitted = True
    line = MARKER + json.dumps(obj)
    # The leading newline keeps the marker at the start of a line even after a print(..., end="").
    stream = sys.__stdout__
    assert stream is not None
    stream.write("\n" + line + "\n")
    stream.flush()


def error_of(call: Callable[[], object]) -> dict[str, Any] | None:
    from mlflow.exceptions import MlflowException

    try:
        call()
    except MlflowException as error:
        return {"error_code": error.error_code, "message": error.message, "type": type(error).__name__}
    return None


def error_code_of(call: Callable[[], object]) -> str | None:
    error = error_of(call)
    return None if error is None else str(error["error_code"])


def main() -> None:
    snippet = sys.argv[1]
    sys.argv = sys.argv[1:]
    helpers = {"emit": emit, "error_of": error_of, "error_code_of": error_code_of}
    runpy.run_path(snippet, init_globals=helpers, run_name="__main__")


if __name__ == "__main__":
    main()
