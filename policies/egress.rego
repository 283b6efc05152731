# Forward-proxy mode (docs/egress.md): what agents reach through HTTP_PROXY / HTTPS_PROXY.
#
#   CONNECT to a host in allowed_hosts, port 443   → allow (a tunnel: one decision per connection, nothing inside seen)
#   a read (GET, HEAD, OPTIONS) from such a host    → allow (plain http://, or inside an intercepted tunnel)
#   any other request to a host no route covers     → deny, naming the host
#
# A destination that no route covers arrives with input.route.name "" and input.route.upstream its origin; a CONNECT
# has method "CONNECT", the host and port, url "host:port", and no scheme, path, query or body. Requests to a host a
# route covers carry that route's name (inside an intercepted tunnel, with path and body like any routed request) and
# are decided by the route's own package; a CONNECT to a tunnel-only route needs an explicit allow there too.
package airlock.rules.egress

import data.airlock.lib

# Hosts agents may reach without a route, from data.json (data.airlock.config.egress.allowed_hosts). Through a tunnel
# Airlock sees only the host: list hosts you would trust with anything an agent could send them.
allowed_hosts := {h | some h in data.airlock.config.egress.allowed_hosts}

_unknown_host if input.route.name == ""

_allowed_host if lib.host in allowed_hosts

allow contains {
	"rule": "egress.tunnel",
	"reason": concat("", [lib.host, " is on the list of hosts agents may reach through a tunnel"]),
} if {
	lib.method == "CONNECT"
	input.request.port == 443
	_allowed_host
}

allow contains {
	"rule": "egress.read",
	"reason": concat("", ["reads from ", lib.host, " are allowed"]),
} if {
	_unknown_host
	lib.is_read
	_allowed_host
}

deny contains {
	"rule": "egress.unknown_host",
	"reason": concat("", [
		"Airlock has no route for ", lib.host, " and the policy does not allow it, so the request was refused; ",
		"retrying will not help: use a service Airlock has a route for, or ask the operator to allow this host",
	]),
	"risk": "high",
} if {
	_unknown_host
	not _allowed_host
}
