// Top-bar menus are <details>: one open at a time, closed by a click elsewhere or Escape.
// Pages work without it (the Content-Security-Policy allows this file only, no inline script).
(function () {
  "use strict";
  var menus = document.querySelectorAll("details.menu");
  menus.forEach(function (menu) {
    menu.addEventListener("toggle", function () {
      if (menu.open) { menus.forEach(function (m) { if (m !== menu) { m.open = false; } }); }
    });
  });
  document.addEventListener("click", function (e) {
    menus.forEach(function (m) { if (m.open && !m.contains(e.target)) { m.open = false; } });
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") { return; }
    menus.forEach(function (m) {
      if (m.open) { m.open = false; m.querySelector("summary").focus(); }
    });
  });
})();
