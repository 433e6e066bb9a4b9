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

  // The drill-down. Free-text tasks add a rung choice (cells carry data-rung; only the chosen
  // rung's are shown) and sorting by a metric's score (cells carry data-metric, data-score).
  var table = document.getElementById("examples-table");
  if (!table) return;
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var onlyDisagreements = document.getElementById("only-disagreements");
  var filter = document.getElementById("examples-filter");
  var count = document.getElementById("examples-count");
  var rungChoice = document.getElementById("examples-rung");
  var sortChoice = document.getElementById("examples-sort");
  var headers = Array.prototype.slice.call(table.querySelectorAll("th[data-metric]"));
  var texts = {};

  function chosenRung() {
    return rungChoice ? rungChoice.value : "";
  }

  function searchText(row, rung) {
    return Array.prototype.filter.call(row.cells, function (cell) {
      var of = cell.getAttribute("data-rung");
      return of === null || of === rung;
    }).map(function (cell) { return cell.textContent; }).join("\n").toLowerCase();
  }

  function apply() {
    var rung = chosenRung();
    if (!texts[rung]) texts[rung] = rows.map(function (row) { return searchText(row, rung); });
    var query = filter.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (row, i) {
      var show = (!onlyDisagreements.checked || row.getAttribute("data-disagree") === "1") &&
        (!query || texts[rung][i].indexOf(query) !== -1);
      row.hidden = !show;
      if (show) shown += 1;
    });
    count.textContent = shown + " of " + rows.length + " examples shown";
  }

  function showRung() {
    var rung = chosenRung();
    Array.prototype.forEach.call(table.querySelectorAll("td[data-rung]"), function (cell) {
      cell.hidden = cell.getAttribute("data-rung") !== rung;
    });
  }

  function score(row, rung, metric) {
    var cell = row.querySelector('td[data-rung="' + rung + '"][data-metric="' + metric + '"]');
    var value = cell ? cell.getAttribute("data-score") : "";
    return value ? parseFloat(value) : null;
  }

  // Rows in test order, or by the chosen rung's score in a metric; ungraded rows always last.
  function sortRows() {
    var key = sortChoice.value.split(":");
    var metric = key[0];
    var sign = key[1] === "asc" ? 1 : -1;
    var rung = chosenRung();
    var keyed = rows.map(function (row, i) {
      return { row: row, i: i, score: metric ? score(row, rung, metric) : null };
    });
    keyed.sort(function (a, b) {
      if (a.score === null || b.score === null) return (a.score === null) - (b.score === null) || a.i - b.i;
      return sign * (a.score - b.score) || a.i - b.i;
    });
    keyed.forEach(function (entry) { body.appendChild(entry.row); });
    headers.forEach(function (header) {
      var sorted = metric !== "" && header.getAttribute("data-metric") === metric;
      header.setAttribute("aria-sort", sorted ? (sign > 0 ? "ascending" : "descending") : "none");
    });
  }

  onlyDisagreements.addEventListener("change", apply);
  filter.addEventListener("input", apply);
  if (rungChoice) {
    rungChoice.addEventListener("change", function () {
      showRung();
      sortRows();
      apply();
    });
  }
  if (sortChoice) {
    sortChoice.addEventListener("change", sortRows);
    headers.forEach(function (header) {
      header.querySelector("button").addEventListener("click", function () {
        var metric = header.getAttribute("data-metric");
        sortChoice.value = sortChoice.value === metric + ":desc" ? metric + ":asc" : metric + ":desc";
        sortRows();
      });
    });
  }
  apply();
})();
