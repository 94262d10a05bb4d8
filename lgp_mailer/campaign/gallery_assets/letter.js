// One letter page: switch between the HTML letter and its text version.
(function () {
  "use strict";
  var button = document.getElementById("toggle");
  var frame = document.getElementById("letter");
  var text = document.getElementById("text");
  button.addEventListener("click", function () {
    var showText = text.hidden;
    text.hidden = !showText;
    frame.hidden = showText;
    button.setAttribute("aria-pressed", String(showText));
    button.textContent = showText ? button.dataset.html : button.dataset.text;
  });
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var target = event.target;
    if (target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) { return; }
    var link = event.key === "ArrowLeft" ? document.getElementById("previous")
      : event.key === "ArrowRight" ? document.getElementById("next") : null;
    if (link) { window.location.href = link.href; }
  });
}());
