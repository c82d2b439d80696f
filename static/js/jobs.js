/* The job page: polls the job's status JSON and moves the progress bar until it finishes.
 * Every value reaches the page through textContent or attributes, never innerHTML. */
(function () {
  "use strict";
  var box = document.getElementById("hh-job");
  if (!box) return;
  var url = box.getAttribute("data-status-url");
  function byId(id) { return document.getElementById(id); }

  function show(s) {
    var bar = byId("hh-job-progress");
    if (s.percent === null) bar.removeAttribute("value"); else bar.value = s.percent;
    byId("hh-job-percent").textContent = s.percent === null ? "" : s.percent + "%";
    var status = byId("hh-job-status");
    status.textContent = s.status_label;
    status.setAttribute("data-status", s.status);
    byId("hh-job-message").textContent = s.message || "";
    var rows = byId("hh-job-rows");
    ["read", "written", "refused"].forEach(function (k) {
      rows.querySelector('[data-row="' + k + '"]').textContent = s.rows[k];
    });
    rows.hidden = !(s.rows.read || s.rows.written || s.rows.refused);
    byId("hh-job-error-text").textContent = s.error || "";
    byId("hh-job-error").hidden = !s.error;
    if (s.output) byId("hh-job-output").setAttribute("href", s.output);
    byId("hh-job-output-line").hidden = !s.output;
    byId("hh-job-retry").hidden = !s.can_retry;
    byId("hh-job-report").textContent = s.report ? JSON.stringify(s.report, null, 2) : "";
    var lines = byId("hh-job-lines");
    var items = s.report && Array.isArray(s.report.lines) ? s.report.lines : [];
    while (lines.firstChild) lines.removeChild(lines.firstChild);
    items.forEach(function (line) {
      var li = document.createElement("li");
      li.textContent = String(line);
      lines.appendChild(li);
    });
    lines.hidden = items.length === 0;
    var links = byId("hh-job-links");
    while (links.firstChild) links.removeChild(links.firstChild);
    (s.links || []).forEach(function (link) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      a.setAttribute("data-kind", link.kind);
      li.appendChild(a);
      links.appendChild(li);
    });
    links.hidden = !(s.links && s.links.length);
    if (s.finished) byId("hh-job-report-box").open = items.length === 0;
    byId("hh-job-attempts").textContent = s.attempts;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) return;
        show(s);
        if (!s.finished) window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  if (byId("hh-job-status").getAttribute("data-status") !== "succeeded") poll();
})();
