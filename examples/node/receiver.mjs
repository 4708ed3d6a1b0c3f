// A small receiver app, as a Thredd client writes one: it checks the
// Standard Webhooks signature when it has the secret, processes each
// notification once (Thredd delivers at least once: a redelivery has the
// same notificationId), and keeps the card statuses it learnt in the order
// of the payload's dateTime (Thredd sends 103s in no particular order).
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";

export function startReceiver({ secret } = {}) {
  const processed = new Map(); // notificationId -> envelope
  const duplicates = [];
  const cards = new Map(); // tokenId -> [{ dateTime, status }]
  const key = secret ? Buffer.from(secret.replace(/^whsec_/, ""), "base64") : null;

  const signed = (headers, body) => {
    if (!key) return true;
    const expected = createHmac("sha256", key)
      .update(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`)
      .digest("base64");
    const given = (headers["webhook-signature"] || "").split(" ").map((s) => s.replace(/^v1,/, ""));
    return given.some((s) => s.length === expected.length && timingSafeEqual(Buffer.from(s), Buffer.from(expected)));
  };

  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      if (!signed(req.headers, body)) {
        res.writeHead(401).end();
        return;
      }
      const envelope = JSON.parse(body);
      const id = envelope.context.notificationId;
      if (processed.has(id)) {
        duplicates.push(id);
      } else {
        processed.set(id, envelope);
        if (envelope.context.eventCode === 103) {
          const p = envelope.payload;
          const history = cards.get(p.tokenId) || [];
          history.push({ dateTime: p.dateTime, status: p.newCardStatus });
          history.sort((a, b) => a.dateTime.localeCompare(b.dateTime));
          cards.set(p.tokenId, history);
        }
      }
      res.writeHead(200, { "Content-Type": "application/json" }).end('{"ok":true}');
    });
  });

  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}/hooks`,
        processed,
        duplicates,
        cards,
        close: () => new Promise((done) => server.close(done)),
      });
    });
  });
}
