package airlock.rules_test.payments_mcp

import data.airlock.testing as t

# An MCP message on the payments-mcp route, as the gateway describes it (input.mcp; docs/mcp.md).
_message(mcp, labels) := t.merge(t.post("payments-mcp", "/mcp", {}), {
	"agent": {"labels": labels},
	"mcp": object.union(
		{
			"kind": "request", "method": "", "id": 1, "tool": null, "arguments": {}, "uri": null, "name": null,
			"params": {}, "session_id": "s-1", "protocol_version": "2025-11-25", "batch_index": null, "batch_size": 1,
			"listing": false,
		},
		mcp,
	),
})

call(tool, args) := _message({"method": "tools/call", "tool": tool, "arguments": args}, {})

support_call(tool, args) := _message({"method": "tools/call", "tool": tool, "arguments": args}, {"team": "support"})

method(m) := _message({"method": m}, {})

cases := [
	{"name": "initialize is protocol traffic", "input": method("initialize"), "want": {"action": "allow", "rule": "payments_mcp.protocol"}},
	{"name": "tools/list is protocol traffic", "input": method("tools/list"), "want": {"action": "allow", "rule": "payments_mcp.protocol"}},
	{
		"name": "notifications are protocol traffic", "input": _message({"kind": "notification", "method": "notifications/initialized", "id": null}, {}),
		"want": {"action": "allow"},
	},
	{"name": "the GET stream is protocol traffic", "input": _message({"kind": "http", "method": null, "id": null}, {}), "want": {"action": "allow"}},
	{"name": "a read tool is allowed", "input": call("get_balance", {}), "want": {"action": "allow", "rule": "payments_mcp.read"}},
	{
		"name": "a write is reviewed with a summary from the arguments", "input": call("update_customer", {"customer_id": "cus_1"}),
		"want": {"action": "review", "rule": "payments_mcp.write", "summary": "update_customer cus_1"},
	},
	{
		"name": "a refund is held with amount, payment and reason in the summary",
		"input": call("refund_payment", {"amount_cents": 125000, "payment_id": "pay_123", "reason": "duplicate charge"}),
		"want": {
			"action": "hold", "rule": "payments_mcp.refund", "risk": "high", "approvers": ["payments"],
			"summary": "Refund $1,250.00 on pay_123 (duplicate charge)",
		},
	},
	{
		"name": "a refund of 10x the threshold is critical", "input": call("refund_payment", {"amount_cents": 1000000, "payment_id": "pay_9"}),
		"want": {"action": "hold", "risk": "critical", "summary": "Refund $10,000.00 on pay_9"},
	},
	{
		"name": "a refund without an amount refunds everything", "input": call("refund_payment", {"payment_id": "pay_2"}),
		"want": {"action": "hold", "risk": "high", "summary": "Refund the full amount on pay_2"},
	},
	{
		"name": "an unreadable amount is critical", "input": call("refund_payment", {"amount_cents": "12.50", "payment_id": "pay_3"}),
		"want": {"action": "hold", "risk": "critical", "summary": "Refund an unreadable amount on pay_3"},
	},
	{
		"name": "a payout is held as critical", "input": call("create_payout", {"amount_cents": 5000, "currency": "eur", "destination": "ba_1"}),
		"want": {"action": "hold", "rule": "payments_mcp.payout", "risk": "critical", "summary": "Pay out 50.00 EUR to ba_1"},
	},
	{
		"name": "deleting a customer needs a comment", "input": call("delete_customer", {"customer_id": "cus_7"}),
		"want": {"action": "hold", "rule": "payments_mcp.delete_customer", "require_comment": true, "summary": "Delete customer cus_7"},
	},
	{
		"name": "support agents may read", "input": support_call("get_payment", {"payment_id": "pay_1"}),
		"want": {"action": "allow", "rule": "payments_mcp.read"},
	},
	{
		"name": "support agents may not refund", "input": support_call("refund_payment", {"amount_cents": 100, "payment_id": "pay_1"}),
		"want": {"action": "deny", "rule": "payments_mcp.support_read_only", "reason_contains": "only use the read tools"},
	},
	{
		"name": "the listing query of a money tool for support is a deny (hidden)",
		"input": _message({"method": "tools/call", "tool": "create_payout", "listing": true, "id": null}, {"team": "support"}),
		"want": {"action": "deny"},
	},
	{
		"name": "the listing query of a refund for others is a hold (listed)",
		"input": _message({"method": "tools/call", "tool": "refund_payment", "listing": true, "id": null}, {}),
		"want": {"action": "hold"},
	},
	{"name": "an unknown tool is denied by default", "input": call("drop_database", {}), "want": {"action": "deny", "rule": "airlock.default_deny"}},
	{"name": "an unknown method is denied by default", "input": method("sampling/createMessage"), "want": {"action": "deny", "rule": "airlock.default_deny"}},
	{"name": "a tool of the same name on another route is not matched here", "input": t.merge(call("get_balance", {}), {"route": {"name": "other"}}), "want": {"action": "deny"}},
]

test_payments_mcp if t.passes(cases)
