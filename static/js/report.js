/* The report page (/report/): the place on a map (tap, or the phone's position), photos made
   small on the phone, what is already known nearby with "me too", then sending and the code.
   Every text from the server is set with textContent, never as HTML. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("hh-report-config").textContent);
  var W = config.words;
  var form = document.getElementById("hh-report-form");
  var csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  var state = { point: null, photos: [], checked: false, busy: false, pending: 0 };
  window.hehuachiReport = state;

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
  function say(text, isError) {
    var box = $("hh-message");
    box.textContent = text || "";
    box.className = "hh-message" + (isError ? " hh-error" : "");
  }

  // --- the map ---------------------------------------------------------------------------
  var map = L.map("hh-report-map", { zoomControl: true, maxBounds: config.bounds, maxBoundsViscosity: 0.8 });
  if (window.hehuachi) window.hehuachi.speak(map, config.control_words);
  map.attributionControl.setPrefix("Leaflet");
  map.setView(config.centre, 16);
  if (window.hehuachi && config.basemap.length) {
    window.hehuachi.lang = config.lang === "en" ? "en" : "zh";
    config.basemap.forEach(function (cfg) { window.hehuachi.addLayer(map, cfg); });
  }
  var marker = null;
  function place(lat, lon, how) {
    var south = config.bounds[0][0], west = config.bounds[0][1];
    var north = config.bounds[1][0], east = config.bounds[1][1];
    if (lat < south || lat > north || lon < west || lon > east) {
      say(W.geoFailed, true);
      return;
    }
    state.point = { lat: Math.round(lat * 1e7) / 1e7, lon: Math.round(lon * 1e7) / 1e7 };
    state.checked = false;
    $("hh-lat").value = String(state.point.lat);
    $("hh-lon").value = String(state.point.lon);
    if (!marker) {
      marker = L.circleMarker([lat, lon], { radius: 11, color: "#b71c1c", weight: 3, fillColor: "#ffcdd2", fillOpacity: 0.8, interactive: false }).addTo(map);
    } else {
      marker.setLatLng([lat, lon]);
    }
    if (how === "located") map.setView([lat, lon], Math.max(map.getZoom(), 17));
    $("hh-where-text").textContent = W.located + " (" + state.point.lon.toFixed(5) + ", " + state.point.lat.toFixed(5) + ")";
  }
  map.on("click", function (e) { place(e.latlng.lat, e.latlng.lng, "tapped"); });
  $("hh-locate").addEventListener("click", function () {
    if (!navigator.geolocation) { say(W.geoFailed, true); return; }
    navigator.geolocation.getCurrentPosition(function (position) {
      place(position.coords.latitude, position.coords.longitude, "located");
    }, function () { say(W.geoFailed, true); }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });
  form.querySelectorAll("[name=category]").forEach(function (radio) {
    radio.addEventListener("change", function () { state.checked = false; });
  });

  // --- photos, made small here -----------------------------------------------------------
  var input = $("hh-photos");
  input.addEventListener("change", function () {
    var files = Array.prototype.slice.call(input.files || []);
    input.value = "";
    if (state.photos.length + files.length > config.maxPhotos) say(W.tooMany, true);
    files.slice(0, config.maxPhotos - state.photos.length).forEach(function (file) {
      state.pending += 1;
      say(W.preparing);
      window.hehuachiPhotos.resize(file, { maxSide: config.maxSide, maxBytes: config.maxBytes })
        .then(function (result) {
          state.photos.push(result);
          drawPreviews();
        }, function () { say(W.photoFailed, true); })
        .then(function () {
          state.pending -= 1;
          if (!state.pending && $("hh-message").textContent === W.preparing) say("");
        });
    });
  });
  function drawPreviews() {
    var list = $("hh-previews");
    while (list.firstChild) list.removeChild(list.firstChild);
    state.photos.forEach(function (photo, index) {
      var item = el("li");
      var img = el("img");
      img.src = URL.createObjectURL(photo.blob);
      img.alt = "";
      img.width = 96;
      img.height = 72;
      item.appendChild(img);
      var remove = el("button", "×", "hh-remove");
      remove.type = "button";
      remove.setAttribute("aria-label", W.remove + " " + (index + 1));
      remove.addEventListener("click", function () { state.photos.splice(index, 1); drawPreviews(); });
      item.appendChild(remove);
      list.appendChild(item);
    });
  }

  // --- requests --------------------------------------------------------------------------
  function send(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      body: body,
    }).then(function (response) {
      return response.text().then(function (text) {
        var data = {};
        try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { detail: text }; }
        data._status = response.status;
        data._retry = parseInt(response.headers.get("Retry-After") || "0", 10);
        return data;
      });
    });
  }
  function describe(data) {
    if (data._status === 429) return fmt(W.tooManyReports, { minutes: Math.max(1, Math.ceil(data._retry / 60)) });
    if (data.errors) {
      return Object.keys(data.errors).map(function (k) { return k + ": " + data.errors[k].join(" "); }).join("; ");
    }
    return data.detail || "HTTP " + data._status;
  }

  // --- before sending: what is known nearby ----------------------------------------------
  function category() {
    var chosen = form.querySelector("[name=category]:checked");
    return chosen ? chosen.value : "";
  }
  function check() {
    say(W.checking);
    var query = "?category=" + encodeURIComponent(category()) + "&lon=" + state.point.lon + "&lat=" + state.point.lat;
    return send("GET", config.urls.nearby + query).then(function (data) {
      if (data._status !== 200) throw new Error(describe(data));
      state.checked = true;
      state.known = data.items;
      return data.items;
    });
  }
  function showKnown(items) {
    var box = $("hh-known");
    var list = $("hh-known-list");
    while (list.firstChild) list.removeChild(list.firstChild);
    $("hh-known-text").textContent = W.known;
    items.forEach(function (item) {
      var row = el("li");
      var words = config.lang === "en" ? item.status_en : item.status_zh;
      row.appendChild(el("span", fmt(W.knownItem, { status: words, m: item.distance_m, n: item.people })));
      var button = el("button", W.meToo, "hh-button hh-metoo");
      button.type = "button";
      button.addEventListener("click", function () { meToo(item, row, button); });
      row.appendChild(button);
      list.appendChild(row);
    });
    box.hidden = false;
    say("");
  }
  function meToo(item, row, button) {
    var body = new FormData();
    body.append("ref", item.ref);
    button.disabled = true;
    send("POST", config.urls.meToo, body).then(function (data) {
      if (data._status !== 200) { say(W.failed + " " + describe(data), true); button.disabled = false; return; }
      row.appendChild(el("p", fmt(W.meTooDone, { n: data.people }), "hh-ok"));
      state.meToo = data.people;
      $("hh-submit").hidden = true;
    }, function () { say(W.offline, true); button.disabled = false; });
  }
  $("hh-different").addEventListener("click", function () {
    $("hh-known").hidden = true;
    submit();
  });

  // --- sending ---------------------------------------------------------------------------
  function problems() {
    if (!category()) return W.noCategory;
    if (!state.point) return W.noLocation;
    if (!$("hh-description").value.trim()) return W.noDescription;
    return null;
  }
  function submit() {
    if (state.busy) return;
    state.busy = true;
    say(W.sending);
    var body = new FormData();
    ["csrfmiddlewaretoken", "form_token", "website", "description", "contact"].forEach(function (name) {
      var field = form.querySelector("[name=" + name + "]");
      if (field && (field.value || name === "website")) body.append(name, field.value);
    });
    body.append("category", category());
    body.append("lon", String(state.point.lon));
    body.append("lat", String(state.point.lat));
    state.photos.forEach(function (photo, index) {
      body.append("photos", photo.blob, "photo-" + (index + 1) + ".jpg");
    });
    state.sentSizes = state.photos.map(function (photo) { return photo.blob.size; });
    send("POST", config.urls.send, body).then(function (data) {
      state.busy = false;
      if (data._status !== 201) { say(W.failed + " " + describe(data), true); return; }
      form.hidden = true;
      $("hh-code").textContent = data.code;
      $("hh-status-link").href = data.url;
      $("hh-qr").src = data.qr;
      $("hh-sent").hidden = false;
      state.code = data.code;
      $("hh-sent").scrollIntoView();
    }, function () { state.busy = false; say(W.offline, true); });
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var problem = problems();
    if (problem) { say(problem, true); return; }
    if (state.pending) { say(W.preparing); return; }
    if (state.checked) { submit(); return; }
    check().then(function (items) {
      if (items.length) showKnown(items);
      else submit();
    }, function (error) { say(W.failed + " " + error.message, true); });
  });
  state.ready = true;
})();
