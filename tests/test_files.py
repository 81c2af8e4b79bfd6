"""The shared file helpers: atomic writes with the normal mode, UTF-8 reads with one line."""

import os
import stat

import pytest

from rtgen_opt.errors import SpecError
from rtgen_opt.files import read_text, write_atomic


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_file_gets_the_umask_mode_not_0600(tmp_path, umask_022):
    write_atomic(tmp_path / "a.json", "{}")
    assert _mode(tmp_path / "a.json") == 0o644
    os.umask(0o027)
    write_atomic(tmp_path / "b.bin", b"\x00")
    assert _mode(tmp_path / "b.bin") == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.bin"]  # no temp left


def test_a_replaced_file_keeps_its_mode(tmp_path, umask_022):
    path = tmp_path / "a.txt"
    path.write_text("old")
    os.chmod(path, 0o664)
    write_atomic(path, "new")
    assert path.read_text() == "new" and _mode(path) == 0o664


def test_read_text_refuses_binary_in_one_line(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_bytes(b"kind: scenario\n\xff\xfe\x00\x01")
    with pytest.raises(SpecError) as info:
        read_text(path, "a scenario YAML file")
    assert str(info.value) == (f"{path}: not UTF-8 text (byte 15); expected a scenario YAML file")
    with pytest.raises(SpecError, match="cannot read: No such file"):
        read_text(tmp_path / "missing.yaml", "a YAML file")
