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

// A notification's detail: Resend (a final one), Deliver now (a waiting one)
// through the API, then the attempts are watched until a new one appears;
// and Copy as cURL.
(function () {
  "use strict";
  const live = document.querySelector("[data-test=live-detail]");
  const result = document.querySelector("[data-test=action-result]");
  const sleep = function (ms) {
    return new Promise(function (resolve) {
      setTimeout(resolve, ms);
    });
  };
  // Fetches this page again until it shows more attempts than `seen` (or
  // another status), for at most 15 s, and swaps in what changed.
  const watch = async function (seen, status) {
    for (let i = 0; i < 30; i += 1) {
      await sleep(500);
      const html = await (await fetch(location.href, { cache: "no-store" })).text();
      const fresh = new DOMParser()
        .parseFromString(html, "text/html")
        .querySelector("[data-test=live-detail]");
      const now = document.querySelector("[data-test=live-detail]");
      if (!fresh || !now) {
        return;
      }
      const changed =
        Number(fresh.dataset.attempts) > seen ||
        fresh.querySelector("[data-test=status]").textContent !== status;
      if (changed) {
        now.replaceWith(fresh);
        bind();
        return;
      }
    }
  };
  const act = async function (button) {
    const out = document.querySelector("[data-test=action-result]");
    const section = document.querySelector("[data-test=live-detail]");
    const seen = Number(section.dataset.attempts);
    const status = section.querySelector("[data-test=status]").textContent;
    button.disabled = true;
    out.textContent = "…";
    const headers = { "Content-Type": "application/json", "X-PM-Code": button.dataset.pm };
    try {
      const answer = await fetch(button.dataset.url, {
        method: "POST",
        headers: headers,
        body: button.dataset.body || undefined,
      });
      const json = await answer.json().catch(function () {
        return null;
      });
      if (!answer.ok) {
        const why = json && json.errors ? json.errors.map(function (e) {
          return e.message;
        }).join(" ") : "HTTP " + answer.status;
        out.textContent = why;
        button.disabled = false;
        return;
      }
      out.textContent = "Done: the next attempt appears here.";
      await watch(seen, status);
    } catch (e) {
      out.textContent = "The service did not answer: " + e;
      button.disabled = false;
    }
  };
  const bind = function () {
    document.querySelectorAll("button[data-action]").forEach(function (button) {
      button.addEventListener("click", function () {
        act(button);
      });
    });
  };
  if (live && result) {
    bind();
  }
  const copy = document.querySelector("button[data-copy]");
  if (copy) {
    copy.addEventListener("click", async function () {
      const text = document.getElementById(copy.dataset.copy).textContent;
      try {
        await navigator.clipboard.writeText(text);
        copy.textContent = "Copied";
      } catch (e) {
        copy.textContent = "Select the text below to copy it";
      }
    });
  }
})();

// Send an event: the form's fields as the trigger's JSON body; on 202 the
// live log opens filtered to what was sent; problems are listed by field.
(function () {
  "use strict";
  const button = document.querySelector("button[data-send]");
  if (!button) {
    return;
  }
  const form = button.form;
  const result = document.querySelector("[data-test=send-result]");
  const problems = document.querySelector("[data-test=send-problems]");
  button.addEventListener("click", async function () {
    problems.hidden = true;
    problems.textContent = "";
    let payload;
    try {
      payload = JSON.parse(form.elements.payload.value);
    } catch (e) {
      result.textContent = "The payload is not JSON: " + e.message;
      return;
    }
    const pm = form.elements.pm.value.trim();
    const product = form.elements.product.value.trim();
    const event = Number(form.elements.event.value);
    const body = {
      programManagerCode: pm,
      productId: product === "" ? null : Number(product),
      eventCode: event,
      payload: payload,
    };
    button.disabled = true;
    result.textContent = "…";
    try {
      const answer = await fetch(button.dataset.send, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const json = await answer.json().catch(function () {
        return null;
      });
      if (answer.status === 202) {
        const sent = json.response.notifications.length;
        result.textContent = sent + " notification(s) stored; opening the log…";
        location.href = "/?pm=" + encodeURIComponent(pm) + "&event=" + event;
        return;
      }
      result.textContent = "Not sent:";
      (json && json.errors ? json.errors : [{ message: "HTTP " + answer.status }]).forEach(function (e) {
        const item = document.createElement("li");
        item.textContent = (e.field ? e.field + ": " : "") + e.message;
        problems.appendChild(item);
      });
      problems.hidden = false;
    } catch (e) {
      result.textContent = "The service did not answer: " + e;
    }
    button.disabled = false;
  });
})();

// Webhooks: Ping now and activate / deactivate call the API and reload the
// page to show the result; Create posts the form's fields as a create body
// and lists the API's problems by field when it refuses.
(function () {
  "use strict";
  const table = document.querySelector("[data-test=webhooks]");
  const form = document.querySelector("[data-test=create-form]");
  const call = async function (method, url, pm, body) {
    const answer = await fetch(url, {
      method: method,
      headers: { "Content-Type": "application/json", "X-PM-Code": pm },
      body: body,
    });
    const json = await answer.json().catch(function () {
      return null;
    });
    return { ok: answer.ok, status: answer.status, json: json };
  };
  const messages = function (answer) {
    return answer.json && answer.json.errors
      ? answer.json.errors.map(function (e) {
          return (e.field ? e.field + ": " : "") + e.message;
        })
      : ["HTTP " + answer.status];
  };
  if (table) {
    const result = document.querySelector("[data-test=webhook-result]");
    table.querySelectorAll("button[data-action]").forEach(function (button) {
      button.addEventListener("click", async function () {
        button.disabled = true;
        result.textContent = "…";
        const answer = await call(button.dataset.method, button.dataset.url, button.dataset.pm, button.dataset.body);
        if (answer.ok) {
          location.reload();
        } else {
          result.textContent = messages(answer).join(" ");
          button.disabled = false;
        }
      });
    });
  }
  if (form) {
    const button = form.querySelector("button[data-create]");
    const result = form.querySelector("[data-test=create-result]");
    const problems = form.querySelector("[data-test=create-problems]");
    button.addEventListener("click", async function () {
      problems.hidden = true;
      problems.textContent = "";
      let headers;
      try {
        headers = JSON.parse(form.elements.customHeaders.value || "{}");
      } catch (e) {
        result.textContent = "Custom headers are not JSON: " + e.message;
        return;
      }
      const product = form.elements.productId.value.trim();
      const events = form.elements.events.value
        .split(",")
        .map(function (e) {
          return e.trim();
        })
        .filter(function (e) {
          return e !== "";
        })
        .map(Number);
      const body = {
        productId: product === "" ? null : Number(product),
        events: events,
        config: { url: form.elements.url.value.trim(), customHeaders: headers },
      };
      result.textContent = "…";
      const answer = await call("POST", button.dataset.create, button.dataset.pm, JSON.stringify(body));
      if (answer.status === 201) {
        location.reload();
        return;
      }
      result.textContent = "Not created:";
      messages(answer).forEach(function (text) {
        const item = document.createElement("li");
        item.textContent = text;
        problems.appendChild(item);
      });
      problems.hidden = false;
    });
  }
})();

// Buttons that call the API and reload the page (the inbox's Clear).
document.querySelectorAll("button[data-reload-action]").forEach(function (button) {
  "use strict";
  button.addEventListener("click", async function () {
    button.disabled = true;
    await fetch(button.dataset.url, { method: button.dataset.reloadAction });
    location.reload();
  });
});
