"""`inflect` (plurals, articles, number words), imported without typeguard's instrumentation.

inflect 7 wraps its public methods in typeguard's `@typechecked`, which re-reads, re-parses and
recompiles inflect's whole module once per decorated method: about 1.6 s at every import, that
is at the start of every `render` run, every render slot on Ray and every test that runs the
command. Here the decorator is the identity while inflect is imported (it already is one under
`python -O`); inflect's results are the same, only its argument type checks are gone, and every
caller passes it strings and ints. Import `inflect` from here, never directly.
"""
from __future__ import annotations

import sys


def _import_inflect():
    if "inflect" in sys.modules:
        return sys.modules["inflect"]
    import typeguard

    checked = typeguard.typechecked
    typeguard.typechecked = lambda target=None, **_: target if target is not None else (lambda t: t)
    try:
        import inflect
    finally:
        typeguard.typechecked = checked
    return inflect


inflect = _import_inflect()
