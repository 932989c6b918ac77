// Filters, search, the matrix's area toggles, copy buttons and links to exchanges. No network, no library.
(function () {
  "use strict";
  var $ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  var controls = $("[data-filter]");
  var search = document.getElementById("search");
  var items = $(".filterable");
  var textOf = new WeakMap();  // lower-cased text, read once: a 1,500-exchange report stays fast to filter

  // Rendered HTML waits in an inert <script type="text/html"> until needed (see conformance/reports/html).
  function materialise(container) {
    var id = container && container.getAttribute("data-lazy");
    if (!id) return;
    container.removeAttribute("data-lazy");
    var source = document.getElementById(id);
    if (!source) return;
    if (source.tagName === "SCRIPT") { container.innerHTML = source.textContent; source.remove(); }
    else { container.textContent = ""; container.appendChild(source); }
    items = $(".filterable");
  }
  function showQuiet() {
    var quiet = document.getElementById("quiet");
    if (!quiet || !quiet.hasAttribute("data-lazy")) return;
    materialise(quiet);
    var button = document.getElementById("show-quiet");
    if (button) button.parentElement.remove();
  }

  function wanted(el, key, value) {
    if (!value) return true;
    var have = el.getAttribute("data-" + key);
    if (have === null) return true;  // not something this filter is about (a matrix row and a version)
    if (key === "sev") return Number(have) >= Number(value);
    return (" " + have + " ").indexOf(" " + value + " ") >= 0;
  }

  function apply() {
    var values = {};
    controls.forEach(function (c) { values[c.getAttribute("data-filter")] = c.value; });
    var query = search ? search.value.trim().toLowerCase() : "";
    if (query) showQuiet();
    var shown = {}, total = {};
    items.forEach(function (el) {
      var ok = Object.keys(values).every(function (k) { return wanted(el, k, values[k]); });
      if (ok && query) {
        var text = textOf.get(el);
        if (text === undefined) {
          text = el.textContent;
          var body = el.querySelector("[data-lazy]");
          var source = body && document.getElementById(body.getAttribute("data-lazy"));
          if (source) text += " " + source.textContent;  // an unopened exchange is searched too
          text = text.toLowerCase();
          textOf.set(el, text);
        }
        ok = text.indexOf(query) >= 0;
      }
      el.hidden = !ok;
      var kind = el.getAttribute("data-kind");
      if (kind) { total[kind] = (total[kind] || 0) + 1; if (ok) shown[kind] = (shown[kind] || 0) + 1; }
    });
    $("[data-col]").forEach(function (el) {
      el.hidden = !!values.version && el.getAttribute("data-col") !== values.version;
    });
    var out = document.getElementById("shown");
    if (out) {
      out.textContent = Object.keys(total).map(function (k) {
        return (shown[k] || 0) + " of " + total[k] + " " + k;
      }).join(" · ");
    }
  }

  var timer = null;
  controls.forEach(function (c) { c.addEventListener("change", apply); });
  if (search) search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(apply, 150); });
  function clearFilters() { controls.forEach(function (c) { c.value = ""; }); if (search) search.value = ""; apply(); }
  var reset = document.getElementById("reset-filters");
  if (reset) reset.addEventListener("click", clearFilters);
  var more = document.getElementById("show-quiet");
  if (more) more.addEventListener("click", function () { showQuiet(); apply(); });

  $("button.toggle").forEach(function (b) {
    b.addEventListener("click", function () {
      var open = b.getAttribute("aria-expanded") !== "true";
      b.setAttribute("aria-expanded", String(open));
      b.textContent = open ? "−" : "+";
      $("tr[data-area-of='" + b.getAttribute("data-area") + "']").forEach(function (r) { r.classList.toggle("collapsed", !open); });
    });
  });

  // An exchange's body is put into the page when it is opened ('toggle' does not bubble: listen while capturing).
  document.addEventListener("toggle", function (event) {
    var d = event.target;
    if (d.open && d.classList && d.classList.contains("exchange")) materialise(d.querySelector("[data-lazy]"));
  }, true);

  // One listener for every copy button, including those of exchanges put into the page later.
  document.addEventListener("click", function (event) {
    var b = event.target.closest ? event.target.closest("button.copy[data-copy]") : null;
    if (!b) return;
    var text = document.getElementById(b.getAttribute("data-copy")).textContent;
    var done = function () { b.textContent = "Copied"; setTimeout(function () { b.textContent = "Copy"; }, 1500); };
    var fallback = function () {
      var area = document.createElement("textarea");
      area.value = text; document.body.appendChild(area); area.select();
      try { document.execCommand("copy"); done(); } catch (e) { b.textContent = "Select and copy"; }
      area.remove();
    };
    if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done, fallback); }
    else { fallback(); }
  });

  // A link to an exchange opens it, even when it was kept out of the page or hidden by the filters.
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (!el && id) { showQuiet(); el = document.getElementById(id); }
    if (!el) return;
    for (var p = el; p; p = p.parentElement) {
      if (p.tagName === "DETAILS") { p.open = true; materialise(p.querySelector("[data-lazy]")); }
      if (p.hidden) clearFilters();
    }
    el.scrollIntoView({block: "start"});
  }
  window.addEventListener("hashchange", reveal);
  if (location.hash) reveal();
  apply();
  document.documentElement.setAttribute("data-ready", "1");
})();
