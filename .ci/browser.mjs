// End-to-end in a real browser: Debian's chromium driven by playwright-core.
// The service runs with its shipped config on a scratch database (see
// .ci/browser). The path: open the delivery log, create a webhook that points
// at the capture inbox through the form (a refused try first), ping it, send
// an event from the Send page (another event code loads its sample), land on
// the event with its fan-out and the webhook it skipped, see its row
// appear live (no reload) and become Delivered, open it and see attempt 1 with
// HTTP 200, the <script> of its payload as text and the request as cURL, press
// Resend and see attempt 2 appear (no reload); a failing webhook's row turns
// Undelivered live. Also: editing a webhook (problems beside the fields),
// keyboard navigation of the log, times in the browser's time zone, the
// theme toggle, the status strip and the inbox updating live. Then, on a
// second service with auth on: no page or stream without signing in, the
// sign-in form, a change through the form (with its CSRF token), sign out.
// Screenshots (light and dark) go to docs/.
//
// Usage: node .ci/browser.mjs BASE_URL AUTH_BASE_URL AUTH_TOKEN
import { chromium } from "playwright-core";

const [base, authBase, authToken] = process.argv.slice(2);
const fail = (why) => {
  console.error(`[browser] FAILED: ${why}`);
  process.exit(1);
};
const api = async (method, path, body, pm) => {
  const headers = { "Content-Type": "application/json" };
  if (pm) headers["X-PM-Code"] = pm;
  const answer = await fetch(base + path, { method, headers, body: JSON.stringify(body) });
  const json = await answer.json();
  if (!answer.ok) fail(`${method} ${path}: ${answer.status} ${JSON.stringify(json)}`);
  return json.response;
};

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // Errors in the page, and failed loads of pages and assets. The API calls'
  // answers (a refused create is expected) are checked where they are made.
  const isApi = (url) => url.includes("/api/") || url.includes("/sandbox/");
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
  });
  page.on("response", (r) => r.status() >= 400 && !isApi(r.url()) && errors.push(`${r.status()} ${r.url()}`));
  // (The live stream is cut on every navigation away: that is not a failure.)
  page.on("requestfailed", (r) => {
    if (!isApi(r.url()) && !r.url().includes("/stream")) errors.push(`failed: ${r.url()}`);
  });
  page.on("dialog", (d) => fail(`a dialog opened: ${d.message()}`));

  await page.goto(base + "/");
  await page.locator("[data-test=log]").waitFor();
  await page.locator("[data-test=pause]").waitFor({ state: "visible" });

  // A webhook to the service's own capture inbox, through the form: first
  // without a URL (the API's problem is shown by field), then properly; then
  // Ping now shows its heartbeat.
  await page.goto(base + "/dashboard/webhooks?pm=TRD");
  const form = page.locator("[data-test=create-form]");
  await form.locator("input[name=productId]").fill("7");
  await form.locator("input[name=events]").fill("103");
  await form.locator("input[name=customHeaders]").fill('{"ApiKey": "k"}');
  await form.locator("[data-test=create]").click();
  // The API's problem, beside the field it names.
  const besideUrl = form.locator("[data-test=field-problem][data-field=url]");
  await besideUrl.waitFor();
  if ((await form.locator("input[name=url]").getAttribute("aria-invalid")) !== "true") fail("the URL field is not marked invalid");
  await form.locator("input[name=url]").fill(`${base}/sandbox/v1/inbox/browser`);
  await Promise.all([page.waitForEvent("load"), form.locator("[data-test=create]").click()]);
  const created = page.locator("[data-test=webhook]");
  await created.first().waitFor();
  await Promise.all([page.waitForEvent("load"), created.first().locator("[data-test=ping]").click()]);
  const beat = await page.locator("[data-test=heartbeat]").first().innerText();
  if (!beat.includes("healthy")) fail(`heartbeat: ${beat}`);

  // Edit: the form fills with the webhook, a bad URL is refused beside the
  // field, then the events change and are saved.
  await created.first().locator("[data-test=edit]").click();
  await page.locator("[data-test=form-title]").filter({ hasText: "Edit webhook" }).waitFor();
  if ((await form.locator("input[name=events]").inputValue()) !== "103") fail("the edit form is not filled");
  const inboxUrl = await form.locator("input[name=url]").inputValue();
  await form.locator("input[name=url]").fill("not a url");
  await form.locator("[data-test=create]").click();
  await besideUrl.waitFor();
  await form.locator("input[name=url]").fill(inboxUrl);
  await form.locator("input[name=events]").fill("103, 101");
  await Promise.all([page.waitForEvent("load"), form.locator("[data-test=create]").click()]);
  const events = await page.locator("[data-test=webhook]").first().innerText();
  if (!events.includes("101")) fail(`the edit was not saved: ${events}`);
  await page.screenshot({ path: "docs/dashboard-webhooks-light.png" });

  // And one nobody answers, through the API.
  await api("POST", "/api/v1/Webhooks", {
    productId: 8,
    events: [103],
    config: { url: "http://127.0.0.1:9/nobody" },
  }, "TRD");
  // The failing one through the API; the good one from the Send page, with a
  // payload that holds markup, landing on the live log filtered to it.
  const bad = (await api("POST", "/sandbox/v1/events", {
    programManagerCode: "TRD",
    productId: 8,
    eventCode: 103,
  })).notifications[0].notificationId;
  await page.goto(base + "/dashboard/send?pm=TRD&product=7&event=103");
  const sample = JSON.parse(await page.locator("[data-test=payload]").inputValue());
  if (typeof sample !== "object" || !("newCardStatus" in sample)) fail(`no 103 sample payload: ${JSON.stringify(sample)}`);
  // Another event code loads its own sample (a 106 is a tokenisation, not a
  // card status change), and back.
  const payloadOf = async () => JSON.parse(await page.locator("[data-test=payload]").inputValue());
  await Promise.all([page.waitForEvent("load"), page.locator("select[name=event]").selectOption("106")]);
  const tokenisation = await payloadOf();
  if (!("paymentToken" in tokenisation) || "newCardStatus" in tokenisation) fail(`the 106 sample: ${JSON.stringify(tokenisation)}`);
  await Promise.all([page.waitForEvent("load"), page.locator("select[name=event]").selectOption("103")]);
  if (!("newCardStatus" in (await payloadOf()))) fail("the 103 sample did not come back");
  await page.locator("[data-test=payload]").fill(JSON.stringify({ note: "<script>alert('x')</script>" }));
  await page.locator("[data-test=send]").click();
  // Send lands on the event it made: its notification, and the webhook it
  // skipped (product 8's, for an event of product 7) with the reason.
  await page.waitForURL(/\/dashboard\/events\?id=/);
  await page.locator("[data-test=fan-out]").first().waitFor({ timeout: 10000 });
  const good = await page.locator("[data-test=fan-out]").first().getAttribute("data-notification");
  await page.locator("[data-test=skipped] [data-test=reason]").filter({ hasText: "OTHER_PRODUCT" }).waitFor();
  // Live: its status settles without a reload.
  await page.locator("[data-test=fan-out] [data-test=status]").filter({ hasText: "Delivered" }).waitFor({ timeout: 10000 });
  await page.screenshot({ path: "docs/dashboard-events-light.png" });
  await page.goto(base + "/");

  // Live: the rows appear and settle without a reload.
  const row = (id) => page.locator(`tr[data-notification="${id}"] [data-test=status]`);
  await row(good).filter({ hasText: "Delivered" }).waitFor({ timeout: 10000 });
  await row(bad).filter({ hasText: "Undelivered" }).waitFor({ timeout: 10000 });
  // The strip counts the last hour's attempts; times are in the browser's
  // time zone with UTC on hover.
  await page.locator("[data-test=strip-delivered]").filter({ hasText: /[1-9]\d* delivered/ }).waitFor({ timeout: 10000 });
  const time = page.locator(`tr[data-notification="${good}"] time`).first();
  const shown = await time.innerText();
  if (shown === (await time.getAttribute("datetime")) || !(await time.getAttribute("title")).includes("UTC")) {
    fail(`a time not in the browser's zone: ${shown}`);
  }
  await page.screenshot({ path: "docs/dashboard-log-light.png" });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: "docs/dashboard-log-dark.png" });
  await page.emulateMedia({ colorScheme: "light" });
  // The toggle overrides the system's theme: system, light, dark.
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const light = await background();
  await page.locator("[data-test=theme]").click();
  await page.locator("[data-test=theme]").click();
  if ((await page.evaluate(() => document.documentElement.dataset.theme)) !== "dark") fail("the toggle did not pick dark");
  if ((await background()) === light) fail("dark looks like light");
  await page.locator("[data-test=theme]").click();
  if ((await background()) !== light) fail("back to the system's theme");

  // Keyboard: j selects the first row, k stays there, Enter opens it (with
  // the focus on the page, not on a button).
  await page.locator("h1").click();
  await page.keyboard.press("j");
  await page.keyboard.press("k");
  const selected = await page.locator("tr.selected").getAttribute("data-notification");
  await Promise.all([page.waitForEvent("load"), page.keyboard.press("Enter")]);
  if (!page.url().includes(`/notifications/${selected}`)) fail(`Enter opened ${page.url()}`);
  await page.goto(base + "/");

  // The detail: attempt 1 with HTTP 200, and the payload's markup as text.
  await page.locator(`tr[data-notification="${good}"] a`).first().click();
  await page.locator("[data-test=attempt]").first().waitFor();
  const detailPath = new URL(page.url()).pathname;
  const attempt = await page.locator("[data-test=attempt]").first().innerText();
  if (!attempt.includes("HTTP 200")) fail(`attempt 1: ${attempt}`);
  const envelope = await page.locator("[data-test=envelope]").innerText();
  if (!envelope.includes("<script>alert('x')</script>")) fail(`envelope: ${envelope}`);
  if ((await page.locator("main script").count()) !== 0) fail("a script element from a payload");
  const masked = await page.locator("[data-test=curl]").textContent();
  if (masked.includes("ApiKey: k")) fail(`cURL shows a custom header's value before Reveal: ${masked}`);
  await Promise.all([page.waitForEvent("load"), page.locator("[data-test=reveal]").click()]);
  const curl = await page.locator("[data-test=curl]").textContent();
  if (!curl.startsWith("curl -X POST") || !curl.includes("ApiKey: k")) fail(`cURL: ${curl}`);

  // Resend: attempt 2 appears without a reload.
  await page.locator("[data-test=resend]").click();
  await page.locator("[data-test=attempt]").nth(1).waitFor({ timeout: 10000 });
  const second = await page.locator("[data-test=attempt]").nth(1).innerText();
  if (!second.includes("HTTP 200")) fail(`attempt 2: ${second}`);
  await page.screenshot({ path: "docs/dashboard-detail-light.png", fullPage: true });

  // The inbox page shows the requests the webhook received.
  await page.goto(base + "/dashboard/inbox?name=browser");
  const received = await page.locator("[data-test=inbox-request]").count();
  if (received < 2) fail(`inbox: ${received} requests (the delivery and the resend)`);
  const first = await page.locator("[data-test=inbox-request]").first().innerText();
  if (!first.startsWith("POST")) fail(`inbox request: ${first}`);
  // A new request shows without a reload.
  await fetch(base + "/sandbox/v1/inbox/browser", { method: "PUT", body: "live-marker" });
  await page.locator("[data-test=inbox-request]").filter({ hasText: "live-marker" }).waitFor({ timeout: 10000 });
  if (!(await page.locator("[data-test=inbox-request]").first().innerText()).startsWith("PUT")) fail("the newest is not first");

  // A phone's width: every page fits (no sideways scrolling of the page).
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
  for (const path of ["/", "/dashboard/webhooks?pm=TRD", "/dashboard/send", "/dashboard/events", "/dashboard/inbox?name=browser", detailPath]) {
    await phone.goto(base + path);
    const [scroll, width] = await phone.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    if (scroll > width + 1) fail(`${path} is ${scroll}px wide on a ${width}px phone`);
  }
  await phone.goto(base + "/");
  await phone.screenshot({ path: "docs/dashboard-log-phone.png" });
  await phone.close();

  // With auth on: nothing without signing in, then the sign-in form, a
  // change through the dashboard's own form, and sign out.
  for (const path of ["/", "/dashboard/stream", "/dashboard/webhooks", "/dashboard/inbox"]) {
    const answer = await fetch(authBase + path, { redirect: "manual" });
    if (answer.status !== 303) fail(`with auth on, ${path} answered ${answer.status} without a session`);
  }
  const signed = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  signed.on("pageerror", (e) => errors.push(String(e)));
  await signed.goto(authBase + "/dashboard/webhooks");
  if (!signed.url().includes("/dashboard/sign-in")) fail(`not sent to sign in: ${signed.url()}`);
  await signed.locator("input[name=token]").fill("wrong-token-0123456789");
  await Promise.all([signed.waitForEvent("load"), signed.locator("[data-test=sign-in]").click()]);
  await signed.locator("[data-test=problem]").waitFor();
  await signed.locator("input[name=token]").fill(authToken);
  await Promise.all([signed.waitForEvent("load"), signed.locator("[data-test=sign-in]").click()]);
  if (!signed.url().endsWith("/dashboard/webhooks")) fail(`after signing in: ${signed.url()}`);
  const cookies = await signed.context().cookies();
  const session = cookies.find((c) => c.name === "wm_session");
  if (!session || !session.httpOnly || session.sameSite !== "Strict") fail(`the session cookie: ${JSON.stringify(session)}`);
  if (await signed.evaluate(() => document.cookie.includes("wm_session"))) fail("a script can read the session");
  const signedForm = signed.locator("[data-test=create-form]");
  await signedForm.locator("input[name=url]").fill(`${authBase}/sandbox/v1/inbox/signed`);
  await Promise.all([signed.waitForEvent("load"), signedForm.locator("[data-test=create]").click()]);
  await signed.locator("[data-test=webhook]").first().waitFor();
  await Promise.all([signed.waitForURL(/sign-in/), signed.locator("[data-test=sign-out]").click()]);
  await signed.goto(authBase + "/");
  if (!signed.url().includes("/dashboard/sign-in")) fail("still signed in after signing out");

  if (errors.length) fail(`errors in the page: ${errors.join("; ")}`);
  console.log("[browser] webhooks form, edit and ping, send (sample reload, events page with a skip reason), live log and strip, keys, theme, detail, escaping, cURL, resend, live inbox, sign-in with auth on: ok; screenshots in docs/");
} finally {
  await browser.close();
}
