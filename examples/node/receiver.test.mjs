// What a Thredd client's tests look like with node's own test runner against
// the fixture: the receiver app above, under Thredd's at-least-once and
// out-of-order delivery, made to happen on request.
import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";

import { startService } from "./fixture.mjs";
import { startReceiver } from "./receiver.mjs";

const SECRET = "whsec_" + Buffer.from("a key of thirty-two bytes, exact").toString("base64");
let service;
let receiver;
let pm;

before(async () => {
  service = await startService({ WHM_DELIVERY__SIGNING_SECRET: SECRET });
  receiver = await startReceiver({ secret: SECRET });
});
after(async () => {
  await receiver.close();
  await service.stop();
});
afterEach(() => service.reset(pm));

async function webhook(events, url = receiver.url) {
  pm = service.pm();
  const { status, body } = await service.call("POST", "/api/v1/Webhooks", { events, config: { url } }, pm);
  assert.equal(status, 201, JSON.stringify(body));
  return body.response.webhookId;
}

test("a signed card status change is processed", async () => {
  const id = await webhook([103]);
  const { body } = await service.call("POST", "/sandbox/v1/events", {
    eventCode: 103,
    overrides: { newCardStatus: "62" },
  }, pm);
  const [notification] = body.response.notifications;
  await service.wait({ notificationId: notification.notificationId, outcome: "delivered" });
  assert.equal(receiver.processed.get(notification.notificationId).payload.newCardStatus, "62");
  await service.verify({ webhookId: id, eventCode: 103 }, 1);
});

test("a redelivery is processed once", async () => {
  const id = await webhook([103]);
  await service.call("PUT", `/sandbox/v1/webhooks/${id}/chaos`, { duplicates: true, reorder: false });
  const { body } = await service.call("POST", "/sandbox/v1/events", { eventCode: 103 }, pm);
  const [notification] = body.response.notifications;
  await service.wait({ notificationId: notification.notificationId, outcome: "delivered" }, 2);
  assert.ok(receiver.processed.has(notification.notificationId));
  assert.ok(receiver.duplicates.includes(notification.notificationId), "the second copy was seen as one");
});

test("card statuses delivered out of order are kept in the payload's order", async () => {
  const id = await webhook([103]);
  await service.call("PUT", `/sandbox/v1/webhooks/${id}/chaos`, {
    duplicates: false, reorder: true, seed: 7, windowMs: 60000,
  });
  const { body } = await service.call("POST", "/sandbox/v1/scenarios/card-lifecycle", { programManagerCode: pm });
  const card = body.response.shared.tokenId;
  // The batch is held for the window: moving the clock releases it now.
  const moved = await service.call("POST", "/sandbox/v1/clock/advance", { ms: 62000 });
  assert.equal(moved.status, 200);
  await service.wait({ webhookId: id, outcome: "delivered" }, 4);
  const arrived = (await service.call("GET", `/sandbox/v1/deliveries?webhookId=${id}`)).body.response.content
    .map((d) => JSON.parse(d.body).payload.newCardStatus);
  assert.notDeepEqual(arrived, ["00", "62", "00", "41"], "delivered out of order");
  assert.deepEqual(receiver.cards.get(card).map((c) => c.status), ["00", "62", "00", "41"]);
});

test("a receiver that fails twice gets the retries", async () => {
  const inbox = `inbox-${Date.now()}`;
  await service.call("PUT", `/sandbox/v1/inbox/${inbox}/script`, {
    steps: [{ status: 500 }, { status: 500 }], then: { status: 200 },
  });
  const id = await webhook([103], `${service.url}/sandbox/v1/inbox/${inbox}`);
  await service.call("POST", "/sandbox/v1/events", { eventCode: 103 }, pm);
  const [delivered] = await service.wait({ webhookId: id, notificationStatus: "Delivered" });
  assert.equal(delivered.attempt, 3);
  await service.verify({ webhookId: id, outcome: "failed" }, 2);
});
