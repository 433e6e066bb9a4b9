(function () {
  "use strict";
  var data = document.getElementById("figure-data");
  var figures = data ? JSON.parse(data.textContent) : {};
  Object.keys(figures).forEach(function (id) {
    var element = document.getElementById(id);
    if (element && window.Plotly) {
      window.Plotly.newPlot(element, figures[id].data, figures[id].layout, {
        displaylogo: false,
        responsive: true,
        modeBarButtonsToRemove: ["select2d", "lasso2d"],
      });
    }
  });

  var table = document.getElementById("examples-table");
  if (!table) return;
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
  var onlyDisagreements = document.getElementById("only-disagreements");
  var filter = document.getElementById("examples-filter");
  var count = document.getElementById("examples-count");
  function apply() {
    var query = filter.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (row, i) {
      var show = (!onlyDisagreements.checked || row.getAttribute("data-disagree") === "1") &&
        (!query || texts[i].indexOf(query) !== -1);
      row.hidden = !show;
      if (show) shown += 1;
    });
    count.textContent = shown + " of " + rows.length + " examples shown";
  }
  onlyDisagreements.addEventListener("change", apply);
  filter.addEventListener("input", apply);
  apply();
})();
