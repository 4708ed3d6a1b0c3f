// End-to-end in a real browser: Debian's chromium driven by playwright-core.
// The service runs with its shipped config on a scratch database (see
// .ci/browser). The path: open the delivery log, create a webhook that points
// at the capture inbox through the form (a refused try first), ping it, send
// an event from the Send page, see its row
// appear live (no reload) and become Delivered, open it and see attempt 1 with
// HTTP 200, the <script> of its payload as text and the request as cURL, press
// Resend and see attempt 2 appear (no reload); a failing webhook's row turns
// Undelivered live. Screenshots (light and dark) go to docs/.
//
// Usage: node .ci/browser.mjs BASE_URL
import { chromium } from "playwright-core";

const base = process.argv[2];
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
    if (!isApi(r.url()) && !r.url().includes("/dashboard/stream")) errors.push(`failed: ${r.url()}`);
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
  await form.locator("[data-test=create-problems] li").first().waitFor();
  const problem = await form.locator("[data-test=create-problems]").innerText();
  if (!problem.includes("config.url")) fail(`the missing URL's problem: ${problem}`);
  await form.locator("input[name=url]").fill(`${base}/sandbox/v1/inbox/browser`);
  await Promise.all([page.waitForEvent("load"), form.locator("[data-test=create]").click()]);
  const created = page.locator("[data-test=webhook]");
  await created.first().waitFor();
  await Promise.all([page.waitForEvent("load"), created.first().locator("[data-test=ping]").click()]);
  const beat = await page.locator("[data-test=heartbeat]").first().innerText();
  if (!beat.includes("healthy")) fail(`heartbeat: ${beat}`);
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
  if (typeof sample !== "object") fail("no sample payload");
  await page.locator("[data-test=payload]").fill(JSON.stringify({ note: "<script>alert('x')</script>" }));
  await page.locator("[data-test=send]").click();
  await page.waitForURL(/\/\?pm=TRD&event=103$/);
  await page.locator("tr[data-notification]").first().waitFor({ timeout: 10000 });
  const good = await page.locator("tr[data-notification]").first().getAttribute("data-notification");
  await page.goto(base + "/");

  // Live: the rows appear and settle without a reload.
  const row = (id) => page.locator(`tr[data-notification="${id}"] [data-test=status]`);
  await row(good).filter({ hasText: "Delivered" }).waitFor({ timeout: 10000 });
  await row(bad).filter({ hasText: "Undelivered" }).waitFor({ timeout: 10000 });
  await page.screenshot({ path: "docs/dashboard-log-light.png" });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: "docs/dashboard-log-dark.png" });
  await page.emulateMedia({ colorScheme: "light" });

  // The detail: attempt 1 with HTTP 200, and the payload's markup as text.
  await page.locator(`tr[data-notification="${good}"] a`).first().click();
  await page.locator("[data-test=attempt]").first().waitFor();
  const attempt = await page.locator("[data-test=attempt]").first().innerText();
  if (!attempt.includes("HTTP 200")) fail(`attempt 1: ${attempt}`);
  const envelope = await page.locator("[data-test=envelope]").innerText();
  if (!envelope.includes("<script>alert('x')</script>")) fail(`envelope: ${envelope}`);
  if ((await page.locator("main script").count()) !== 0) fail("a script element from a payload");
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

  if (errors.length) fail(`errors in the page: ${errors.join("; ")}`);
  console.log("[browser] webhooks form and ping, send, live log, detail, escaping, cURL, resend and inbox: ok; screenshots in docs/");
} finally {
  await browser.close();
}
