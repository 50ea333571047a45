"""The parameters papermill injected into a notebook's kernel, checked against the notebook's own.

papermill (``-p``/``-r``/``-y``) writes every name it is given into a cell after the notebook's
``parameters`` cell and only warns ("Passed unknown parameter") of a name that cell lacks: a
scheduler's ``-p finalize True`` billed the month unfinalised, ``-r period 2026-10`` for the margin
notebook's ``periods`` analysed every month, and papermill exited 0. The cell papermill injects
starts with its comment ``# Parameters``; the kernel's input history of the session holds it.
"""

from __future__ import annotations

import ast
import difflib

from billing_lib.errors import ParameterError

#: The first line of the cell papermill injects (``papermill.translators``' comment).
INJECTED_COMMENT = "# Parameters"


def injected_names(history: list[str] | None = None) -> list[str]:
    """The names the cells papermill injected assign, in order, from ``history`` (the sources of
    the cells run, by default this kernel session's input history); empty outside a kernel."""
    if history is None:
        history = _kernel_history()
    names: list[str] = []
    for source in history:
        if not isinstance(source, str) or source.lstrip().split("\n", 1)[0] != INJECTED_COMMENT:
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign):
                targets = [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return list(dict.fromkeys(names))


def _kernel_history() -> list[str]:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the notebook stack
        return []
    shell = get_ipython()
    if shell is None:
        return []
    return list(shell.history_manager.input_hist_raw)


def check_injected(
    known: tuple[str, ...], notebook: str, source: str, history: list[str] | None = None
) -> None:
    """ParameterError (``source``: the notebook's parameters, for the message) naming the first
    name papermill injected into ``notebook`` that is not one of its parameters ``known``, with
    the closest known one, before the run reads or writes anything."""
    for name in injected_names(history):
        if name in known:
            continue
        guess = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f" (did you mean {guess[0]}?)" if guess else ""
        raise ParameterError(
            source,
            name,
            f"not a parameter of {notebook}{hint}; its parameters: {', '.join(known)}. papermill "
            "passes on a name the notebook does not have with a warning only, and the run would "
            "go on without it (papermill --help-notebook lists them)",
        )
