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

from billing_lib.errors import ParameterError, RunError

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


def kernel_namespace() -> dict[str, object] | None:
    """The variables of the notebook this runs in (the IPython kernel's user namespace), None
    outside a kernel."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the notebook stack
        return None
    shell = get_ipython()
    return None if shell is None else shell.user_ns


def parameter_values(names: tuple[str, ...]) -> dict[str, object]:
    """The notebook's parameters ``names`` as its variables hold them now (those it has), empty
    outside a kernel: what ``check_unchanged`` compares against later."""
    namespace = kernel_namespace()
    return {} if namespace is None else {n: namespace[n] for n in names if n in namespace}


def _same(a: object, b: object) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # noqa: BLE001 - a value that cannot be compared counts as changed
        return False


def changed_parameters(started: dict[str, object]) -> list[str]:
    """ "name: before -> now" of each parameter whose variable changed since ``started``
    (``parameter_values``); empty outside a kernel."""
    namespace = kernel_namespace()
    if namespace is None:
        return []
    return [
        f"{n}: {v!r} -> {namespace[n]!r}"
        for n, v in started.items()
        if n in namespace and not _same(namespace[n], v)
    ]


def check_unchanged(started: dict[str, object], what: str) -> None:
    """RunError naming the parameters whose variables changed since ``started``
    (``parameter_values`` when the run started, ``what``: the period it bills): the parameters
    cell edited and run, its run's cell (``billing.start``) not run again, so the cells below
    went on with the parameters the run started with, as if the change had been made."""
    changed = changed_parameters(started)
    if changed:
        raise RunError(
            f"the parameters cell changed since the run started ({'; '.join(changed)}); this "
            f"run bills {what} as started: run the cell of billing.start again (the first code "
            "cell), then the cells below it"
        )
