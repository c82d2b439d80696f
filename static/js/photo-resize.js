/* Photos made small on the phone before they are sent (a 12 MB photo fails on a weak signal):
   drawn upright on a canvas at most `maxSide` px on the long side and re-encoded as JPEG at the
   highest quality that fits `maxBytes`. A canvas keeps pixels only, so EXIF (the place, the
   phone) is gone before anything leaves the phone; the server re-encodes again. */
(function () {
  "use strict";

  function decode(file) {
    if (window.createImageBitmap) {
      return createImageBitmap(file, { imageOrientation: "from-image" }).catch(function () {
        return viaImage(file);
      });
    }
    return viaImage(file);
  }

  function viaImage(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () { URL.revokeObjectURL(url); resolve(img); };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("unreadable")); };
      img.src = url;
    });
  }

  function encode(canvas, quality) {
    return new Promise(function (resolve, reject) {
      canvas.toBlob(function (blob) {
        if (blob) resolve(blob); else reject(new Error("encode"));
      }, "image/jpeg", quality);
    });
  }

  function draw(source, side) {
    var width = source.width, height = source.height;
    var scale = Math.min(1, side / Math.max(width, height));
    var canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    var context = canvas.getContext("2d");
    context.fillStyle = "#fff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(source, 0, 0, canvas.width, canvas.height);
    return canvas;
  }

  /* resize(file, {maxSide, maxBytes}) -> Promise of {blob, width, height} */
  function resize(file, options) {
    var maxSide = options.maxSide || 1600;
    var maxBytes = options.maxBytes || 500 * 1024;
    return decode(file).then(function (source) {
      var side = maxSide;
      var quality = 0.85;
      function attempt() {
        var canvas = draw(source, side);
        return encode(canvas, quality).then(function (blob) {
          if (blob.size <= maxBytes) {
            if (source.close) source.close();
            return { blob: blob, width: canvas.width, height: canvas.height };
          }
          if (quality > 0.5) quality -= 0.1;
          else { side = Math.round(side * 0.8); quality = 0.8; }
          if (side < 320) throw new Error("too large");
          return attempt();
        });
      }
      return attempt();
    });
  }

  window.hehuachiPhotos = { resize: resize };
})();
