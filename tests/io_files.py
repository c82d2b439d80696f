"""Files for the import/export tests, made in tmp_path (no binary fixtures in git)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely

from layers.geo import files as io_crs

# An empty corner of the service area (tests/factories.py ORIGIN), in lon/lat.
BASE = (119.963, 31.793)


def points(n: int, *, step: float = 0.0002) -> list[shapely.Point]:
    return [shapely.Point(BASE[0] + step * i, BASE[1] + step * (i % 3)) for i in range(n)]


def service_rows(n: int, prefix: str = "IO") -> list[dict]:
    return [
        {
            "ref": f"{prefix}-{i:03d}",
            "name": f"导入服务点{i}",
            "kind": "grid_station",
            "services": "consultation、matters",
            "status": "open",
            "phone": f"0519-8888{i:04d}",
        }
        for i in range(n)
    ]


def frame(rows: list[dict], geoms, key=4326) -> gpd.GeoDataFrame:
    """Rows with lon/lat geometries converted to CRS `key` and labelled with it."""
    converted = io_crs.from_storage(list(geoms), key)
    return gpd.GeoDataFrame(rows, geometry=list(converted), crs=io_crs.file_crs(key))


def write(data: gpd.GeoDataFrame, path: Path, *, prj: bool = True) -> Path:
    """GeoJSON, GPKG, KML by suffix; `.zip` a zipped shapefile (without .prj if prj=False)."""
    path = Path(path)
    if path.suffix == ".zip":
        folder = path.with_suffix("")
        folder.mkdir()
        pyogrio.write_dataframe(data, folder / "data.shp", encoding="UTF-8")
        if not prj:
            (folder / "data.prj").unlink()
        with zipfile.ZipFile(path, "w") as archive:
            for part in folder.iterdir():
                archive.write(part, part.name)
        return path
    if path.suffix == ".geojson" and data.crs is not None and data.crs.to_epsg() != 4326:
        pyogrio.write_dataframe(data, path, driver="GeoJSON", RFC7946="NO")
        return path
    driver = {".geojson": "GeoJSON", ".gpkg": "GPKG", ".kml": "KML"}[path.suffix]
    if driver == "KML":
        data = data.rename(columns={"name": "Name"})
    pyogrio.write_dataframe(data, path, driver=driver)
    return path


def csv(path: Path, header: list[str], rows: list[list]) -> Path:
    import csv as csv_module

    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv_module.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return Path(path)


def geojson(path: Path, features: list[dict]) -> Path:
    Path(path).write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
        encoding="utf-8",
    )
    return Path(path)
