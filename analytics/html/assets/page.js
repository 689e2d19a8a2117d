// llmstats HTML report: draws the charts (plotly.js, embedded in this file) and makes the
// tables searchable and sortable. Everything it needs is in the page; it fetches nothing.
(function () {
  "use strict";
  var dark = window.matchMedia("(prefers-color-scheme: dark)");

  // Colours that plotly cannot take from CSS: text, grid lines and hover boxes.
  function themeUpdates(layout) {
    var fg = dark.matches ? "#e3e6ea" : "#1f2328";
    var grid = dark.matches ? "#2e353d" : "#e4e7eb";
    var updates = {
      "font.color": fg,
      "legend.font.color": fg,
      "hoverlabel.bgcolor": dark.matches ? "#171b21" : "#ffffff",
      "hoverlabel.bordercolor": grid,
      "hoverlabel.font.color": fg
    };
    Object.keys(layout).forEach(function (key) {
      if (/^[xy]axis\d*$/.test(key)) {
        updates[key + ".gridcolor"] = grid;
        updates[key + ".zerolinecolor"] = grid;
        updates[key + ".linecolor"] = grid;
      }
    });
    return updates;
  }

  function applyDotted(target, updates) {
    Object.keys(updates).forEach(function (path) {
      var parts = path.split(".");
      var node = target;
      for (var i = 0; i < parts.length - 1; i++) {
        if (typeof node[parts[i]] !== "object" || node[parts[i]] === null) node[parts[i]] = {};
        node = node[parts[i]];
      }
      node[parts[parts.length - 1]] = updates[path];
    });
    return target;
  }

  function drawCharts() {
    var source = document.getElementById("llmstats-charts");
    if (!source || typeof Plotly === "undefined") return;
    var charts = JSON.parse(source.textContent);
    var config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["sendDataToCloud"] };
    var drawn = [];
    charts.forEach(function (chart) {
      var node = document.getElementById("chart-" + chart.id);
      if (!node) return;
      var layout = applyDotted(chart.figure.layout, themeUpdates(chart.figure.layout));
      Plotly.newPlot(node, chart.figure.data, layout, config);
      drawn.push(node);
    });
    dark.addEventListener("change", function () {
      drawn.forEach(function (node) { Plotly.relayout(node, themeUpdates(node.layout)); });
    });
  }

  function cellValue(cell) {
    var raw = cell.getAttribute("data-value");
    if (raw !== null && raw !== "") return parseFloat(raw);
    return cell.textContent.toLowerCase();
  }

  function makeSortable(table) {
    var headers = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(headers, function (th, index) {
      th.tabIndex = 0;
      function sort() {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(headers, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a.cells[index]), y = cellValue(b.cells[index]);
          var xn = typeof x === "number" && !isNaN(x), yn = typeof y === "number" && !isNaN(y);
          var order = xn && yn ? x - y : xn ? -1 : yn ? 1 : (x < y ? -1 : x > y ? 1 : 0);
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(); }
      });
    });
  }

  // Every word typed must appear somewhere in a row (any column, any order).
  function makeSearchable(input) {
    var table = document.getElementById(input.getAttribute("aria-controls"));
    var count = document.getElementById(input.id + "-count");
    if (!table) return;
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var haystacks = rows.map(function (row) { return row.textContent.toLowerCase(); });
    function filter() {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      rows.forEach(function (row, i) {
        var hit = words.every(function (word) { return haystacks[i].indexOf(word) !== -1; });
        row.hidden = !hit;
        if (hit) shown++;
      });
      if (count) count.textContent = shown + " of " + rows.length + " rows";
    }
    input.addEventListener("input", filter);
    filter();
  }

  drawCharts();
  Array.prototype.forEach.call(document.querySelectorAll("table.data"), makeSortable);
  Array.prototype.forEach.call(document.querySelectorAll("input[data-filter]"), makeSearchable);
})();
