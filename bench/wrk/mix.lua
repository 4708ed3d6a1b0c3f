-- 70% get by id, 15% list, 10% create, 5% full update.
math.randomseed(os.time())
local n = 0
request = function()
  local r = math.random()
  local i = math.random(0, 99999)
  local id = string.format("/api/v1/webhooks/00000000-0000-4000-8000-%012d", i)
  local pm = string.format("B%03d", math.floor(i / 100))
  if r < 0.70 then
    return wrk.format("GET", id, { ["X-PM-Code"] = pm })
  elseif r < 0.85 then
    return wrk.format("GET", "/api/v1/webhooks", { ["X-PM-Code"] = "LIST" })
  elseif r < 0.95 then
    n = n + 1
    return wrk.format("POST", "/api/v1/webhooks", { ["Content-Type"] = "application/json", ["X-PM-Code"] = "NEW" },
      string.format('{"productId":%d,"events":[101],"config":{"url":"https://client.example/hook"}}', n))
  else
    return wrk.format("PUT", id, { ["Content-Type"] = "application/json", ["X-PM-Code"] = pm },
      string.format('{"productId":%d,"events":[101,102],"config":{"url":"https://client.example/updated"}}', i % 100))
  end
end
