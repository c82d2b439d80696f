/* Map labels that never collide: street names along their lines, landmark names beside their
 * dots. Each source (a reference layer of hehuachi-map.js) hands over its labels with the
 * positions it may take; one pass per map places them in order of rank, each at the first
 * of its positions that overlaps no label placed before, no marker and no landmark dot, and
 * leaves out a label that finds none. The pass runs again when a source changes, on zoom and
 * when a layer has loaded (markers are obstacles). */
(function () {
  "use strict";
  var state = window.hehuachi;
  var PAD = 2;  // pixels kept free around every label

  /* A rectangle turned by `angle` degrees about its centre, as its four corners. */
  function corners(cx, cy, w, h, angle) {
    var a = angle * Math.PI / 180, c = Math.cos(a), s = Math.sin(a);
    var hw = w / 2 + PAD, hh = h / 2 + PAD;
    return [[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]].map(function (p) {
      return [cx + p[0] * c - p[1] * s, cy + p[0] * s + p[1] * c];
    });
  }

  /* Separating axis test of two convex quadrilaterals: true when they overlap. */
  function overlap(p, q) {
    var polys = [p, q];
    for (var i = 0; i < 2; i++) {
      var poly = polys[i];
      for (var j = 0; j < 4; j++) {
        var a = poly[j], b = poly[(j + 1) % 4];
        var nx = b[1] - a[1], ny = a[0] - b[0];
        var minP = Infinity, maxP = -Infinity, minQ = Infinity, maxQ = -Infinity;
        p.forEach(function (v) { var d = v[0] * nx + v[1] * ny; minP = Math.min(minP, d); maxP = Math.max(maxP, d); });
        q.forEach(function (v) { var d = v[0] * nx + v[1] * ny; minQ = Math.min(minQ, d); maxQ = Math.max(maxQ, d); });
        if (maxP <= minQ || maxQ <= minP) return false;
      }
    }
    return true;
  }
  state.labelsOverlap = overlap;
  state.labelCorners = corners;

  var boards = [];

  function board(map) {
    if (!map._hhLabels) {
      boards.push(map);
      var pane = map.getPane("hh-basemap-labels") ? "hh-basemap-labels" : "markerPane";
      var ruler = document.createElement("span");
      ruler.style.cssText = "position:absolute;visibility:hidden;left:-9999px;top:0";
      map.getContainer().appendChild(ruler);
      map._hhLabels = { sources: {}, group: L.layerGroup().addTo(map), pane: pane, ruler: ruler,
        sizes: {}, frame: null };
      map.on("zoomend", function () { place(map); });
    }
    return map._hhLabels;
  }

  /* The size of each label's text in its style, measured once: the new ones all together
   * (one layout of the page for all), before anything is drawn. Measuring one at a time between
   * drawing labels made the browser lay the page out again for every label (issue 28: most of
   * the tour's start-up time on a phone). */
  function measure(b, items) {
    var fresh = [];
    items.forEach(function (item) {
      var key = item.cls + "\n" + item.text;
      if (b.sizes[key] || fresh.some(function (f) { return f.key === key; })) return;
      var span = document.createElement("span");
      span.className = item.cls;
      span.textContent = item.text;
      b.ruler.appendChild(span);
      fresh.push({ key: key, span: span });
    });
    fresh.forEach(function (f) { b.sizes[f.key] = { w: f.span.offsetWidth, h: f.span.offsetHeight }; });
    b.ruler.textContent = "";
  }

  function size(b, item) { return b.sizes[item.cls + "\n" + item.text]; }

  /* Where a landmark's name may go, beside its dot: right, left, above, below. */
  var BESIDE = [
    { dx: function (w) { return 7 + w / 2; }, dy: function () { return 0; }, css: "translate(7px, -50%)" },
    { dx: function (w) { return -7 - w / 2; }, dy: function () { return 0; }, css: "translate(calc(-100% - 7px), -50%)" },
    { dx: function () { return 0; }, dy: function (h) { return -7 - h / 2; }, css: "translate(-50%, calc(-100% - 7px))" },
    { dx: function () { return 0; }, dy: function (h) { return 7 + h / 2; }, css: "translate(-50%, 7px)" }
  ];

  function beside(map, latlng, dims) {
    var p = map.latLngToContainerPoint(latlng);
    return BESIDE.map(function (side) {
      return { latlng: latlng, side: side, x: p.x + side.dx(dims.w), y: p.y + side.dy(dims.h) };
    });
  }

  /* Where a street's name may go: on its longest on-screen segments that hold it with room to
   * spare, turned with the segment (never upside down), at the middle first, then sliding. */
  var ALONG = [0.5, 0.3, 0.7, 0.15, 0.85];
  function along(map, segments, dims) {
    var out = [];
    segments.map(function (s) {
      var a = map.latLngToContainerPoint(s[0]), b = map.latLngToContainerPoint(s[1]);
      return { a: a, b: b, len: a.distanceTo(b) };
    }).filter(function (s) { return s.len >= dims.w * 1.2 + 8; })
      .sort(function (x, y) { return y.len - x.len; })
      .slice(0, 4)
      .forEach(function (s) {
        var angle = Math.atan2(s.b.y - s.a.y, s.b.x - s.a.x) * 180 / Math.PI;
        if (angle > 90) angle -= 180;
        if (angle < -90) angle += 180;
        var edge = (dims.w / 2 + 4) / s.len;
        ALONG.forEach(function (f) {
          var t = Math.min(Math.max(f, edge), 1 - edge);
          var x = s.a.x + (s.b.x - s.a.x) * t, y = s.a.y + (s.b.y - s.a.y) * t;
          out.push({ latlng: map.containerPointToLatLng([x, y]), angle: angle, x: x, y: y });
        });
      });
    return out;
  }

  /* Boxes nothing may cover: the markers on the map (the tour's numbers, clusters) and the
   * landmark dots. */
  function obstacles(map, b) {
    var out = [];
    var box = map.getContainer().getBoundingClientRect();
    map.getPane("markerPane").querySelectorAll(".leaflet-marker-icon").forEach(function (node) {
      var r = node.getBoundingClientRect();
      if (!r.width || !r.height) return;
      out.push(corners(r.left - box.left + r.width / 2, r.top - box.top + r.height / 2, r.width - 2 * PAD, r.height - 2 * PAD, 0));
    });
    Object.keys(b.sources).forEach(function (key) {
      b.sources[key].forEach(function (item) {
        if (!item.dot) return;
        var p = map.latLngToContainerPoint(item.dot);
        out.push(corners(p.x, p.y, 6, 6, 0));
      });
    });
    return out;
  }

  function place(map) {
    var b = board(map);
    if (b.frame !== null) { cancelAnimationFrame(b.frame); b.frame = null; }
    b.group.clearLayers();
    var items = [];
    Object.keys(b.sources).forEach(function (key) { items = items.concat(b.sources[key]); });
    items.sort(function (x, y) { return x.rank - y.rank || (x.text < y.text ? -1 : x.text > y.text ? 1 : 0); });
    measure(b, items);
    var taken = obstacles(map, b);
    var placed = 0, left = 0;
    items.forEach(function (item) {
      var dims = size(b, item);
      var chosen = null;
      var tries = item.dot ? beside(map, item.dot, dims) : along(map, item.segments, dims);
      for (var i = 0; i < tries.length && !chosen; i++) {
        var t = tries[i];
        var quad = corners(t.x, t.y, dims.w, dims.h, t.angle || 0);
        if (taken.some(function (other) { return overlap(quad, other); })) continue;
        chosen = t;
        taken.push(quad);
      }
      if (!chosen) { left += 1; return; }
      placed += 1;
      var icon = L.divIcon({ className: item.anchor, html: "", iconSize: [0, 0] });
      var marker = L.marker(chosen.latlng, { icon: icon, interactive: false, keyboard: false, pane: b.pane });
      marker.on("add", function () {
        var node = marker.getElement();
        if (!node) return;
        var span = state.el("span", item.text, item.cls);
        span.style.transform = chosen.side ? chosen.side.css
          : "translate(-50%, -50%) rotate(" + (chosen.angle || 0).toFixed(1) + "deg)";
        node.appendChild(span);
      });
      b.group.addLayer(marker);
    });
    state.counts.labels = placed;
    state.counts["labels-left-out"] = left;
  }

  /* A source's labels: [{text, cls, anchor, rank, and `segments` ([[latlng, latlng], ...],
   * a street's) or `dot` (a landmark's latlng)}]. */
  /* Sources change many times while a page starts (each layer added, each batch of data, each
   * layer loaded): one pass in the next frame places them all. */
  function later(map) {
    var b = board(map);
    if (b.frame === null) b.frame = requestAnimationFrame(function () { b.frame = null; place(map); });
  }

  state.setLabels = function (map, key, items) {
    board(map).sources[key] = items;
    later(map);
  };
  state.placeLabels = function () { boards.forEach(place); };
  /* Whether a pass is still to come (hehuachi-map.js's allReady waits for it). */
  state.labelsPending = function () { return boards.some(function (m) { return m._hhLabels.frame !== null; }); };
  document.addEventListener("hh:loaded", function () { boards.forEach(later); });
})();
