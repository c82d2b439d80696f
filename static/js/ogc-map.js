// The features written into an /ogc/ HTML page on a small Leaflet map (no base map: nothing is
// fetched from elsewhere). Each feature links to its own page.
(function () {
  "use strict";
  function start() {
    var box = document.getElementById("hh-ogc-map");
    var data = document.getElementById("hh-ogc-features");
    if (!box || !data || !window.L) return;
    var collection = JSON.parse(data.textContent);
    var map = L.map(box, { attributionControl: false });
    var layer = L.geoJSON(collection, {
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, { radius: 6, color: "#b03a2e" });
      },
      onEachFeature: function (feature, shape) {
        var link = document.createElement("a");
        link.href = box.dataset.base + encodeURIComponent(feature.id) + "?f=html";
        link.textContent = (feature.properties && feature.properties.name) || String(feature.id);
        shape.bindPopup(link);
      },
    }).addTo(map);
    var bounds = layer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { maxZoom: 18, padding: [10, 10] });
    else map.setView([31.7828, 119.9472], 15);
    box.dataset.ready = String(collection.features.length);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
