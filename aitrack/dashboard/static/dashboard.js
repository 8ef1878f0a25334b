// The overview's crossover table: filters (text, dimension, category, status) and sorting by a column; in the report
// also opening the section a link points to. The pages work without it.
(function () {
  "use strict";

  function filters() {
    var table = document.getElementById("crossover-table");
    var text = document.getElementById("filter-text");
    if (!table || !text) { return; }
    var selects = { dimension: "filter-dimension", category: "filter-category", status: "filter-status" };
    var count = document.getElementById("filter-count");
    var rows = Array.prototype.slice.call(table.tBodies[0].querySelectorAll("tr[data-subject]"));
    var form = document.getElementById("filters");

    function apply() {
      var needle = text.value.trim().toLowerCase();
      var shown = 0;
      rows.forEach(function (row) {
        var ok = !needle || row.dataset.search.indexOf(needle) !== -1;
        Object.keys(selects).forEach(function (name) {
          var wanted = document.getElementById(selects[name]).value;
          if (!wanted) { return; }
          if (name === "dimension") { ok = ok && (" " + row.dataset.dimensions + " ").indexOf(" " + wanted + " ") !== -1; }
          if (name === "category") { ok = ok && row.dataset.category === wanted; }
          if (name === "status") { ok = ok && row.dataset.status === wanted; }
        });
        row.hidden = !ok;
        if (ok) { shown += 1; }
      });
      count.textContent = shown + " of " + rows.length + " subjects";
    }

    form.addEventListener("submit", function (event) { event.preventDefault(); });
    [text].concat(Object.keys(selects).map(function (k) { return document.getElementById(selects[k]); }))
      .forEach(function (el) { el.addEventListener("input", apply); el.addEventListener("change", apply); });
    apply();
  }

  function sorting() {
    var table = document.getElementById("crossover-table");
    if (!table) { return; }
    var body = table.tBodies[0];
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var column = Number(th.dataset.column);
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.querySelectorAll("tr[data-subject]"));
        rows.sort(function (a, b) {
          var x = a.cells[column].dataset.sort, y = b.cells[column].dataset.sort;
          if (x === "" && y !== "") { return 1; }
          if (y === "" && x !== "") { return -1; }
          var nx = Number(x), ny = Number(y);
          var order = (!isNaN(nx) && !isNaN(ny) && x !== "" && y !== "") ? nx - ny : x.localeCompare(y);
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  function openTarget() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id && document.getElementById(id);
    var section = target && target.closest("details");
    if (section) { section.open = true; target.scrollIntoView(); }
  }

  filters();
  sorting();
  window.addEventListener("hashchange", openTarget);
  openTarget();
})();
