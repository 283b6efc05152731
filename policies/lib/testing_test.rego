# Test helpers. A *_test.rego file, so never part of the built policy: it could not be, because `opa build -t wasm`
# rejects a function that reads the entrypoint (data.airlock.decision) with "function … used as reference, not called"
# (an OPA quirk of the plan/wasm targets; `opa test` and `opa check` accept it). In a test:
#
#   import data.airlock.testing as t
#
#   cases := [{
#       "name": "large refund is held",
#       "input": t.post("stripe", "/v1/refunds", {"amount": "100000", "charge": "ch_1"}),
#       "want": {"action": "hold", "rule": "stripe.refund_large", "approvers": ["payments"]},
#   }]
#
#   test_stripe if t.passes(cases)
#
# `want` lists the decision fields to compare exactly; "reason_contains" checks a substring of the reason, and the
# value "<absent>" checks that an optional field (timeout_s, sample_rate) is not there. A failing test prints one line
# per mismatch.
package airlock.testing

hosts := {
	"github": "api.github.com",
	"httpbin": "httpbin.org",
	"mail": "api.sendgrid.com",
	"payments-mcp": "mcp.payments.example.com",
	"slack": "slack.com",
	"stripe": "api.stripe.com",
}

# A complete policy input, as the gateway builds it, for a request without a body.
request(route, method, path) := {
	"request": {
		"method": method,
		"url": concat("", ["https://", host, path]),
		"scheme": "https",
		"host": host,
		"port": 443,
		"path": path,
		"parsed_path": [s | some s in split(trim_prefix(path, "/"), "/"); s != ""],
		"query": {},
		"headers": {"user-agent": "airlock-test"},
		"body": null,
		"body_media_type": null,
		"body_parse_error": null,
		"body_size": 0,
		"body_sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	},
	"agent": {"id": "test-agent", "owner": "owner@example.com", "labels": {}},
	"route": {"name": route, "upstream": concat("", ["https://", host])},
	"intent": null,
	"gateway": {"now": "2026-01-01T00:00:00Z", "now_ns": 1767225600000000000, "pending_holds": {}},
} if {
	host := object.get(hosts, route, "unknown.example.com")
}

get(route, path) := request(route, "GET", path)

delete(route, path) := request(route, "DELETE", path)

post(route, path, body) := with_body(request(route, "POST", path), body)

put(route, path, body) := with_body(request(route, "PUT", path), body)

patch(route, path, body) := with_body(request(route, "PATCH", path), body)

with_body(inp, body) := object.union(inp, {"request": {"body": body, "body_media_type": "application/json", "body_size": count(json.marshal(body))}})

# inp with a body the gateway could not parse: unreadable(post("slack", "/api/chat.postMessage", null), "text/plain", "…").
unreadable(inp, media_type, error) := object.union(inp, {"request": {"body": null, "body_media_type": media_type, "body_parse_error": error, "body_size": 42}})

# inp with fields merged in (objects merge recursively): merge(get("stripe", "/v1/x"), {"intent": "…"}).
merge(inp, fields) := object.union(inp, fields)

with_query(inp, query) := merge(inp, {"request": {"query": query}})

with_pending_holds(inp, pending) := merge(inp, {"gateway": {"pending_holds": pending}})

# One line per field of a case's `want` that the decision does not match.
failures(cases) := {msg |
	some c in cases
	d := data.airlock.decision with input as c.input
	some field, want in c.want
	got := _got(d, field)
	not _matches(field, got, want)
	msg := sprintf("%s: %s: got %v, want %v (decision: %v)", [c.name, field, got, want, d])
}

_got(d, "reason_contains") := d.reason

_got(d, field) := object.get(d, field, "<absent>") if field != "reason_contains"

_matches("reason_contains", got, want) if contains(got, want)

_matches(field, got, want) if {
	field != "reason_contains"
	got == want
}

passes(cases) if {
	f := failures(cases)
	report(f)
	count(f) == 0
}

# Prints the messages, one a line, only when there are any (opa test shows prints of failing tests; -v shows all).
report(f) if count(f) == 0

report(f) if {
	count(f) > 0
	print(concat("\n", sort(f)))
}
