"""Upload safety (layers/io/safety.py): extensions, size, zip checks, temporary folders."""

from __future__ import annotations

import os
import stat
import time
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from layers.io import safety


@pytest.fixture(autouse=True)
def private_tmp(settings, tmp_path):
    settings.IMPORT_TMP_DIR = str(tmp_path / "imports")
    Path(settings.IMPORT_TMP_DIR).mkdir()
    return Path(settings.IMPORT_TMP_DIR)


def shapefile_zip(path: Path, members: dict[str, bytes] | None = None, **options) -> Path:
    members = members or {"a.shp": b"x" * 100, "a.shx": b"x" * 20, "a.dbf": b"x" * 30}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, **options) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def refused(path: Path, words: str, private_tmp: Path):
    with pytest.raises(safety.UploadRefused, match=words), safety.prepared(path):
        pass
    assert list(private_tmp.iterdir()) == []  # the import's folder is gone


def test_a_good_archive_is_extracted_flat_and_removed_afterwards(tmp_path, private_tmp):
    path = shapefile_zip(
        tmp_path / "ok.zip", {"dir/a.shp": b"1", "dir/a.shx": b"2", "dir/a.dbf": b"3"}
    )
    with safety.prepared(path) as folder:
        assert sorted(p.name for p in folder.iterdir()) == ["a.dbf", "a.shp", "a.shx"]
        assert folder.is_relative_to(private_tmp)
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("../evil.shp", r"leaves the archive"),
        ("a/../../evil.shp", r"leaves the archive"),
        ("/etc/evil.shp", "absolute"),
        ("C:/evil.shp", "absolute"),
        ("..\\evil.shp", "absolute or Windows"),
        ("run.sh", "not a shapefile part"),
    ],
)
def test_bad_member_names(tmp_path, private_tmp, name, words):
    members = {name: b"x", "a.shx": b"x", "a.dbf": b"x"}
    refused(shapefile_zip(tmp_path / "bad.zip", members), words, private_tmp)


def test_symlink_member(tmp_path, private_tmp):
    path = tmp_path / "link.zip"
    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo("a.shp")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
        archive.writestr("a.shx", b"x")
    refused(path, "symbolic link", private_tmp)


def test_too_many_members(tmp_path, private_tmp, settings):
    settings.IMPORT_ZIP_MAX_MEMBERS = 5
    members = {f"part{i}.xml": b"x" for i in range(6)}
    refused(shapefile_zip(tmp_path / "many.zip", members), "6 members; at most 5", private_tmp)


def test_zip_bomb_by_ratio(tmp_path, private_tmp):
    members = {"a.shp": b"\0" * 5_000_000, "a.shx": b"x", "a.dbf": b"x"}
    refused(shapefile_zip(tmp_path / "bomb.zip", members), "compressed", private_tmp)


def test_unpacked_total(tmp_path, private_tmp, settings):
    settings.IMPORT_MAX_UNPACKED_BYTES = 100
    members = {"a.shp": os.urandom(80), "a.shx": os.urandom(30), "a.dbf": b"x"}
    refused(shapefile_zip(tmp_path / "big.zip", members), "unpacks to 111 bytes", private_tmp)


def test_headers_that_lie_are_caught_while_extracting(tmp_path, private_tmp):
    path = shapefile_zip(tmp_path / "lie.zip", {"a.shp": b"y" * 1000, "a.shx": b"x", "a.dbf": b"x"})
    data = bytearray(path.read_bytes())
    # Shrink the declared size of a.shp in the central directory (uncompressed size field).
    central = data.rfind(b"PK\x01\x02", 0, data.find(b"a.shp", data.find(b"PK\x01\x02")) + 1)
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    refused(path, "more than it declares|damaged", private_tmp)


def test_encrypted_or_broken_archives(tmp_path, private_tmp):
    path = shapefile_zip(tmp_path / "enc.zip")
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    data[central + 8] |= 0x1  # the encryption flag
    path.write_bytes(bytes(data))
    refused(path, "encrypted", private_tmp)
    (tmp_path / "broken.zip").write_bytes(b"PK not really")
    refused(tmp_path / "broken.zip", "not a readable zip", private_tmp)


def test_one_shapefile_per_archive(tmp_path, private_tmp):
    members = {"a.shp": b"x", "b.shp": b"x", "a.dbf": b"x"}
    refused(shapefile_zip(tmp_path / "two.zip", members), "exactly one .shp", private_tmp)
    refused(shapefile_zip(tmp_path / "none.zip", {"a.dbf": b"x"}), "exactly one .shp", private_tmp)


@pytest.mark.parametrize("name", ["data.exe", "data.shp.php", "noext", "a.vrt", "x.tar.gz"])
def test_extensions(name):
    with pytest.raises(safety.UploadRefused, match="not accepted"):
        safety.check_name(name)


def test_upload_size_limit_and_cleanup(settings, private_tmp):
    settings.IMPORT_MAX_BYTES = 10
    upload = SimpleUploadedFile("big.geojson", b"x" * 11)
    with pytest.raises(safety.UploadRefused, match="at most 10"), safety.received(upload):
        pass
    assert list(private_tmp.iterdir()) == []
    small = SimpleUploadedFile("../../small.geojson", b"{}")
    with safety.received(small) as path:
        assert path.name == "upload.geojson" and path.parent.parent == private_tmp
    assert list(private_tmp.iterdir()) == []


def test_a_failing_import_still_removes_its_folder(private_tmp):
    upload = SimpleUploadedFile("a.csv", b"lon,lat\n")
    with pytest.raises(RuntimeError), safety.received(upload):
        raise RuntimeError("killed")
    assert list(private_tmp.iterdir()) == []


def test_folders_left_by_a_killed_process_are_swept(private_tmp, settings):
    stale = private_tmp / f"{safety.PREFIX}old"
    fresh = private_tmp / f"{safety.PREFIX}new"
    for folder in (stale, fresh):
        folder.mkdir()
        (folder / "upload.zip").write_bytes(b"x")
    old = time.time() - settings.IMPORT_TMP_MAX_AGE - 60
    os.utime(stale, (old, old))
    with safety.workspace():
        pass
    assert not stale.exists() and fresh.exists()


@pytest.mark.parametrize(
    "path",
    ["/vsizip/tmp/a.zip/a.shp", "/vsicurl/http://example.invalid/a.geojson", "x/VSIMEM/a.csv"],
)
def test_gdal_virtual_paths_are_never_opened(path):
    from layers.io import read

    with pytest.raises(safety.UploadRefused, match="virtual"), safety.prepared(Path(path)):
        pass
    with pytest.raises(read.ReadError, match="virtual"):
        read.read(Path(path))
