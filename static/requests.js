// Request lists: a "select all" box, the bulk actions shown once something is selected, and only
// the bulk fields the chosen action needs. Pages work without it (everything is then shown; the
// strict Content-Security-Policy allows this file only).
(function () {
  "use strict";
  var boxes = document.querySelectorAll('input[name="ids"]');
  var all = document.getElementById("select-all");
  var body = document.getElementById("bulk-body");
  var legend = document.getElementById("bulk-legend");
  var update = function () {
    var n = 0;
    boxes.forEach(function (b) { if (b.checked) { n += 1; } });
    if (body) { body.hidden = n === 0; }
    if (legend) {
      legend.textContent = n === 0 ? "Select requests to act on several at once"
        : "With the " + n + " selected request" + (n === 1 ? "" : "s");
    }
    if (all) { all.checked = n > 0 && n === boxes.length; all.indeterminate = n > 0 && n < boxes.length; }
  };
  if (all) {
    all.closest(".select-all").hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
      update();
    });
  }
  boxes.forEach(function (b) { b.addEventListener("change", update); });
  update();
  var trigger = document.getElementById("bulk-trigger");
  if (trigger) {
    var show = function () {
      var t = trigger.value;
      [["bulk-node", "assign"], ["bulk-reason", "cancel"]].forEach(function (pair) {
        var el = document.getElementById(pair[0]);
        if (el) { el.closest(".filter").hidden = t !== pair[1]; }
      });
    };
    trigger.addEventListener("change", show);
    show();
  }
})();
