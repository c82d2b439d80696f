"""Upload safety: size limit, extension whitelist, zip checks, one temporary folder per import.

A zip is checked before anything is extracted: no absolute paths, no `..`, no links, no
encryption, at most IMPORT_ZIP_MAX_MEMBERS members of a shapefile's extensions, an unpacked total
under IMPORT_MAX_UNPACKED_BYTES and no member compressed more than IMPORT_ZIP_MAX_RATIO : 1
(zip bombs). Members are then extracted by us, flat, counting the bytes actually written (the
headers could lie). GDAL only ever opens the files extracted here, by their plain local path:
never a /vsizip/ or /vsicurl/ path. The folder is removed in `finally`; a folder left by a killed
process is swept by the next import once older than IMPORT_TMP_MAX_AGE.
"""

from __future__ import annotations

import shutil
import stat
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath, PureWindowsPath

from django.conf import settings

from layers.io.read import FORMATS

PREFIX = "hehuachi-import-"
# What a file given to an import may be (a bare .shp only from the command line).
UPLOAD_EXTENSIONS = tuple(ext for ext in FORMATS if ext != ".shp")
# What a zipped shapefile may hold.
SHAPEFILE_MEMBERS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml")
CHUNK = 1024 * 1024


class UploadRefused(ValueError):
    """Why an upload is refused; nothing was imported."""


def tmp_root() -> Path:
    return Path(settings.IMPORT_TMP_DIR or tempfile.gettempdir())


def sweep_stale(now: float | None = None) -> list[Path]:
    """Remove import folders older than IMPORT_TMP_MAX_AGE (left by a killed process)."""
    now = time.time() if now is None else now
    removed = []
    for folder in tmp_root().glob(PREFIX + "*"):
        try:
            old = now - folder.lstat().st_mtime > settings.IMPORT_TMP_MAX_AGE
        except FileNotFoundError:
            continue
        if old and folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@contextmanager
def workspace() -> Iterator[Path]:
    """A fresh private folder for one import, always removed on leaving."""
    sweep_stale()
    folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=tmp_root()))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def check_name(name: str, allowed=UPLOAD_EXTENSIONS) -> str:
    """The lower-case extension of a file name, if on the list; UploadRefused otherwise."""
    suffix = PurePosixPath(PureWindowsPath(str(name)).name).suffix.lower()
    if suffix not in allowed:
        raise UploadRefused(
            f"file type {suffix or '(none)'!r} is not accepted; use {', '.join(allowed)}"
        )
    return suffix


def _member_refusal(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if "\\" in name or name.startswith("/") or PureWindowsPath(name).drive:
        return f"{name!r}: absolute or Windows path"
    if ".." in PurePosixPath(name).parts:
        return f"{name!r}: path leaves the archive (..)"
    if stat.S_ISLNK(info.external_attr >> 16):
        return f"{name!r}: a symbolic link"
    if info.flag_bits & 0x1:
        return f"{name!r}: encrypted"
    if info.is_dir():
        return None
    if PurePosixPath(name).suffix.lower() not in SHAPEFILE_MEMBERS:
        return f"{name!r}: not a shapefile part ({', '.join(SHAPEFILE_MEMBERS)})"
    ratio = info.file_size / max(info.compress_size, 1)
    if ratio > settings.IMPORT_ZIP_MAX_RATIO:
        return f"{name!r}: compressed {ratio:.0f}:1, more than {settings.IMPORT_ZIP_MAX_RATIO}:1"
    return None


def check_zip(path: Path) -> list[zipfile.ZipInfo]:
    """The members to extract, after every check; UploadRefused naming the first problem."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UploadRefused(f"not a readable zip archive: {exc}") from None
    with archive:
        members = archive.infolist()
    if len(members) > settings.IMPORT_ZIP_MAX_MEMBERS:
        raise UploadRefused(
            f"the archive has {len(members)} members; at most {settings.IMPORT_ZIP_MAX_MEMBERS}"
        )
    total = 0
    names: set[str] = set()
    for info in members:
        refusal = _member_refusal(info)
        if refusal:
            raise UploadRefused(refusal)
        if info.is_dir():
            continue
        base = PurePosixPath(info.filename).name.lower()
        if base in names:
            raise UploadRefused(f"{info.filename!r}: two members of the same name")
        names.add(base)
        total += info.file_size
    if total > settings.IMPORT_MAX_UNPACKED_BYTES:
        raise UploadRefused(
            f"the archive unpacks to {total} bytes; at most {settings.IMPORT_MAX_UNPACKED_BYTES}"
        )
    files = [m for m in members if not m.is_dir()]
    if sum(PurePosixPath(m.filename).suffix.lower() == ".shp" for m in files) != 1:
        raise UploadRefused("the archive must hold exactly one .shp file (with .shx and .dbf)")
    return files


def extract_zip(path: Path, folder: Path) -> Path:
    """Check, then extract the members flat into `folder`, counting real bytes; the folder."""
    members = check_zip(path)
    folder.mkdir(parents=True, exist_ok=True)
    budget = settings.IMPORT_MAX_UNPACKED_BYTES
    try:
        with zipfile.ZipFile(path) as archive:
            for info in members:
                target = folder / PurePosixPath(info.filename).name
                written = 0
                with archive.open(info) as source, target.open("xb") as out:
                    while chunk := source.read(CHUNK):
                        written += len(chunk)
                        budget -= len(chunk)
                        if written > info.file_size or budget < 0:
                            raise UploadRefused(
                                f"{info.filename!r} unpacks to more than it declares"
                            )
                        out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise UploadRefused(f"the archive is damaged: {exc}") from None
    return folder


def save_upload(upload, folder: Path) -> Path:
    """An uploaded file (Django UploadedFile) saved into `folder` under a name of ours."""
    suffix = check_name(upload.name)
    if upload.size > settings.IMPORT_MAX_BYTES:
        raise UploadRefused(
            f"the file has {upload.size} bytes; at most {settings.IMPORT_MAX_BYTES}"
        )
    target = folder / f"upload{suffix}"
    written = 0
    with target.open("xb") as out:
        for chunk in upload.chunks():
            written += len(chunk)
            if written > settings.IMPORT_MAX_BYTES:
                raise UploadRefused(f"the file is larger than {settings.IMPORT_MAX_BYTES} bytes")
            out.write(chunk)
    return target


def extract_or_keep(path: Path, folder: Path) -> Path:
    """What the readers open: a zip's extracted folder (checked), or the file itself."""
    return _readable(path, folder)


def _readable(path: Path, folder: Path) -> Path:
    if path.suffix.lower() == ".zip":
        return extract_zip(path, folder / "unzipped")
    return path


@contextmanager
def prepared(path: Path) -> Iterator[Path]:
    """A local file given on the command line, as a path the readers may open (a zip is
    checked and extracted into a private folder, removed afterwards)."""
    path = Path(path)
    if "/vsi" in str(path).lower():
        raise UploadRefused("GDAL virtual paths (/vsi…) are not opened")
    check_name(path.name, allowed=(*UPLOAD_EXTENSIONS, ".shp"))
    if not path.is_file():
        raise UploadRefused(f"no file {path}")
    if path.stat().st_size > settings.IMPORT_MAX_BYTES:
        raise UploadRefused(f"the file is larger than {settings.IMPORT_MAX_BYTES} bytes")
    with workspace() as folder:
        yield _readable(path, folder)


@contextmanager
def received(upload) -> Iterator[Path]:
    """An uploaded file, saved and checked in a private folder that is removed afterwards."""
    with workspace() as folder:
        yield _readable(save_upload(upload, folder), folder)
