/* The grid worker's phone view: a client of the hazard API (tasks, timeline, steps, photos,
   duplicates, creation). Every text from data is set with textContent, never as HTML. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("hh-field-config").textContent);
  var S = config.strings;
  var csrf = document.querySelector("#hh-csrf [name=csrfmiddlewaretoken]").value;
  var state = { tasks: [], selected: null, reportPoint: null, confirmed: false, busy: false };
  window.hehuachiField = state;

  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }
  function label(list, value) {
    for (var i = 0; i < list.length; i++) if (list[i].value === value) return list[i].label;
    return value;
  }
  function colour(list, value) {
    for (var i = 0; i < list.length; i++) if (list[i].value === value) return list[i].color;
    return "#777";
  }
  var clock = new Intl.DateTimeFormat("sv-SE", {
    timeZone: config.timeZone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit",
  });
  function when(iso) { return clock.format(new Date(iso)); }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function person(username) { return (config.people || {})[username] || username; }

  // --- requests --------------------------------------------------------------------------
  function request(method, url, body, isForm) {
    var options = { method: method, credentials: "same-origin", headers: { "X-CSRFToken": csrf } };
    if (body !== undefined) {
      if (isForm) {
        options.body = body;
      } else {
        options.headers["Content-Type"] = "application/json";
        options.body = JSON.stringify(body);
      }
    }
    return fetch(url, options).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text }; }
        if (!response.ok) {
          var error = new Error(describe(data, response.status));
          error.status = response.status;
          throw error;
        }
        return data;
      });
    });
  }
  function describe(data, code) {
    if (!data) return "HTTP " + code;
    if (typeof data === "string") return data;
    var parts = [];
    Object.keys(data).forEach(function (key) {
      if (key === "status" || key === "allowed") return;
      var value = data[key];
      var text = Array.isArray(value) ? value.join(" ") : String(value);
      parts.push(key === "detail" ? text : key + ": " + text);
    });
    if (Array.isArray(data.allowed)) parts.push("→ " + data.allowed.map(function (a) {
      return config.actions[a] ? config.actions[a].label : a;
    }).join(", "));
    return parts.join("; ") || "HTTP " + code;
  }
  function hazardUrl(id, tail) { return config.urls.hazards + id + "/" + (tail ? tail + "/" : ""); }

  // --- the map ---------------------------------------------------------------------------
  var map = L.map("hh-field-map", { zoomControl: true, attributionControl: true });
  if (window.hehuachi) window.hehuachi.speak(map, config.control_words);
  map.attributionControl.setPrefix("Leaflet");
  state.map = map;
  var mine = [];
  var cells = L.geoJSON(null, {
    style: function (f) {
      return f.properties.mine
        ? { color: "#1a4f8b", weight: 3, fillOpacity: 0.06 }
        : { color: "#64748b", weight: 1, dashArray: "4 4", fillOpacity: 0 };
    },
    interactive: false,
  }).addTo(map);
  config.cells.forEach(function (c) {
    var layer = L.geoJSON({ type: "Feature", geometry: c.geojson, properties: { mine: c.mine } });
    layer.eachLayer(function (l) { cells.addLayer(l); l.setStyle(cells.options.style(l.feature)); });
    if (c.mine) mine.push(layer.getBounds());
  });
  var home = mine.length ? mine.reduce(function (a, b) { return a.extend(b); }) : cells.getBounds();
  if (home.isValid()) map.fitBounds(home, { padding: [8, 8] });
  else map.setView([31.7835, 119.9475], 15);
  // The offline basemap (reference layers) under the cells and tasks, drawn by hehuachi-map.js.
  if (config.mbtiles) {
    // The MBTiles package (a raster here; a vector package through VectorGrid), kept offline too.
    var base = config.mbtiles.vector && L.vectorGrid
      ? L.vectorGrid.protobuf(config.mbtiles.url, { maxNativeZoom: config.mbtiles.maxzoom, maxZoom: 22 })
      : L.tileLayer(config.mbtiles.url, { maxNativeZoom: config.mbtiles.maxzoom, maxZoom: 22, attribution: config.mbtiles.attribution });
    base.addTo(map);
  }
  if (window.hehuachi && config.basemap) {
    window.hehuachi.lang = config.lang === "en" ? "en" : "zh";
    config.basemap.forEach(function (cfg) { window.hehuachi.addLayer(map, cfg); });
  }
  var markers = L.layerGroup().addTo(map);
  var reportMarker = null;

  function drawTasks() {
    markers.clearLayers();
    state.tasks.forEach(function (t) {
      var marker = L.circleMarker([t.lat, t.lon], {
        radius: 8,
        color: t.overdue_days > 0 ? "#b71c1c" : "#1d2733",
        weight: t.overdue_days > 0 ? 3 : 1,
        fillColor: colour(config.statuses, t.status),
        fillOpacity: 0.9,
      });
      marker.hazardId = t.id;
      marker.on("click", function () { select(t.id); });
      markers.addLayer(marker);
    });
  }

  // --- my tasks --------------------------------------------------------------------------
  function loadTasks() {
    return request("GET", config.urls.tasks).then(function (data) {
      state.tasks = data.tasks;
      renderTasks();
      drawTasks();
      // A link from the inbox (/field/?hazard=ID) opens that hazard once.
      var wanted = Number(new URLSearchParams(window.location.search).get("hazard"));
      if (!state.loaded && wanted && taskById(wanted)) select(wanted);
      state.loaded = (state.loaded || 0) + 1;
    });
  }
  function workdaysText(n) {
    if (n < 0) return fmt(S.workdaysOver, { n: -n });
    if (n === 0) return S.dueToday;
    return fmt(S.workdaysLeft, { n: n });
  }
  function renderTasks() {
    var list = $("hh-tasks");
    clear(list);
    $("hh-task-count").textContent = String(state.tasks.length);
    if (!state.tasks.length) list.appendChild(el("li", S.noTasks, "hh-muted"));
    state.tasks.forEach(function (t) {
      var item = el("li", null, t.overdue_days > 0 ? "hh-overdue" : "");
      item.dataset.id = t.id;
      var button = el("button", null, "hh-task-button");
      button.type = "button";
      var dot = el("span", null, "hh-dot");
      dot.style.background = colour(config.statuses, t.status);
      button.appendChild(dot);
      button.appendChild(el("strong", t.name));
      var meta = el("span", null, "hh-meta");
      meta.appendChild(el("span", label(config.statuses, t.status), "hh-status"));
      meta.appendChild(el("span", label(config.categories, t.category)));
      meta.appendChild(el("span", t.deadline ? fmt(S.deadline, { d: t.deadline }) : S.noDeadline));
      if (t.overdue_days > 0) meta.appendChild(el("span", fmt(S.overdue, { n: t.overdue_days }), "hh-alert"));
      if (t.workdays_left !== null && t.workdays_left !== undefined) {
        meta.appendChild(el("span", workdaysText(t.workdays_left), t.workdays_left < 0 ? "hh-alert hh-workdays" : "hh-workdays"));
      }
      if (t.supervised) meta.appendChild(el("span", S.supervised, "hh-alert"));
      button.appendChild(meta);
      button.addEventListener("click", function () { select(t.id); });
      item.appendChild(button);
      list.appendChild(item);
    });
  }
  function taskById(id) {
    for (var i = 0; i < state.tasks.length; i++) if (state.tasks[i].id === id) return state.tasks[i];
    return null;
  }

  // --- one task: map, timeline, steps ----------------------------------------------------
  /* Each hazard has an address of its own (?hazard=<id>): bookmarked, shared, and Back goes
   * to the one before. */
  function hazardInUrl() {
    var raw = new URLSearchParams(window.location.search).get("hazard");
    return raw && /^[0-9]{1,18}$/.test(raw) ? parseInt(raw, 10) : null;
  }
  function remember(id) {
    if (hazardInUrl() === id) return;
    var url = new URL(window.location.href);
    url.searchParams.set("hazard", String(id));
    window.history.pushState({ hazard: id }, "", url.pathname + url.search);
  }
  window.addEventListener("popstate", function () {
    var id = hazardInUrl();
    if (id !== null) select(id, true);
    else { $("hh-task").hidden = true; state.selected = null; }
  });
  document.addEventListener("hh:search-choose", function (e) {
    if (!e.detail || e.detail.layer !== "hazards" || !taskById(e.detail.id)) return;
    e.preventDefault();
    select(e.detail.id);
  });

  function select(id, fromHistory) {
    var t = taskById(id);
    // The same task again (after a step, or a live update): the step's outcome stays said.
    var again = state.selected === id;
    if (!fromHistory) remember(id);
    state.selected = id;
    state.selectedReady = false;
    var section = $("hh-task");
    section.hidden = false;
    section.dataset.id = id;
    $("hh-step-form").hidden = true;
    if (!again) $("hh-step-result").textContent = "";
    if (t) {
      $("hh-task-title").textContent = t.name;
      var bits = [label(config.statuses, t.status), label(config.levels, t.level),
        label(config.categories, t.category)];
      if (t.grid) bits.push(t.grid);
      if (t.responsible_unit) bits.push(t.responsible_unit);
      if (t.assignee) bits.push(person(t.assignee));
      bits.push(t.deadline ? fmt(S.deadline, { d: t.deadline }) : S.noDeadline);
      if (t.overdue_days > 0) bits.push(fmt(S.overdue, { n: t.overdue_days }));
      if (t.workdays_left !== null && t.workdays_left !== undefined) bits.push(workdaysText(t.workdays_left));
      $("hh-task-meta").textContent = bits.join(" · ");
      $("hh-task-description").textContent = t.description || "";
      map.setView([t.lat, t.lon], Math.max(map.getZoom(), 18));
      markers.eachLayer(function (m) {
        m.setRadius(m.hazardId === id ? 12 : 8);
      });
    }
    return Promise.all([loadTimeline(id), loadActions(id)]).then(function () {
      if (state.selected === id) state.selectedReady = true;
    }).catch(function (error) {
      $("hh-step-result").textContent = S.failed + " " + error.message;
    });
  }
  function pendingOf(id) {
    var box = window.hehuachiOutbox;
    return box ? box.list().then(function (entries) {
      return entries.filter(function (e) { return e.kind === "step" && e.hazard === id; });
    }).catch(function () { return []; }) : Promise.resolve([]);
  }
  function loadTimeline(id) {
    return Promise.all([request("GET", hazardUrl(id, "timeline")).catch(function () {
      return { events: [] };
    }), pendingOf(id)]).then(function (both) {
      var data = both[0];
      var list = $("hh-timeline");
      clear(list);
      both[1].forEach(function (entry) {
        var item = el("li", null, "hh-pending");
        item.dataset.action = entry.body.action;
        item.dataset.pending = String(entry.id);
        item.appendChild(el("strong", config.actions[entry.body.action].label));
        item.appendChild(el("span", " " + S.offline.pending, "hh-muted"));
        if (entry.body.note) item.appendChild(el("p", entry.body.note));
        list.appendChild(item);
      });
      data.events.forEach(function (e) {
        var item = el("li");
        item.dataset.action = e.action;
        var head = el("div", null, "hh-event-head");
        head.appendChild(el("strong", config.lang === "en" ? e.label_en : e.label_zh));
        head.appendChild(el("span", " " + when(e.at) + " " + S.by + " " + person(e.user), "hh-muted"));
        item.appendChild(head);
        if (e.reason_zh) item.appendChild(el("p", config.lang === "en" ? e.reason_en : e.reason_zh, "hh-reason"));
        if (e.note) item.appendChild(el("p", e.note));
        if (e.photos.length) {
          var photos = el("div", null, "hh-photos");
          e.photos.forEach(function (p) {
            var link = el("a");
            link.href = p.url;
            link.target = "_blank";
            link.rel = "noopener";
            var img = el("img");
            img.src = p.thumbnail;
            img.alt = "";
            img.loading = "lazy";
            link.appendChild(img);
            photos.appendChild(link);
          });
          item.appendChild(photos);
        }
        list.appendChild(item);
      });
    });
  }
  function predicted(data, pending) {
    // After steps still in the outbox: the status they lead to, and the steps from there that
    // this worker may take at all (the server decides when they are sent).
    if (!pending.length) return data;
    var status = data.status;
    pending.forEach(function (e) { var a = config.actions[e.body.action]; if (a && a.target) status = a.target; });
    var allowed = Object.keys(config.actions).filter(function (name) {
      var a = config.actions[name];
      return a.mine && a.sources.indexOf(status) >= 0;
    }).map(function (name) { return { action: name }; });
    return { status: status, version: data.version, allowed: allowed, predicted: true };
  }
  function loadActions(id) {
    var t = taskById(id);
    var fallback = { status: t ? t.status : "", version: t ? t.version : null, allowed: [] };
    return Promise.all([request("GET", hazardUrl(id, "transitions")).catch(function () {
      return fallback;
    }), pendingOf(id)]).then(function (both) {
      var data = predicted(both[0], both[1]);
      var box = $("hh-actions");
      clear(box);
      state.version = data.version;
      state.predicted = !!data.predicted;
      if (!data.allowed.length) box.appendChild(el("p", S.noSteps, "hh-muted"));
      data.allowed.forEach(function (a) {
        var button = el("button", config.actions[a.action] ? config.actions[a.action].label : a.action, "hh-button hh-secondary");
        button.type = "button";
        button.dataset.action = a.action;
        button.addEventListener("click", function () { openStep(id, a.action); });
        box.appendChild(button);
      });
    });
  }

  function field(input) {
    var wrap = el("p");
    var id = "hh-step-" + input.name;
    var caption = el("label", S.input[input.name] + (input.required ? " " + S.required : ""));
    caption.htmlFor = id;
    wrap.appendChild(caption);
    var control;
    if (input.kind === "text") {
      control = el("textarea");
      control.rows = 3;
      control.maxLength = input.name === "note" ? 2000 : 200;
      if (input.name === "responsible_unit") { control = el("input"); control.type = "text"; control.maxLength = 200; }
    } else if (input.kind === "date") {
      control = el("input");
      control.type = "date";
    } else if (input.kind === "user" || input.kind === "hazard") {
      control = el("input");
      control.type = "text";
      if (input.kind === "hazard") control.inputMode = "numeric";
    } else if (input.kind === "reason" || input.kind === "return_reason") {
      control = el("select");
      (input.kind === "reason" ? config.reasons : config.returnReasons).forEach(function (r) {
        var option = el("option", r.label);
        option.value = r.value;
        control.appendChild(option);
      });
    } else if (input.kind === "bool") {
      control = el("select");
      [["true", S.yes], ["false", S.no]].forEach(function (pair) {
        var option = el("option", pair[1]);
        option.value = pair[0];
        control.appendChild(option);
      });
    } else if (input.kind === "photos") {
      control = el("input");
      control.type = "file";
      control.multiple = true;
      control.accept = "image/jpeg,image/png,image/heic,.jpg,.jpeg,.png,.heic";
      control.setAttribute("capture", "environment");
    }
    control.id = id;
    control.name = input.name;
    control.dataset.kind = input.kind;
    wrap.appendChild(control);
    return wrap;
  }

  function openStep(id, action) {
    var form = $("hh-step-form");
    clear(form);
    form.hidden = false;
    form.dataset.action = action;
    form.appendChild(el("h4", config.actions[action].label));
    config.actions[action].inputs.forEach(function (input) { form.appendChild(field(input)); });
    var buttons = el("p");
    var save = el("button", S.save, "hh-button");
    save.type = "submit";
    save.id = "hh-step-save";
    var cancel = el("button", S.cancel, "hh-button hh-secondary");
    cancel.type = "button";
    cancel.addEventListener("click", function () { form.hidden = true; });
    buttons.appendChild(save);
    buttons.appendChild(cancel);
    form.appendChild(buttons);
    $("hh-step-result").textContent = "";
  }

  $("hh-step-form").addEventListener("submit", function (event) {
    event.preventDefault();
    if (state.busy) return;
    var form = event.target;
    var id = state.selected;
    var body = { action: form.dataset.action };
    var files = null;
    Array.prototype.forEach.call(form.querySelectorAll("[name]"), function (control) {
      if (control.dataset.kind === "photos") { files = control.files; return; }
      var value = control.value;
      if (value === "") return;
      if (control.dataset.kind === "bool") value = value === "true";
      body[control.name] = value;
    });
    state.busy = true;
    var result = $("hh-step-result");
    result.className = "";
    result.textContent = files && files.length ? S.photosUploading : "";
    // Into the outbox first (photos resized on the phone), then sent if there is a network.
    var outbox = window.hehuachiOutbox;
    var task = taskById(id);
    outbox.addStep({ hazard: id, name: task ? task.name : "", body: body, version: state.version, files: files })
      .then(function (entryId) {
        return sendNow(entryId).then(function (outcome) {
          if (outcome.error) {
            result.textContent = S.failed + " " + outcome.error;
            result.className = "hh-error";
            return null;
          }
          form.hidden = true;
          // Kept (and perhaps sent): reading the tasks again may fail on a bad network, which
          // must not make the worker think the step was lost.
          return loadTasks().then(function () { return select(id); }).catch(function () { return null; }).then(function () {
            result.textContent = outcome.sent ? S.saved : S.queued;
            result.className = outcome.sent ? "hh-ok" : "hh-ok hh-queued";
          });
        });
      }).catch(function (error) {
        result.textContent = S.failed + " " + error.message;
        result.className = "hh-error";
      }).then(function () { state.busy = false; });
  });

  /* Send the outbox now if the phone is online, and say what became of `entryId`: sent (with
   * the server's answer), queued (kept for later, or a conflict shown in the outbox), or an
   * error the worker can fix in the form (400: the entry is not kept, the form still is). */
  function sendNow(entryId) {
    var outbox = window.hehuachiOutbox;
    if (!navigator.onLine) return Promise.resolve({ sent: false });
    return outbox.sync({ live: entryId }).then(function (outcome) {
      var mine = outcome.results[entryId];
      if (!mine) return { sent: false };
      if (mine.ok) return { sent: true, hazard: mine.hazard, data: mine.data };
      if (mine.failure.kind === "refused" && mine.failure.status === 400) return { error: mine.failure.message };
      return { sent: false };
    });
  }
  state.reload = function () {
    return loadTasks().then(function () { if (state.selected) return select(state.selected); });
  };
  if (window.hehuachiOutbox) {
    window.hehuachiOutbox.onChange(function (info) {
      // Something sent in the background (the network came back): show the server's state.
      if (info.synced && info.synced.results && Object.keys(info.synced.results).length && !state.busy) {
        state.reload();
      }
    });
  }

  // --- live updates (static/js/live.js) ---------------------------------------------------
  /* A pushed change that concerns this worker (one of the listed tasks, a hazard in their
   * cells or assigned to them; every hazard for those who reach them all) reloads the task
   * list at once; the open task's timeline follows, and the task itself when no step form is
   * open (the worker's typing is never thrown away). */
  state.liveReloads = 0;
  var liveTimer = null;
  var liveIds = {};
  function concernsMe(message) {
    if (message.resync || message.reload) return true;
    if ((message.removed || []).some(function (id) { return taskById(id); })) return true;
    return (message.features || []).some(function (f) {
      var p = f.properties || {};
      return taskById(f.id) || p.assignee === config.user || !config.myCells.length ||
        config.myCells.indexOf(p.grid_cell) >= 0;
    });
  }
  function liveReload() {
    if (state.busy) { liveTimer = setTimeout(liveReload, 1000); return; }
    var touched = liveIds;
    liveIds = {};
    loadTasks().then(function () {
      var id = state.selected;
      if (id !== null && (touched.all || touched[id])) {
        if ($("hh-step-form").hidden) return select(id, true);
        return loadTimeline(id);
      }
    }).then(function () { state.liveReloads += 1; }).catch(function () { /* offline again */ });
  }
  document.addEventListener("hh:live", function (event) {
    var message = event.detail || {};
    if (!message.resync && message.layer !== "hazards") return;
    if (!concernsMe(message)) return;
    if (message.resync || message.reload) liveIds.all = true;
    (message.features || []).forEach(function (f) { liveIds[f.id] = true; });
    (message.removed || []).forEach(function (id) { liveIds[id] = true; });
    clearTimeout(liveTimer);
    liveTimer = setTimeout(liveReload, 200 + Math.random() * 600);
  });

  // --- report a new hazard ---------------------------------------------------------------
  function setReportPoint(lon, lat) {
    state.reportPoint = { lon: Math.round(lon * 1e7) / 1e7, lat: Math.round(lat * 1e7) / 1e7 };
    state.confirmed = false;
    $("hh-dup-warning").hidden = true;
    $("hh-r-where").textContent = fmt(S.located, { lon: state.reportPoint.lon.toFixed(6), lat: state.reportPoint.lat.toFixed(6) });
    if (reportMarker) reportMarker.setLatLng([lat, lon]);
    else reportMarker = L.marker([lat, lon], { draggable: true, keyboard: false }).addTo(map);
    reportMarker.off("dragend").on("dragend", function () {
      var p = reportMarker.getLatLng();
      setReportPoint(p.lng, p.lat);
    });
  }
  map.on("click", function (event) {
    if (!$("hh-report").open) return;
    setReportPoint(event.latlng.lng, event.latlng.lat);
  });
  $("hh-locate").addEventListener("click", function () {
    $("hh-report").open = true;
    if (!navigator.geolocation) { $("hh-r-where").textContent = S.geoFailed; return; }
    navigator.geolocation.getCurrentPosition(function (position) {
      setReportPoint(position.coords.longitude, position.coords.latitude);
      map.setView([position.coords.latitude, position.coords.longitude], 18);
    }, function () {
      $("hh-r-where").textContent = S.geoFailed;
    }, { enableHighAccuracy: true, timeout: 15000 });
  });
  $("hh-r-category").addEventListener("change", function () {
    state.confirmed = false;
    $("hh-dup-warning").hidden = true;
  });
  $("hh-r-confirm").textContent = S.reportAnyway;
  $("hh-r-confirm").addEventListener("click", function () {
    state.confirmed = true;
    save();
  });

  function reportResult(text, cls) {
    var result = $("hh-r-result");
    result.textContent = text;
    result.className = cls || "";
  }

  function metres(a, b) {
    var r = 6371008.8, rad = Math.PI / 180;
    var dLat = (b.lat - a.lat) * rad, dLon = (b.lon - a.lon) * rad;
    var h = Math.sin(dLat / 2) * Math.sin(dLat / 2) +
      Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) * Math.sin(dLon / 2);
    return 2 * r * Math.asin(Math.sqrt(h));
  }
  function cachedDuplicates(p, category) {
    // Offline: the open hazards this phone knows (the tasks), within the same radius.
    var found = state.tasks.filter(function (t) { return t.category === category; }).map(function (t) {
      return { id: t.id, name: t.name, status: t.status, distance_m: metres(p, t) };
    }).filter(function (h) { return h.distance_m <= config.duplicateRadius; });
    found.sort(function (a, b) { return a.distance_m - b.distance_m; });
    return { radius_m: config.duplicateRadius, hazards: found, cached: true };
  }
  function checkDuplicates() {
    var p = state.reportPoint;
    var category = $("hh-r-category").value;
    var query = "?lon=" + encodeURIComponent(p.lon) + "&lat=" + encodeURIComponent(p.lat) +
      "&category=" + encodeURIComponent(category);
    var asked = navigator.onLine ? request("GET", config.urls.duplicates + query).catch(function (error) {
      if (error.status) throw error;
      return cachedDuplicates(p, category);
    }) : Promise.resolve(cachedDuplicates(p, category));
    return asked.then(function (data) {
      state.duplicates = data.hazards;
      var list = $("hh-dup-list");
      clear(list);
      if (!data.hazards.length) {
        $("hh-dup-warning").hidden = true;
        return false;
      }
      $("hh-dup-text").textContent = fmt(S.duplicates, { r: data.radius_m });
      data.hazards.forEach(function (h) {
        var item = el("li");
        item.dataset.id = h.id;
        var button = el("button", null, "hh-linklike");
        button.type = "button";
        button.appendChild(el("span", fmt(S.distance, { m: Math.round(h.distance_m) }) + " "));
        button.appendChild(el("strong", h.name));
        button.appendChild(el("span", " · " + label(config.statuses, h.status) + " · #" + h.id));
        button.addEventListener("click", function () { if (taskById(h.id)) select(h.id); });
        item.appendChild(button);
        list.appendChild(item);
      });
      $("hh-dup-warning").hidden = false;
      return true;
    });
  }

  function save() {
    if (state.busy) return;
    var p = state.reportPoint;
    var name = $("hh-r-name").value.trim();
    var feature = {
      type: "Feature",
      geometry: { type: "Point", coordinates: [p.lon, p.lat] },
      properties: {
        name: name,
        category: $("hh-r-category").value,
        level: $("hh-r-level").value,
        description: $("hh-r-description").value.trim(),
      },
    };
    var files = $("hh-r-photos").files;
    state.busy = true;
    reportResult(files.length ? S.photosUploading : "");
    var created = null;
    var seen = (state.duplicates || []).map(function (h) { return h.id; });
    window.hehuachiOutbox.addReport({ feature: feature, files: files, seen: seen }).then(function (entryId) {
      $("hh-report-form").reset();
      $("hh-dup-warning").hidden = true;
      state.confirmed = false;
      state.reportPoint = null;
      state.duplicates = [];
      $("hh-r-where").textContent = "";
      if (reportMarker) { map.removeLayer(reportMarker); reportMarker = null; }
      return sendNow(entryId);
    }).then(function (outcome) {
      if (outcome.error) { reportResult(S.failed + " " + outcome.error, "hh-error"); return null; }
      if (!outcome.sent) { reportResult(S.queued, "hh-ok hh-queued"); return null; }
      created = outcome.hazard;
      state.lastReported = created;
      return loadTasks().then(function () { return select(created); }).catch(function () { return null; }).then(function () {
        reportResult(fmt(S.reported, { id: created }), "hh-ok");
      });
    }).catch(function (error) {
      reportResult(S.failed + " " + error.message, "hh-error");
      if (created) loadTasks();
    }).then(function () { state.busy = false; });
  }

  $("hh-report-form").addEventListener("submit", function (event) {
    event.preventDefault();
    if (state.busy) return;
    if (!state.reportPoint) { reportResult(S.noLocation, "hh-error"); return; }
    if (state.confirmed) { save(); return; }
    reportResult(S.checking);
    checkDuplicates().then(function (found) {
      reportResult("");
      if (!found) save();
    }).catch(function (error) {
      reportResult(S.failed + " " + error.message, "hh-error");
    });
  });

  (window.hehuachiOffline ? window.hehuachiOffline.opened || Promise.resolve() : Promise.resolve()).then(loadTasks).then(function () {
    var id = hazardInUrl();
    if (id !== null) {
      window.history.replaceState({ hazard: id }, "", window.location.pathname + window.location.search);
      var step = new URLSearchParams(window.location.search).get("step");
      select(id, true).then(function () {
        // A feature page's "steps you may take now" open the form of that step here.
        if (!step || !/^[a-z_]{1,40}$/.test(step)) return;
        var button = document.querySelector('#hh-actions [data-action="' + step + '"]');
        if (button) button.click();
      });
      var section = $("hh-task");
      if (section.scrollIntoView) section.scrollIntoView({ block: "start" });
    }
  }).catch(function (error) {
    $("hh-tasks").appendChild(el("li", S.failed + " " + error.message, "hh-error"));
  });
})();
