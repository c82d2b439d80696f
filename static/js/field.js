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

  function uploadPhotos(hazardId, files) {
    var ids = [];
    var chain = Promise.resolve();
    Array.prototype.forEach.call(files || [], function (file) {
      chain = chain.then(function () {
        var form = new FormData();
        form.append("image", file, file.name);
        return request("POST", hazardUrl(hazardId, "photos"), form, true).then(function (p) {
          ids.push(p.id);
        });
      });
    });
    return chain.then(function () { return ids; });
  }

  // --- the map ---------------------------------------------------------------------------
  var map = L.map("hh-field-map", { zoomControl: true, attributionControl: true });
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
      state.loaded = (state.loaded || 0) + 1;
    });
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
    if (!fromHistory) remember(id);
    state.selected = id;
    state.selectedReady = false;
    var section = $("hh-task");
    section.hidden = false;
    section.dataset.id = id;
    $("hh-step-form").hidden = true;
    $("hh-step-result").textContent = "";
    if (t) {
      $("hh-task-title").textContent = t.name;
      var bits = [label(config.statuses, t.status), label(config.levels, t.level),
        label(config.categories, t.category)];
      if (t.grid) bits.push(t.grid);
      if (t.responsible_unit) bits.push(t.responsible_unit);
      if (t.assignee) bits.push(person(t.assignee));
      bits.push(t.deadline ? fmt(S.deadline, { d: t.deadline }) : S.noDeadline);
      if (t.overdue_days > 0) bits.push(fmt(S.overdue, { n: t.overdue_days }));
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
  function loadTimeline(id) {
    return request("GET", hazardUrl(id, "timeline")).then(function (data) {
      var list = $("hh-timeline");
      clear(list);
      data.events.forEach(function (e) {
        var item = el("li");
        item.dataset.action = e.action;
        var head = el("div", null, "hh-event-head");
        head.appendChild(el("strong", config.lang === "en" ? e.label_en : e.label_zh));
        head.appendChild(el("span", " " + when(e.at) + " " + S.by + " " + person(e.user), "hh-muted"));
        item.appendChild(head);
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
  function loadActions(id) {
    return request("GET", hazardUrl(id, "transitions")).then(function (data) {
      var box = $("hh-actions");
      clear(box);
      state.version = data.version;
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
    } else if (input.kind === "reason") {
      control = el("select");
      config.reasons.forEach(function (r) {
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
    uploadPhotos(id, files).then(function (ids) {
      if (ids.length) body.photos = ids;
      return request("POST", hazardUrl(id, "transitions"), body);
    }).then(function () {
      form.hidden = true;
      return loadTasks().then(function () { return select(id, true); }).then(function () {
        result.textContent = S.saved;
        result.className = "hh-ok";
      });
    }).catch(function (error) {
      result.textContent = S.failed + " " + error.message;
      result.className = "hh-error";
    }).then(function () { state.busy = false; });
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

  function checkDuplicates() {
    var p = state.reportPoint;
    var query = "?lon=" + encodeURIComponent(p.lon) + "&lat=" + encodeURIComponent(p.lat) +
      "&category=" + encodeURIComponent($("hh-r-category").value);
    return request("GET", config.urls.duplicates + query).then(function (data) {
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
    request("POST", config.urls.hazards, feature).then(function (data) {
      created = data.id;
      return uploadPhotos(created, files);
    }).then(function (ids) {
      var body = { action: "report" };
      if (ids.length) body.photos = ids;
      return request("POST", hazardUrl(created, "transitions"), body);
    }).then(function () {
      $("hh-report-form").reset();
      $("hh-dup-warning").hidden = true;
      state.confirmed = false;
      state.reportPoint = null;
      $("hh-r-where").textContent = "";
      if (reportMarker) { map.removeLayer(reportMarker); reportMarker = null; }
      state.lastReported = created;
      return loadTasks().then(function () { return select(created); });
    }).then(function () {
      reportResult(fmt(S.reported, { id: created }), "hh-ok");
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

  loadTasks().then(function () {
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
