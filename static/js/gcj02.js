/* WGS84 <-> GCJ-02 (AMap/Tencent) <-> BD-09 (Baidu), plain browser JavaScript.
 * Mirrors layers/geo/gcj02.py. Coordinates are always (lon, lat). Usage:
 *   GCJ02.wgs84ToGcj02(lon, lat) -> [lon, lat]
 *   GCJ02.transformGeoJSON(feature, GCJ02.wgs84ToGcj02) -> shifted copy
 * Attaches to window.GCJ02; in Node, require() returns the same object. */
(function (root) {
  "use strict";

  var PI = Math.PI;
  var A = 6378245.0; // Krasovsky 1940 semi-major axis
  var EE = 0.00669342162296594323; // Krasovsky first eccentricity squared
  var BD_PI = (PI * 3000.0) / 180.0;
  var TOLERANCE = 1e-12; // inverse iterations stop below this step (degrees)
  var ITERATIONS = 10; // safety cap; 3 already reach < 1e-9 degree

  function check(lon, lat) {
    if (typeof lon !== "number" || typeof lat !== "number" || !isFinite(lon) || !isFinite(lat)) {
      throw new RangeError("coordinates must be finite numbers, got (" + lon + ", " + lat + ")");
    }
  }

  /* The crude mainland-China box; outside it GCJ-02 equals WGS84. */
  function outsideChina(lon, lat) {
    check(lon, lat);
    return !(lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271);
  }

  /* GCJ-02 shift [dlon, dlat] in degrees at WGS84 (lon, lat); same formulas as Python. */
  function offset(lon, lat) {
    var x = lon - 105.0, y = lat - 35.0;
    var wave = ((20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0) / 3.0;
    var east = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y;
    east += 0.1 * Math.sqrt(Math.abs(x)) + wave;
    east += ((20.0 * Math.sin(x * PI) + 40.0 * Math.sin((x / 3.0) * PI)) * 2.0) / 3.0;
    east += ((150.0 * Math.sin((x / 12.0) * PI) + 300.0 * Math.sin((x / 30.0) * PI)) * 2.0) / 3.0;
    var north = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y;
    north += 0.2 * Math.sqrt(Math.abs(x)) + wave;
    north += ((20.0 * Math.sin(y * PI) + 40.0 * Math.sin((y / 3.0) * PI)) * 2.0) / 3.0;
    north += ((160.0 * Math.sin((y / 12.0) * PI) + 320.0 * Math.sin((y * PI) / 30.0)) * 2.0) / 3.0;
    // Metres to degrees on the Krasovsky ellipsoid.
    var phi = (lat / 180.0) * PI;
    var s = Math.sin(phi);
    var w2 = 1.0 - EE * s * s;
    var w = Math.sqrt(w2);
    var meridian = (A * (1.0 - EE)) / (w2 * w);
    var parallel = (A / w) * Math.cos(phi);
    return [(east * 180.0) / (parallel * PI), (north * 180.0) / (meridian * PI)];
  }

  function wgs84ToGcj02(lon, lat) {
    if (outsideChina(lon, lat)) return [lon, lat];
    var d = offset(lon, lat);
    return [lon + d[0], lat + d[1]];
  }

  /* Solve forward(p) = target by p <- p - (forward(p) - target), starting from start. */
  function invert(forward, lon, lat, start, iterations) {
    var x = start[0], y = start[1];
    for (var i = 0; i < iterations; i++) {
      var f = forward(x, y);
      var dx = f[0] - lon, dy = f[1] - lat;
      x -= dx;
      y -= dy;
      if (Math.abs(dx) < TOLERANCE && Math.abs(dy) < TOLERANCE) break;
    }
    return [x, y];
  }

  /* GCJ-02 -> WGS84, iterative (iterations=1 is the 0.4-2 m "single subtraction"). */
  function gcj02ToWgs84(lon, lat, iterations) {
    if (iterations === undefined) iterations = ITERATIONS;
    if (!(iterations >= 1)) throw new RangeError("iterations must be at least 1");
    if (outsideChina(lon, lat)) return [lon, lat];
    return invert(wgs84ToGcj02, lon, lat, [lon, lat], iterations);
  }

  /* GCJ-02 -> BD-09, applied everywhere. */
  function gcj02ToBd09(lon, lat) {
    check(lon, lat);
    var z = Math.sqrt(lon * lon + lat * lat) + 0.00002 * Math.sin(lat * BD_PI);
    var theta = Math.atan2(lat, lon) + 0.000003 * Math.cos(lon * BD_PI);
    return [z * Math.cos(theta) + 0.0065, z * Math.sin(theta) + 0.006];
  }

  /* BD-09 -> GCJ-02: closed form (~1e-6 degree), then refined unless iterations is 0. */
  function bd09ToGcj02(lon, lat, iterations) {
    if (iterations === undefined) iterations = ITERATIONS;
    check(lon, lat);
    var x = lon - 0.0065, y = lat - 0.006;
    var z = Math.sqrt(x * x + y * y) - 0.00002 * Math.sin(y * BD_PI);
    var theta = Math.atan2(y, x) - 0.000003 * Math.cos(x * BD_PI);
    return invert(gcj02ToBd09, lon, lat, [z * Math.cos(theta), z * Math.sin(theta)], iterations);
  }

  function wgs84ToBd09(lon, lat) {
    var g = wgs84ToGcj02(lon, lat);
    return gcj02ToBd09(g[0], g[1]);
  }

  function bd09ToWgs84(lon, lat, iterations) {
    if (iterations === undefined) iterations = ITERATIONS;
    var g = bd09ToGcj02(lon, lat, iterations);
    return gcj02ToWgs84(g[0], g[1], Math.max(iterations, 1));
  }

  /* Map fn over a coordinates array of any depth; extra ordinates (z) are kept. */
  function mapCoords(coords, fn) {
    if (typeof coords[0] === "number") {
      var p = fn(coords[0], coords[1]);
      return [p[0], p[1]].concat(coords.slice(2));
    }
    return coords.map(function (c) { return mapCoords(c, fn); });
  }

  function mapObject(obj, fn) {
    if (!obj) return obj; // null geometry
    if (obj.type === "FeatureCollection") {
      obj.features = obj.features.map(function (f) { return mapObject(f, fn); });
    } else if (obj.type === "Feature") {
      obj.geometry = mapObject(obj.geometry, fn);
    } else if (obj.type === "GeometryCollection") {
      obj.geometries = obj.geometries.map(function (g) { return mapObject(g, fn); });
    } else if (obj.coordinates) {
      obj.coordinates = mapCoords(obj.coordinates, fn);
    }
    if (obj.bbox) delete obj.bbox; // no longer valid after the shift
    return obj;
  }

  /* A deep copy of a Feature, FeatureCollection or Geometry with every position mapped
   * through fn(lon, lat) -> [lon, lat]. The input is not modified. */
  function transformGeoJSON(geojson, fn) {
    return mapObject(JSON.parse(JSON.stringify(geojson)), fn);
  }

  var api = {
    outsideChina: outsideChina,
    wgs84ToGcj02: wgs84ToGcj02,
    gcj02ToWgs84: gcj02ToWgs84,
    gcj02ToBd09: gcj02ToBd09,
    bd09ToGcj02: bd09ToGcj02,
    wgs84ToBd09: wgs84ToBd09,
    bd09ToWgs84: bd09ToWgs84,
    transformGeoJSON: transformGeoJSON,
  };
  if (root) root.GCJ02 = api;
  if (typeof module !== "undefined" && module.exports) module.exports = api;
})(typeof window !== "undefined" ? window : null);
