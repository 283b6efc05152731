# Rules that apply across every route.
#
#   a route no package here covers   → deny (the gateway may route to a service nobody wrote a policy for); a host no
#                                      route covers (route "", forward-proxy mode) is left to egress.rego
#   a method override (X-HTTP-Method-Override, _method) → deny
#   DELETE on any route              → hold for "security" (deletions are rarely undoable). A route's own package may
#                                      deny instead, which wins, or hold with its own approvers, who are added to
#                                      "security"; its rule supplies the reason as long as its risk is above "medium".
#                                      Not on MCP routes, where DELETE only ends the client's session (docs/mcp.md).
#   a write whose body Airlock could not parse (multipart it cannot read, text/plain, no or two Content-Types …)
#                                    → deny: rules that inspect bodies would see {} and could let it through unread
#
# When you add a package for a new route, add the route name to `covered_routes`: until then its requests are denied,
# which is the safe way to forget.
package airlock.rules.catchall

import data.airlock.lib

covered_routes := {"github", "httpbin", "mail", "payments-mcp", "slack", "stripe"}

deny contains {
	"rule": "catchall.unknown_route",
	"reason": concat("", [
		"Airlock has no policy for route \"", lib.route, "\" (", lib.host, "), so every request through it is refused; ",
		"retrying will not help, ask the operator to add rules for this service",
	]),
	"risk": "high",
} if {
	not lib.route in covered_routes
	not _proxy_destination
}

# Route "": a forward-proxy destination no route covers, which egress.rego decides.
_proxy_destination if input.route.name == ""

# Some services let a header or a `_method` parameter replace the HTTP method (a POST that acts as a DELETE). Rules
# here match on the real method, so refuse anything that tries to change it.
_method_overrides := {"x-http-method", "x-http-method-override", "x-method-override"}

deny contains {
	"rule": "catchall.method_override",
	"reason": "Airlock does not forward requests that override their HTTP method (X-HTTP-Method-Override and similar headers, or a _method parameter); send the request with the method you mean instead",
	"risk": "high",
} if {
	some name, _ in input.request.headers
	lower(name) in _method_overrides
}

deny contains {
	"rule": "catchall.method_override",
	"reason": "Airlock does not forward requests that override their HTTP method (X-HTTP-Method-Override and similar headers, or a _method parameter); send the request with the method you mean instead",
	"risk": "high",
} if {
	_has_method_param
}

_has_method_param if lib.query._method

# Fail closed on bodies no rule can read: every route's rules look at lib.body, which is {} for such a body, so a
# Slack message sent as text/plain (or with a second Content-Type) would pass the @channel hold unread.
deny contains {
	"rule": "catchall.unreadable_body",
	"reason": concat("", [
		"Airlock could not read this request's body (", lib.body_parse_error, "), so no rule can check what it does; ",
		"send it as JSON (Content-Type: application/json) or form data, with exactly one Content-Type header",
	]),
	"risk": "high",
} if {
	not lib.is_read
	lib.body_parse_error != ""
}

_has_method_param if lib.body._method

hold contains {
	"rule": "catchall.delete",
	"reason": "deleting data is rarely reversible, so every DELETE waits for security to approve it",
	"risk": "medium", # below a route's own "high" rule for the same DELETE, whose reason and summary are more specific
	"summary": concat("", ["Delete ", lib.host, lib.path]),
	"approvers": ["security"],
} if {
	lib.method == "DELETE"
	not lib.is_mcp # on an MCP route DELETE ends the client's session (the transport's own), it deletes no data
}
