"""Checks and signature folders from plugins and from ``--signatures DIR``."""

from __future__ import annotations

from pathlib import Path

from apigrade.checks.registry import REGISTRY, RegistryError
from apigrade.checks.signature import ids, load_dir, register_signatures
from apigrade.errors import UsageError
from apigrade.plugins import (
    CHECKS,
    SIGNATURES,
    PluginConflict,
    label,
    load_each,
    plugins,
    signature_dir,
    warn,
)

_BUILTIN = "apigrade's built-in checks"
_DUPLICATE = "duplicate check id "
_owners: dict[str, str] = {}  # check id -> the plugin or folder that added it
_folders: set[Path] = set()  # signature folders already registered in this process


def _owner(check_id: str) -> str:
    return _owners.get(check_id, _BUILTIN)


def load_plugins() -> None:
    """Import each ``apigrade.checks`` plugin, then register each ``apigrade.signatures``
    folder. Called once by ``load_checks``, after the built-in checks."""
    for ep in plugins(CHECKS):
        before = {m.id for m in REGISTRY.metas()}
        try:
            ep.load()  # the module's decorators register its checks
        except RegistryError as exc:
            message = str(exc)
            if message.startswith(_DUPLICATE):
                dup = message[len(_DUPLICATE) :].strip("'\"")
                raise PluginConflict(
                    f"check id {dup!r} of plugin {label(ep)} clashes with {_owner(dup)}"
                ) from None
            warn(ep, exc)
            continue
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the scan
            warn(ep, exc)
            continue
        for meta in REGISTRY.metas():
            if meta.id not in before:
                _owners[meta.id] = f"plugin {label(ep)}"
    for ep, obj in load_each(SIGNATURES):
        try:
            add_signatures(signature_dir(obj), f"plugin {label(ep)}")
        except PluginConflict:
            raise
        except Exception as exc:  # noqa: BLE001 - one warning line, the scan goes on
            warn(ep, exc)


def add_signatures(folder: Path, owner: str) -> int:
    """Register every ``*.toml`` signature in ``folder``: all of them or, when one file is
    malformed (RegistryError) or an id is taken (PluginConflict), none."""
    folder = folder.resolve()
    if folder in _folders:
        return 0  # the same folder twice in one process (e.g. two scans in one test)
    if not folder.is_dir():
        raise RegistryError(f"{str(folder)!r} is not a folder")
    if not any(folder.glob("*.toml")):
        raise RegistryError(f"{str(folder)!r} holds no .toml signature files")
    seen: set[str] = set()
    sigs = load_dir(folder)  # parsed and validated once per process, then kept
    for cid in (i for sig in sigs for i in ids(sig)):  # checks and their finding kinds
        if cid in REGISTRY or cid in seen:
            other = _owner(cid) if cid in REGISTRY else "another signature in the same folder"
            raise PluginConflict(f"check id {cid!r} of {owner} clashes with {other}")
        seen.add(cid)
    register_signatures(folder)
    _folders.add(folder)
    _owners.update(dict.fromkeys(seen, owner))
    return len(sigs)


def use_signatures(folder: Path) -> int:
    """``--signatures DIR``: the user's own signature files; any problem is one usage line."""
    from apigrade.checks import load_checks
    from apigrade.redact import describe_error

    load_checks()
    try:
        return add_signatures(folder, f"--signatures {str(folder)!r}")
    except PluginConflict:
        raise
    except RegistryError as exc:
        raise UsageError(f"bad --signatures {str(folder)!r}: {exc}") from None
    except OSError as exc:
        raise UsageError(f"bad --signatures {str(folder)!r}: {describe_error(exc)}") from None
