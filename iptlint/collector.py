"""Pausing Python's cyclic garbage collector around work that builds a large acyclic structure.

Parsing, the reachability walk, the checks and the chain-by-chain diff each allocate
hundreds of thousands of small objects that hold no reference cycle; every collection the
allocations trigger would walk all of them (the whole AST) again, a third or more of the
time on a kube-proxy-sized dump.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused(freeze: bool = False) -> Iterator[None]:
    """The collector off meanwhile, back on after if it was on.

    With `freeze` (objects that live as long as the run), they are then moved out of the
    collector's sight (`gc.freeze`), or the first collections after the pause would scan
    them all anyway; only cyclic garbage made before could leak.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was_enabled:
            gc.enable()
