// Request lists: a "select all" box for bulk actions, and only the bulk fields the chosen action
// needs. Pages work without it (the strict Content-Security-Policy allows this file only).
(function () {
  "use strict";
  var all = document.getElementById("select-all");
  if (all) {
    var boxes = document.querySelectorAll('input[name="ids"]');
    all.closest(".select-all").hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
    });
  }
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
