"""Handle a click on a pending action's template-card button (approve / reject)."""

from __future__ import annotations

import logging

from connectors.wecom.card_buttons import parse_card_button_key
from connectors.wecom.context import FRIENDLY_FAILURE, WeComHandlerContext, call_agent_safely
from connectors.wecom.models import WeComCardEvent
from connectors.wecom.render import render_plain_message
from connectors.wecom.sender import WeComSendError
from salesbot.roles import UnknownRoleError

logger = logging.getLogger(__name__)

CARD_OUTCOME_LABELS = {"approve": "已确认 Approved", "reject": "已取消 Rejected"}
CARD_NOT_DONE_LABEL = "未执行 Not done"


def handle_card_event(event: WeComCardEvent, context: WeComHandlerContext) -> None:
    """Decide the action named by the button key, tell the user the outcome, and retire the card's buttons."""
    parsed = parse_card_button_key(event.event_key)
    if parsed is None:
        logger.info("ignoring template card click with unknown key %r", event.event_key)
        return
    try:
        role = context.role_for(event.from_user)
    except UnknownRoleError:
        logger.exception("roles file gives %s an unknown role", event.from_user)
        context.sender.deliver(event.from_user, render_plain_message(FRIENDLY_FAILURE[parsed.language]))
        return
    outcome = call_agent_safely(
        lambda: context.decide_action(parsed.action_id, parsed.decision, event.from_user, role, None,
                                      language=parsed.language),
        parsed.language,
    )
    context.sender.deliver(event.from_user, outcome.reply)
    label = CARD_OUTCOME_LABELS[parsed.decision] if outcome.result is not None else CARD_NOT_DONE_LABEL
    try:
        context.sender.mark_card_decided(event.from_user, event.response_code, label)
    except WeComSendError:
        logger.exception("could not update the template card %s", event.task_id)

