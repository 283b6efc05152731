package airlock.rules_test.stripe

import data.airlock.testing as t

# policies/data.json sets the hold threshold to 50000 cents ($500.00) and the pending-hold limit to 20.
cases := [
	{
		"name": "reads are allowed",
		"input": t.get("stripe", "/v1/charges"),
		"want": {"action": "allow", "rule": "stripe.read", "risk": "low", "matched": ["stripe.read"]},
	},
	{
		"name": "a large refund is held for payments",
		"input": t.post("stripe", "/v1/refunds", {"amount": "123456", "charge": "ch_123"}),
		"want": {
			"action": "hold", "rule": "stripe.refund_large", "risk": "high", "approvers": ["payments"],
			"approvals_required": 1, "summary": "Refund 1,234.56 on ch_123",
			"reason_contains": "approval limit of 500.00", "timeout_s": "<absent>",
		},
	},
	{
		"name": "a charge of 10x the threshold is critical",
		"input": t.post("stripe", "/v1/charges", {"amount": "500000", "currency": "usd", "customer": "cus_123"}),
		"want": {"action": "hold", "rule": "stripe.charge_large", "risk": "critical", "summary": "Charge $5,000.00 to cus_123"},
	},
	{
		"name": "the threshold itself is held",
		"input": t.post("stripe", "/v1/charges", {"amount": "50000", "currency": "usd", "customer": "cus_1"}),
		"want": {"action": "hold", "rule": "stripe.charge_large", "risk": "high"},
	},
	{
		"name": "a charge below the threshold is reviewed",
		"input": t.post("stripe", "/v1/charges", {"amount": "49999", "currency": "usd", "customer": "cus_1"}),
		"want": {
			"action": "review", "rule": "stripe.charge_small", "risk": "medium", "summary": "Charge $499.99 to cus_1",
			"approvers": [], "approvals_required": 1, "sample_rate": "<absent>",
		},
	},
	{
		"name": "a payment intent in euros, JSON amount",
		"input": t.post("stripe", "/v1/payment_intents", {"amount": 100000, "currency": "eur", "customer": "cus_9"}),
		"want": {"action": "hold", "rule": "stripe.payment_intent_large", "summary": "Collect 1,000.00 EUR to cus_9"},
	},
	{
		"name": "a refund without an amount refunds everything: held",
		"input": t.post("stripe", "/v1/refunds", {"charge": "ch_1"}),
		"want": {"action": "hold", "rule": "stripe.refund_full", "summary": "Refund the full amount on ch_1", "matched": ["stripe.refund_full"]},
	},
	{
		"name": "a decimal amount is unreadable: held as critical",
		"input": t.post("stripe", "/v1/refunds", {"amount": "12.50", "payment_intent": "pi_1"}),
		"want": {"action": "hold", "rule": "stripe.amount_unreadable", "risk": "critical", "reason_contains": "amount=1250"},
	},
	{
		"name": "a repeated amount field is unreadable",
		"input": t.post("stripe", "/v1/charges", {"amount": ["100", "900000"], "currency": "usd"}),
		"want": {"action": "hold", "rule": "stripe.amount_unreadable"},
	},
	{
		"name": "an amount in the query string is unreadable, even with a small one in the body",
		"input": t.with_query(t.post("stripe", "/v1/charges", {"amount": "100", "currency": "usd"}), {"amount": ["900000"]}),
		"want": {"action": "hold", "rule": "stripe.amount_unreadable"},
	},
	{
		"name": "a charge without a body is unreadable",
		"input": t.request("stripe", "POST", "/v1/charges"),
		"want": {"action": "hold", "rule": "stripe.amount_unreadable", "summary": "Charge an unreadable amount"},
	},
	{
		"name": "payouts are always held",
		"input": t.post("stripe", "/v1/payouts", {"amount": "100", "currency": "usd"}),
		"want": {"action": "hold", "rule": "stripe.payout", "risk": "critical", "summary": "Payout $1.00"},
	},
	{
		"name": "transfers are always held",
		"input": t.post("stripe", "/v1/transfers", {"amount": "1000", "currency": "usd", "destination": "acct_1"}),
		"want": {"action": "hold", "rule": "stripe.payout", "summary": "Transfer $10.00 to acct_1"},
	},
	{
		"name": "creating a customer is reviewed",
		"input": t.post("stripe", "/v1/customers", {"email": "a@example.com"}),
		"want": {"action": "review", "rule": "stripe.customer_write", "summary": "Create or update Stripe customer a@example.com"},
	},
	{
		"name": "deleting a customer is held for payments and security, with Stripe's reason",
		"input": t.delete("stripe", "/v1/customers/cus_123"),
		"want": {
			"action": "hold", "rule": "stripe.customer_delete", "risk": "high", "approvers": ["payments", "security"],
			"summary": "Delete Stripe customer cus_123", "reason_contains": "cancels their subscriptions",
			"matched": ["catchall.delete", "stripe.customer_delete"],
		},
	},
	{
		"name": "other writes are not allowed",
		"input": t.post("stripe", "/v1/subscriptions", {"customer": "cus_1"}),
		"want": {"action": "deny", "rule": "airlock.default_deny", "reason": "no rule allows this request"},
	},
	{
		"name": "a hold is refused when payments already has too many pending",
		"input": t.with_pending_holds(t.post("stripe", "/v1/refunds", {"amount": "100000", "charge": "ch_1"}), {"payments": 20}),
		"want": {
			"action": "deny", "rule": "stripe.approval_queue_full", "reason_contains": "already have 20 requests waiting",
			"matched": ["stripe.approval_queue_full", "stripe.refund_large"],
		},
	},
	{
		"name": "pending holds do not affect requests that are not held",
		"input": t.with_pending_holds(t.post("stripe", "/v1/refunds", {"amount": "100", "charge": "ch_1"}), {"payments": 50}),
		"want": {"action": "review", "rule": "stripe.refund_small"},
	},
	{
		"name": "pending holds of other groups do not count",
		"input": t.with_pending_holds(t.post("stripe", "/v1/refunds", {"amount": "100000", "charge": "ch_1"}), {"comms": 50, "payments": 19}),
		"want": {"action": "hold", "rule": "stripe.refund_large"},
	},
]

test_stripe if t.passes(cases)

test_threshold_comes_from_data if {
	d := data.airlock.decision with input as t.post("stripe", "/v1/refunds", {"amount": "1500", "charge": "ch_1"})
		with data.airlock.config.stripe.hold_amount_cents as 1000
	d.action == "hold"
	d.rule == "stripe.refund_large"
}

test_threshold_defaults_to_50000_without_data if {
	d := data.airlock.decision with input as t.post("stripe", "/v1/refunds", {"amount": "49999", "charge": "ch_1"})
		with data.airlock.config as {}
	d.rule == "stripe.refund_small"
	e := data.airlock.decision with input as t.post("stripe", "/v1/refunds", {"amount": "50000", "charge": "ch_1"})
		with data.airlock.config as {}
	e.rule == "stripe.refund_large"
}

test_other_routes_are_not_stripe if {
	d := data.airlock.decision with input as t.post("httpbin", "/v1/refunds", {"amount": "1000000"})
	d.rule == "airlock.default_deny"
}
