"""capsule.files: read, read_bytes, write, list, exists, make_dir, remove,
upload_stream and download_stream (contract §6.4, §11.2-§11.6).

Effects are cross-checked through commands (and the other way round), so a
test does not only trust the file API to agree with itself.
"""

import hashlib

import httpx
import pytest
from wrenn import FileEntry, WrennNotFoundError

from _helpers import MIB, pseudo_random_chunks, sha256_of

# ── write / read ────────────────────────────────────────────────────────────


def test_write_str_then_read(capsule, workdir):
    path = f"{workdir}/hello.txt"
    capsule.files.write(path, "hello, wrenn ✓\n")
    assert capsule.files.read(path) == "hello, wrenn ✓\n"
    assert capsule.commands.run(f"cat {path}").stdout == "hello, wrenn ✓\n"


def test_write_bytes_round_trips_every_byte_value(capsule, workdir):
    path = f"{workdir}/all-bytes.bin"
    data = bytes(range(256)) * 64
    capsule.files.write(path, data)
    assert capsule.files.read_bytes(path) == data
    digest = capsule.commands.run(f"sha256sum {path}").stdout.split()[0]
    assert digest == hashlib.sha256(data).hexdigest()


def test_write_creates_missing_parent_directories(capsule, workdir):
    path = f"{workdir}/a/b/c/deep.txt"
    capsule.files.write(path, "deep")
    assert capsule.commands.run(f"cat {path}").stdout == "deep"


def test_write_replaces_existing_content(capsule, workdir):
    path = f"{workdir}/replace.txt"
    capsule.files.write(path, "a much longer first version")
    capsule.files.write(path, "short")
    assert capsule.files.read(path) == "short"


def test_write_empty_file(capsule, workdir):
    path = f"{workdir}/empty"
    capsule.files.write(path, b"")
    assert capsule.files.read_bytes(path) == b""
    assert capsule.commands.run(f"stat -c %s {path}").stdout == "0\n"


def test_read_of_a_file_written_by_a_command(capsule, workdir):
    capsule.commands.run(f"mkdir -p {workdir} && printf 'from shell' > {workdir}/sh.txt")
    assert capsule.files.read(f"{workdir}/sh.txt") == "from shell"


def test_read_of_non_utf8_file_replaces_invalid_bytes(capsule, workdir):
    path = f"{workdir}/latin1.txt"
    capsule.files.write(path, b"caf\xe9")
    assert capsule.files.read(path) == "caf\ufffd"
    assert capsule.files.read_bytes(path) == b"caf\xe9"


def test_read_of_a_missing_file_is_not_found(capsule, workdir):
    with pytest.raises(WrennNotFoundError):
        capsule.files.read(f"{workdir}/missing.txt")
    with pytest.raises(WrennNotFoundError):
        capsule.files.read_bytes(f"{workdir}/missing.bin")


def test_unicode_file_names(capsule, workdir):
    path = f"{workdir}/naïve résumé ☃.txt"
    capsule.files.write(path, "snow")
    assert capsule.files.read(path) == "snow"
    names = [e.name for e in capsule.files.list(workdir)]
    assert "naïve résumé ☃.txt" in names


# ── list / exists ───────────────────────────────────────────────────────────


def test_list_describes_files_and_directories(capsule, workdir):
    capsule.files.write(f"{workdir}/file.txt", "12345")
    capsule.commands.run(f"mkdir {workdir}/sub && chmod 750 {workdir}/file.txt")
    entries = {e.name: e for e in capsule.files.list(workdir)}
    assert set(entries) == {"file.txt", "sub"}

    f = entries["file.txt"]
    assert isinstance(f, FileEntry)
    assert f.type == "file"
    assert f.path == f"{workdir}/file.txt"
    assert f.size == 5
    assert f.mode is not None and f.mode & 0o777 == 0o750
    assert f.permissions == "-rwxr-x---"
    assert f.owner == "root"
    assert isinstance(f.modified_at, int) and f.modified_at > 1_600_000_000

    d = entries["sub"]
    assert d.type == "directory"
    assert d.path == f"{workdir}/sub"


def test_list_reports_symlinks_and_their_targets(capsule, workdir):
    capsule.files.write(f"{workdir}/target.txt", "t")
    capsule.commands.run(f"ln -s target.txt {workdir}/link")
    entries = {e.name: e for e in capsule.files.list(workdir)}
    assert entries["link"].type == "symlink"
    assert entries["link"].symlink_target in ("target.txt", f"{workdir}/target.txt")


def test_list_depth_one_shows_only_immediate_children(capsule, workdir):
    capsule.files.write(f"{workdir}/top.txt", "x")
    capsule.files.write(f"{workdir}/nested/inner.txt", "y")
    names = sorted(e.name for e in capsule.files.list(workdir, depth=1))
    assert names == ["nested", "top.txt"]


def test_list_deeper_includes_grandchildren(capsule, workdir):
    capsule.files.write(f"{workdir}/nested/inner.txt", "y")
    paths = {e.path for e in capsule.files.list(workdir, depth=2)}
    assert f"{workdir}/nested" in paths
    assert f"{workdir}/nested/inner.txt" in paths


def test_list_of_an_empty_directory_is_empty(capsule, workdir):
    capsule.files.make_dir(workdir)
    assert capsule.files.list(workdir) == []


def test_list_of_a_missing_directory_is_not_found(capsule, workdir):
    with pytest.raises(WrennNotFoundError):
        capsule.files.list(f"{workdir}/nope")


def test_exists(capsule, workdir):
    capsule.files.write(f"{workdir}/here.txt", "x")
    assert capsule.files.exists(f"{workdir}/here.txt") is True
    assert capsule.files.exists(workdir) is True
    assert capsule.files.exists(f"{workdir}/absent.txt") is False
    assert capsule.files.exists(f"{workdir}/no/such/parent.txt") is False


# ── make_dir / remove ───────────────────────────────────────────────────────


def test_make_dir_creates_parents_and_returns_the_entry(capsule, workdir):
    entry = capsule.files.make_dir(f"{workdir}/x/y/z")
    assert entry.type == "directory"
    assert entry.name == "z"
    assert entry.path == f"{workdir}/x/y/z"
    assert capsule.commands.run(f"test -d {workdir}/x/y/z && echo dir").stdout == "dir\n"


def test_make_dir_is_idempotent(capsule, workdir):
    first = capsule.files.make_dir(f"{workdir}/again")
    capsule.files.write(f"{workdir}/again/keep.txt", "keep")
    second = capsule.files.make_dir(f"{workdir}/again")
    assert second.type == "directory"
    assert second.name == first.name == "again"
    assert capsule.files.read(f"{workdir}/again/keep.txt") == "keep"


def test_remove_a_file(capsule, workdir):
    capsule.files.write(f"{workdir}/gone.txt", "x")
    capsule.files.remove(f"{workdir}/gone.txt")
    assert capsule.files.exists(f"{workdir}/gone.txt") is False
    assert capsule.commands.run(f"test -e {workdir}/gone.txt").exit_code == 1


def test_remove_a_directory_is_recursive(capsule, workdir):
    capsule.files.write(f"{workdir}/tree/a/b.txt", "x")
    capsule.files.write(f"{workdir}/tree/c.txt", "y")
    capsule.files.remove(f"{workdir}/tree")
    assert capsule.files.exists(f"{workdir}/tree") is False


def test_remove_of_a_missing_path_is_not_found(capsule, workdir):
    with pytest.raises(WrennNotFoundError):
        capsule.files.remove(f"{workdir}/never-existed")


# ── streams ─────────────────────────────────────────────────────────────────


def test_upload_stream_writes_all_chunks_in_order(capsule, workdir):
    path = f"{workdir}/up/streamed.txt"  # parent does not exist yet
    chunks = [b"first,", b"", b"second,", b"x" * 100_000, b",last"]
    capsule.files.upload_stream(path, iter(chunks))
    assert capsule.files.read_bytes(path) == b"".join(chunks)


def test_upload_stream_of_nothing_makes_an_empty_file(capsule, workdir):
    path = f"{workdir}/nothing.bin"
    capsule.files.upload_stream(path, iter([]))
    assert capsule.files.read_bytes(path) == b""


def test_download_stream_returns_the_file(capsule, workdir):
    path = f"{workdir}/down.bin"
    capsule.commands.run(f"mkdir -p {workdir} && head -c 300000 /dev/urandom > {path}")
    expected = capsule.files.read_bytes(path)
    got = b"".join(capsule.files.download_stream(path))
    assert len(got) == 300_000
    assert got == expected


def test_download_stream_of_a_missing_file_raises_http_status_error(capsule, workdir):
    with pytest.raises(httpx.HTTPStatusError) as exc:
        b"".join(capsule.files.download_stream(f"{workdir}/missing.bin"))
    assert exc.value.response.status_code == 404


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_64_mib_streamed_round_trip_keeps_every_byte(capsule, workdir):
    size = 64 * MIB
    path = f"{workdir}/big.bin"
    want_sha, want_size = sha256_of(pseudo_random_chunks(size))
    assert want_size == size

    capsule.files.upload_stream(path, pseudo_random_chunks(size))

    in_capsule = capsule.commands.run(f"sha256sum {path} && stat -c %s {path}", timeout=120)
    digest_line, size_line = in_capsule.stdout.splitlines()
    assert digest_line.split()[0] == want_sha
    assert int(size_line) == size
    entry = next(e for e in capsule.files.list(workdir) if e.name == "big.bin")
    assert entry.size == size

    got_sha, got_size = sha256_of(capsule.files.download_stream(path))
    assert got_size == size
    assert got_sha == want_sha
