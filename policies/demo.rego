# Demo rules for the quick start and the test suites, against an httpbin-style echo service on the route "httpbin".
#
#   GET anything             → allow
#   POST /anything/review    → review
#   POST /anything/hold      → hold, approvers ["ops"]
#   everything else          → no rule here, so the default deny (or catchall.rego: DELETE → hold)
#
# The integration tests and docs rely on these exact rule ids and actions: change them together.
package airlock.rules.demo

import data.airlock.lib

# The routes this package decides (docs/policy.md, "Routes"): its rules are evaluated only for requests on them.
routes := {"httpbin"}

allow contains {
	"rule": "demo.read",
	"reason": "reads from the demo echo service are allowed",
} if {
	lib.route == "httpbin"
	lib.is_read
}

review contains {
	"rule": "demo.review",
	"reason": "the demo forwards this request and records it for review",
	"summary": concat("", ["Demo review: POST ", lib.path]),
} if {
	lib.route == "httpbin"
	lib.method == "POST"
	lib.path == "/anything/review"
}

hold contains {
	"rule": "demo.hold",
	"reason": "the demo holds this request until someone in ops approves it",
	"summary": concat("", ["Demo hold: POST ", lib.path]),
	"approvers": ["ops"],
} if {
	lib.route == "httpbin"
	lib.method == "POST"
	lib.path == "/anything/hold"
}
