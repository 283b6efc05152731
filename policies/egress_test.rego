package airlock.rules_test.egress

import data.airlock.testing as t

# The input of a CONNECT as the gateway builds it: host-level, no scheme, path, query or body.
connect(route, host, port) := t.merge(t.request(route, "CONNECT", ""), {
	"request": {"url": concat("", [host, ":", format_int(port, 10)]), "scheme": "", "host": host, "port": port, "path": "", "parsed_path": []},
	"route": {"upstream": concat("", ["https://", host])},
})

# A request to a host no route covers (route name "").
to_host(method, host, path) := t.merge(t.request("", method, path), {
	"request": {"url": concat("", ["https://", host, path]), "host": host},
	"route": {"upstream": concat("", ["https://", host])},
})

cases := [
	{
		"name": "CONNECT to an allowed host is tunnelled",
		"input": connect("", "pypi.org", 443),
		"want": {"action": "allow", "rule": "egress.tunnel", "summary": "CONNECT pypi.org"},
	},
	{
		"name": "CONNECT to an allowed host on another port is denied",
		"input": connect("", "pypi.org", 8443),
		"want": {"action": "deny", "rule": "airlock.default_deny"},
	},
	{
		"name": "CONNECT to an unknown host is denied, naming the host",
		"input": connect("", "paste.example.net", 443),
		"want": {"action": "deny", "rule": "egress.unknown_host", "reason_contains": "no route for paste.example.net"},
	},
	{
		"name": "CONNECT to a routed host needs a rule of the route's own",
		"input": connect("stripe", "api.stripe.com", 443),
		"want": {"action": "deny", "rule": "airlock.default_deny"},
	},
	{
		"name": "a read from an allowed host is allowed",
		"input": to_host("GET", "files.pythonhosted.org", "/packages/x.whl"),
		"want": {"action": "allow", "rule": "egress.read"},
	},
	{
		"name": "a write to an allowed host is denied",
		"input": t.with_body(to_host("POST", "pypi.org", "/legacy/"), {"name": "x"}),
		"want": {"action": "deny", "rule": "airlock.default_deny"},
	},
	{
		"name": "a request to an unknown host is denied",
		"input": to_host("GET", "exfil.example.com", "/"),
		"want": {"action": "deny", "rule": "egress.unknown_host", "matched": ["egress.unknown_host"]},
	},
	{
		"name": "an intercepted request to a routed host is the route's business",
		"input": t.get("httpbin", "/get"),
		"want": {"action": "allow", "rule": "demo.read"},
	},
]

test_egress if t.passes(cases)

test_no_allowed_hosts_denies_every_unknown_host if {
	d := data.airlock.decision with input as connect("", "pypi.org", 443) with data.airlock.config.egress as {}
	d.rule == "egress.unknown_host"
}
