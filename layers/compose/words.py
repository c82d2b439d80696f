"""The words Leaflet and its plugins write themselves (control titles, the measuring tool), in
the page's language: one language per page. Plugins that take their words as options get them
here; the rest are put in place in the page by hehuachi-map.js (`control_words`)."""

from __future__ import annotations

from layers.domain.language import lang

# English as Leaflet, leaflet-measure and the fullscreen and locate plugins write it -> zh.
CONTROL_WORDS = {
    "Zoom in": "放大",
    "Zoom out": "缩小",
    "Layers": "图层",
    "Measure": "测量",
    "Measure distances and areas": "测量距离和面积",
    "Start creating a measurement by adding points to the map": "在地图上点击添加点，开始测量",
    "Cancel": "取消",
    "Finish measurement": "完成测量",
    "Create a new measurement": "新建测量",
    "Point location": "点位置",
    "Linear measurement": "线测量",
    "Area measurement": "面积测量",
    "Path distance": "路径长度",
    "Area": "面积",
    "Perimeter": "周长",
    "Last point": "最后一点",
    "Center on this location": "以此位置为中心",
    "Center on this line": "以此线为中心",
    "Center on this area": "以此区域为中心",
    "Delete": "删除",
}

# (zh, en) of the plugins that take their words as options.
FULLSCREEN = (("全屏显示", "Full screen"), ("退出全屏", "Exit full screen"))
LOCATE = {
    "title": ("显示我的位置", "Show me where I am"),
    "metersUnit": ("米", "metres"),
    "popup": (
        "您在此点 {distance} {unit} 范围内",
        "You are within {distance} {unit} of this point",
    ),
    "outsideMapBoundsMsg": ("您似乎在地图范围之外", "You seem to be outside the map"),
}
UNITS = {
    "meters": (("米", "m"), 1, 0),
    "kilometers": (("千米", "km"), 0.001, 2),
    "sqmeters": (("平方米", "m²"), 1, 0),
    "hectares": (("公顷", "ha"), 0.0001, 2),
}


def _pick(pair: tuple[str, str]) -> str:
    return pair[1] if lang() == "en" else pair[0]


def control_words() -> dict[str, str]:
    """English -> the page's word, for what the page itself must put in place (none in English)."""
    return {} if lang() == "en" else dict(CONTROL_WORDS)


def fullscreen_options() -> dict:
    return {"title": _pick(FULLSCREEN[0]), "title_cancel": _pick(FULLSCREEN[1])}


def locate_strings() -> dict:
    return {key: _pick(pair) for key, pair in LOCATE.items()}


def measure_units() -> dict:
    """leaflet-measure's units in metres (and km, hectares) named in the page's language."""
    return {
        name: {"factor": factor, "display": _pick(pair), "decimals": decimals}
        for name, (pair, factor, decimals) in UNITS.items()
    }
