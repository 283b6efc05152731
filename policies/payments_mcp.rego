# A payments MCP server (route "payments-mcp", `protocol: mcp`): a realistic tool set behind Airlock (docs/mcp.md).
#
#   protocol traffic (initialize, ping, tools/list, notifications, responses, the GET stream, DELETE)   → allow
#   get_balance, get_payment, list_payments, get_customer                      read tools                → allow
#   create_customer, update_customer, send_invoice                             writes                    → review
#   refund_payment (amount_cents, payment_id)                                  money moves               → hold for payments
#       no amount: refunds the whole payment                                                             → hold (high)
#       amount_cents >= 10x data.airlock.config.payments_mcp.large_cents (default 100000 = $1,000.00)    → critical
#   create_payout (amount_cents, destination)                                  money leaves              → hold (critical)
#   delete_customer (customer_id)                                              destructive               → hold, comment required
#   agents labelled team=support: only the read tools (writes and money tools are denied, and so hidden from their
#   tools/list)
#   any other tool or method                                                   no rule here              → default deny
#
# Summaries are built from the arguments, so an approver reads "Refund $1,250.00 on pay_123 (duplicate charge)".
package airlock.rules.payments_mcp

import data.airlock.lib

# The routes this package decides (docs/policy.md, "Routes"): its rules are evaluated only for requests on them.
routes := {"payments-mcp"}

large_cents := n if {
	n := data.airlock.config.payments_mcp.large_cents
	is_number(n)
} else := 100000

_route if lib.route == "payments-mcp"

_read_tools := {"get_balance", "get_payment", "list_payments", "get_customer"}

_write_tools := {"create_customer", "update_customer", "send_invoice"}

_money_tools := {"refund_payment", "create_payout", "delete_customer"}

_support if input.agent.labels.team == "support"

allow contains {"rule": "payments_mcp.protocol", "reason": "MCP protocol traffic carries no action of its own"} if {
	_route
	lib.mcp_plumbing
}

allow contains {"rule": "payments_mcp.read", "reason": "read tools change nothing"} if {
	_route
	some t in _read_tools
	lib.mcp_tool_is(t)
}

review contains {
	"rule": "payments_mcp.write",
	"reason": "customer and invoice writes go through and are recorded for review",
	"summary": concat("", [lib.mcp_tool, " ", _who]),
} if {
	_route
	not _support
	some t in _write_tools
	lib.mcp_tool_is(t)
}

deny contains {
	"rule": "payments_mcp.support_read_only",
	"reason": concat("", ["support agents may only use the read tools of the payments server (", concat(", ", sort(_read_tools)), ")"]),
	"risk": "medium",
} if {
	_route
	_support
	some t in (_write_tools | _money_tools)
	lib.mcp_tool_is(t)
}

# --- money -----------------------------------------------------------------------------------------------------------

# The amount in cents when it is one whole number; undefined otherwise (a rule treats that as large).
_amount := lib.amount(lib.mcp_arg("amount_cents"))

_amount_text := lib.money(n, object.get(lib.mcp_args, "currency", "usd")) if {
	n := _amount
} else := "the full amount" if {
	not lib.mcp_arg("amount_cents")
} else := "an unreadable amount"

_who := s if {
	s := lib.mcp_arg("customer_id")
	is_string(s)
} else := s if {
	s := lib.mcp_arg("email")
	is_string(s)
} else := "(new customer)"

_note := concat("", [" (", r, ")"]) if {
	r := lib.mcp_arg("reason")
	is_string(r)
} else := ""

_money_risk := "critical" if {
	_amount >= 10 * large_cents
} else := "critical" if {
	not _amount
	lib.mcp_arg("amount_cents")
} else := "high"

hold contains {
	"rule": "payments_mcp.refund",
	"reason": "refunds move money back to a customer and cannot be taken back, so someone in payments approves each one",
	"risk": _money_risk,
	"summary": concat("", ["Refund ", _amount_text, " on ", object.get(lib.mcp_args, "payment_id", "(no payment id)"), _note]),
	"approvers": ["payments"],
} if {
	_route
	not _support
	lib.mcp_tool_is("refund_payment")
}

hold contains {
	"rule": "payments_mcp.payout",
	"reason": "payouts send money out of the account and always need approval from payments",
	"risk": "critical",
	"summary": concat("", ["Pay out ", _amount_text, " to ", object.get(lib.mcp_args, "destination", "(no destination)")]),
	"approvers": ["payments"],
} if {
	_route
	not _support
	lib.mcp_tool_is("create_payout")
}

hold contains {
	"rule": "payments_mcp.delete_customer",
	"reason": "deleting a customer cancels their subscriptions and cannot be undone; the approver must say why it is right",
	"risk": "high",
	"summary": concat("", ["Delete customer ", _who]),
	"approvers": ["payments"],
	"require_comment": true,
} if {
	_route
	not _support
	lib.mcp_tool_is("delete_customer")
}
