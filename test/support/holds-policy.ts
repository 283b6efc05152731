// Rules for the holds suites: one path per hold flavour, so each test asks for exactly what it exercises.
export const HOLD_RULES = `package airlock.rules.holdtest

allow contains {"rule": "t.read", "reason": "reads are fine"} if input.request.method == "GET"

hold contains {"rule": "t.hold", "reason": "test hold", "summary": "Hold one", "approvers": ["ops"]} if {
  input.request.method == "POST"
  input.request.path == "/hold"
}

hold contains {"rule": "t.granted", "reason": "may be granted for a while", "approvers": ["ops"], "grantable": true} if {
  input.request.method == "POST"
  input.request.path == "/granted"
}

hold contains {"rule": "t.two", "reason": "two people must agree", "approvers": ["ops"], "approvals_required": 2} if {
  input.request.method == "POST"
  input.request.path == "/two"
}

hold contains {"rule": "t.comment", "reason": "say why", "approvers": ["ops"], "require_comment": true} if {
  input.request.method == "POST"
  input.request.path == "/comment"
}

hold contains {"rule": "t.short", "reason": "expires fast", "approvers": ["ops"], "timeout_s": 1} if {
  input.request.method == "POST"
  input.request.path == "/short"
}

hold contains {"rule": "t.pay", "reason": "money moves", "approvers": ["payments"]} if {
  input.request.method == "POST"
  input.request.path == "/pay"
  object.get(input.gateway.pending_holds, "payments", 0) < 5
}

deny contains {"rule": "t.pay_busy", "reason": "payments approvers are busy; try tomorrow"} if {
  input.request.method == "POST"
  input.request.path == "/pay"
  object.get(input.gateway.pending_holds, "payments", 0) >= 5
}

review contains {"rule": "t.review", "reason": "looked at later", "sample_rate": 0.5, "approvers": ["ops"]} if {
  input.request.method == "POST"
  input.request.path == "/review"
}
`
