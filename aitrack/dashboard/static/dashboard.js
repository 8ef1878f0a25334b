// Filters the indicator charts by text, category and crossover status; the page works without it.
(function () {
  "use strict";
  var text = document.getElementById("filter-text");
  var category = document.getElementById("filter-category");
  var crossover = document.getElementById("filter-crossover");
  var count = document.getElementById("filter-count");
  if (!text || !category || !crossover) { return; }
  var subjects = Array.prototype.slice.call(document.querySelectorAll("#indicators .subject"));

  function apply() {
    var needle = text.value.trim().toLowerCase();
    var wanted = category.value;
    var onlyCrossover = crossover.checked;
    var shown = 0;
    subjects.forEach(function (el) {
      var ok = (!needle || el.dataset.search.indexOf(needle) !== -1) &&
        (!wanted || el.dataset.category === wanted) &&
        (!onlyCrossover || el.dataset.status !== "none");
      el.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " of " + subjects.length + " shown";
  }

  [text, category, crossover].forEach(function (el) {
    el.addEventListener("input", apply);
    el.addEventListener("change", apply);
  });
  apply();
})();
