"""stealsync: a fast, safe one-way directory mirror.

Public API (everything else is private)::

    from engine import sync, SyncOptions, SyncResult, SyncError
    result = sync(SyncOptions(src="a", dst="b", delete=True))
"""

from __future__ import annotations

__all__ = ["sync", "analyze", "SyncOptions", "SyncResult", "SyncError"]
__version__ = "0.1.0"


def __getattr__(name):  # lazy: `import engine` stays cheap
    value = _lazy(name)
    _unshadow()
    return value


def _unshadow() -> None:
    """Importing the submodule ``engine.sync`` (or ``engine.analyze``) binds
    the *module* to the package attribute of the same name, shadowing the
    public function: put the function back."""
    import sys

    for n in ("sync", "analyze"):
        mod = sys.modules.get(f"{__name__}.{n}")
        if mod is not None and globals().get(n) is mod:
            globals()[n] = getattr(mod, n)


def _lazy(name):
    if name == "sync":
        from .sync import sync

        return sync
    if name == "SyncOptions":
        from .options import SyncOptions

        return SyncOptions
    if name == "SyncResult":
        from .sync import SyncResult

        return SyncResult
    if name == "SyncError":
        from .errors import SyncError

        return SyncError
    if name == "analyze":
        from .analyze import analyze

        return analyze
    raise AttributeError(name)
