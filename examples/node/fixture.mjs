// webhook-manager as the Thredd a test suite talks to: the real binary on a
// free port with a throwaway in-memory store; a program manager of each
// test's own, reset after it. Nothing waits by sleeping: `wait` answers when
// a delivery lands, `verify` fails naming the near misses.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";

const BINARY = process.env.WEBHOOK_MANAGER || "target/release/webhook-manager";

export async function startService(env = {}) {
  const child = spawn(BINARY, [], {
    env: {
      ...process.env,
      WHM_SERVER__PORT: "0",
      WHM_DATABASE__PATH: ":memory:",
      WHM_SECURITY__ALLOW_HTTP: "true",
      WHM_DELIVERY__RETRY_SCHEDULE_MS: "[100, 200]",
      ...env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const found = line.match(/listening on (http:\/\/\S+)/);
      if (found) resolve(found[1]);
    });
    child.on("exit", (code) => reject(new Error(`webhook-manager exited (${code}) before listening`)));
  });
  const call = async (method, path, body, pm) => {
    const answer = await fetch(url + path, {
      method,
      headers: { "Content-Type": "application/json", ...(pm ? { "X-PM-Code": pm } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: answer.status, body: await answer.json() };
  };
  return {
    url,
    call,
    // A program manager of one test's own.
    pm: () => randomBytes(2).toString("hex").toUpperCase(),
    reset: (pm) => call("POST", `/sandbox/v1/reset?programManagerCode=${pm}`),
    async wait(match, count = 1, timeoutMs = 10000) {
      const { status, body } = await call("POST", "/sandbox/v1/deliveries/wait", { match, count, timeoutMs });
      if (status !== 200) throw new Error(`wait: ${body.errors[0].message}`);
      return body.response.content;
    },
    async verify(match, count) {
      const { status, body } = await call("POST", "/sandbox/v1/deliveries/verify", { match, count });
      if (status !== 200) throw new Error(`verify: ${body.errors[0].message}`);
    },
    stop: () =>
      new Promise((done) => {
        child.on("exit", done);
        child.kill("SIGTERM");
      }),
  };
}
