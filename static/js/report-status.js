/* The status page's "not fixed" form: the photo is made small on the phone (photo-resize.js)
   before it is sent; without this script the form posts the photo as it is. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("hh-status-config").textContent);
  var form = document.getElementById("hh-not-fixed-form");
  if (!form) return;
  var message = document.getElementById("hh-nf-message");
  var state = { busy: false };
  window.hehuachiStatus = state;

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (state.busy) return;
    var note = form.querySelector("[name=note]").value.trim();
    var file = form.querySelector("[name=photo]").files[0];
    if (!note || !file) { form.reportValidity(); return; }
    state.busy = true;
    message.textContent = config.words.preparing;
    window.hehuachiPhotos.resize(file, { maxSide: config.maxSide, maxBytes: config.maxBytes })
      .then(function (result) {
        var body = new FormData();
        body.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
        body.append("note", note);
        body.append("photo", result.blob, "not-fixed.jpg");
        message.textContent = config.words.sending;
        return fetch(form.action, {
          method: "POST",
          credentials: "same-origin",
          headers: { Accept: "application/json" },
          body: body,
        });
      })
      .then(function (response) {
        return response.json().then(function (data) {
          if (!response.ok) {
            var text = data.errors
              ? Object.keys(data.errors).map(function (k) { return data.errors[k].join(" "); }).join(" ")
              : data.detail;
            throw new Error(text || "HTTP " + response.status);
          }
          window.location.reload();
        });
      })
      .catch(function (error) {
        state.busy = false;
        message.textContent = config.words.failed + " " + error.message;
      });
  });
})();
