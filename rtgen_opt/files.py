"""Small file helpers shared by every reader and writer: inputs are read as UTF-8 text with a
one-line error, outputs are written atomically with the mode a plain ``open`` would give."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from rtgen_opt.errors import SpecError


def read_text(path: str | os.PathLike[str], expected: str) -> str:
    """The UTF-8 text of an input file.

    Parameters
    ----------
    path
        The file.
    expected
        What the file should be, for the error (``"a scenario YAML file"``).

    Raises
    ------
    SpecError
        When the file cannot be read, or is not UTF-8 text (a binary file, another encoding).
    """
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(str(path), None, f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise SpecError(
            str(path), None, f"not UTF-8 text (byte {exc.start}); expected {expected}"
        ) from None


def write_atomic(path: str | os.PathLike[str], text: str | bytes) -> None:
    """Write a file so that readers see the old content or the new, never a partial one.

    The temporary file is created with mode 0666 less the umask (as ``open`` creates a file), or
    with the mode of the file it replaces, so an output is as readable as any other file the
    user writes (``tempfile.mkstemp`` would make it 0600).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        keep = path.stat().st_mode & 0o7777
    except OSError:
        keep = None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:  # pragma: no cover - a 32-bit name collision
            continue
    try:
        with os.fdopen(fd, "wb") as fh:
            if keep is not None:
                os.chmod(tmp, keep)
            fh.write(text if isinstance(text, bytes) else text.encode("utf-8"))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
