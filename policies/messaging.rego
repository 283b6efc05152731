# Messages that leave the company or reach many people: Slack (route "slack", upstream https://slack.com) and
# SendGrid-style e-mail (route "mail", upstream https://api.sendgrid.com).
#
# Slack (methods are paths: POST /api/chat.postMessage; arguments in a JSON or form body, or in the query string)
#   reads (conversations.history/info/list/members/replies, users.info/list, auth.test) → allow
#   chat.postMessage to a channel listed as internal                                   → allow
#   chat.postMessage to any other channel (external, Slack Connect, DM, unknown)       → review, 20% sampled
#   chat.postMessage with @channel, @here or @everyone                                → hold "comms", comment required
#   other methods                                                                     → no rule here: default deny
#
# Mail (POST /v3/mail/send, recipients in personalizations[].to/cc/bcc)
#   GET                                                          → allow
#   more than max_recipients recipients, or uncountable          → hold "comms", comment required
#   otherwise                                                    → review
#
# Slack channel ids do not say whether a channel is shared with another company, so the policy lists the internal
# ones and treats everything else as external: a new channel is reviewed until someone adds it.
#
# Configuration (policies/data.json, all optional):
#   data.airlock.config.slack.internal_channels   channel ids and names ("C0123ABCD", "#eng") that stay inside (default none)
#   data.airlock.config.mail.max_recipients       hold sends to more recipients than this (default 10)
package airlock.rules.messaging

import data.airlock.lib

# The routes this package decides (docs/policy.md, "Routes"): its rules are evaluated only for requests on them.
routes := {"mail", "slack"}

internal_channels := {c | some c in data.airlock.config.slack.internal_channels}

max_recipients := n if {
	n := data.airlock.config.mail.max_recipients
	is_number(n)
} else := 10

# --- Slack -----------------------------------------------------------------------------------------------------------

_slack_method := trim_prefix(lib.path, "/api/") if {
	lib.route == "slack"
	startswith(lib.path, "/api/")
}

_slack_reads := {
	"auth.test",
	"conversations.history",
	"conversations.info",
	"conversations.list",
	"conversations.members",
	"conversations.replies",
	"users.info",
	"users.list",
}

allow contains {
	"rule": "slack.read",
	"reason": "reading Slack conversations and users does not post anything",
} if {
	_slack_method in _slack_reads
}

_post_message if {
	_slack_method == "chat.postMessage"
	lib.method == "POST"
}

# Slack reads arguments from the body or the query string: look at both.
_slack_arg(name) := v if {
	v := lib.body[name]
	is_string(v)
} else := v if {
	[v] = lib.query[name]
}

_channel := c if {
	c := _slack_arg("channel")
} else := "(no channel)"

_internal if {
	_channel in internal_channels
	not lib.query.channel # a second channel argument in the query could win over the body's
}

# Any string anywhere in the message (text, blocks, attachments, a JSON string inside a form field).
_strings contains s if {
	some _, s in walk(lib.body)
	is_string(s)
}

_strings contains s if {
	some _, values in lib.query
	some s in values
}

_mass_mention if {
	some s in _strings
	regex.match(`<!(channel|here|everyone)\b`, s)
}

_preview := substring(replace(t, "\n", " "), 0, 80) if {
	t := _slack_arg("text")
} else := "(blocks)"

allow contains {
	"rule": "slack.post_internal",
	"reason": "posting to an internal channel is allowed",
	"summary": sprintf("Post to %s: %s", [_channel, _preview]),
} if {
	_post_message
	_internal
}

review contains {
	"rule": "slack.post_external",
	"reason": "the channel is not on the list of internal channels, so it may be shared with people outside the company; the message goes through and one in five is reviewed",
	"summary": sprintf("Post to %s (not internal): %s", [_channel, _preview]),
	"sample_rate": 0.2,
} if {
	_post_message
	not _internal
}

hold contains {
	"rule": "slack.mass_mention",
	"reason": "@channel, @here and @everyone notify everyone in the channel, so the message waits for comms to approve it with a comment; remove the mention to post without approval",
	"risk": "medium",
	"summary": sprintf("Post to %s notifying everyone: %s", [_channel, _preview]),
	"approvers": ["comms"],
	"require_comment": true,
} if {
	_post_message
	_mass_mention
}

# --- mail ------------------------------------------------------------------------------------------------------------

_mail if lib.route == "mail"

allow contains {
	"rule": "mail.read",
	"reason": "reading from the mail API does not send anything",
} if {
	_mail
	lib.is_read
}

_send if {
	_mail
	lib.method == "POST"
	lib.path == "/v3/mail/send"
}

# Every address in to, cc and bcc of every personalization; undefined when the body does not have that shape.
_recipients := count([r |
	some p in lib.body.personalizations
	some field in ["to", "cc", "bcc"]
	some r in object.get(p, field, [])
]) if {
	is_array(lib.body.personalizations)
	every p in lib.body.personalizations {
		is_object(p)
		every field in ["to", "cc", "bcc"] {
			is_array(object.get(p, field, []))
		}
	}
}

_subject := s if {
	s := lib.body.subject
	is_string(s)
} else := s if {
	s := lib.body.personalizations[0].subject
	is_string(s)
} else := "(no subject)"

hold contains {
	"rule": "mail.mass_send",
	"reason": concat("", [
		"an e-mail to more than ", format_int(max_recipients, 10),
		" recipients is a mass mailing and waits for comms to approve it with a comment; ",
		"send to fewer people at once to go through without approval",
	]),
	"risk": "high",
	"summary": sprintf("Send \"%s\" to %d recipients", [_subject, _recipients]),
	"approvers": ["comms"],
	"require_comment": true,
} if {
	_send
	_recipients > max_recipients
}

hold contains {
	"rule": "mail.recipients_unreadable",
	"reason": "Airlock could not count the recipients (personalizations[].to/cc/bcc must be arrays), so the e-mail waits for comms to approve it",
	"risk": "high",
	"summary": sprintf("Send \"%s\" to an unknown number of recipients", [_subject]),
	"approvers": ["comms"],
	"require_comment": true,
} if {
	_send
	not _recipients
}

review contains {
	"rule": "mail.send",
	"reason": "e-mail to a few recipients goes through and is recorded for review",
	"summary": sprintf("Send \"%s\" to %d recipients", [_subject, _recipients]),
} if {
	_send
	_recipients <= max_recipients
}
