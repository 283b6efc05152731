package airlock.rules_test.demo

import data.airlock.testing as t

cases := [
	{
		"name": "GET is allowed",
		"input": t.get("httpbin", "/get"),
		"want": {"action": "allow", "rule": "demo.read", "risk": "low", "summary": "GET httpbin.org/get", "matched": ["demo.read"]},
	},
	{
		"name": "HEAD is allowed",
		"input": t.request("httpbin", "HEAD", "/anything"),
		"want": {"action": "allow", "rule": "demo.read"},
	},
	{
		"name": "POST /anything/review is reviewed",
		"input": t.post("httpbin", "/anything/review", {"x": 1}),
		"want": {"action": "review", "rule": "demo.review", "risk": "medium", "summary": "Demo review: POST /anything/review"},
	},
	{
		"name": "POST /anything/hold is held for ops",
		"input": t.post("httpbin", "/anything/hold", {"x": 1}),
		"want": {
			"action": "hold", "rule": "demo.hold", "risk": "high", "approvers": ["ops"], "approvals_required": 1,
			"require_comment": false, "timeout_s": "<absent>", "summary": "Demo hold: POST /anything/hold",
		},
	},
	{
		"name": "any other POST is denied by default",
		"input": t.post("httpbin", "/anything/else", {"x": 1}),
		"want": {
			"action": "deny", "rule": "airlock.default_deny", "reason": "no rule allows this request", "risk": "high",
			"summary": "POST httpbin.org/anything/else", "matched": [], "approvers": [], "approvals_required": 1,
		},
	},
	{
		"name": "the demo rules only apply to the httpbin route",
		"input": t.post("stripe", "/anything/hold", {}),
		"want": {"action": "deny", "rule": "airlock.default_deny"},
	},
]

test_demo if t.passes(cases)
