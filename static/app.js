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

// A table wider than the screen scrolls inside its frame: make that frame reachable by keyboard
// (tabindex) and named for screen readers, as long as it actually scrolls.
(function () {
  "use strict";
  var frames = document.querySelectorAll(".table-wrap, .chart-scroll");
  var name = function (frame) {
    var caption = frame.querySelector("caption");
    var section = frame.closest("section, figure");
    var heading = section && section.querySelector("h2, h3, figcaption");
    return (caption || heading || {textContent: "Table"}).textContent.trim() + " (scrolls sideways)";
  };
  var update = function () {
    frames.forEach(function (frame) {
      if (frame.scrollWidth > frame.clientWidth + 1) {
        frame.tabIndex = 0;
        frame.setAttribute("role", "region");
        frame.setAttribute("aria-label", name(frame));
      } else if (frame.hasAttribute("tabindex")) {
        frame.removeAttribute("tabindex");
        frame.removeAttribute("role");
        frame.removeAttribute("aria-label");
      }
    });
  };
  update();
  window.addEventListener("resize", update);
})();
