-- GET a random seeded webhook by id, as its program manager.
math.randomseed(os.time())
request = function()
  local i = math.random(0, 99999)
  return wrk.format("GET", string.format("/api/v1/webhooks/00000000-0000-4000-8000-%012d", i),
    { ["X-PM-Code"] = string.format("B%03d", math.floor(i / 100)) })
end
