// Search as you type: fetch the server-rendered results part of the page and keep the URL in step.
// The page works without this script; it only saves pressing Enter.
(function () {
  "use strict";
  var form = document.getElementById("search-form");
  var box = document.getElementById("q");
  var results = document.getElementById("results");
  if (!form || !box || !results || !window.fetch || !window.URLSearchParams) return;
  var endpoint = form.getAttribute("data-results");
  var timer = null;
  var latest = 0;

  function query() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (String(value).trim() !== "") params.append(key, value);
    });
    return params.toString();
  }

  function update() {
    var qs = query();
    var mine = ++latest;
    history.replaceState(null, "", qs ? "?" + qs : window.location.pathname);
    document.title = box.value.trim() ? box.value.trim() + " · codesearch" : "codesearch";
    fetch(endpoint + (qs ? "?" + qs : ""), {headers: {"Accept": "text/html"}})
      .then(function (response) { return response.text(); })
      .then(function (html) { if (mine === latest) results.innerHTML = html; })
      .catch(function () { /* keep the current results; Enter still submits the form */ });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(update, 300);
  }

  box.addEventListener("input", later);
  document.getElementById("repo").addEventListener("change", later);
  form.querySelectorAll("select").forEach(function (select) { select.addEventListener("change", update); });
  form.addEventListener("submit", function () { clearTimeout(timer); latest++; });
})();
