"""sandbox.files.* — GET/POST /files and the filesystem.Filesystem RPCs.

envd runs on this host in dev mode, so every write is also verified on the
local filesystem and every read is checked against locally created content.
"""

import errno
import hashlib
import io
import os
import uuid
from datetime import datetime, timezone

import pytest
from e2b import (
    FileNotFoundException,
    FileType,
    InvalidArgumentException,
)

from _helpers import sha256_file


def _read_local(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _write_local(path, data: bytes):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# --- write / read ------------------------------------------------------------


def test_write_and_read_text(sandbox, work):
    path = work.p("hello.txt")
    text = "hello wrenn \u2713\nsecond line\n"
    info = sandbox.files.write(path, text)
    assert info.name == "hello.txt"
    assert info.path == path
    assert info.type == FileType.FILE
    assert _read_local(path) == text.encode()
    assert sandbox.files.read(path) == text


def test_write_and_read_bytes(sandbox, work):
    path = work.p("all-bytes.bin")
    data = bytes(range(256)) * 257
    sandbox.files.write(path, data)
    assert _read_local(path) == data
    got = sandbox.files.read(path, format="bytes")
    assert isinstance(got, bytearray)
    assert bytes(got) == data


def test_read_locally_created_file(sandbox, work):
    path = work.p("local.bin")
    data = os.urandom(100_000)
    _write_local(path, data)
    assert bytes(sandbox.files.read(path, format="bytes")) == data


def test_read_empty_file(sandbox, work):
    path = work.p("empty")
    _write_local(path, b"")
    assert sandbox.files.read(path) == ""
    info = sandbox.files.write(work.p("empty2"), b"")
    assert info.path == work.p("empty2")
    assert os.path.getsize(work.p("empty2")) == 0


def test_read_gzip(sandbox, work):
    path = work.p("compressible.txt")
    data = ("wrenn " * 50_000).encode()
    _write_local(path, data)
    assert bytes(sandbox.files.read(path, format="bytes", gzip=True)) == data


def test_read_stream(sandbox, work):
    path = work.p("stream.bin")
    data = os.urandom(3 * 1024 * 1024 + 17)
    _write_local(path, data)
    with sandbox.files.read(path, format="stream") as stream:
        got = b"".join(stream)
    assert got == data


def test_write_overwrites_and_truncates(sandbox, work):
    path = work.p("over.txt")
    sandbox.files.write(path, "a much longer first version\n")
    sandbox.files.write(path, "short")
    assert _read_local(path) == b"short"
    assert sandbox.files.read(path) == "short"


def test_write_creates_parent_dirs(sandbox, work):
    path = work.p("a", "b", "c", "deep.txt")
    info = sandbox.files.write(path, "deep")
    assert info.path == path
    assert _read_local(path) == b"deep"


def test_relative_path_resolves_under_root(sandbox, work):
    rel = work.r("rel", "x.txt")
    info = sandbox.files.write(rel, "relative")
    absolute = os.path.join(work.root, rel)
    assert info.path == absolute
    assert info.name == "x.txt"
    assert _read_local(absolute) == b"relative"
    assert sandbox.files.read(rel) == "relative"


def test_user_root_query_param(sandbox, work):
    path = work.p("as-root.txt")
    sandbox.files.write(path, "r", user="root")
    assert os.stat(path).st_uid == 0
    assert sandbox.files.read(path, user="root") == "r"


def test_write_octet_stream_file_like(sandbox, work):
    # A file-like object selects the application/octet-stream upload.
    path = work.p("filelike.bin")
    data = os.urandom(256 * 1024)
    info = sandbox.files.write(path, io.BytesIO(data))
    assert info.path == path
    assert _read_local(path) == data


def test_write_octet_stream_iterable_chunked(sandbox, work):
    # An iterable is sent as a chunked octet-stream body.
    path = work.p("chunks.bin")
    chunks = [os.urandom(10_000) for _ in range(20)]
    sandbox.files.write(path, iter(chunks))
    assert _read_local(path) == b"".join(chunks)


def test_write_octet_stream_explicit(sandbox, work):
    path = work.p("explicit.txt")
    sandbox.files.write(path, "octet", use_octet_stream=True)
    assert _read_local(path) == b"octet"


def test_write_gzip_upload_is_decompressed(sandbox, work):
    path = work.p("gz.txt")
    data = ("compress me " * 10_000).encode()
    info = sandbox.files.write(path, data, gzip=True)
    assert info.path == path
    assert _read_local(path) == data


def test_write_files_multipart_several(sandbox, work):
    # str/bytes entries: ONE multipart request, no ?path=, destinations are
    # carried by each part's filename.
    entries = [
        {"path": work.p("m", "one.txt"), "data": "one"},
        {"path": work.p("m", "two.bin"), "data": b"\x00two\xff"},
        {"path": work.r("m", "sub", "three.txt"), "data": "three"},
    ]
    infos = sandbox.files.write_files(entries)
    expected = {
        work.p("m", "one.txt"): b"one",
        work.p("m", "two.bin"): b"\x00two\xff",
        work.p("m", "sub", "three.txt"): b"three",
    }
    assert sorted(i.path for i in infos) == sorted(expected)
    assert all(i.type == FileType.FILE for i in infos)
    for path, data in expected.items():
        assert _read_local(path) == data


def test_write_files_octet_stream_several(sandbox, work):
    entries = [
        {"path": work.p("o", f"f{i}.bin"), "data": io.BytesIO(bytes([i]) * (i + 1))}
        for i in range(4)
    ]
    infos = sandbox.files.write_files(entries)
    assert [i.path for i in infos] == [work.p("o", f"f{i}.bin") for i in range(4)]
    for i in range(4):
        assert _read_local(work.p("o", f"f{i}.bin")) == bytes([i]) * (i + 1)


def test_write_to_directory_path_fails(sandbox, work):
    os.makedirs(work.p("isdir"))
    with pytest.raises(InvalidArgumentException):
        sandbox.files.write(work.p("isdir"), "x")


def test_read_missing_raises_file_not_found(sandbox, work):
    with pytest.raises(FileNotFoundException):
        sandbox.files.read(work.p("nope.txt"))


def test_read_directory_raises_invalid_argument(sandbox, work):
    with pytest.raises(InvalidArgumentException):
        sandbox.files.read(work.path)


def _user_xattrs_supported(directory) -> bool:
    probe = os.path.join(directory, ".xattr-probe")
    _write_local(probe, b"")
    try:
        os.setxattr(probe, "user.wrenn.probe", b"1")
        return True
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
            return False
        raise
    finally:
        os.remove(probe)


def test_write_metadata_stored_as_xattrs(sandbox, work):
    if not _user_xattrs_supported(work.path):
        pytest.skip("filesystem under envd root lacks user xattrs")
    path = work.p("meta.txt")
    sandbox.files.write(path, "m", metadata={"Owner": "wrenn", "stage": "test-1"})
    assert os.getxattr(path, "user.e2b.owner") == b"wrenn"
    info = sandbox.files.get_info(path)
    assert info.metadata == {"owner": "wrenn", "stage": "test-1"}


# --- large transfer ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_200mb_round_trip(sandbox, work, tmp_path):
    size = 200 * 1024 * 1024
    src = tmp_path / "big.bin"
    block = bytearray(os.urandom(1 << 20))
    h = hashlib.sha256()
    with open(src, "wb") as f:
        for i in range(size >> 20):
            block[:8] = i.to_bytes(8, "little")  # make every MiB distinct
            f.write(block)
            h.update(block)
    digest = h.hexdigest()

    dest = work.p("big.bin")
    with open(src, "rb") as f:  # file object -> streamed octet-stream upload
        info = sandbox.files.write(dest, f)
    assert info.path == dest
    assert os.path.getsize(dest) == size
    assert sha256_file(dest) == digest

    assert sandbox.files.get_info(dest).size == size

    h2, n = hashlib.sha256(), 0
    with sandbox.files.read(dest, format="stream") as stream:
        for chunk in stream:
            h2.update(chunk)
            n += len(chunk)
    assert n == size
    assert h2.hexdigest() == digest


# --- list / exists / make_dir / rename / remove / get_info -------------------


def _tree(work):
    _write_local(work.p("a.txt"), b"hello")
    os.makedirs(work.p("sub", "deeper"))
    _write_local(work.p("sub", "c.txt"), b"c")
    _write_local(work.p("sub", "deeper", "d.txt"), b"d")
    os.symlink(work.p("a.txt"), work.p("link"))


def test_list_depth_1(sandbox, work):
    _tree(work)
    entries = {e.name: e for e in sandbox.files.list(work.path)}
    assert set(entries) == {"a.txt", "sub", "link"}
    assert entries["a.txt"].type == FileType.FILE
    assert entries["a.txt"].path == work.p("a.txt")
    assert entries["a.txt"].size == 5
    assert entries["sub"].type == FileType.DIR
    assert entries["sub"].path == work.p("sub")
    assert entries["link"].type == FileType.SYMLINK


def test_list_depth_2(sandbox, work):
    _tree(work)
    paths = {e.path: e for e in sandbox.files.list(work.path, depth=2)}
    assert set(paths) == {
        work.p("a.txt"),
        work.p("sub"),
        work.p("link"),
        work.p("sub", "c.txt"),
        work.p("sub", "deeper"),
    }
    assert paths[work.p("sub", "c.txt")].name == "c.txt"
    assert paths[work.p("sub", "deeper")].type == FileType.DIR


def test_list_relative_path_gives_absolute_entries(sandbox, work):
    _write_local(work.p("r.txt"), b"r")
    entries = sandbox.files.list(work.rel)
    assert [e.path for e in entries] == [work.p("r.txt")]


def test_list_missing_raises_file_not_found(sandbox, work):
    with pytest.raises(FileNotFoundException):
        sandbox.files.list(work.p("missing"))


def test_list_file_raises_invalid_argument(sandbox, work):
    _write_local(work.p("f"), b"")
    with pytest.raises(InvalidArgumentException):
        sandbox.files.list(work.p("f"))


def test_exists(sandbox, work):
    _write_local(work.p("e.txt"), b"e")
    assert sandbox.files.exists(work.p("e.txt")) is True
    assert sandbox.files.exists(work.path) is True
    assert sandbox.files.exists(work.p("missing")) is False


def test_make_dir(sandbox, work):
    target = work.p("x", "y", "z")
    assert sandbox.files.make_dir(target) is True
    assert os.path.isdir(target)
    assert sandbox.files.make_dir(target) is False


def test_make_dir_relative(sandbox, work):
    assert sandbox.files.make_dir(work.r("reldir")) is True
    assert os.path.isdir(work.p("reldir"))


def test_rename_file(sandbox, work):
    _write_local(work.p("old.txt"), b"payload")
    info = sandbox.files.rename(work.p("old.txt"), work.p("new.txt"))
    assert info.name == "new.txt"
    assert info.path == work.p("new.txt")
    assert info.type == FileType.FILE
    assert not os.path.exists(work.p("old.txt"))
    assert _read_local(work.p("new.txt")) == b"payload"


def test_rename_directory_into_new_parent(sandbox, work):
    os.makedirs(work.p("d1"))
    _write_local(work.p("d1", "f"), b"f")
    info = sandbox.files.rename(work.p("d1"), work.p("p", "q", "d2"))
    assert info.type == FileType.DIR
    assert info.path == work.p("p", "q", "d2")
    assert _read_local(work.p("p", "q", "d2", "f")) == b"f"


def test_rename_missing_raises_file_not_found(sandbox, work):
    with pytest.raises(FileNotFoundException):
        sandbox.files.rename(work.p("ghost"), work.p("ghost2"))


def test_remove_file_and_tree(sandbox, work):
    _tree(work)
    sandbox.files.remove(work.p("a.txt"))
    assert not os.path.exists(work.p("a.txt"))
    sandbox.files.remove(work.p("sub"))  # non-empty directory
    assert not os.path.exists(work.p("sub"))
    assert sandbox.files.exists(work.p("sub")) is False


def test_remove_symlink_keeps_target(sandbox, work):
    _write_local(work.p("target"), b"t")
    os.symlink(work.p("target"), work.p("lnk"))
    sandbox.files.remove(work.p("lnk"))
    assert not os.path.lexists(work.p("lnk"))
    assert _read_local(work.p("target")) == b"t"


def test_get_info_file(sandbox, work):
    path = work.p("info.txt")
    _write_local(path, b"12345678")
    os.chmod(path, 0o640)
    mtime = 1_700_000_000
    os.utime(path, (mtime, mtime))
    info = sandbox.files.get_info(path)
    assert info.name == "info.txt"
    assert info.path == path
    assert info.type == FileType.FILE
    assert info.size == 8
    assert info.mode == 0o640
    assert info.permissions == "-rw-r-----"
    assert info.owner == "root"
    assert info.group == "root"
    assert info.modified_time == datetime.fromtimestamp(mtime, tz=timezone.utc)
    assert info.symlink_target is None


def test_get_info_directory(sandbox, work):
    os.makedirs(work.p("dd"))
    os.chmod(work.p("dd"), 0o755)
    info = sandbox.files.get_info(work.p("dd"))
    assert info.type == FileType.DIR
    assert info.name == "dd"
    assert info.path == work.p("dd")
    assert info.mode == 0o755
    assert info.permissions == "drwxr-xr-x"


def test_get_info_symlink_to_file(sandbox, work):
    target = work.p("real.txt")
    _write_local(target, b"real")
    os.symlink(target, work.p("alias"))
    info = sandbox.files.get_info(work.p("alias"))
    assert info.type == FileType.SYMLINK
    assert info.name == "alias"
    assert info.path == work.p("alias")
    assert info.symlink_target == target


def test_get_info_symlink_to_dir_relative_target(sandbox, work):
    os.makedirs(work.p("realdir"))
    os.symlink("realdir", work.p("dirlink"))  # relative link text
    info = sandbox.files.get_info(work.p("dirlink"))
    assert info.type == FileType.SYMLINK
    # the target is reported resolved (absolute), like E2B's envd
    assert info.symlink_target == work.p("realdir")


def test_get_info_relative_path(sandbox, work):
    _write_local(work.p("rel-info"), b"x")
    info = sandbox.files.get_info(work.r("rel-info"))
    assert info.path == work.p("rel-info")


def test_get_info_missing_raises_file_not_found(sandbox, work):
    with pytest.raises(FileNotFoundException):
        sandbox.files.get_info(work.p(f"missing-{uuid.uuid4().hex}"))
