package airlock.rules_test.catchall

import data.airlock.testing as t

cases := [
	{
		"name": "a route without a policy is denied",
		"input": t.get("crm", "/api/contacts/42"),
		"want": {
			"action": "deny", "rule": "catchall.unknown_route", "risk": "high",
			"reason_contains": "no policy for route \"crm\" (unknown.example.com)",
		},
	},
	{
		"name": "a DELETE on a route without a policy is denied, not held",
		"input": t.delete("crm", "/api/contacts/42"),
		"want": {"action": "deny", "rule": "catchall.unknown_route", "matched": ["catchall.delete", "catchall.unknown_route"]},
	},
	{
		"name": "an input without a route is denied",
		"input": {"request": {"method": "GET", "host": "example.com", "path": "/"}},
		"want": {"action": "deny", "rule": "catchall.unknown_route", "summary": "GET example.com/"},
	},
	{
		"name": "a method override header is denied",
		"input": t.merge(t.post("httpbin", "/anything/review", {}), {"request": {"headers": {"x-http-method-override": "DELETE"}}}),
		"want": {"action": "deny", "rule": "catchall.method_override", "reason_contains": "send the request with the method you mean"},
	},
	{
		"name": "a _method form field is denied",
		"input": t.post("stripe", "/v1/customers", {"_method": "delete", "email": "a@example.com"}),
		"want": {"action": "deny", "rule": "catchall.method_override"},
	},
	{
		"name": "a _method query parameter is denied",
		"input": t.with_query(t.get("github", "/repos/acme/api"), {"_method": ["DELETE"]}),
		"want": {"action": "deny", "rule": "catchall.method_override"},
	},
	{
		"name": "a DELETE anywhere is held for security",
		"input": t.delete("httpbin", "/anything/1"),
		"want": {
			"action": "hold", "rule": "catchall.delete", "risk": "medium", "approvers": ["security"],
			"approvals_required": 1, "summary": "Delete httpbin.org/anything/1",
		},
	},
	{
		"name": "a Slack message as text/plain (JSON the gateway does not parse) is denied, not judged as an empty body",
		"input": t.unreadable(t.post("slack", "/api/chat.postMessage", null), "text/plain", "text/plain bodies are not parsed (Airlock reads JSON, form and multipart bodies)"),
		"want": {"action": "deny", "rule": "catchall.unreadable_body", "risk": "high", "reason_contains": "text/plain bodies are not parsed"},
	},
	{
		"name": "a write with two Content-Types is denied",
		"input": t.unreadable(t.post("stripe", "/v1/refunds", null), "application/json, application/x-www-form-urlencoded", "the request has more than one Content-Type"),
		"want": {"action": "deny", "rule": "catchall.unreadable_body", "reason_contains": "exactly one Content-Type"},
	},
	{
		"name": "a malformed multipart body is denied",
		"input": t.unreadable(t.post("github", "/repos/acme/api/issues", null), "multipart/form-data", "the multipart body has no closing boundary"),
		"want": {"action": "deny", "rule": "catchall.unreadable_body"},
	},
	{
		"name": "a read is not judged by its body",
		"input": t.unreadable(t.get("slack", "/api/conversations.list"), "text/plain", "text/plain bodies are not parsed"),
		"want": {"action": "allow", "rule": "slack.read"},
	},
]

test_catchall if t.passes(cases)

# Every package under airlock.rules must have its route listed here, or its requests are all denied.
test_covered_routes_match_the_examples if {
	data.airlock.rules.catchall.covered_routes == object.keys(t.hosts)
}
