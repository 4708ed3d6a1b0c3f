-- Full update of a random seeded webhook, keeping its productId so it never collides.
math.randomseed(os.time())
request = function()
  local i = math.random(0, 99999)
  return wrk.format("PUT", string.format("/api/v1/webhooks/00000000-0000-4000-8000-%012d", i),
    { ["Content-Type"] = "application/json", ["X-PM-Code"] = string.format("B%03d", math.floor(i / 100)) },
    string.format('{"productId":%d,"events":[101,102],"config":{"url":"https://client.example/updated"}}', i % 100))
end
