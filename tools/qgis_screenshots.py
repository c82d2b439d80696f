"""The QGIS screenshots of docs/API.md ("QGIS on an intranet without TLS"), drawn by Debian's
QGIS 3.22 itself, headless (no display needed):

    QT_QPA_PLATFORM=offscreen HOME=$(mktemp -d) \
        /usr/bin/python3 tools/qgis_screenshots.py docs/images

- qgis-auth-basic-token.png: the authentication configuration dialog (Settings › Options ›
  Authentication › +), method Basic, the API token as the password;
- qgis-connection-ogc.png: the WFS / OGC API - Features connection dialog using it.

Run with /usr/bin/python3 (python3-qgis), not the project's venv. The token shown is a dummy.
"""

import os
import sys
from pathlib import Path

from qgis.core import QgsApplication, QgsAuthMethodConfig

app = QgsApplication([], True)
app.initQgis()

from qgis.gui import QgsAuthConfigEditor, QgsNewHttpConnection  # noqa: E402
from qgis.PyQt.QtCore import QTimer  # noqa: E402
from qgis.PyQt.QtWidgets import QApplication, QComboBox, QLineEdit, QToolButton  # noqa: E402

NAME = "荷花池 Hehuachi"
DUMMY_TOKEN = "x" * 43


def set_texts(widget, values: dict) -> None:
    for line in widget.findChildren(QLineEdit):
        if line.objectName() in values:
            line.setText(values[line.objectName()])


def choose(widget, name: str, text: str) -> None:
    for combo in widget.findChildren(QComboBox):
        if combo.objectName() == name:
            for i in range(combo.count()):
                if text in combo.itemText(i):
                    combo.setCurrentIndex(i)


def main(folder: Path) -> None:
    manager = QgsApplication.authManager()
    manager.setMasterPassword("screenshots", True)
    config = QgsAuthMethodConfig()
    config.setMethod("Basic")
    config.setName(NAME)
    config.setConfig("username", "demo-planner")
    config.setConfig("password", DUMMY_TOKEN)
    manager.storeAuthenticationConfig(config)

    connection = QgsNewHttpConnection(
        None,
        QgsNewHttpConnection.ConnectionWfs,
        "qgis/connections-wfs/",
        "",
        QgsNewHttpConnection.FlagShowHttpSettings,
    )
    set_texts(connection, {"txtName": "荷花池", "txtUrl": "http://gis.hehuachi.local/ogc"})
    choose(connection, "cmbConfigSelect", NAME)
    choose(connection, "cmbVersion", "OGC API - Features")
    connection.resize(560, 600)
    connection.show()
    app.processEvents()
    connection.grab().save(str(folder / "qgis-connection-ogc.png"), "PNG")
    connection.close()

    editor = QgsAuthConfigEditor(None, False, True)
    editor.show()

    def grab_the_dialog():
        dialog = QApplication.activeModalWidget()
        set_texts(
            dialog,
            {"leName": NAME, "leUsername": "demo-planner", "lePassword": DUMMY_TOKEN},
        )
        choose(dialog, "cmbAuthMethods", "Basic authentication")
        dialog.resize(620, 430)
        app.processEvents()
        dialog.grab().save(str(folder / "qgis-auth-basic-token.png"), "PNG")
        os._exit(0)  # QGIS 3.22's bindings may crash while tearing down

    QTimer.singleShot(500, grab_the_dialog)
    button = next(b for b in editor.findChildren(QToolButton) if b.objectName() == "btnAddConfig")
    button.click()  # opens the modal dialog; the timer grabs it


main(Path(sys.argv[1]))
