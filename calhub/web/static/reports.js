// The reports page's charts (Chart.js), drawn from the report's JSON data block; the
// tables below them hold the same figures. No inline script: the CSP allows only ours.
(function () {
  "use strict";
  var block = document.getElementById("report-data");
  if (!block || typeof window.Chart === "undefined") { return; }
  var data = JSON.parse(block.textContent);
  var blue = "#1F6FEB", green = "#2DA44E", red = "#CF222E", grey = "#8C959F";

  function bar(id, labels, sets, stacked) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: sets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { title: { display: true, text: canvas.dataset.title } },
        scales: { x: { stacked: !!stacked }, y: { beginAtZero: true, stacked: !!stacked } }
      }
    });
    canvas.dataset.drawn = "1";
  }

  var partners = document.getElementById("chart-partners");
  if (partners) {
    bar("chart-partners", data.partners, [
      { label: partners.dataset.events, data: data.events, backgroundColor: blue },
      { label: partners.dataset.hours, data: data.hours, backgroundColor: green }
    ]);
  }
  var clashes = document.getElementById("chart-clashes");
  if (clashes) {
    bar("chart-clashes", data.partners, [
      { label: clashes.dataset.found, data: data.clashes, backgroundColor: grey },
      { label: clashes.dataset.open, data: data.open, backgroundColor: red }
    ]);
  }
  var grades = document.getElementById("chart-grades");
  if (grades) {
    bar("chart-grades", data.grades, [
      { label: grades.dataset.events, data: data.grade_events, backgroundColor: blue }
    ]);
  }
}());
