-- Heartbeat a random seeded webhook; all point at the local bench receiver.
math.randomseed(os.time())
request = function()
  local i = math.random(0, 99999)
  return wrk.format("GET", string.format("/api/v1/webhooks/00000000-0000-4000-8000-%012d/heartbeat", i))
end
