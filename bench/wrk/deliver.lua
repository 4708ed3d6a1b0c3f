-- Trigger event 103 for program manager B000, product 0: exactly one seeded
-- webhook receives it, and its URL is the local bench receiver (answers 200).
local headers = {["Content-Type"] = "application/json"}
local body = '{"programManagerCode": "B000", "productId": 0, "eventCode": 103}'
request = function()
  return wrk.format("POST", "/sandbox/v1/events", headers, body)
end
