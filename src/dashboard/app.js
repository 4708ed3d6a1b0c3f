// The dashboard's one script, compiled into the binary: the live delivery log.
// The first page of the log listens to /dashboard/stream (Server-Sent Events)
// and swaps in the rows the server renders (escaped there) when they change.
// Pause holds the updates (the newest is shown on resume).
(function () {
  "use strict";
  const table = document.querySelector("table[data-stream]");
  if (!table || !window.EventSource) {
    return;
  }
  const body = table.querySelector("tbody");
  const live = document.querySelector("[data-test=live]");
  const pause = document.querySelector("[data-test=pause]");
  const empty = document.querySelector("[data-test=empty]");
  let paused = false;
  let held = null;
  const show = function (html) {
    body.innerHTML = html;
    if (empty) {
      empty.hidden = body.children.length > 0;
    }
  };
  pause.hidden = false;
  pause.addEventListener("click", function () {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    if (!paused && held !== null) {
      show(held);
      held = null;
    }
  });
  const source = new EventSource(table.dataset.stream);
  source.addEventListener("rows", function (event) {
    if (paused) {
      held = event.data;
    } else {
      show(event.data);
    }
  });
  source.addEventListener("open", function () {
    live.textContent = "live: new notifications and attempts appear here";
  });
  source.addEventListener("error", function () {
    live.textContent = "reconnecting…";
  });
})();
