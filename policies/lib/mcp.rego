# Helpers for rules on MCP routes (`protocol: mcp` in the gateway config; docs/mcp.md). On such a route Airlock
# decides every JSON-RPC message on its own and describes it as input.mcp: method, id, tool, arguments, uri, name,
# session_id, batch_index, listing. Like request.rego, every value is defined whatever the input holds, so a rule
# using them never becomes undefined by accident; on other routes they are "", {} or false.
package airlock.lib

# True on an MCP route (input.mcp is present).
is_mcp if is_object(input.mcp)

# The JSON-RPC method ("tools/call", "tools/list", "initialize", "notifications/initialized" …); "" for a response
# the client sends back to the server and for the GET and DELETE requests of the transport.
mcp_method := m if {
	m := input.mcp.method
	is_string(m)
} else := ""

# The tool name of a tools/call ("refund_payment"); "" otherwise.
mcp_tool := t if {
	t := input.mcp.tool
	is_string(t)
} else := ""

# True for a tools/call of a tool matching a glob: `*` stays inside one "." or "/" separated part, `**` crosses them.
# mcp_tool_is("get_*") matches "get_balance"; mcp_tool_is("github.**") matches "github.repos.delete".
mcp_tool_is(pattern) if {
	mcp_method == "tools/call"
	glob.match(pattern, [".", "/"], mcp_tool)
}

# The tool's arguments ({"amount_cents": 125000, "payment_id": "pay_1"}); {} when none or not a tools/call.
mcp_args := a if {
	a := input.mcp.arguments
	is_object(a)
} else := {}

# One argument, undefined when absent: `lib.mcp_arg("repo") == "infra"`. Use object.get(lib.mcp_args, k, default)
# for a default instead.
mcp_arg(name) := mcp_args[name]

# The resource URI of resources/read (and subscribe); "" otherwise.
mcp_uri := u if {
	u := input.mcp.uri
	is_string(u)
} else := ""

# True while Airlock asks whether to list a tool in a tools/list result (the per-tool query: a tools/call of that tool
# with empty arguments). A rule that admits a tool should not depend on arguments; arguments refine (hold a large
# amount, deny a protected repo), so the listing query sees the tool's own action.
mcp_listing if input.mcp.listing == true

# The transport's own traffic, which carries no action of its own: the handshake, keep-alives, discovery, the
# client's answers to server requests, the GET stream and session DELETE. Packages for MCP routes usually allow it.
mcp_plumbing if mcp_method in {
	"initialize", "ping", "tools/list", "resources/list", "resources/templates/list", "prompts/list",
	"completion/complete", "logging/setLevel",
}

mcp_plumbing if startswith(mcp_method, "notifications/")

mcp_plumbing if input.mcp.kind in {"response", "http"}
