-- List the program manager that has 20 webhooks.
wrk.method = "GET"
wrk.path = "/api/v1/webhooks"
wrk.headers["X-PM-Code"] = "LIST"
