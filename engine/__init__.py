"""stealsync: a fast, safe one-way directory mirror.

Public API (everything else is private)::

    from engine import sync, SyncOptions, SyncResult, SyncError
    result = sync(SyncOptions(src="a", dst="b", delete=True))
"""

from __future__ import annotations

__all__ = ["sync", "analyze", "SyncOptions", "SyncResult", "SyncError"]
__version__ = "0.1.0"


def __getattr__(name):  # lazy: `import engine` stays cheap
    return _lazy(name)


# The modules are named coordinator and analysis, not sync and analyze: a
# submodule import binds its name on the package, which would shadow the
# public functions of the same name.
def _lazy(name):
    if name == "sync":
        from .coordinator import sync

        return sync
    if name == "SyncOptions":
        from .options import SyncOptions

        return SyncOptions
    if name == "SyncResult":
        from .coordinator import SyncResult

        return SyncResult
    if name == "SyncError":
        from .errors import SyncError

        return SyncError
    if name == "analyze":
        from .analysis import analyze

        return analyze
    raise AttributeError(name)
