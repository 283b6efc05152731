package airlock.rules_test.messaging

import data.airlock.testing as t

# policies/data.json lists C0ENGINEERING, C0OPS, #engineering and #ops as internal and sets max_recipients to 10.

_post(body) := t.post("slack", "/api/chat.postMessage", body)

_mail(personalizations) := t.post("mail", "/v3/mail/send", {
	"personalizations": personalizations,
	"from": {"email": "bot@example.com"},
	"subject": "Quarterly update",
	"content": [{"type": "text/plain", "value": "Hello"}],
})

_addresses(n) := [{"email": sprintf("user%d@example.com", [i])} | some i in numbers.range(1, n)]

cases := [
	{
		"name": "posting to an internal channel is allowed",
		"input": _post({"channel": "C0ENGINEERING", "text": "deploy finished"}),
		"want": {"action": "allow", "rule": "slack.post_internal", "summary": "Post to C0ENGINEERING: deploy finished"},
	},
	{
		"name": "posting to another channel is reviewed, 20% sampled",
		"input": _post({"channel": "C0SHAREDWITHACME", "text": "hello partners"}),
		"want": {
			"action": "review", "rule": "slack.post_external", "sample_rate": 0.2, "risk": "medium",
			"summary": "Post to C0SHAREDWITHACME (not internal): hello partners",
		},
	},
	{
		"name": "the channel can come from the query string",
		"input": t.with_query(t.request("slack", "POST", "/api/chat.postMessage"), {"channel": ["C0OTHER"], "text": ["hi"]}),
		"want": {"action": "review", "rule": "slack.post_external", "summary": "Post to C0OTHER (not internal): hi"},
	},
	{
		"name": "an internal channel in the body does not hide a second channel in the query",
		"input": t.with_query(_post({"channel": "C0OPS", "text": "hi"}), {"channel": ["C0OTHER"]}),
		"want": {"action": "review", "rule": "slack.post_external"},
	},
	{
		"name": "@channel is held for comms with a comment, even in an internal channel",
		"input": _post({"channel": "C0ENGINEERING", "text": "<!channel> lunch is here"}),
		"want": {
			"action": "hold", "rule": "slack.mass_mention", "approvers": ["comms"], "require_comment": true,
			"matched": ["slack.mass_mention", "slack.post_internal"], "reason_contains": "remove the mention",
		},
	},
	{
		"name": "@here inside blocks is found",
		"input": _post({"channel": "C0X", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "<!here|here> outage"}}]}),
		"want": {"action": "hold", "rule": "slack.mass_mention", "summary": "Post to C0X notifying everyone: (blocks)"},
	},
	{
		"name": "@everyone inside a form-encoded blocks string is found",
		"input": _post({"channel": "C0X", "blocks": "[{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":\"<!everyone>\"}}]"}),
		"want": {"action": "hold", "rule": "slack.mass_mention"},
	},
	{
		"name": "reading history is allowed",
		"input": t.get("slack", "/api/conversations.history"),
		"want": {"action": "allow", "rule": "slack.read"},
	},
	{
		"name": "other Slack methods are not allowed",
		"input": _post_method("chat.delete"),
		"want": {"action": "deny", "rule": "airlock.default_deny"},
	},
	{
		"name": "an e-mail to a few people is reviewed",
		"input": _mail([{"to": _addresses(2), "cc": _addresses(1)}]),
		"want": {"action": "review", "rule": "mail.send", "summary": "Send \"Quarterly update\" to 3 recipients"},
	},
	{
		"name": "exactly max_recipients is not a mass mailing",
		"input": _mail([{"to": _addresses(10)}]),
		"want": {"action": "review", "rule": "mail.send"},
	},
	{
		"name": "to, cc and bcc across personalizations add up to a mass mailing",
		"input": _mail([{"to": _addresses(4), "bcc": _addresses(3)}, {"to": _addresses(2), "cc": _addresses(2)}]),
		"want": {
			"action": "hold", "rule": "mail.mass_send", "approvers": ["comms"], "require_comment": true, "risk": "high",
			"summary": "Send \"Quarterly update\" to 11 recipients", "reason_contains": "more than 10 recipients",
		},
	},
	{
		"name": "recipients that cannot be counted are held",
		"input": _mail({"to": _addresses(1)}),
		"want": {"action": "hold", "rule": "mail.recipients_unreadable"},
	},
	{
		"name": "a cc that is not an array cannot be counted",
		"input": _mail([{"to": _addresses(1), "cc": "everyone@example.com"}]),
		"want": {"action": "hold", "rule": "mail.recipients_unreadable"},
	},
	{
		"name": "mail reads are allowed",
		"input": t.get("mail", "/v3/stats"),
		"want": {"action": "allow", "rule": "mail.read"},
	},
]

_post_method(method) := t.post("slack", concat("", ["/api/", method]), {"channel": "C0OPS", "ts": "1.2"})

test_messaging if t.passes(cases)

test_max_recipients_comes_from_data if {
	d := data.airlock.decision with input as _mail([{"to": _addresses(3)}])
		with data.airlock.config.mail.max_recipients as 2
	d.rule == "mail.mass_send"
}

test_no_internal_channels_without_data if {
	d := data.airlock.decision with input as _post({"channel": "C0ENGINEERING", "text": "hi"})
		with data.airlock.config as {}
	d.rule == "slack.post_external"
}
