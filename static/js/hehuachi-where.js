/* "Where am I" on the public tour, worked out in this page only: the visitor's position never
 * leaves the phone. Distances on the WGS84 spheroid (Vincenty's inverse formula, the same
 * ellipsoid as PostGIS's geography), the direction as a compass point. */
(function () {
  "use strict";
  var state = window.hehuachi;
  var el = state.el;

  /* Metres between two lon/lat points on the WGS84 ellipsoid. */
  function geodesic(lon1, lat1, lon2, lat2) {
    var a = 6378137, f = 1 / 298.257223563, b = a * (1 - f);
    var toRad = Math.PI / 180;
    var L = (lon2 - lon1) * toRad;
    var U1 = Math.atan((1 - f) * Math.tan(lat1 * toRad));
    var U2 = Math.atan((1 - f) * Math.tan(lat2 * toRad));
    var sinU1 = Math.sin(U1), cosU1 = Math.cos(U1), sinU2 = Math.sin(U2), cosU2 = Math.cos(U2);
    var lambda = L, prev, iter = 0, sinSigma, cosSigma, sigma, cosSqAlpha, cos2SigmaM;
    do {
      var sinLambda = Math.sin(lambda), cosLambda = Math.cos(lambda);
      sinSigma = Math.sqrt(Math.pow(cosU2 * sinLambda, 2) +
        Math.pow(cosU1 * sinU2 - sinU1 * cosU2 * cosLambda, 2));
      if (sinSigma === 0) return 0;
      cosSigma = sinU1 * sinU2 + cosU1 * cosU2 * cosLambda;
      sigma = Math.atan2(sinSigma, cosSigma);
      var sinAlpha = cosU1 * cosU2 * sinLambda / sinSigma;
      cosSqAlpha = 1 - sinAlpha * sinAlpha;
      cos2SigmaM = cosSqAlpha ? cosSigma - 2 * sinU1 * sinU2 / cosSqAlpha : 0;
      var C = f / 16 * cosSqAlpha * (4 + f * (4 - 3 * cosSqAlpha));
      prev = lambda;
      lambda = L + (1 - C) * f * sinAlpha *
        (sigma + C * sinSigma * (cos2SigmaM + C * cosSigma * (-1 + 2 * cos2SigmaM * cos2SigmaM)));
    } while (Math.abs(lambda - prev) > 1e-12 && ++iter < 200);
    var uSq = cosSqAlpha * (a * a - b * b) / (b * b);
    var A = 1 + uSq / 16384 * (4096 + uSq * (-768 + uSq * (320 - 175 * uSq)));
    var B = uSq / 1024 * (256 + uSq * (-128 + uSq * (74 - 47 * uSq)));
    var deltaSigma = B * sinSigma * (cos2SigmaM + B / 4 * (cosSigma * (-1 + 2 * cos2SigmaM * cos2SigmaM) -
      B / 6 * cos2SigmaM * (-3 + 4 * sinSigma * sinSigma) * (-3 + 4 * cos2SigmaM * cos2SigmaM)));
    return b * A * (sigma - deltaSigma);
  }

  /* Initial bearing from point 1 to point 2, degrees clockwise from north. */
  function bearing(lon1, lat1, lon2, lat2) {
    var toRad = Math.PI / 180;
    var y = Math.sin((lon2 - lon1) * toRad) * Math.cos(lat2 * toRad);
    var x = Math.cos(lat1 * toRad) * Math.sin(lat2 * toRad) -
      Math.sin(lat1 * toRad) * Math.cos(lat2 * toRad) * Math.cos((lon2 - lon1) * toRad);
    return (Math.atan2(y, x) / toRad + 360) % 360;
  }

  var POINTS = {
    zh: ["北", "东北", "东", "东南", "南", "西南", "西", "西北"],
    en: ["north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west"]
  };
  function compass(degrees) {
    return POINTS[state.lang === "en" ? "en" : "zh"][Math.round(degrees / 45) % 8];
  }

  /* The features of an embedded layer, nearest first, each with distance_m (cm) and bearing. */
  function ranked(features, lon, lat) {
    return features.map(function (f) {
      var c = f.geometry.coordinates;
      var props = Object.assign({}, f.properties, {
        distance_m: Math.round(geodesic(lon, lat, c[0], c[1]) * 100) / 100,
        bearing: bearing(lon, lat, c[0], c[1])
      });
      return { type: "Feature", id: f.id, geometry: f.geometry, properties: props };
    }).sort(function (a, b) {
      return a.properties.distance_m - b.properties.distance_m || a.id - b.id;
    });
  }

  /* The "nearest" panel's search in the page, from an embedded layer (no request). */
  state.localNearest = function (cfg, lon, lat, choice) {
    var entry = state.layers[cfg.slug];
    var features = ((entry && entry.cfg.data && entry.cfg.data.features) || []).filter(function (f) {
      var p = f.properties || {};
      if (cfg.statuses && cfg.statuses.length && cfg.statuses.indexOf(p[entry.cfg.status_field]) < 0) return false;
      return !(cfg.choose && choice) || p[cfg.choose] === choice;
    });
    return { features: ranked(features, lon, lat).slice(0, cfg.k) };
  };

  /* The nearest tour stop to the located visitor: name, distance and direction, and a link. */
  state.whereAmI = function (slug, lon, lat) {
    var box = document.getElementById("hh-where-result");
    var entry = state.layers[slug];
    if (!box || !entry) return;
    var best = ranked(entry.cfg.data.features, lon, lat)[0];
    box.textContent = "";
    if (!best) return;
    var p = best.properties;
    var en = state.lang === "en";
    box.setAttribute("data-stop", String(p.tour_order));
    box.setAttribute("data-distance-m", String(p.distance_m));
    box.setAttribute("data-direction", compass(p.bearing));
    var link = el("a", p.tour_order + " " + (en && p.name_en ? p.name_en : p.name), "hh-stop-link");
    link.href = (state.config.stop_url || "#").replace("{n}", String(p.tour_order));
    box.appendChild(el("span", en ? "Nearest stop: " : "最近的站点："));
    box.appendChild(link);
    box.appendChild(el("span", en
      ? " — " + Math.round(p.distance_m) + " m to the " + compass(p.bearing)
      : " — 向" + compass(p.bearing) + " " + Math.round(p.distance_m) + " 米"));
  };

  /* The panel's "locate me" button asks the browser (the map's locationfound does the rest). */
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("hh-where-button");
    if (!button) return;
    button.addEventListener("click", function () {
      if (state.map) state.map.locate({ setView: true, maxZoom: 17 });
    });
  });

  state.geodesic = geodesic;
  state.bearing = bearing;
})();
