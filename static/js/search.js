/* The search box of every map page (templates/includes/search.html): asks /api/v1/search/ as
 * the user types, lists the results grouped by layer (an ARIA combobox), "/" focuses it,
 * arrows and Enter choose. A choice is offered to the page first (event "hh:search-choose":
 * the map flies to the feature and opens it); a page that does not take it opens the
 * feature's own page. Every text reaches the page through textContent. */
(function () {
  "use strict";
  var box = document.getElementById("hh-search");
  if (!box) return;
  var input = document.getElementById("hh-search-input");
  var list = document.getElementById("hh-search-results");
  var status = document.getElementById("hh-search-status");
  var url = box.getAttribute("data-url");
  var en = document.documentElement.lang === "en";
  var state = { options: [], active: -1, query: "", timer: null, results: [] };
  window.hehuachiSearch = state;

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    state.active = -1;
  }

  function activate(index) {
    state.options.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    state.active = index;
    if (index >= 0) {
      input.setAttribute("aria-activedescendant", state.options[index].id);
      state.options[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function choose(index) {
    var result = state.results[index];
    if (!result) return;
    close();
    input.value = en && result.name_en ? result.name_en : result.name;
    var event = new CustomEvent("hh:search-choose", { detail: result, cancelable: true });
    if (document.dispatchEvent(event)) window.location.href = result.url;
  }

  function render(body) {
    list.textContent = "";
    state.options = [];
    state.results = [];
    var n = 0;
    body.groups.forEach(function (group) {
      var heading = el("li", en ? group.title_en : group.title_zh, "hh-search-group");
      heading.setAttribute("role", "presentation");
      list.appendChild(heading);
      group.results.forEach(function (r) {
        r.layer = group.layer;
        var option = el("li", null, "hh-search-option");
        option.id = "hh-search-option-" + n;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.setAttribute("data-layer", group.layer);
        option.setAttribute("data-id", String(r.id));
        var swatch = el("span", null, "hh-search-swatch");
        if (r.color) swatch.style.background = r.color;
        option.appendChild(swatch);
        option.appendChild(el("span", en && r.name_en ? r.name_en : r.name, "hh-search-name"));
        var bits = [];
        if (r.code) bits.push(r.code);
        var label = en ? r.status_en : r.status_zh;
        if (label) bits.push(label);
        if (bits.length) option.appendChild(el("span", " " + bits.join(" · "), "hh-meta"));
        var index = n;
        option.addEventListener("mousedown", function (e) { e.preventDefault(); });
        option.addEventListener("click", function () { choose(index); });
        list.appendChild(option);
        state.options.push(option);
        state.results.push(r);
        n += 1;
      });
    });
    if (!n) list.appendChild(el("li", en ? "Nothing found." : "未找到。", "hh-search-none"));
    status.textContent = n ? (en ? n + " results" : "找到 " + n + " 个结果") : (en ? "Nothing found." : "未找到。");
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    activate(-1);
  }

  function ask() {
    var q = input.value.trim();
    if (!q) { close(); list.textContent = ""; status.textContent = ""; return; }
    if (q === state.query && !list.hidden) return;
    state.query = q;
    state.pending = true;
    fetch(url + "?q=" + encodeURIComponent(q.slice(0, 100)), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { groups: [] }; })
      .then(function (body) {
        if (state.query !== q) return;  // a newer question won
        render(body);
        state.pending = false;
      })
      .catch(function () { state.pending = false; });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(state.timer);
    state.timer = window.setTimeout(ask, 180);
  });
  input.addEventListener("keydown", function (e) {
    var count = state.options.length;
    if (e.key === "ArrowDown") {
      e.preventDefault();
      if (list.hidden) { ask(); return; }
      if (count) activate((state.active + 1) % count);
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      if (count) activate(state.active <= 0 ? count - 1 : state.active - 1);
    } else if (e.key === "Enter") {
      e.preventDefault();
      if (state.active >= 0) choose(state.active);
      else if (count) choose(0);
      else ask();
    } else if (e.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", function () { window.setTimeout(close, 150); });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    var tag = t && t.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (t && t.isContentEditable)) return;
    e.preventDefault();
    input.focus();
    input.select();
  });
})();
