// The dashboard's one script, compiled into the binary. Every part below
// looks for its page's elements and does nothing on other pages.

// What every page shares: the headers of an API call (the signed-in
// session's CSRF token with every change), times in the browser's time zone
// (UTC stays on hover), the theme toggle and Sign out.
const dashboard = (function () {
  "use strict";
  const csrf = document.querySelector("meta[name=csrf-token]");
  const headers = function (pm) {
    const h = { "Content-Type": "application/json" };
    if (pm) {
      h["X-PM-Code"] = pm;
    }
    if (csrf) {
      h["X-CSRF-Token"] = csrf.content;
    }
    return h;
  };
  const localTimes = function (root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      const at = new Date(t.getAttribute("datetime"));
      if (!isNaN(at)) {
        t.textContent = at.toLocaleString();
      }
    });
  };
  localTimes(document);
  const themes = ["system", "light", "dark"];
  const toggle = document.querySelector("[data-theme-toggle]");
  const apply = function (theme) {
    if (theme === "system") {
      delete document.documentElement.dataset.theme;
    } else {
      document.documentElement.dataset.theme = theme;
    }
    if (toggle) {
      toggle.textContent = "Theme: " + theme;
    }
  };
  let theme = "system";
  try {
    theme = localStorage.getItem("theme") || "system";
  } catch (e) {
    // Storage refused (private mode): the system's theme.
  }
  apply(theme);
  if (toggle) {
    toggle.addEventListener("click", function () {
      theme = themes[(themes.indexOf(theme) + 1) % themes.length];
      try {
        localStorage.setItem("theme", theme);
      } catch (e) {
        // Kept for this page only.
      }
      apply(theme);
    });
  }
  const signOut = document.querySelector("[data-sign-out]");
  if (signOut) {
    signOut.addEventListener("click", async function () {
      await fetch(signOut.dataset.signOut, { method: "POST", headers: headers() }).catch(function () {});
      location.href = "/dashboard/sign-in";
    });
  }
  return { headers: headers, localTimes: localTimes };
})();

// The live delivery log. The first page of the log listens to
// /dashboard/stream (Server-Sent Events) and swaps in the rows and the status
// strip the server renders (escaped there) when they change. Pause holds the
// updates (the newest is shown on resume). j/k move through the rows, Enter
// opens the one selected.
(function () {
  "use strict";
  const table = document.querySelector("table[data-test=log]");
  if (!table) {
    return;
  }
  const body = table.querySelector("tbody");
  let selected = -1;
  const select = function (index) {
    const rows = body.querySelectorAll("tr[data-test=row]");
    if (rows.length === 0) {
      selected = -1;
      return;
    }
    selected = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach(function (row, i) {
      row.classList.toggle("selected", i === selected);
      row.setAttribute("aria-selected", i === selected ? "true" : "false");
    });
    rows[selected].scrollIntoView({ block: "nearest" });
  };
  document.addEventListener("keydown", function (event) {
    const target = event.target;
    // Typing in a field is typing; Enter on a focused link or button is theirs.
    const typing = target && target.closest("input, textarea, select, [contenteditable]");
    const pressing = event.key === "Enter" && target && target.closest("a, button");
    if (event.altKey || event.ctrlKey || event.metaKey || typing || pressing) {
      return;
    }
    if (event.key === "j") {
      select(selected + 1);
    } else if (event.key === "k") {
      select(selected - 1);
    } else if (event.key === "Enter" && selected >= 0) {
      const link = body.querySelectorAll("tr[data-test=row]")[selected].querySelector("a");
      if (link) {
        location.href = link.href;
      }
    } else {
      return;
    }
    event.preventDefault();
  });
  if (!table.dataset.stream || !window.EventSource) {
    return;
  }
  const live = document.querySelector("[data-test=live]");
  const pause = document.querySelector("[data-test=pause]");
  const empty = document.querySelector("[data-test=empty]");
  const strip = document.querySelector("[data-test=strip]");
  let paused = false;
  let held = null;
  const show = function (html) {
    const id = selected >= 0 ? body.querySelectorAll("tr[data-test=row]")[selected] : null;
    const keep = id ? id.dataset.notification : null;
    body.innerHTML = html;
    dashboard.localTimes(body);
    if (empty) {
      empty.hidden = body.children.length > 0;
    }
    if (keep) {
      const rows = Array.from(body.querySelectorAll("tr[data-test=row]"));
      const again = rows.findIndex(function (row) {
        return row.dataset.notification === keep;
      });
      select(again >= 0 ? again : selected);
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
  source.addEventListener("strip", function (event) {
    if (strip) {
      strip.innerHTML = event.data;
    }
  });
  source.addEventListener("open", function () {
    live.textContent = "live: new notifications and attempts appear here";
  });
  source.addEventListener("error", function () {
    live.textContent = "reconnecting…";
  });
})();

// The capture inbox: its requests, live.
(function () {
  "use strict";
  const list = document.querySelector("[data-test=inbox-requests][data-stream]");
  if (!list || !window.EventSource) {
    return;
  }
  const live = document.querySelector("[data-test=inbox-live]");
  const source = new EventSource(list.dataset.stream);
  source.addEventListener("requests", function (event) {
    list.innerHTML = event.data;
    dashboard.localTimes(list);
  });
  source.addEventListener("error", function () {
    live.textContent = "reconnecting…";
  });
  source.addEventListener("open", function () {
    live.textContent = "live: new requests appear here";
  });
})();

// The Events page: each event's fan-out, live.
(function () {
  "use strict";
  const list = document.querySelector("[data-test=events][data-stream]");
  if (!list || !window.EventSource) {
    return;
  }
  const live = document.querySelector("[data-test=events-live]");
  const source = new EventSource(list.dataset.stream);
  source.addEventListener("events", function (event) {
    list.innerHTML = event.data;
    dashboard.localTimes(list);
  });
  source.addEventListener("error", function () {
    live.textContent = "reconnecting…";
  });
  source.addEventListener("open", function () {
    live.textContent = "live";
  });
})();

// Copy an id: any button with data-copy-text, on any page (the live parts
// replace theirs, so the click is caught at the document).
(function () {
  "use strict";
  document.addEventListener("click", async function (event) {
    const button = event.target.closest && event.target.closest("button[data-copy-text]");
    if (!button) {
      return;
    }
    try {
      await navigator.clipboard.writeText(button.dataset.copyText);
      button.textContent = "Copied";
    } catch (e) {
      button.textContent = "Select it to copy";
    }
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
        dashboard.localTimes(fresh);
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
    try {
      const answer = await fetch(button.dataset.url, {
        method: "POST",
        headers: dashboard.headers(button.dataset.pm),
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
  // Another event code (or program manager, or product) loads its sample:
  // the form is a GET of this page, which prefills it.
  form.elements.event.addEventListener("change", function () {
    form.submit();
  });
  const result = document.querySelector("[data-test=send-result]");
  const problems = document.querySelector("[data-test=send-problems]");
  // The API's problems, one per line, by field.
  const refused = function (json, status) {
    result.textContent = "Not sent:";
    (json && json.errors ? json.errors : [{ message: "HTTP " + status }]).forEach(function (e) {
      const item = document.createElement("li");
      item.textContent = (e.field ? e.field + ": " : "") + e.message;
      problems.appendChild(item);
    });
    problems.hidden = false;
  };
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
        headers: dashboard.headers(pm),
        body: JSON.stringify(body),
      });
      const json = await answer.json().catch(function () {
        return null;
      });
      if (answer.status === 202) {
        const sent = json.response.notifications.length;
        result.textContent = sent + " notification(s) stored; opening the event…";
        location.href = "/dashboard/events?id=" + encodeURIComponent(json.response.eventId);
        return;
      }
      refused(json, answer.status);
    } catch (e) {
      result.textContent = "The service did not answer: " + e;
    }
    button.disabled = false;
  });
  // A scenario: its events for the form's program manager and product; on
  // 202 the Events page opens.
  document.querySelectorAll("button[data-scenario]").forEach(function (run) {
    run.addEventListener("click", async function () {
      problems.hidden = true;
      problems.textContent = "";
      const pm = form.elements.pm.value.trim();
      const product = form.elements.product.value.trim();
      run.disabled = true;
      result.textContent = "…";
      try {
        const answer = await fetch("/sandbox/v1/scenarios/" + encodeURIComponent(run.dataset.scenario), {
          method: "POST",
          headers: dashboard.headers(pm),
          body: JSON.stringify({
            programManagerCode: pm,
            productId: product === "" ? null : Number(product),
          }),
        });
        const json = await answer.json().catch(function () {
          return null;
        });
        if (answer.status === 202) {
          result.textContent = json.response.events.length + " event(s) sent; opening the events…";
          location.href = "/dashboard/events";
          return;
        }
        refused(json, answer.status);
      } catch (e) {
        result.textContent = "The service did not answer: " + e;
      }
      run.disabled = false;
    });
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
      headers: dashboard.headers(pm),
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
    const cancel = form.querySelector("button[data-cancel-edit]");
    const title = document.querySelector("[data-test=form-title]");
    const result = form.querySelector("[data-test=create-result]");
    const problems = form.querySelector("[data-test=create-problems]");
    // Editing: the webhook's URL in the API while the form edits one.
    let editing = null;
    const fill = function (webhook) {
      form.elements.productId.value = webhook.productId === null || webhook.productId === undefined ? "" : webhook.productId;
      form.elements.url.value = webhook.config.url;
      form.elements.events.value = webhook.events.join(", ");
      form.elements.customHeaders.value = JSON.stringify(webhook.config.customHeaders || {});
    };
    document.querySelectorAll("button[data-edit]").forEach(function (edit) {
      edit.addEventListener("click", async function () {
        const answer = await call("GET", edit.dataset.edit, edit.dataset.pm);
        if (!answer.ok) {
          result.textContent = messages(answer).join(" ");
          return;
        }
        const webhook = answer.json.response;
        fill(webhook);
        editing = edit.dataset.edit;
        title.textContent = "Edit webhook " + webhook.webhookId;
        button.textContent = "Save";
        cancel.hidden = false;
        clearProblems();
        result.textContent = "";
        form.scrollIntoView();
        form.elements.url.focus();
      });
    });
    cancel.addEventListener("click", function () {
      location.reload();
    });
    // Each problem beside the field it names (the API's `field`: productId,
    // config.url, events[2], config.customHeaders...); the rest in the list.
    const inputFor = function (field) {
      const name = field.replace(/^config\./, "").replace(/[.[].*$/, "");
      return form.elements[name] || null;
    };
    const clearProblems = function () {
      problems.hidden = true;
      problems.textContent = "";
      form.querySelectorAll("[data-test=field-problem]").forEach(function (p) {
        p.remove();
      });
      form.querySelectorAll("[aria-invalid]").forEach(function (input) {
        input.removeAttribute("aria-invalid");
      });
    };
    const besideFields = function (answer) {
      const errors = answer.json && answer.json.errors ? answer.json.errors : [{ message: "HTTP " + answer.status }];
      errors.forEach(function (e) {
        const input = e.field ? inputFor(e.field) : null;
        const text = document.createElement(input ? "span" : "li");
        text.textContent = input ? e.message : (e.field ? e.field + ": " : "") + e.message;
        if (input) {
          text.className = "field-problem";
          text.dataset.test = "field-problem";
          text.dataset.field = input.name;
          text.setAttribute("role", "alert");
          input.setAttribute("aria-invalid", "true");
          input.parentElement.appendChild(text);
        } else {
          problems.appendChild(text);
          problems.hidden = false;
        }
      });
    };
    button.addEventListener("click", async function () {
      clearProblems();
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
      const answer = editing
        ? await call("PUT", editing, button.dataset.pm, JSON.stringify(body))
        : await call("POST", button.dataset.create, button.dataset.pm, JSON.stringify(body));
      if (answer.status === (editing ? 200 : 201)) {
        location.reload();
        return;
      }
      result.textContent = editing ? "Not saved: see the problems beside the fields." : "Not created: see the problems beside the fields.";
      besideFields(answer);
    });
  }
})();

// Buttons that call the API and reload the page (the inbox's Clear).
document.querySelectorAll("button[data-reload-action]").forEach(function (button) {
  "use strict";
  button.addEventListener("click", async function () {
    button.disabled = true;
    await fetch(button.dataset.url, { method: button.dataset.reloadAction, headers: dashboard.headers() });
    location.reload();
  });
});
