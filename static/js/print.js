/* The map pages' "print" form: sends the extent the map shows (west,south,east,north). */
(function () {
  "use strict";
  var form = document.getElementById("hh-print");
  if (!form) return;
  form.addEventListener("submit", function () {
    var b = window.hehuachi.map.getBounds();
    document.getElementById("hh-print-bbox").value = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
      .map(function (v) { return v.toFixed(6); }).join(",");
  });
})();
