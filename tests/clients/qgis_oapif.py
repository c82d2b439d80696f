"""Run by tests/test_gis_clients.py under Debian's /usr/bin/python3 with python3-qgis, headless
(QT_QPA_PLATFORM=offscreen). QGIS's own OAPIF provider opens our /ogc (no trailing slash, as
README gives it) anonymously and with a planner's account (QGIS's Basic auth method), counts
features, applies a filter, and edits one feature through OGC API Features Part 4.

QGIS 3.22 (Debian 12) has no Part 4 editing in its provider (it came in a later QGIS), so the
edit goes through QGIS's network stack with the same auth configuration: read the feature and
its ETag, PUT it back changed with If-Match, read it again through the provider.

Usage: qgis_oapif.py BASE USERNAME PASSWORD ; prints one JSON object.
"""

import json
import os
import sys

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsAuthMethodConfig,
    QgsBlockingNetworkRequest,
    QgsFeatureRequest,
    QgsVectorDataProvider,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QByteArray, QUrl
from qgis.PyQt.QtNetwork import QNetworkRequest


def layer(base, typename, authcfg=""):
    auth = f" authcfg='{authcfg}'" if authcfg else ""
    return QgsVectorLayer(f"url='{base}/ogc' typename='{typename}'{auth}", typename, "OAPIF")


def main():
    base, username, password = sys.argv[1:4]
    app = QgsApplication([], False)
    app.initQgis()
    out = {"qgis": Qgis.QGIS_VERSION}
    manager = QgsApplication.authManager()
    manager.setMasterPassword("test-master", True)
    config = QgsAuthMethodConfig()
    config.setMethod("Basic")
    config.setName("hehuachi planner")
    config.setConfig("username", username)
    config.setConfig("password", password)
    manager.storeAuthenticationConfig(config)
    authcfg = config.id()

    public = layer(base, "viewpoints")
    out["anonymous_viewpoints"] = [public.isValid(), public.featureCount()]
    hidden = layer(base, "buildings")
    out["anonymous_buildings_valid"] = hidden.isValid()

    buildings = layer(base, "buildings", authcfg)
    out["planner_buildings"] = [buildings.isValid(), buildings.featureCount()]
    caps = buildings.dataProvider().capabilities()
    out["provider_edits"] = bool(caps & QgsVectorDataProvider.ChangeAttributeValues)
    buildings.setSubsetString("floors > 5")
    out["filtered"] = sum(1 for _ in buildings.getFeatures())
    buildings.setSubsetString("")
    out["fields"] = [f.name() for f in buildings.fields()]

    url = f"{base}/ogc/collections/viewpoints/items"
    http = QgsBlockingNetworkRequest()
    http.setAuthCfg(authcfg)
    # The same filter evaluated by the server (CQL2, Part 3), through QGIS's network stack. One
    # page holds the whole match, so numberMatched is given (a larger match is not counted).
    query = QUrl(f"{base}/ogc/collections/buildings/items?limit=5000&filter=floors%20%3E%205")
    http.get(QNetworkRequest(query), True)
    out["server_filtered"] = json.loads(bytes(http.reply().content()).decode())["numberMatched"]
    http.get(QNetworkRequest(QUrl(f"{url}?limit=1&sortby=id")), True)
    fid = json.loads(bytes(http.reply().content()).decode())["features"][0]["id"]
    request = QNetworkRequest(QUrl(f"{url}/{fid}"))
    request.setRawHeader(b"Accept", b"application/geo+json")
    out["get_error"] = int(http.get(request, True))
    reply = http.reply()
    etag = bytes(reply.rawHeader(b"ETag")).decode()
    feature = json.loads(bytes(reply.content()).decode())
    feature.pop("links", None)
    original = feature["properties"]["opening_hours"]
    feature["properties"]["opening_hours"] = "QGIS 09:00-17:00"
    put = QNetworkRequest(QUrl(f"{url}/{fid}"))
    put.setHeader(QNetworkRequest.ContentTypeHeader, "application/geo+json")
    put.setRawHeader(b"If-Match", etag.encode())
    body = QByteArray(json.dumps(feature).encode())
    out["put_error"] = int(http.put(put, body))
    out["put_status"] = http.reply().attribute(QNetworkRequest.HttpStatusCodeAttribute)
    new_etag = bytes(http.reply().rawHeader(b"ETag")).decode()
    stale = QNetworkRequest(QUrl(f"{url}/{fid}"))
    stale.setHeader(QNetworkRequest.ContentTypeHeader, "application/geo+json")
    stale.setRawHeader(b"If-Match", etag.encode())
    http.put(stale, body)
    out["stale_status"] = http.reply().attribute(QNetworkRequest.HttpStatusCodeAttribute)
    again = layer(base, "viewpoints", authcfg)
    request = QgsFeatureRequest().setFilterExpression("\"opening_hours\" = 'QGIS 09:00-17:00'")
    out["edited_names"] = [f["name"] for f in again.getFeatures(request)]
    out["edited_name_expected"] = feature["properties"]["name"]
    # Put it back as it was (the live server's data is shared by the session's tests).
    feature["properties"]["opening_hours"] = original
    back = QNetworkRequest(QUrl(f"{url}/{fid}"))
    back.setHeader(QNetworkRequest.ContentTypeHeader, "application/geo+json")
    back.setRawHeader(b"If-Match", new_etag.encode())
    http.put(back, QByteArray(json.dumps(feature).encode()))
    out["restore_status"] = http.reply().attribute(QNetworkRequest.HttpStatusCodeAttribute)
    out["feature_id"] = fid
    print(json.dumps(out), flush=True)
    # QGIS 3.22's Python bindings may crash while tearing down; the answer is already out.
    os._exit(0)


main()
