-- Create webhooks with fresh (program manager, productId) keys, so none is a duplicate.
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/api/v1/webhooks",
    { ["Content-Type"] = "application/json", ["X-PM-Code"] = "NEW" },
    string.format('{"productId":%d,"events":[101,103],"config":{"url":"https://client.example/hook",' ..
      '"customHeaders":{"ApiKey":"k"}}}', n))
end
