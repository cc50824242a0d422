// model-deployer dashboard: refresh the page's live part every few seconds, without a reload.
// Plain script, no library. The part is left alone while you are typing in one of its forms,
// and nothing is asked while the tab is hidden (an open page costs the API a status read each).
// Keyboard users keep their place: the part is replaced only when the server's answer changed,
// and the link or control that had the focus gets it back in the new part.
(function () {
  "use strict";
  var PERIOD_MS = 3000;
  var live = document.getElementById("live");
  if (!live || !live.dataset.live) { return; }
  var stamp = document.getElementById("updated");
  var last = null;

  function busy() {
    var active = document.activeElement;
    if (active && live.contains(active) && /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(active.tagName)) {
      return true;
    }
    var fields = live.querySelectorAll("textarea, input[type=text]");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value) { return true; }
    }
    var open = live.querySelectorAll("details[open]");
    return open.length > 0;
  }

  function focusKey() {
    // What names the focused element inside the live part, so the new part's twin is found.
    var active = document.activeElement;
    if (!active || active === live || !live.contains(active)) { return null; }
    if (active.id) { return "#" + CSS.escape(active.id); }
    var href = active.getAttribute("href");
    if (href) { return active.tagName.toLowerCase() + '[href="' + CSS.escape(href) + '"]'; }
    return null;
  }

  function replace(html) {
    var key = focusKey();
    live.innerHTML = html;
    var again = key && live.querySelector(key);
    if (again) { again.focus({ preventScroll: true }); }
  }

  function refresh() {
    if (document.hidden || busy()) { return schedule(); }
    fetch(live.dataset.live, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (answer) {
        if (answer.status === 401) { window.location.assign("/ui/login"); return null; }
        return answer.ok ? answer.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== undefined && !busy()) {
          if (html !== last) { replace(html); }  // the first answer once, then changes
          last = html;
          if (stamp) { stamp.textContent = "Live: updated " + new Date().toLocaleTimeString(); }
        }
      })
      .catch(function () {
        if (stamp) { stamp.textContent = "Live: the server did not answer; retrying"; }
      })
      .then(schedule);
  }

  function schedule() { window.setTimeout(refresh, PERIOD_MS); }
  schedule();
}());
