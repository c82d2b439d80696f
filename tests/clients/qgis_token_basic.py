"""Run by tests/test_gis_token_live.py under Debian's /usr/bin/python3 with python3-qgis,
headless (QT_QPA_PLATFORM=offscreen), against a server that refuses passwords over plain HTTP.

QGIS 3.22's authentication database offers Basic; the planner's API token is its password
(user name "qgis", any would do). QGIS opens the internal hazards layer through its OAPIF and
WFS providers over plain HTTP and reads features; a write through QGIS's network stack with
the same configuration is refused (403); the real password in a Basic configuration is
refused (the layer does not open).

Usage: qgis_token_basic.py BASE TOKEN USERNAME PASSWORD ; prints one JSON object.
"""

import json
import os
import sys

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsAuthMethodConfig,
    QgsBlockingNetworkRequest,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QByteArray, QUrl
from qgis.PyQt.QtNetwork import QNetworkRequest


def basic_config(manager, name, username, password):
    config = QgsAuthMethodConfig()
    config.setMethod("Basic")
    config.setName(name)
    config.setConfig("username", username)
    config.setConfig("password", password)
    manager.storeAuthenticationConfig(config)
    return config.id()


def oapif(base, typename, authcfg):
    uri = f"url='{base}/ogc' typename='{typename}' authcfg='{authcfg}'"
    return QgsVectorLayer(uri, typename, "OAPIF")


def wfs(base, typename, authcfg):
    uri = (
        f"url='{base}/wfs/' typename='app:{typename}' version='2.0.0' "
        f"srsname='EPSG:4326' pagingEnabled='true' authcfg='{authcfg}'"
    )
    return QgsVectorLayer(uri, typename, "WFS")


def status(http):
    return http.reply().attribute(QNetworkRequest.HttpStatusCodeAttribute)


def main():
    base, token, username, password = sys.argv[1:5]
    app = QgsApplication([], False)
    app.initQgis()
    out = {"qgis": Qgis.QGIS_VERSION}
    manager = QgsApplication.authManager()
    manager.setMasterPassword("test-master", True)
    with_token = basic_config(manager, "hehuachi token", "qgis", token)
    with_password = basic_config(manager, "hehuachi password", username, password)

    # First (QGIS's network cache would otherwise answer it from the token's responses):
    # the real password over plain HTTP.
    refused = oapif(base, "hazards", with_password)
    out["password_hazards_valid"] = refused.isValid()

    hazards = oapif(base, "hazards", with_token)
    names = [f["name"] for f in hazards.getFeatures()] if hazards.isValid() else []
    out["oapif_hazards"] = [hazards.isValid(), hazards.featureCount(), len(names)]
    out["oapif_fields"] = [f.name() for f in hazards.fields()]
    out["oapif_names"] = names[:3]
    over_wfs = wfs(base, "hazards", with_token)
    read = [f.id() for f in over_wfs.getFeatures()] if over_wfs.isValid() else []
    out["wfs_hazards"] = [over_wfs.isValid(), len(read)]

    http = QgsBlockingNetworkRequest()
    http.setAuthCfg(with_token)
    http.get(QNetworkRequest(QUrl(f"{base}/tiles/hazards.json")), True)
    out["tilejson_status"] = status(http)
    post = QNetworkRequest(QUrl(f"{base}/ogc/collections/viewpoints/items"))
    post.setHeader(QNetworkRequest.ContentTypeHeader, "application/geo+json")
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [119.9451, 31.7826]},
        "properties": {"name": "QGIS 明文", "theme": "streetscape", "status": "planned"},
    }
    http.post(post, QByteArray(json.dumps(feature).encode()))
    out["post_status"] = status(http)
    out["post_body"] = bytes(http.reply().content()).decode("utf-8", "replace")[:400]
    print(json.dumps(out, ensure_ascii=False), flush=True)
    # QGIS 3.22's Python bindings may crash while tearing down; the answer is already out.
    os._exit(0)


main()
