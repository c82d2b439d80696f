/* Hehuachi map pages: draws registry layers on a folium-built Leaflet map.
 * Data comes from our own API (viewport requests) or is embedded (the public tour);
 * every user string reaches the page through textContent, never innerHTML. */
(function () {
  "use strict";

  var state = { lang: "zh", counts: {}, layers: {}, ready: {} };
  window.hehuachi = state;

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function label(vocab, value) {
    if (!vocab) return value;
    for (var i = 0; i < vocab.terms.length; i++) {
      var t = vocab.terms[i];
      if (t.value === value) return state.lang === "en" ? t.en : t.zh;
    }
    return value;
  }

  function colour(vocab, value, fallback) {
    if (!vocab) return fallback || "#555";
    for (var i = 0; i < vocab.terms.length; i++) {
      if (vocab.terms[i].value === value) return vocab.terms[i].color;
    }
    return fallback || "#555";
  }

  /* Working days left (negative: overdue), in words. */
  function workdaysText(n) {
    var en = state.lang === "en";
    if (n < 0) return en ? "overdue " + -n + " working days" : "超期 " + -n + " 个工作日";
    if (n === 0) return en ? "due today" : "今日到期";
    return en ? n + " working days left" : "剩余 " + n + " 个工作日";
  }

  /* A popup as DOM: title plus one row per configured field. */
  /* URLs of a feature's own page and of its API representation (config templates). */
  function featurePage(slug, id) {
    var c = state.config || {};
    if (!c.feature_url || c.static_site) return null;
    return c.feature_url.replace("{slug}", slug).replace("{id}", encodeURIComponent(id));
  }
  function featureApi(slug, id) {
    var c = state.config || {};
    return (c.api_url || "/api/v1/{slug}/{id}/").replace("{slug}", slug).replace("{id}", encodeURIComponent(id));
  }
  state.featurePage = featurePage;
  state.featureApi = featureApi;

  /* A value as a reader sees it: a linked feature by its name (a link to its page), a person
   * by their name, a vocabulary term by its label, a yes/no as a mark. */
  function cellFor(cfg, f, p) {
    var value = p[f.name];
    var c = state.config || {};
    if (f.link) {
      var names = (c.names || {})[f.link] || {};
      var text = names[String(value)] || (state.lang === "en" ? "View" : "查看");
      var href = featurePage(f.link, value);
      if (!href) return el("td", names[String(value)] || "");
      var td = el("td");
      var a = el("a", text);
      a.href = href;
      td.appendChild(a);
      return td;
    }
    if (f.name === "workdays_left") return el("td", workdaysText(value));
    if (f.user) return el("td", (c.users || {})[value] || value);
    if (state.lang === "en" && typeof p[f.name + "_en"] === "string" && p[f.name + "_en"]) value = p[f.name + "_en"];
    if (cfg.vocabularies[f.name]) {
      var vocab = cfg.vocabularies[f.name];
      value = Array.isArray(value) ? value.map(function (v) { return label(vocab, v); }) : label(vocab, value);
    }
    if (Array.isArray(value)) value = value.join(state.lang === "en" ? ", " : "、");
    if (typeof value === "boolean") value = value ? (state.lang === "en" ? "yes" : "是") : (state.lang === "en" ? "no" : "否");
    return el("td", value);
  }

  /* A popup as DOM: the name in the page's language, one row per configured field (the
   * other language's copies left out), and a link to the feature's own page. */
  function popup(cfg, feature) {
    var p = feature.properties || {};
    var box = el("div", null, "hh-popup");
    box.setAttribute("data-layer", cfg.slug);
    box.setAttribute("data-id", String(feature.id));
    var title = state.lang === "en" && p.name_en ? p.name_en : p.name;
    box.appendChild(el("strong", title));
    var table = el("table");
    cfg.popup.forEach(function (f) {
      if (/_en$/.test(f.name) || f.name === "name") return;
      if (!(f.name in p) || p[f.name] === null || p[f.name] === "") return;
      if (Array.isArray(p[f.name]) && !p[f.name].length) return;
      var row = el("tr");
      row.appendChild(el("th", state.lang === "en" ? f.en : f.zh));
      row.appendChild(cellFor(cfg, f, p));
      table.appendChild(row);
    });
    if (typeof p.distance_m === "number") {
      var r = el("tr");
      r.appendChild(el("th", state.lang === "en" ? "Distance" : "距离"));
      r.appendChild(el("td", Math.round(p.distance_m) + " m"));
      table.appendChild(r);
    }
    box.appendChild(table);
    var links = el("p", null, "hh-popup-links");
    if (cfg.numbered && state.config && state.config.stop_url) {
      var more = el("a", state.lang === "en" ? "About this stop" : "站点详情", "hh-stop-link");
      more.href = state.config.stop_url.replace("{n}", String(p[cfg.numbered]));
      links.appendChild(more);
    } else if (!cfg.basemap) {
      var page = featurePage(cfg.slug, feature.id);
      if (page) {
        var open = el("a", state.lang === "en" ? "Open its page" : "查看详情页", "hh-feature-link");
        open.href = page;
        links.appendChild(open);
      }
    }
    if (cfg.detail_url) {
      var a = el("a", state.lang === "en" ? "Edit" : "编辑", "hh-edit-link");
      a.href = cfg.detail_url.replace("{id}", encodeURIComponent(feature.id));
      if (links.firstChild) links.appendChild(document.createTextNode(" · "));
      links.appendChild(a);
    }
    if (links.firstChild) box.appendChild(links);
    return box;
  }

  /* Where a popup may open: below the controls of the top corners and above those of the
   * bottom ones (Leaflet pans it there), so that no control covers it (on a phone they take a
   * good part of the map); a short map makes the popup scroll rather than pass under them. */
  function clearOfControls(map) {
    var box = map.getContainer().getBoundingClientRect();
    var top = 0, bottom = 0;
    map.getContainer().querySelectorAll(".leaflet-control-container .leaflet-control").forEach(function (c) {
      var r = c.getBoundingClientRect();
      if (!r.height) return;
      if (c.closest(".leaflet-top")) top = Math.max(top, r.bottom - box.top);
      else bottom = Math.max(bottom, box.bottom - r.top);
    });
    var pad = 8, tip = 30;
    return {
      topLeft: L.point(pad, top + pad),
      bottomRight: L.point(pad, bottom + pad),
      height: Math.max(120, box.height - top - bottom - 2 * pad - tip - 40)
    };
  }

  /* A popup of its own (not bound to the feature's layer): it stays open when the layer is
   * redrawn under it (a pan that refetches the bbox, a filter, a refresh). */
  function openPopup(map, latlng, content) {
    var room = clearOfControls(map);
    var pop = L.popup({
      maxWidth: 320,
      maxHeight: room.height,
      autoPanPaddingTopLeft: room.topLeft,
      autoPanPaddingBottomRight: room.bottomRight
    }).setLatLng(latlng).setContent(content);
    pop.openOn(map);
    state.openPopup = pop;
    return pop;
  }
  state.openPopupAt = openPopup;

  /* The fill: the colour of the feature's term in the layer's colour field (default status). */
  function fillFor(cfg, p) {
    var field = cfg.color_field || cfg.status_field;
    return colour(cfg.vocabularies[field], p[field], cfg.color);
  }

  function styleFor(cfg, feature) {
    var p = feature.properties || {};
    var fill = fillFor(cfg, p);
    // A block of the low zooms (no id: many buildings) keeps the colour of its main status.
    if (cfg.tint && state.tints[cfg.tint.layer] && p.id !== undefined) {
      var siteStatus = state.tints[cfg.tint.layer][p[cfg.tint.via]];
      fill = siteStatus ? colour(state.tintVocab[cfg.tint.layer], siteStatus, "#cfd8dc") : "#cfd8dc";
    }
    if (cfg.outline) {
      return { color: cfg.color, weight: cfg.weight || 2, fill: false, dashArray: cfg.dash || null };
    }
    return { color: cfg.stroke || fill, weight: 1, fillColor: fill, fillOpacity: cfg.opacity || 0.55 };
  }
  state.tints = {};
  state.tintVocab = {};

  function pointLayer(cfg, feature, latlng) {
    var p = feature.properties || {};
    var fill = fillFor(cfg, p);
    var ring = cfg.ring_field ? colour(cfg.vocabularies[cfg.ring_field], p[cfg.ring_field], "#333") : "#333";
    var overdue = p.overdue === true;
    if (cfg.numbered) {
      var current = state.config && state.config.current === p[cfg.numbered];
      var icon = L.divIcon({ className: "hh-number" + (current ? " hh-number-current" : ""), html: "", iconSize: [26, 26] });
      var marker = L.marker(latlng, { icon: icon, title: p.name || "" });
      marker.on("add", function () {
        var node = marker.getElement();
        if (node) node.textContent = String(p[cfg.numbered]);
      });
      return marker;
    }
    return L.circleMarker(latlng, {
      radius: overdue ? 9 : 6,
      color: overdue ? "#000" : ring,
      weight: overdue ? 3 : 2,
      dashArray: overdue ? "3 2" : null,
      fillColor: fill,
      fillOpacity: 0.9,
      className: overdue ? "hh-overdue" : ""
    });
  }

  function geojsonLayer(cfg) {
    return L.geoJSON(null, {
      style: function (f) { return styleFor(cfg, f); },
      pointToLayer: function (f, latlng) { return pointLayer(cfg, f, latlng); },
      onEachFeature: function (f, layer) {
        var open = function (e) {
          var map = layer._map || state.map;
          var at = layer.getLatLng ? layer.getLatLng() : e.latlng;
          openPopup(map, at, popup(cfg, f));
        };
        layer.on("click", open);
        /* Enter on a focused marker: what bindPopup did for us (Leaflet's _onKeyPress) before
         * popups were opened on their own. */
        layer.on("keypress", function (e) {
          if (e.originalEvent && e.originalEvent.keyCode === 13) open(e);
        });
        if (f.properties && f.properties.name) {
          layer.bindTooltip(function () {
            return el("span", state.lang === "en" && f.properties.name_en ? f.properties.name_en : f.properties.name);
          });
        }
      }
    });
  }

  function shift(data) {
    return state.shift ? window.GCJ02.transformGeoJSON(data, state.shift) : data;
  }

  function drawn(cfg) {
    state.counts[cfg.slug] = 0;
    var group = cfg.cluster && L.markerClusterGroup ? L.markerClusterGroup({ disableClusteringAtZoom: 18 }) : null;
    var layer = geojsonLayer(cfg);
    var holder = group || layer;
    return {
      holder: holder,
      clear: function () { layer.clearLayers(); if (group) group.clearLayers(); state.counts[cfg.slug] = 0; },
      add: function (data) {
        layer.addData(shift(data));
        state.counts[cfg.slug] += (data.features || []).length;
        if (group) { group.clearLayers(); group.addLayer(layer); }
      },
      ids: function () { return layer.getLayers().map(function (l) { return l.feature.id; }); },
      feature: function (id) {
        var found = layer.getLayers().filter(function (l) { return l.feature.id === id; })[0];
        return found ? found.feature : null;
      }
    };
  }

  function query(cfg, map) {
    var params = new URLSearchParams(cfg.params || {});
    var filters = state.filters[cfg.slug] || {};
    Object.keys(filters).forEach(function (k) { if (filters[k]) params.set(k, filters[k]); });
    if (cfg.viewport) {
      var b = map.getBounds();
      if (state.shift) {  // the map shows GCJ-02; ask the API in WGS84
        var sw = window.GCJ02.gcj02ToWgs84(b.getWest(), b.getSouth());
        var ne = window.GCJ02.gcj02ToWgs84(b.getEast(), b.getNorth());
        params.set("bbox", [sw[0], sw[1], ne[0], ne[1]].map(function (v) { return v.toFixed(6); }).join(","));
      } else {
        params.set("bbox", [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); }).join(","));
      }
    }
    if (state.asOf && !cfg.basemap) params.set("as_of", state.asOf);
    params.set("page_size", "1000");
    return cfg.url + "?" + params.toString();
  }
  state.filters = {};

  function fetchAll(url, onPage) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (r) {
        if (!r.ok) throw new Error(url + " → " + r.status);
        return r.json();
      })
      .then(function (body) {
        onPage(body);
        if (body.next) {
          var next = new URL(body.next, window.location.href);
          return fetchAll(next.pathname + next.search, onPage);
        }
      });
  }

  function load(map, cfg, target) {
    var token = (state.tokens[cfg.slug] || 0) + 1;
    state.tokens[cfg.slug] = token;
    if (cfg.viewport && map.getZoom() < cfg.min_zoom) {
      target.clear();
      state.ready[cfg.slug] = true;
      return Promise.resolve();
    }
    state.ready[cfg.slug] = false;
    var pages = [];
    return fetchAll(query(cfg, map), function (body) { pages.push(body); })
      .then(function () {
        if (state.tokens[cfg.slug] !== token) return;  // a newer request won
        target.clear();
        pages.forEach(function (body) { target.add(body); });
        if (cfg.tint_source) {
          var statuses = {};
          pages.forEach(function (body) {
            body.features.forEach(function (f) { statuses[f.id] = f.properties[cfg.status_field]; });
          });
          state.tints[cfg.slug] = statuses;
          state.tintVocab[cfg.slug] = cfg.vocabularies[cfg.status_field];
        }
        state.ready[cfg.slug] = true;
        state.loads[cfg.slug] = (state.loads[cfg.slug] || 0) + 1;
        document.dispatchEvent(new CustomEvent("hh:loaded", { detail: cfg.slug }));
      })
      .catch(function (err) { console.warn(err.message); state.ready[cfg.slug] = true; });
  }
  state.tokens = {};
  state.loads = {};

  /* Our vector tiles of a layer, each feature known by its id (SVG: clicks work on 1.9). */
  function vectorTiles(cfg, pane, styles, interactive) {
    return L.vectorGrid.protobuf(cfg.tiles, {
      pane: pane,
      vectorTileLayerStyles: styles,
      interactive: interactive,
      minZoom: cfg.min_zoom,
      maxNativeZoom: cfg.max_zoom,
      maxZoom: 22,
      getFeatureId: function (f) { return f.id; }
    });
  }

  /* A layer drawn from our vector tiles (SVG, so clicks work on Leaflet 1.9). */
  function tileLayer(map, cfg) {
    var styles = {};
    styles[cfg.slug] = function (properties) {
      var style = styleFor(cfg, { properties: properties });
      style.fill = true;
      return style;
    };
    // Above the GeoJSON overlays (z-index 400): a building inside a site stays clickable.
    if (!map.getPane("hh-tiles")) map.createPane("hh-tiles").style.zIndex = 450;
    var layer = vectorTiles(cfg, "hh-tiles", styles, true);
    var ids = function () {
      var seen = {};
      var keys = Object.keys(layer._vectorTiles || {});
      keys.forEach(function (key) {
        Object.keys(layer._vectorTiles[key]._features || {}).forEach(function (id) { seen[id] = true; });
      });
      state.tileKeys[cfg.slug] = keys;
      return Object.keys(seen).length;
    };
    layer.on("loading", function () { state.ready[cfg.slug] = false; });
    layer.on("load", function () {
      state.counts[cfg.slug] = ids();
      state.ready[cfg.slug] = true;
      document.dispatchEvent(new CustomEvent("hh:loaded", { detail: cfg.slug }));
    });
    // Tiles carry only what styling needs; the popup reads the feature from the API.
    layer.on("click", function (e) {
      var id = e.layer.properties.id;
      if (id === undefined) return;  // a block (below cfg.detail_zoom): not a building
      var url = cfg.url + encodeURIComponent(id) + "/";
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
        .then(function (r) {
          if (!r.ok) throw new Error(url + " → " + r.status);
          return r.json();
        })
        .then(function (feature) {
          openPopup(map, e.latlng, popup(cfg, feature));
        })
        .catch(function (err) { console.warn(err.message); });
    });
    layer.tileState = function () { return { count: ids(), keys: state.tileKeys[cfg.slug] }; };
    state.counts[cfg.slug] = 0;
    state.ready[cfg.slug] = map.getZoom() < cfg.min_zoom;
    // Blocks of buildings (the low zooms) let clicks through to the sites drawn under them.
    var inert = function () {
      var box = layer.getContainer();
      if (box) box.classList.toggle("hh-inert", map.getZoom() < cfg.detail_zoom);
    };
    layer.on("add", inert);
    map.on("zoomend", function () {
      inert();
      if (map.getZoom() < cfg.min_zoom) { state.ready[cfg.slug] = true; state.counts[cfg.slug] = 0; }
    });
    return layer;
  }
  state.tileKeys = {};

  /* The offline basemap: reference layers (streets, water, landmarks) in their own pane
   * under every overlay, quiet colours, not interactive; street names along the lines where
   * they fit at the current zoom, landmark names beside their dots. */
  var BASE_STYLE = {
    main_road: { color: "#ffffff", weight: 9 },
    street: { color: "#ffffff", weight: 6 },
    lane: { color: "#fbfaf6", weight: 3.5 }
  };

  function basePane(map, name, z) {
    if (!map.getPane(name)) {
      var pane = map.createPane(name);
      pane.style.zIndex = z;
      pane.style.pointerEvents = "none";
    }
    return name;
  }

  function basemapStyle(cfg, feature) {
    var p = feature.properties || {};
    if (cfg.slug === "streets") {
      var s = BASE_STYLE[p.street_class] || BASE_STYLE.street;
      return { color: s.color, weight: s.weight, opacity: p.status === "planned" ? 0.6 : 1,
        dashArray: p.status === "planned" ? "6 6" : null, lineCap: "round", interactive: false };
    }
    if (cfg.slug === "water") {
      return { color: "#9cc6d3", weight: 1, fillColor: "#aad3df", fillOpacity: 1, interactive: false };
    }
    return { color: "#8d6e63", weight: 1, fillColor: "#bcaaa4", fillOpacity: 1, interactive: false };
  }

  function featureName(p) {
    return state.lang === "en" && p.name_en ? p.name_en : p.name;
  }

  /* Labels are placed by hehuachi-labels.js (ranked, never overlapping): main roads first,
   * then landmarks, streets, lanes. */
  var RANK = { main_road: 0, landmark: 1, street: 2, lane: 3 };

  function streetLabel(p, segments) {
    var cls = p.street_class || "street";
    return { text: featureName(p), cls: "hh-street-label hh-street-" + cls, anchor: "hh-street-label-anchor",
      rank: RANK[cls] === undefined ? 2 : RANK[cls], segments: segments };
  }

  function landmarkLabel(p, latlng) {
    return { text: featureName(p), cls: "hh-landmark-label", anchor: "hh-landmark-label-anchor",
      rank: RANK.landmark, dot: latlng };
  }

  function segmentsOf(lines) {
    var segments = [];
    lines.forEach(function (line) {
      for (var i = 1; i < line.length; i++) segments.push([line[i - 1], line[i]]);
    });
    return segments;
  }

  /* The labels of a GeoJSON reference layer: each street's segments, each landmark's dot. */
  function labelsOf(cfg, layer) {
    var out = [];
    layer.eachLayer(function (feature) {
      var p = feature.feature.properties || {};
      if (!featureName(p)) return;
      if (cfg.slug === "landmarks") { out.push(landmarkLabel(p, feature.getLatLng())); return; }
      var lines = feature.getLatLngs();
      out.push(streetLabel(p, segmentsOf(lines.length && !Array.isArray(lines[0]) ? [lines] : lines)));
    });
    return out;
  }

  function basemapLayer(map, cfg) {
    var pane = basePane(map, cfg.slug === "landmarks" ? "hh-basemap-points" : "hh-basemap", cfg.slug === "landmarks" ? 260 : 250);
    basePane(map, "hh-basemap-labels", 270);
    map.getContainer().classList.add("hh-offline-base");
    var layer = L.geoJSON(null, {
      pane: pane,
      interactive: false,
      style: function (f) { return basemapStyle(cfg, f); },
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, Object.assign({ radius: 4, pane: pane }, basemapStyle(cfg, f)));
      }
    });
    var labelled = cfg.slug === "streets" || cfg.slug === "landmarks";
    var relabel = function () {
      if (labelled) state.setLabels(map, cfg.slug, map.hasLayer(layer) ? labelsOf(cfg, layer) : []);
    };
    layer.on("add remove", relabel);
    state.counts[cfg.slug] = 0;
    return {
      holder: layer,
      clear: function () { layer.clearLayers(); state.counts[cfg.slug] = 0; },
      add: function (data) {
        layer.addData(data);
        state.counts[cfg.slug] += (data.features || []).length;
        relabel();
      }
    };
  }

  /* A reference layer from our vector tiles (the field app keeps them offline): the same
   * panes, style and labels as the GeoJSON basemap, read from the tiles in view. */
  function basemapTiles(map, cfg) {
    var points = cfg.slug === "landmarks";
    var pane = basePane(map, points ? "hh-basemap-points" : "hh-basemap", points ? 260 : 250);
    basePane(map, "hh-basemap-labels", 270);
    map.getContainer().classList.add("hh-offline-base");
    var styles = {};
    styles[cfg.slug] = function (properties) {
      var style = basemapStyle(cfg, { properties: properties });
      if (points) style.radius = 4;
      style.fill = cfg.slug !== "streets";
      return style;
    };
    var layer = vectorTiles(cfg, pane, styles, false);
    /* Every feature in the loaded tiles: its properties and its parts (in the tile's pixels)
     * as latlngs; a feature cut by tile edges is one feature with the pieces of each tile. */
    var features = function () {
      var out = {};
      var size = layer.getTileSize();
      Object.keys(layer._vectorTiles || {}).forEach(function (key) {
        var tile = layer._vectorTiles[key];
        var c = tile.getCoord();
        var at = function (pt) { return map.unproject([c.x * size.x + pt.x, c.y * size.y + pt.y], c.z); };
        Object.keys(tile._features || {}).forEach(function (id) {
          var f = tile._features[id].feature;
          var entry = out[id] = out[id] || { properties: f.properties, parts: [], point: null };
          if (f._point) entry.point = at(f._point);
          (f._parts || []).forEach(function (part) { entry.parts.push(part.map(at)); });
        });
      });
      return out;
    };
    var relabel = function (found) {
      if (cfg.slug !== "streets" && !points) return;
      var items = [];
      Object.keys(found).forEach(function (id) {
        var f = found[id];
        if (!featureName(f.properties)) return;
        if (points) { if (f.point) items.push(landmarkLabel(f.properties, f.point)); return; }
        items.push(streetLabel(f.properties, segmentsOf(f.parts)));
      });
      state.setLabels(map, cfg.slug, map.hasLayer(layer) ? items : []);
    };
    layer.on("loading", function () { state.ready[cfg.slug] = false; });
    layer.on("load", function () {
      var found = features();
      state.counts[cfg.slug] = Object.keys(found).length;
      relabel(found);
      state.ready[cfg.slug] = true;
      document.dispatchEvent(new CustomEvent("hh:loaded", { detail: cfg.slug }));
    });
    layer.on("remove", function () { relabel({}); });
    state.counts[cfg.slug] = 0;
    state.ready[cfg.slug] = map.getZoom() < cfg.min_zoom;
    return layer;
  }

  /* Run fn in a task of its own once the next frame is painted (or after 100 ms where no frame
   * comes: a page in a hidden tab). */
  function afterPaint(fn) {
    var done = false;
    var run = function () { if (!done) { done = true; fn(); } };
    requestAnimationFrame(function () { setTimeout(run, 0); });
    setTimeout(run, 100);
  }

  /* Public entry: add one registry layer to a folium map. */
  state.addLayer = function (map, cfg) {
    if (cfg.tiles) {
      var tiles = cfg.basemap ? basemapTiles(map, cfg) : tileLayer(map, cfg);
      state.layers[cfg.slug] = { cfg: cfg, target: { holder: tiles }, map: map };
      if (cfg.visible !== false && cfg.tint) {
        // Drawn once the layer it is tinted by has loaded: no second round of tiles.
        state.ready[cfg.slug] = false;
        document.addEventListener("hh:loaded", function once(e) {
          if (e.detail !== cfg.tint.layer) return;
          document.removeEventListener("hh:loaded", once);
          tiles.addTo(map);
        });
      } else if (cfg.visible !== false) {
        tiles.addTo(map);
      }
      if (state.control) state.control.addOverlay(tiles, state.lang === "en" ? cfg.title_en : cfg.title_zh);
      return;
    }
    var target = cfg.basemap ? basemapLayer(map, cfg) : drawn(cfg);
    state.layers[cfg.slug] = { cfg: cfg, target: target, map: map };
    if (cfg.visible !== false) target.holder.addTo(map);
    if (state.control) state.control.addOverlay(target.holder, state.lang === "en" ? cfg.title_en : cfg.title_zh);
    if (cfg.data) {
      /* Embedded data is drawn in a task of its own, after the page's first paint: drawing
       * every layer in the map's script made one long task that held the page's text back
       * and the phone's main thread busy (issue 28, Lighthouse's TBT and LCP). */
      state.ready[cfg.slug] = false;
      afterPaint(function () {
        target.add(cfg.data);
        state.ready[cfg.slug] = true;
        document.dispatchEvent(new CustomEvent("hh:loaded", { detail: cfg.slug }));
      });
      return;
    }
    var reload = function () { return load(map, cfg, target); };
    target.reload = reload;
    if (cfg.viewport) map.on("moveend", reload);
    map.whenReady(reload);
  };

  /* Live updates (static/js/live.js): a pushed change of a live layer drawn here redraws it
   * (its own request, with the page's filters and viewport) when a changed feature lies in
   * view or was drawn; after a lost connection, every live layer. Not while the page shows
   * the past. The redraw waits 0.3-1 s, so that many open pages do not ask at one instant. */
  function touches(entry, message) {
    if (message.reload || message.resync) return true;
    var drawnIds = entry.target.ids ? entry.target.ids() : [];
    var bounds = entry.map.getBounds().pad(0.1);
    return (message.removed || []).some(function (id) { return drawnIds.indexOf(id) >= 0; }) ||
      (message.features || []).some(function (f) {
        if (drawnIds.indexOf(f.id) >= 0) return true;
        if (!f.geometry || f.geometry.type !== "Point") return true;
        var c = f.geometry.coordinates;
        var ll = state.shift ? state.shift(c[0], c[1]) : c;
        return bounds.contains([ll[1], ll[0]]);
      });
  }
  state.liveRedraws = {};
  var liveTimers = {};
  document.addEventListener("hh:live", function (event) {
    var message = event.detail || {};
    Object.keys(state.layers).forEach(function (slug) {
      var entry = state.layers[slug];
      if (!entry.cfg.live || !entry.target.reload || state.asOf) return;
      if (!message.resync && message.layer !== slug) return;
      if (!touches(entry, message)) return;
      clearTimeout(liveTimers[slug]);
      liveTimers[slug] = setTimeout(function () {
        entry.target.reload().then(function () {
          state.liveRedraws[slug] = (state.liveRedraws[slug] || 0) + 1;
        });
      }, 300 + Math.random() * 700);
    });
  });

  state.tileState = function (slug) { return state.layers[slug].target.holder.tileState(); };

  /* The page's layers as they were on a day (YYYY-MM-DD, from history), or now (""). The
   * offline basemap stays as it is. */
  state.setAsOf = function (value) {
    state.asOf = value || null;
    document.body.classList.toggle("hh-in-the-past", !!state.asOf);
    var waits = [];
    Object.keys(state.layers).forEach(function (slug) {
      var entry = state.layers[slug];
      if (entry.cfg.basemap || entry.cfg.data) return;
      if (entry.cfg.tiles) {
        var url = entry.cfg.tiles + (state.asOf ? "?as_of=" + encodeURIComponent(state.asOf) : "");
        entry.target.holder.setUrl(url);
        return;
      }
      if (entry.target.reload) waits.push(entry.target.reload());
    });
    return Promise.all(waits).then(function () {
      document.dispatchEvent(new CustomEvent("hh:as-of", { detail: state.asOf }));
    });
  };

  state.reload = function (slug) {
    var entry = state.layers[slug];
    if (entry && entry.target.reload) return entry.target.reload();
  };

  state.allReady = function () {
    return Object.keys(state.layers).every(function (k) { return state.ready[k]; })
      && !(state.labelsPending && state.labelsPending());
  };

  state.el = el;
  state.popup = popup;
  state.label = label;
  state.colour = colour;
})();

/* Page furniture: setup, filters, nearest hazards, my grid, the tour panel. */
(function () {
  "use strict";
  var state = window.hehuachi;
  var el = state.el;

  /* Leaflet's and the plugins' own English words in the page's language (config.control_words,
   * from layers/compose/words.py): the controls' titles and the measuring tool's texts, also
   * those written later (its panel, its result popups). */
  function speak(map, words) {
    if (!words || !Object.keys(words).length || !window.MutationObserver) return;
    var fix = function (node) {
      if (node.nodeType === 3) {
        var text = node.nodeValue.trim();
        if (words[text]) node.nodeValue = node.nodeValue.replace(text, words[text]);
        return;
      }
      if (node.nodeType !== 1) return;
      ["title", "aria-label"].forEach(function (name) {
        var value = node.getAttribute(name);
        if (value && words[value]) node.setAttribute(name, words[value]);
      });
      for (var child = node.firstChild; child; child = child.nextSibling) fix(child);
    };
    var watch = function (root, within) {
      if (!root) return;
      fix(root);
      new MutationObserver(function (changes) {
        changes.forEach(function (c) {
          var at = c.target.nodeType === 1 ? c.target : c.target.parentElement;
          if (within && !(at && at.closest(within))) return;
          if (c.type === "childList") c.addedNodes.forEach(fix);
          else fix(c.target);
        });
      }).observe(root, { childList: true, subtree: true, characterData: true, attributes: true,
        attributeFilter: ["title", "aria-label"] });
    };
    watch(map.getContainer().querySelector(".leaflet-control-container"));
    watch(map.getPane("popupPane"), ".leaflet-measure-resultpopup");
  }

  state.speak = speak;

  /* A plugin's link that is a button but has no href (leaflet.locatecontrol 0.66.2's): a
   * button to assistive technology and to search engines (no link to follow), reachable with
   * the keyboard and pressed with Enter or Space, like Leaflet's own zoom buttons. */
  function buttons(container) {
    if (!container || !window.MutationObserver) return;
    var fix = function () {
      container.querySelectorAll("a:not([href]):not([role])").forEach(function (a) {
        a.setAttribute("role", "button");
        a.setAttribute("tabindex", "0");
        a.addEventListener("keydown", function (e) {
          if (e.key === "Enter" || e.key === " ") { e.preventDefault(); a.click(); }
        });
      });
    };
    fix();
    new MutationObserver(fix).observe(container, { childList: true, subtree: true });
  }

  state.setup = function (map, cfg) {
    state.map = map;
    state.config = cfg;
    state.lang = cfg.lang === "en" ? "en" : "zh";
    speak(map, cfg.control_words);
    buttons(map.getContainer().querySelector(".leaflet-control-container"));
    if (cfg.shift && window.GCJ02) state.shift = window.GCJ02.wgs84ToGcj02;
    state.control = L.control.layers({}, {}, { collapsed: true }).addTo(map);
    L.control.scale({ imperial: false }).addTo(map);
    /* "Leaflet" alone as the prefix (no flag icon); the data owner's credit stays beside it. */
    if (map.attributionControl) {
      map.attributionControl.setPrefix("Leaflet");
      map.attributionControl.addAttribution(cfg.lang === "en" ? "\u00a9 Hehuachi subdistrict (illustrative data)" : "\u00a9 荷花池街道（示意数据）");
    }
    map.on("locationfound", function (e) {
      state.nearest(e.latlng.lng, e.latlng.lat);
      if (state.whereAmI && cfg.where) state.whereAmI(cfg.where, e.latlng.lng, e.latlng.lat);
    });
    if (cfg.route && cfg.route.coordinates.length) {
      var line = L.polyline(cfg.route.coordinates, { color: "#b2182b", weight: 4, opacity: 0.8, dashArray: "8 6" });
      line.addTo(map);
      state.route = line;
      state.counts.route = 1;
    }
    if (cfg.basemap_tiles && L.vectorGrid) {
      /* A vector MBTiles package: every source layer drawn in one quiet style. */
      var quiet = { weight: 1, color: "#9e9e9e", fill: true, fillColor: "#e0ddd5", fillOpacity: 0.6 };
      var base = L.vectorGrid.protobuf(cfg.basemap_tiles.url, {
        pane: "tilePane",
        interactive: false,
        maxNativeZoom: cfg.basemap_tiles.maxzoom,
        maxZoom: 22,
        vectorTileLayerStyles: new Proxy({}, { get: function () { return quiet; } }),
        attribution: cfg.basemap_tiles.attribution
      });
      base.addTo(map);
      state.basemapTiles = base;
    }
    if (cfg.highlight) {
      /* A feature's own page: the feature itself over the basemap, in its status colour. */
      var colourOf = cfg.highlight_color || "#1a4f8b";
      var shown = L.geoJSON(cfg.highlight, {
        style: function () { return { color: colourOf, weight: 3, fillColor: colourOf, fillOpacity: 0.35 }; },
        pointToLayer: function (f, latlng) {
          return L.circleMarker(latlng, { radius: 9, color: "#1d2733", weight: 2, fillColor: colourOf, fillOpacity: 0.9 });
        }
      }).addTo(map);
      state.highlight = shown;
      state.counts.highlight = 1;
    }
    if (cfg.fit) {
      var fit = L.latLngBounds(cfg.fit);
      if (fit.getSouthWest().equals(fit.getNorthEast())) map.setView(fit.getCenter(), 18);
      else map.fitBounds(fit, { maxZoom: 18, padding: [20, 20] });
    }
    if (cfg.centre) map.setView(cfg.centre, map.getZoom());
  };

  /* Fly to a feature (a search result) and open it: its popup from the API (the layer's
   * own popup when the page draws the layer, else its name and a link to its page). */
  state.showFeature = function (slug, id, bbox) {
    var map = state.map;
    var sw = [bbox[1], bbox[0]], ne = [bbox[3], bbox[2]];
    if (state.shift) {
      var a = state.shift(bbox[0], bbox[1]), b = state.shift(bbox[2], bbox[3]);
      sw = [a[1], a[0]]; ne = [b[1], b[0]];
    }
    var bounds = L.latLngBounds(sw, ne);
    var point = bounds.getSouthWest().equals(bounds.getNorthEast());
    if (point) map.setView(bounds.getCenter(), Math.max(map.getZoom(), 18), { animate: false });
    else map.fitBounds(bounds, { maxZoom: 18, padding: [30, 30], animate: false });
    var entry = state.layers[slug];
    if (entry && !entry.cfg.basemap && !map.hasLayer(entry.target.holder)) entry.target.holder.addTo(map);
    state.shown = { layer: slug, id: id, open: false };
    return fetch(state.featureApi(slug, id), { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (r) {
        if (!r.ok) throw new Error(slug + "/" + id + " → " + r.status);
        return r.json();
      })
      .then(function (feature) {
        var content;
        if (entry && !entry.cfg.basemap) {
          content = state.popup(entry.cfg, feature);
        } else {
          content = state.popup({ slug: slug, popup: [], vocabularies: {} }, feature);
        }
        var at = feature.geometry && feature.geometry.type === "Point"
          ? L.latLng(sw[0], sw[1]) : bounds.getCenter();
        state.openPopupAt(map, at, content);
        state.shown.open = true;
      })
      .catch(function (err) { console.warn(err.message); });
  };

  document.addEventListener("hh:search-choose", function (e) {
    if (!state.map || !e.detail || !e.detail.bbox) return;
    e.preventDefault();
    state.showFeature(e.detail.layer, e.detail.id, e.detail.bbox);
  });

  state.setFilter = function (slug, field, value) {
    state.filters[slug] = state.filters[slug] || {};
    state.filters[slug][field] = value;
    /* While the sites are filtered the buildings' tiles (drawn above them so that a building
     * stays clickable) let clicks through: the sites left are what the planner looks at. */
    var tiles = state.map && state.map.getPane("hh-tiles");
    if (tiles && state.tints[slug] !== undefined) {
      var filtered = Object.keys(state.filters[slug]).some(function (k) { return state.filters[slug][k]; });
      tiles.style.pointerEvents = filtered ? "none" : "";
      tiles.classList.toggle("hh-click-through", filtered);
    }
    return state.reload(slug);
  };

  /* After a filter: zoom to what is left. A layer loaded whole is fitted to what it drew; a
   * viewport layer asks for its filtered features without the bbox (one page) to find them. */
  state.fitTo = function (slug) {
    var entry = state.layers[slug];
    if (!entry) return Promise.resolve();
    var fit = function (bounds) {
      if (bounds && bounds.isValid()) state.map.fitBounds(bounds, { maxZoom: 17, padding: [20, 20] });
      state.fitted = (state.fitted || 0) + 1;
    };
    if (!entry.cfg.viewport) {
      fit(entry.target.holder.getBounds ? entry.target.holder.getBounds() : null);
      return Promise.resolve();
    }
    var params = new URLSearchParams(entry.cfg.params || {});
    var filters = state.filters[slug] || {};
    Object.keys(filters).forEach(function (k) { if (filters[k]) params.set(k, filters[k]); });
    if (state.asOf) params.set("as_of", state.asOf);
    params.set("page_size", "1000");
    return fetch(entry.cfg.url + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { features: [] }; })
      .then(function (body) {
        var shown = L.geoJSON(state.shift ? window.GCJ02.transformGeoJSON(body, state.shift) : body);
        fit(body.features.length ? shown.getBounds() : null);
      });
  };

  /* The page's "nearest" panel (config.nearest, from the page declaration): the k nearest
   * features of a layer to a located or clicked point, from /api/v1/<slug>/nearest/. */
  state.nearestIndex = 0;
  state.nearestConfig = function () {
    var all = (state.config && state.config.nearest) || [];
    return all[state.nearestIndex] || null;
  };

  state.nearest = function (lon, lat) {
    var cfg = state.nearestConfig();
    var list = document.getElementById("hh-nearest");
    if (!cfg || !list) return;
    state.nearestFrom = [lon, lat];
    var params = new URLSearchParams();
    params.set("k", String(cfg.k));
    params.set("lon", lon.toFixed(6));
    params.set("lat", lat.toFixed(6));
    var choice = document.getElementById("hh-nearest-choice");
    if (cfg.choose && choice && choice.value) params.set(cfg.choose, choice.value);
    var query = params.toString();
    state.nearestQuery = query;
    /* A page that embeds the layer searches it in the page: the position is not sent. */
    var answer = cfg.local && state.localNearest
      ? Promise.resolve(state.localNearest(cfg, lon, lat, choice && choice.value))
      : fetch(cfg.url + "?" + query, { credentials: "same-origin" }).then(function (r) { return r.json(); });
    return answer.then(function (body) {
      if (state.nearestQuery !== query) return;  // a newer search won
      list.textContent = "";
      list.setAttribute("data-lon", lon.toFixed(6));
      list.setAttribute("data-lat", lat.toFixed(6));
      var entry = state.layers[cfg.slug];
      if (!body.features.length) {
        list.appendChild(el("li", state.lang === "en" ? "None found." : "未找到。", "hh-meta"));
      }
      body.features.forEach(function (f) {
        var p = f.properties;
        var item = el("li");
        item.setAttribute("data-id", String(f.id));
        item.setAttribute("data-distance-m", String(p.distance_m));
        /* A button: reachable and usable with the keyboard as well as a tap. */
        var open = el("button", null, "hh-nearest-item");
        open.type = "button";
        open.appendChild(el("span", Math.round(p.distance_m) + " m ", "hh-distance"));
        open.appendChild(el("span", state.lang === "en" && p.name_en ? p.name_en : p.name, "hh-name"));
        if (cfg.choose && entry && entry.cfg.vocabularies[cfg.choose]) {
          open.appendChild(el("span", " · " + state.label(entry.cfg.vocabularies[cfg.choose], p[cfg.choose]), "hh-meta"));
        }
        open.addEventListener("click", function () {
          var c = f.geometry.coordinates;
          var at = state.shift ? state.shift(c[0], c[1]) : c;
          var latlng = [at[1], at[0]];
          state.map.setView(latlng, 18);
          if (entry) {
            if (!state.map.hasLayer(entry.target.holder)) entry.target.holder.addTo(state.map);
            state.openPopupAt(state.map, latlng, state.popup(entry.cfg, f));
          }
        });
        item.appendChild(open);
        list.appendChild(item);
      });
    });
  };

  /* Wire the panel: a click on the map or a located position searches from there; a new
   * choice searches again from the last point. */
  state.nearestPanel = function () {
    if (!state.nearestConfig()) return;
    state.map.on("click", function (e) {
      var lon = e.latlng.lng, lat = e.latlng.lat;
      if (state.shift) {  // the map shows GCJ-02; search in WGS84
        var w = window.GCJ02.gcj02ToWgs84(lon, lat);
        lon = w[0]; lat = w[1];
      }
      state.nearest(lon, lat);
    });
    var choice = document.getElementById("hh-nearest-choice");
    if (choice) {
      choice.addEventListener("change", function () {
        if (state.nearestFrom) state.nearest(state.nearestFrom[0], state.nearestFrom[1]);
      });
    }
    /* Several searches (e.g. open hazards, or service points of a kind): switching one
     * shows its title and choices, and searches again from the last point. */
    var which = document.getElementById("hh-nearest-layer");
    if (which) {
      which.addEventListener("change", function () {
        state.nearestIndex = parseInt(which.value, 10) || 0;
        var cfg = state.nearestConfig();
        document.getElementById("hh-nearest-panel").setAttribute("data-layer", cfg.slug);
        document.getElementById("hh-nearest-title").textContent = cfg.title;
        document.getElementById("hh-nearest-label").textContent = cfg.label || "";
        document.getElementById("hh-nearest-choose").hidden = !cfg.choose;
        choice.textContent = "";
        choice.name = cfg.choose || "";
        cfg.choices.forEach(function (c) {
          var option = el("option", c.label);
          option.value = c.value;
          option.selected = !!c.selected;
          choice.appendChild(option);
        });
        document.getElementById("hh-nearest").textContent = "";
        if (state.nearestFrom) state.nearest(state.nearestFrom[0], state.nearestFrom[1]);
      });
    }
  };

  state.tourPanel = function (slug) {
    var list = document.getElementById("hh-tour-list");
    var entry = state.layers[slug];
    if (!list || !entry) return;
    var render = function () {
      list.textContent = "";
      var features = entry.cfg.data.features.slice().sort(function (a, b) {
        return a.properties.tour_order - b.properties.tour_order;
      });
      features.forEach(function (f) {
        var p = f.properties;
        var en = state.lang === "en";
        var item = el("li", null, "hh-stop");
        item.appendChild(el("span", p.tour_order, "hh-number-inline"));
        var heading = el("h3");
        var link = el("a", en && p.name_en ? p.name_en : p.name, "hh-stop-link");
        link.href = (state.config.stop_url || "").replace("{n}", String(p.tour_order));
        heading.appendChild(link);
        item.appendChild(heading);
        item.appendChild(el("p", state.label(entry.cfg.vocabularies.theme, p.theme) + " · " +
          state.label(entry.cfg.vocabularies.status, p.status), "hh-meta"));
        var hours = en ? p.opening_hours_en || p.opening_hours : p.opening_hours;
        if (hours) item.appendChild(el("p", hours, "hh-meta"));
        if (p.photo) {
          var img = el("img");
          img.src = p.photo;
          img.alt = en && p.name_en ? p.name_en : p.name;
          img.loading = "lazy";
          item.appendChild(img);
        }
        item.appendChild(el("p", en ? p.description_en || p.description : p.description));
        item.addEventListener("click", function () {
          var c = f.geometry.coordinates;
          state.map.setView([c[1], c[0]], 18);
        });
        list.appendChild(item);
      });
    };
    render();
  };
})();
