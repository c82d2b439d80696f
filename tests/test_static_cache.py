"""Fast restarts: collectstatic runs only when the static sources changed
(tools/collectstatic_cached.py, called by tools/serve.py on every `make run`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "collectstatic_cached.py"


def _settings_module(folder: Path, extra: Path, static_root: Path, storage: str) -> str:
    """A settings module of the test's own: the project's settings plus one more static
    folder (so the test may change a source file without touching the checkout)."""
    (folder / "static_cache_settings.py").write_text(
        "from geo_service.settings import *  # noqa\n"
        f"STATICFILES_DIRS = [*STATICFILES_DIRS, {str(extra)!r}]\n"
        f"STATIC_ROOT = {str(static_root)!r}\n"
        "STORAGES = {'default': {'BACKEND': 'django.core.files.storage.FileSystemStorage'},"
        f" 'staticfiles': {{'BACKEND': {storage!r}}}}}\n"
    )
    return "static_cache_settings"


def _start(folder: Path, module: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(DJANGO_SETTINGS_MODULE=module, PYTHONPATH=f"{folder}{os.pathsep}{ROOT}")
    result = subprocess.run(
        [sys.executable, str(TOOL), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.slow
def test_the_second_start_skips_collectstatic_until_a_static_file_changes(tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "site.css").write_text("body { color: #123; }\n")
    static_root = tmp_path / "collected"
    module = _settings_module(
        tmp_path, extra, static_root, "django.contrib.staticfiles.storage.StaticFilesStorage"
    )
    marker = tmp_path / "collected.sources.json"

    first = _start(tmp_path, module)
    assert first.startswith("collectstatic: collected"), first
    assert (static_root / "site.css").read_text() == "body { color: #123; }\n"
    assert (static_root / "admin").is_dir()  # the apps' files too, not only ours
    recorded = json.loads(marker.read_text())
    assert recorded["files"] > 100 and len(recorded["sha256"]) == 64

    # Second start, nothing changed: collectstatic does not run. A collected file removed
    # behind its back stays removed (collectstatic would have copied it again).
    (static_root / "admin" / "css" / "base.css").unlink()
    second = _start(tmp_path, module)
    assert second.startswith("collectstatic: skipped"), second
    assert not (static_root / "admin" / "css" / "base.css").exists()
    assert json.loads(marker.read_text()) == recorded

    # A static source changes (same size, new content and time): collected again.
    source = extra / "site.css"
    source.write_text("body { color: #456; }\n")
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    third = _start(tmp_path, module)
    assert third.startswith("collectstatic: collected"), third
    assert (static_root / "site.css").read_text() == "body { color: #456; }\n"
    assert json.loads(marker.read_text())["sha256"] != recorded["sha256"]

    # A new file is a change too; so is a deleted output folder.
    (extra / "new.js").write_text("1;\n")
    assert _start(tmp_path, module).startswith("collectstatic: collected")
    assert _start(tmp_path, module).startswith("collectstatic: skipped")
    import shutil

    shutil.rmtree(static_root)
    assert _start(tmp_path, module).startswith("collectstatic: collected")
    assert (static_root / "new.js").exists()
    assert _start(tmp_path, module, "--force").startswith("collectstatic: collected")


def test_a_manifest_storage_without_its_manifest_is_collected_again(tmp_path):
    """The production storage needs staticfiles.json: a fingerprint alone is not enough."""
    from django.test import override_settings

    import tools.collectstatic_cached as cached

    static_root = tmp_path / "collected"
    static_root.mkdir()
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=static_root, STORAGES=storages):
        assert cached.sources_file() == tmp_path / "collected.sources.json"
        assert not cached.collected_output_present()
        (static_root / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')
        assert cached.collected_output_present()
