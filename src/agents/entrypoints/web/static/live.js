// model-deployer dashboard: refresh the page's live part every few seconds, without a reload.
// Plain script, no library. The part is left alone while you are typing in one of its forms,
// and nothing is asked while the tab is hidden (an open page costs the API a status read each).
(function () {
  "use strict";
  var PERIOD_MS = 3000;
  var live = document.getElementById("live");
  if (!live || !live.dataset.live) { return; }
  var stamp = document.getElementById("updated");

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

  function refresh() {
    if (document.hidden || busy()) { return schedule(); }
    fetch(live.dataset.live, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (answer) {
        if (answer.status === 401) { window.location.assign("/ui/login"); return null; }
        return answer.ok ? answer.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== undefined && !busy()) {
          if (live.innerHTML !== html) { live.innerHTML = html; }
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
