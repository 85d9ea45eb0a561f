// Tally console: draws the consumption chart (uPlot) from the JSON in its data-chart attribute. Runs on
// first load and, through htmx.onLoad, whenever htmx swaps a page in. The same figures are in
// the page as a table, so nothing depends on this script.
(function () {
  "use strict";
  function levelsSeries(levels, n) {
    return levels.map(function (l) { var v = Number(l.value); var a = []; for (var i = 0; i < n; i++) a.push(v); return a; });
  }
  function draw(root) {
    if (typeof uPlot === "undefined") return;
    var nodes = (root.querySelectorAll ? root : document).querySelectorAll("[data-chart]");
    Array.prototype.forEach.call(nodes, function (el) {
      if (el.getAttribute("data-drawn")) return;
      var d = JSON.parse(el.getAttribute("data-chart"));
      // A level far above this period's use would flatten the chart: draw those within 2× of the
      // highest figure (the page's text lists every level anyway).
      var top = 0;
      d.daily.concat(d.cumulative).forEach(function (v) { if (v !== null && Number(v) > top) top = Number(v); });
      d.levels = d.levels.filter(function (l) { return top === 0 || Number(l.value) <= 2 * top; });
      var xs = d.days.map(function (day) { return Date.parse(day + "T00:00:00Z") / 1000; });
      // Figures arrive as exact decimal strings; Number() is only for drawing.
      var data = [xs, d.daily.map(Number), d.cumulative.map(function (v) { return v === null ? null : Number(v); })]
        .concat(levelsSeries(d.levels, xs.length));
      var colours = ["#a4000f", "#6b4500", "#5a2ca0", "#00606b"];
      var series = [{},
        { label: d.unit + "s per day", stroke: "#0b57d0", fill: "rgba(11,87,208,0.35)", paths: uPlot.paths.bars({ size: [0.7, 40] }), points: { show: false } },
        { label: "Cumulative this period", stroke: "#0a6b2a", width: 2, points: { show: false } }]
        .concat(d.levels.map(function (l, i) { return { label: l.label, stroke: colours[i % colours.length], dash: [6, 4], width: 1.5, points: { show: false } }; }));
      var width = Math.max(280, el.clientWidth || 600);
      el.setAttribute("data-drawn", "1");
      var plot = new uPlot({
        width: width, height: width < 500 ? 240 : 300, series: series,
        scales: { x: { time: true } },
        axes: [{ stroke: "#333" }, { stroke: "#333", size: 70 }],
      }, data, el);
      charts.push({ plot: plot, el: el });
    });
  }
  var charts = [];
  window.addEventListener("resize", function () {
    charts = charts.filter(function (c) { return document.body.contains(c.el); });
    charts.forEach(function (c) { var w = Math.max(280, c.el.clientWidth); c.plot.setSize({ width: w, height: w < 500 ? 240 : 300 }); });
  });
  if (window.htmx) window.htmx.onLoad(draw);
  else document.addEventListener("DOMContentLoaded", function () { draw(document); });
})();
