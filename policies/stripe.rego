# Stripe (route "stripe", upstream https://api.stripe.com). Stripe takes form-urlencoded bodies, so every parameter
# arrives as a string ("amount": "123456", in the currency's minor unit: cents for USD).
#
#   GET                                            → allow
#   POST /v1/charges, /v1/payment_intents, /v1/refunds
#       amount >= hold threshold                   → hold for "payments" (critical from 10x the threshold)
#       amount below the threshold                 → review
#       amount missing or unreadable               → hold (a refund without an amount refunds the whole charge)
#   POST /v1/payouts, /v1/transfers                → hold for "payments" (money leaves the Stripe balance)
#   POST /v1/customers, /v1/customers/{id}         → review
#   DELETE /v1/customers/{id}                      → hold for "payments" (catchall.rego adds "security")
#   a hold while "payments" already has too many pending holds → deny (back off)
#   anything else                                  → no rule here: default deny
#
# Why review and not allow below the threshold: money moves and a refund cannot be taken back, so each one is recorded
# for someone to look at afterwards. Why not hold: holding every $5 refund teaches approvers to approve without reading,
# and the threshold keeps their attention for the ones that matter.
#
# Configuration (policies/data.json, all optional):
#   data.airlock.config.stripe.hold_amount_cents   hold at or above this amount, in minor units (default 50000 = $500)
#   data.airlock.config.stripe.max_pending_holds   deny new holds once "payments" has this many pending (default 20)
package airlock.rules.stripe

import data.airlock.lib

# The routes this package decides (docs/policy.md, "Routes"): its rules are evaluated only for requests on them.
routes := {"stripe"}

hold_amount_cents := n if {
	n := data.airlock.config.stripe.hold_amount_cents
	is_number(n)
} else := 50000

max_pending_holds := n if {
	n := data.airlock.config.stripe.max_pending_holds
	is_number(n)
} else := 20

_stripe if lib.route == "stripe"

# --- reads -----------------------------------------------------------------------------------------------------------

allow contains {
	"rule": "stripe.read",
	"reason": "reading from Stripe does not change anything",
} if {
	_stripe
	lib.is_read
}

# --- charges, payment intents and refunds ----------------------------------------------------------------------------

# The endpoints that move an `amount`, by path: what the movement is called in rule ids and in summaries.
_money_endpoints := {
	"/v1/charges": {"kind": "charge", "verb": "Charge"},
	"/v1/payment_intents": {"kind": "payment_intent", "verb": "Collect"},
	"/v1/refunds": {"kind": "refund", "verb": "Refund"},
}

_endpoint := _money_endpoints[lib.path] if {
	_stripe
	lib.method == "POST"
}

# The amount, only when it is unambiguous: one whole number in the body, and no `amount` in the query string (which
# Stripe would also read).
_amount := n if {
	not lib.query.amount
	n := lib.amount(lib.body.amount)
}

_amount_text := lib.money(n, lib.body.currency) if {
	n := _amount
	is_string(lib.body.currency)
} else := lib.decimal(n) if {
	n := _amount
} else := "an unreadable amount"

# Who or what the money goes to or comes from, for the summary: " to cus_123", " on ch_123".
_target := concat("", [" to ", lib.body.customer]) if {
	_endpoint.kind != "refund"
	is_string(lib.body.customer)
} else := concat("", [" on ", lib.body.charge]) if {
	is_string(lib.body.charge)
} else := concat("", [" on ", lib.body.payment_intent]) if {
	is_string(lib.body.payment_intent)
} else := ""

_summary := concat("", [_endpoint.verb, " ", _amount_text, _target])

hold contains {
	"rule": concat("", ["stripe.", _endpoint.kind, "_large"]),
	"reason": concat("", [
		"a ", replace(_endpoint.kind, "_", " "), " of ", _amount_text, " is at or above the approval limit of ",
		lib.decimal(hold_amount_cents), " for agents, so it waits for someone in payments to approve it",
	]),
	"risk": _large_risk,
	"summary": _summary,
	"approvers": ["payments"],
} if {
	_endpoint
	_amount >= hold_amount_cents
}

_large_risk := "critical" if {
	_amount >= 10 * hold_amount_cents
} else := "high"

review contains {
	"rule": concat("", ["stripe.", _endpoint.kind, "_small"]),
	"reason": concat("", [
		"a ", replace(_endpoint.kind, "_", " "), " below the approval limit of ", lib.decimal(hold_amount_cents),
		" goes through and is recorded for review",
	]),
	"risk": "medium",
	"summary": _summary,
} if {
	_endpoint
	_amount < hold_amount_cents
}

hold contains {
	"rule": "stripe.refund_full",
	"reason": "a refund without an amount refunds the whole charge, whatever its size, so it needs approval from payments; send an explicit amount (in cents) for a partial refund",
	"risk": "high",
	"summary": concat("", ["Refund the full amount", _target]),
	"approvers": ["payments"],
} if {
	_full_refund
}

hold contains {
	"rule": "stripe.amount_unreadable",
	"reason": "the amount must be one whole number of minor units (cents) in the body, e.g. amount=1250 for $12.50; Airlock could not read it, so it cannot tell how much money moves and payments must approve",
	"risk": "critical",
	"summary": _summary,
	"approvers": ["payments"],
} if {
	_endpoint
	not _amount
	not _full_refund
}

# No amount anywhere: Stripe refunds everything that is left on the charge.
_full_refund if {
	_endpoint.kind == "refund"
	not lib.body.amount
	not lib.query.amount
}

# --- payouts and transfers -------------------------------------------------------------------------------------------

hold contains {
	"rule": "stripe.payout",
	"reason": "payouts and transfers send money out of the Stripe balance and always need approval from payments",
	"risk": "critical",
	"summary": concat("", [verb, " ", _amount_text, _destination]),
	"approvers": ["payments"],
} if {
	_stripe
	lib.method == "POST"
	verb := {"/v1/payouts": "Payout", "/v1/transfers": "Transfer"}[lib.path]
}

_destination := concat("", [" to ", lib.body.destination]) if {
	is_string(lib.body.destination)
} else := ""

# --- customers -------------------------------------------------------------------------------------------------------

review contains {
	"rule": "stripe.customer_write",
	"reason": "creating or updating a customer goes through and is recorded for review",
	"summary": concat("", ["Create or update Stripe customer ", _customer_label]),
} if {
	_stripe
	lib.method == "POST"
	_customer_path
}

_customer_path if lib.path == "/v1/customers"

_customer_path if lib.path_is("/v1/customers/*")

_customer_label := lib.segments[2] if {
	count(lib.segments) == 3
} else := lib.body.email if {
	is_string(lib.body.email)
} else := "(new)"

hold contains {
	"rule": "stripe.customer_delete",
	"reason": "deleting a Stripe customer also cancels their subscriptions and cannot be undone, so it needs approval from payments",
	"risk": "high",
	"summary": concat("", ["Delete Stripe customer ", lib.segments[2]]),
	"approvers": ["payments"],
} if {
	_stripe
	lib.method == "DELETE"
	lib.path_is("/v1/customers/*")
}

# --- back-pressure on the approvers ----------------------------------------------------------------------------------

# input.gateway.pending_holds counts the holds waiting for each approver group. An agent stuck in a loop should not
# bury the payments team: once the queue is full, new holds for payments are refused with a reason the agent can act on.
deny contains {
	"rule": "stripe.approval_queue_full",
	"reason": concat("", [
		"payments approvers already have ", format_int(lib.pending_holds("payments"), 10),
		" requests waiting (the limit is ", format_int(max_pending_holds, 10), "); wait for them to be decided ",
		"before sending more, and do not retry this request in a loop",
	]),
	"risk": "medium",
} if {
	some h in hold
	"payments" in h.approvers
	lib.pending_holds("payments") >= max_pending_holds
}
