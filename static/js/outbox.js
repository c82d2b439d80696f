/* The field app's outbox: every step, new report and photo the worker records goes here first
 * (IndexedDB through the vendored idb), and is sent from here, in order, when there is a
 * network. Every request carries an Idempotency-Key kept with its entry, so a request sent
 * again after a lost answer is answered with the first answer and never makes a second photo,
 * hazard or step (layers/services/idempotency.py). A step refused because the hazard changed
 * (412) or moved on (409) stays here as a conflict, beside the server's state, until the worker
 * re-applies or discards it: nothing leaves the outbox without the worker's say.
 *
 * window.hehuachiOutbox: open(userKey), addStep, addReport, list, discard, reapply, sync,
 * resizePhoto, onChange. Entries: {id, kind: step|report, state: pending|conflict|failed, ...}. */
(function () {
  "use strict";
  var db = null;
  var listeners = [];
  var syncing = null;
  var retryTimer = null;
  var failures = 0;
  var STORE = "outbox";
  var MAX_SIDE = 1600;
  var MAX_BYTES = 500 * 1024;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }
  function changed(info) { listeners.forEach(function (fn) { try { fn(info || {}); } catch (e) { /* a listener's error is its own */ } }); }

  function open(userKey) {
    return idb.openDB("hehuachi-field-" + userKey, 1, {
      upgrade: function (database) {
        database.createObjectStore(STORE, { keyPath: "id", autoIncrement: true });
      },
    }).then(function (opened) { db = opened; changed(); return api; });
  }
  function list() { return db.getAll(STORE); }
  function save(entry) { return db.put(STORE, entry); }

  /* A photo as the phone keeps and sends it: at most 1600 px on its longest side and about
   * 500 KB, as a JPEG drawn on a canvas (which carries no EXIF: no place, no phone details). A
   * file the browser cannot draw (HEIC on most browsers) is kept as it is: the server reads it. */
  function resizePhoto(file) {
    if (!window.createImageBitmap) return Promise.resolve(file);
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
      function attempt(scaleNow, quality) {
        var canvas = document.createElement("canvas");
        canvas.width = Math.max(1, Math.round(bitmap.width * scaleNow));
        canvas.height = Math.max(1, Math.round(bitmap.height * scaleNow));
        canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", quality); }).then(function (blob) {
          if (blob.size <= MAX_BYTES || (quality <= 0.5 && scaleNow < 0.2)) return blob;
          return quality > 0.55 ? attempt(scaleNow, quality - 0.1) : attempt(scaleNow * 0.8, 0.8);
        });
      }
      return attempt(scale, 0.85);
    }).catch(function () { return file; });
  }

  function photoEntries(files) {
    return Promise.all(Array.prototype.map.call(files || [], function (file) {
      return resizePhoto(file).then(function (blob) {
        var name = (file.name || "photo.jpg").replace(/\.[^.]*$/, "") + (blob === file ? "" : ".jpg");
        if (blob === file) name = file.name || "photo.jpg";
        return { blob: blob, name: name, key: uuid(), serverId: null };
      });
    }));
  }

  /* A step on a hazard the server knows: `version` is the one the worker saw; a step recorded
   * after another pending step of the same hazard takes the version that one leads to. */
  function addStep(options) {
    return list().then(function (entries) {
      var before = entries.filter(function (e) { return e.hazard === options.hazard; }).pop();
      return photoEntries(options.files).then(function (photos) {
        return db.add(STORE, {
          kind: "step", state: "pending", created: new Date().toISOString(),
          hazard: options.hazard, name: options.name || "", body: options.body,
          version: options.version, after: before ? before.id : null,
          predicted: options.predicted || null,
          photos: photos, key: uuid(), attempts: 0,
        });
      });
    }).then(function (id) { changed({ added: id }); return id; });
  }

  /* A new hazard: created, its photos, then reported; `seen` are the duplicates the worker
   * already looked at (the server is asked again when it is sent). */
  function addReport(options) {
    return photoEntries(options.files).then(function (photos) {
      return db.add(STORE, {
        kind: "report", state: "pending", created: new Date().toISOString(),
        hazard: null, feature: options.feature, name: options.feature.properties.name,
        seen: options.seen || [], photos: photos,
        createKey: uuid(), key: uuid(), attempts: 0,
      });
    }).then(function (id) { changed({ added: id }); return id; });
  }

  function discard(id) { return db.delete(STORE, id).then(function () { changed({ removed: id }); }); }

  /* After a conflict: the worker applies the same step on the hazard as it is now. */
  function reapply(id) {
    return db.get(STORE, id).then(function (entry) {
      if (!entry) return null;
      if (entry.server && entry.server.version) entry.version = entry.server.version;
      entry.after = null;
      entry.key = uuid();  // a new request (another If-Match): a new key
      entry.state = "pending";
      entry.server = null;
      entry.error = null;
      if (entry.conflict === "duplicates") entry.seen = (entry.seen || []).concat(entry.duplicates.map(function (h) { return h.id; }));
      entry.conflict = null;
      entry.checked = false;
      return save(entry);
    }).then(function () { changed({ reapplied: id }); });
  }

  // --- sending --------------------------------------------------------------------------

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var field = document.querySelector("[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function Failure(kind, status, data, message) {
    this.kind = kind; this.status = status; this.data = data; this.message = message;
  }

  /* One request with its key. Network errors, 5xx, 429 and a 409 "still in progress" are
   * transient (sent again later); 409 and 412 are conflicts; other 4xx are refusals. */
  function send(method, url, key, body, headers) {
    var options = { method: method, credentials: "same-origin", headers: { "X-CSRFToken": csrfToken() } };
    if (key) options.headers["Idempotency-Key"] = '"' + key + '"';
    Object.keys(headers || {}).forEach(function (h) { options.headers[h] = headers[h]; });
    if (body instanceof FormData) options.body = body;
    else if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    var controller = window.AbortController ? new AbortController() : null;
    if (controller) options.signal = controller.signal;
    var timer = setTimeout(function () { if (controller) controller.abort(); }, 20000);
    api.requests += 1;
    return fetch(url, options).then(function (response) {
      clearTimeout(timer);
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text.slice(0, 200) }; }
        if (response.ok) { failures = 0; return data; }  // progress: the next pause starts short
        var status = response.status;
        if (status >= 500 || status === 429 || status === 408 || (status === 409 && data && data.code === "idempotency_in_progress")) {
          throw new Failure("transient", status, data, "HTTP " + status);
        }
        if (status === 409 || status === 412) throw new Failure("conflict", status, data, describe(data, status));
        throw new Failure("refused", status, data, describe(data, status));
      });
    }, function (error) {
      clearTimeout(timer);
      throw new Failure("transient", 0, null, String(error && error.message || error));
    });
  }
  function describe(data, status) {
    if (!data) return "HTTP " + status;
    var parts = [];
    Object.keys(data).forEach(function (k) {
      if (k === "allowed" || k === "status" || k === "code") return;
      var v = data[k];
      parts.push((k === "detail" ? "" : k + ": ") + (Array.isArray(v) ? v.join(" ") : (typeof v === "object" ? JSON.stringify(v) : String(v))));
    });
    return parts.join("; ") || "HTTP " + status;
  }

  function hazardUrl(id, tail) { return api.urls.hazards + id + "/" + (tail ? tail + "/" : ""); }

  function uploadPhotos(entry, progress) {
    var chain = Promise.resolve();
    entry.photos.forEach(function (photo, i) {
      chain = chain.then(function () {
        progress(i + 1, entry.photos.length);
        if (photo.serverId) return null;
        var form = new FormData();
        form.append("image", photo.blob, photo.name);
        return send("POST", hazardUrl(entry.hazard, "photos"), photo.key, form).then(function (data) {
          photo.serverId = data.id;
          api.photosStored += 1;
          return save(entry);
        });
      });
    });
    return chain.then(function () { return entry.photos.map(function (p) { return p.serverId; }); });
  }

  function serverState(hazard) {
    return send("GET", hazardUrl(hazard, "transitions")).catch(function () { return null; });
  }

  function sendStep(entry, versions, progress) {
    return uploadPhotos(entry, progress).then(function (ids) {
      var body = Object.assign({}, entry.body);
      if (ids.length) body.photos = ids;
      var version = entry.after !== null && versions[entry.hazard] ? versions[entry.hazard] : entry.version;
      entry.sentVersion = version;
      var headers = version ? { "If-Match": '"' + version + '"' } : {};
      return send("POST", hazardUrl(entry.hazard, "transitions"), entry.key, body, headers);
    }).then(function (data) {
      versions[entry.hazard] = data.version;
      return data;
    });
  }

  function sendReport(entry, versions, progress) {
    var first = Promise.resolve();
    if (!entry.hazard) {
      var point = entry.feature.geometry.coordinates;
      var query = "?lon=" + encodeURIComponent(point[0]) + "&lat=" + encodeURIComponent(point[1]) +
        "&category=" + encodeURIComponent(entry.feature.properties.category);
      // The duplicate check again, on the server, before anything is created (once: a retry
      // of the creation does not ask again).
      var check = entry.checked ? Promise.resolve({ hazards: [] }) : send("GET", api.urls.duplicates + query);
      first = check.then(function (data) {
        var fresh = data.hazards.filter(function (h) { return (entry.seen || []).indexOf(h.id) < 0; });
        if (fresh.length) {
          throw new Failure("conflict", 409, { duplicates: fresh, radius_m: data.radius_m }, "duplicates");
        }
        entry.checked = true;
        return save(entry);
      }).then(function () {
        return send("POST", api.urls.hazards, entry.createKey, entry.feature);
      }).then(function (created) {
        entry.hazard = created.id;
        return save(entry);
      });
    }
    return first.then(function () { return uploadPhotos(entry, progress); }).then(function (ids) {
      var body = { action: "report" };
      if (ids.length) body.photos = ids;
      return send("POST", hazardUrl(entry.hazard, "transitions"), entry.key, body);
    }).then(function (data) {
      versions[entry.hazard] = data.version;
      return data;
    });
  }

  /* Send every pending entry, oldest first. Entries of a hazard that has an earlier entry in
   * conflict wait behind it. A transient failure stops the round; the next one starts after a
   * growing pause (0.5 s doubling to 30 s), or at once when the network returns. */
  function sync(options) {
    options = options || {};
    if (syncing) return syncing;
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
    var results = {};
    var versions = {};
    syncing = list().then(function (entries) {
      var pending = entries.filter(function (e) { return e.state === "pending"; });
      var blocked = {};
      entries.forEach(function (e) { if (e.state !== "pending" && e.hazard) blocked[e.hazard] = true; });
      var total = pending.length;
      var stopped = null;
      var chain = Promise.resolve();
      pending.forEach(function (listed, index) {
        chain = chain.then(function () {
          // Read again: an entry sent before this one may have moved its version on.
          return stopped ? null : db.get(STORE, listed.id);
        }).then(function (entry) {
          if (!entry || stopped || entry.state !== "pending") return null;
          if (entry.hazard && blocked[entry.hazard]) return null;
          changed({ progress: { index: index + 1, total: total, photo: 0, photos: entry.photos.length, entry: entry.id } });
          var progress = function (photo, photos) {
            changed({ progress: { index: index + 1, total: total, photo: photo, photos: photos, entry: entry.id } });
          };
          entry.attempts = (entry.attempts || 0) + 1;
          var run = entry.kind === "report" ? sendReport(entry, versions, progress) : sendStep(entry, versions, progress);
          return run.then(function (data) {
            results[entry.id] = { ok: true, hazard: entry.hazard, data: data };
            failures = 0;
            // Steps recorded on top of this one now start from the version it led to.
            return discard(entry.id).then(list).then(function (all) {
              return Promise.all(all.filter(function (e) { return e.after === entry.id; }).map(function (e) {
                e.version = data.version;
                e.after = null;
                return save(e);
              }));
            });
          }, function (failure) {
            if (!(failure instanceof Failure)) failure = new Failure("transient", 0, null, String(failure));
            results[entry.id] = { ok: false, failure: failure };
            if (failure.kind === "transient") {
              stopped = failure;
              return save(entry);
            }
            if (entry.hazard) blocked[entry.hazard] = true;
            if (failure.kind === "refused" && options.live === entry.id && failure.status === 400) {
              return discard(entry.id);  // the worker is at the form and sees why: nothing is lost
            }
            entry.state = failure.kind === "conflict" ? "conflict" : "failed";
            entry.error = failure.message;
            entry.status = failure.status;
            if (failure.data && failure.data.duplicates) {
              entry.conflict = "duplicates";
              entry.duplicates = failure.data.duplicates;
              return save(entry);
            }
            entry.conflict = failure.status === 412 ? "changed" : failure.status === 409 ? "moved" : null;
            return (entry.hazard ? serverState(entry.hazard) : Promise.resolve(null)).then(function (state) {
              entry.server = state;
              return save(entry);
            });
          });
        });
      });
      return chain.then(function () {
        if (stopped) {
          failures += 1;
          api.retries += 1;
          var wait = Math.min(30000, 500 * Math.pow(2, failures - 1)) * (0.75 + Math.random() * 0.5);
          retryTimer = setTimeout(function () { retryTimer = null; sync(); }, wait);
        } else {
          try { localStorage.setItem(api.syncedKey, new Date().toISOString()); } catch (e) { /* private mode */ }
        }
        return { results: results, stopped: stopped };
      });
    }).then(function (outcome) {
      syncing = null;
      changed({ synced: outcome });
      return outcome;
    }, function (error) {
      syncing = null;
      changed({ synced: { error: error } });
      throw error;
    });
    return syncing;
  }

  window.addEventListener("online", function () { failures = 0; if (db) sync(); });

  var api = {
    open: open, list: list, addStep: addStep, addReport: addReport, discard: discard,
    reapply: reapply, sync: sync, resizePhoto: resizePhoto,
    onChange: function (fn) { listeners.push(fn); },
    isSyncing: function () { return syncing !== null; },
    urls: {}, syncedKey: "hehuachi-field-synced",
    requests: 0, retries: 0, photosStored: 0,
  };
  window.hehuachiOutbox = api;
})();
