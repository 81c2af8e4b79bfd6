"""The policy registry: names to policy classes, refusing duplicates; user plug-ins by path.

The built-in policies of DESIGN section 4 are registered here, in :data:`BUILTIN` order, which is
the order every report lists them in. A user's policy runs by ``"module:Class"`` (the module must
be importable, e.g. on ``PYTHONPATH``) or by ``"path/to/file.py:Class"`` (a Python file, read
from that path), on the command line as ``--policy mypkg.module:MyPolicy`` or
``--policy ./mypolicies.py:MyPolicy``, or is registered with :func:`register`.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import TypeVar

from rtgen_opt.errors import ArgumentError
from rtgen_opt.online.policies import (
    EDFEFT,
    HEFT,
    LLFEFT,
    EDFFixed,
    FCFSFixed,
    LLMHybrid,
    RoundRobin,
    XRBenchGreedy,
)
from rtgen_opt.online.policies.base import Policy

#: Registered policies by name, in registration order.
POLICIES: dict[str, type[Policy]] = {}

P = TypeVar("P", bound=type[Policy])


def register(cls: P) -> P:
    """Class decorator: register a policy under ``cls.name``.

    Raises
    ------
    ValueError
        When the name is empty or already taken.
    """
    name = getattr(cls, "name", "")
    if not name:
        raise ValueError(f"policy class {cls.__qualname__} has no name")
    if name in POLICIES:
        raise ValueError(f"a policy named {name!r} is already registered ({POLICIES[name]!r})")
    POLICIES[name] = cls
    return cls


#: The built-in policies, in the order of DESIGN section 4 (the order of every report).
BUILTIN: tuple[type[Policy], ...] = (
    FCFSFixed,
    RoundRobin,
    EDFFixed,
    EDFEFT,
    LLFEFT,
    HEFT,
    XRBenchGreedy,
    LLMHybrid,
)
for _cls in BUILTIN:
    register(_cls)


def builtin_policies() -> tuple[str, ...]:
    """Names of the built-in policies, in :data:`BUILTIN` order."""
    return tuple(cls.name for cls in BUILTIN)


def policy_names() -> list[str]:
    """Names of the registered policies, sorted."""
    return sorted(POLICIES)


def make_policy(spec: str | Policy | type[Policy]) -> Policy:
    """A fresh policy object from a registered name, ``"module:Class"``, a class or an object.

    An object is returned as is (its :meth:`Policy.reset` starts every replay afresh).

    Raises
    ------
    ArgumentError
        For an unknown name, a module or class that cannot be loaded, or a class that is not a
        :class:`Policy`.
    """
    if isinstance(spec, Policy):
        return spec
    if isinstance(spec, type):
        cls = spec
    elif isinstance(spec, str):
        if spec in POLICIES:
            return POLICIES[spec]()
        if ":" not in spec:
            raise ArgumentError(
                "policy",
                f"unknown policy {spec!r}; known: {', '.join(sorted(POLICIES))}; or your own "
                f"class as module:Class or path/to/file.py:Class",
            )
        module_name, _, attr = spec.rpartition(":")  # the last colon: C:\x.py:Cls on Windows
        module = _plugin_module(module_name)
        cls = getattr(module, attr, None)
        if cls is None:
            raise ArgumentError("policy", f"{module_name} has no {attr!r}")
    else:
        raise ArgumentError("policy", f"expected a policy name or class, got {spec!r}")
    if not (isinstance(cls, type) and issubclass(cls, Policy)):
        raise ArgumentError("policy", f"{spec!r} is not a subclass of rtgen_opt.online.Policy")
    pol = cls()
    if not pol.name:
        pol.name = spec if isinstance(spec, str) else f"{cls.__module__}:{cls.__qualname__}"
    return pol


def _is_path(name: str) -> bool:
    return name.endswith(".py") or "/" in name or os.sep in name


def _plugin_module(name: str) -> ModuleType:
    """The module of a plug-in: imported by name, or executed from a ``.py`` file (once per
    process and file, under a name derived from its absolute path)."""
    if not _is_path(name):
        try:
            return importlib.import_module(name)
        except ImportError as exc:
            raise ArgumentError(
                "policy",
                f"cannot import {name!r}: {exc} (a module must be on PYTHONPATH; or give its "
                f"file, e.g. ./{name.replace('.', '/')}.py:Class)",
            ) from None
        except Exception as exc:  # the plug-in's own error, when it is imported
            raise ArgumentError("policy", f"{name}: {type(exc).__name__}: {exc}") from None
    path = Path(name).resolve()
    if not path.is_file():
        raise ArgumentError("policy", f"no such file: {name}")
    key = "rtgen_opt_plugin_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, path)
    if spec is None or spec.loader is None:
        raise ArgumentError("policy", f"{name}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module  # before running it, as import does (dataclasses need it)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the plug-in's own error, when it is run
        del sys.modules[key]
        raise ArgumentError("policy", f"{name}: {type(exc).__name__}: {exc}") from None
    return module
