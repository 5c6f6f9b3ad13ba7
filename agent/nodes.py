"""Graph nodes (verb–noun): route, retrieve, compose, price, query data, propose and confirm writes, help."""

from __future__ import annotations

import logging
import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import BaseModel

from agent.answer.extractive import compose_extractive_answer
from agent.answer.llm_answer import compose_llm_answer
from agent.answer.models import AnswerDraft
from agent.answer.progress import AnswerProgress, current_progress
from agent.answer.refusal import restricted_refusal
from agent.context import Context, record_model_check
from agent.model_checks import MODEL_UNVERIFIED_ORIGIN, check_task_arguments, checked_route, rules_are_sure
from agent.models import Route, TurnResult
from agent.router import asks_for_restricted_pricing, asks_to_change_data, route_by_rules, task_kind
from agent.state import AgentState
from knowledge.base import get_knowledge_base
from knowledge.retriever import analyze_query, retrieve_with_role_filter
from knowledge.tables import Entity
from knowledge.text import detect_language
from prompts import load_prompt
from salesbot.roles import role_at_least
from salesbot.settings import get_settings

logger = logging.getLogger(__name__)
PASSAGES_PER_ANSWER = 10


class RouteDecision(BaseModel):
    route: Route


def _model_asked(language: str) -> Any:
    """The chat model, for a step that asks it before any answer exists; a watching connector is told the turn is
    in hand (a model call takes seconds). None without a model."""
    model = _chat_model()
    if model is not None:
        progress = current_progress()
        if progress is not None:
            progress.working(language)
    return model


def _chat_model() -> Any:
    from salesbot.llm import load_chat_model

    return load_chat_model()


def _result(answer: str, language: str, route: str, **extra: Any) -> dict[str, Any]:
    return {"answer": answer, "citations": [], "refused": False, "pending_actions": [], "executed_actions": [],
            "route": route, "language": language, **extra}


def route_question(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Decide what the turn asks for: rules always, a constrained model call when one is configured."""
    question = state["question"]
    language = detect_language(question)
    route: Route = route_by_rules(question)
    # Rules first: the model is asked only where the rules are unsure, and its answer is checked against what the
    # user's words can verify (agent/model_checks.py) before the turn follows it.
    model = None if rules_are_sure(question, route) else _model_asked(language)
    if model is not None:
        from salesbot.llm import ModelUnavailableError, StructuredOutputError, invoke_structured

        try:
            proposed = invoke_structured(model, [("human", load_prompt("route").format(question=question))],
                                         RouteDecision).route
            route, reason = checked_route(proposed, question, runtime.context.role)
            if route != proposed:
                logger.info("model route %r not taken (%s); the rule route %r stands", proposed, reason, route)
            record_model_check("route", "accepted" if route == proposed else "rejected", f"{proposed}: {reason}")
        except (ModelUnavailableError, StructuredOutputError) as error:
            logger.warning("LLM routing failed, keeping the rule route: %s", error)
            record_model_check("route", "failed", error)
    return {"route": route, "language": language, "passages": [], "pending_action": None, "result": {},
            "fallback": None}


def fall_back_to_knowledge(route: str, message: str, refused: bool = False) -> dict[str, Any]:
    """A route that cannot serve this turn hands it to the knowledge route, keeping its own message for the case
    where the knowledge base cannot answer either (the graph routes on `fallback`)."""
    return {"fallback": {"route": route, "message": message, "refused": refused}}


def _entity_names(entity_ids: list[str]) -> list[str]:
    kb = get_knowledge_base()
    with kb.session() as session:
        return [entity.name for entity_id in entity_ids if (entity := session.get(Entity, entity_id)) is not None]


def retrieve_passages(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Retrieve as the asking role; a follow-up without names inherits the thread's focus entities."""
    question = state["question"]
    kb = get_knowledge_base()
    analysis = analyze_query(question, kb)
    focus = list(state.get("focus") or [])
    named = [entity_id for entity_id in analysis.entity_ids if entity_id.split(":")[0] in ("customer", "partner",
                                                                                           "product", "contract")]
    if named:
        focus = _entity_names(named)
        query = question
    else:
        query = " ".join([*focus, question]) if focus else question
    if query != question:
        analysis = analyze_query(query, kb)
    passages = retrieve_with_role_filter(query, runtime.context.role, k=PASSAGES_PER_ANSWER, analysis=analysis)
    return {"passages": [p.model_dump() for p in passages], "focus": focus, "question": query}


def compose_answer(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Grounded, cited answer; refusal when nothing retrieved supports one (or, for a turn another route handed
    over, that route's own message)."""
    from knowledge.models import RetrievedChunk

    question, language = state["question"], state["language"]
    original_question = _last_human_text(state)
    if asks_for_restricted_pricing(original_question) and not role_at_least(runtime.context.role, "manager"):
        draft = restricted_refusal(language)
    else:
        passages = [RetrievedChunk(**p) for p in state.get("passages", [])]
        kb = get_knowledge_base()
        draft = compose_extractive_answer(question, language, passages, kb.alias_matcher(), kb.entity_aliases(),
                                          embedder=kb.embedder)
        model = _chat_model()
        if model is not None and not draft.refused:
            progress = _progress_for(draft, language, state.get("fallback"))
            draft = compose_llm_answer(model, original_question, language, passages[:4],
                                       on_answer_text=progress.model_text if progress else None) or draft
    fallback = state.get("fallback")
    if fallback and not _answers_handed_over_turn(draft):
        return {"result": {**_result(fallback["message"], language, fallback["route"]),
                           "refused": fallback.get("refused", False)}}
    return {"result": _draft_result(draft, language, original_question, runtime.context)}


def _progress_for(draft: AnswerDraft, language: str, fallback: dict[str, Any] | None) -> AnswerProgress | None:
    """The watching connector's listener, told the extractive answer before the model is asked (only when that
    draft is what this turn answers should the model fail), or None when nobody watches."""
    progress = current_progress()
    if progress is None or (fallback and not _answers_handed_over_turn(draft)):
        return None
    citations = list(draft.citations)
    progress.preliminary(TurnResult(answer=draft.text, citations=citations, route="knowledge", language=language))
    return progress


def _answers_handed_over_turn(draft: AnswerDraft) -> bool:
    """A turn another route handed over did not ask the documents: answer it only with clear support, halfway
    between the fitted refusal threshold and full support (an LLM answer passed its own post-check)."""
    from agent.answer.params import composer_params

    if draft.refused:
        return False
    if draft.used_llm or draft.support is None:
        return True
    return draft.support >= (1.0 + composer_params().refusal_threshold) / 2


def _draft_result(draft: AnswerDraft, language: str, question: str, context: Context) -> dict[str, Any]:
    from tools.feedback import record_suggestion

    citations = [citation.model_dump() for citation in draft.citations]
    suggestion_id = record_suggestion("answer", {"answer": draft.text, "refused": draft.refused}, citations,
                                      question=question, user=context.user_id)
    return {**_result(draft.text, language, "knowledge", suggestion_id=suggestion_id), "citations": citations,
            "refused": draft.refused}


def _last_human_text(state: AgentState) -> str:
    for message in reversed(state.get("messages", [])):
        if isinstance(message, HumanMessage):
            return str(message.content)
    return state["question"]


_AMOUNT = r"(\d[\d,]*(?:\.\d+)?)\s*(万|w|k|千)?\s*(?:元|块|CNY|RMB|rmb|yuan)?"
_COMPETITOR_WORDS = ("竞争对手", "竞品", "对手", "competitors?", "rivals?")


def _competitor_price_pattern() -> re.Pattern[str]:
    """Generic competitor words plus every competitor alias the entity registry knows, built per call."""
    from knowledge.base import get_entity_registry

    aliases = sorted({alias for entity in get_entity_registry().of_type("competitor") for alias in entity.aliases},
                     key=len, reverse=True)
    names = "|".join([*_COMPETITOR_WORDS, *(re.escape(alias) for alias in aliases)])
    return re.compile(rf"(?:{names})[^\d]{{0,25}}" + _AMOUNT, re.I)


_CUSTOMER_ASK = re.compile(r"(?:客户希望|客户要求|目标价|客户想要|期望价|心理价位|customer (?:asks?|wants?)|target price|"
                           r"their ask|asking for)[^\d]{0,15}" + _AMOUNT, re.I)
_QUANTITY = re.compile(r"(\d+)\s*(?:台|套|个|只|units?|pcs|pieces|gateways?|monitors?|sensors?|pumps?)", re.I)


def _amount(match: re.Match[str] | None) -> Decimal | None:
    if match is None:
        return None
    try:
        value = Decimal(match.group(1).replace(",", ""))
    except InvalidOperation:
        return None
    unit = (match.group(2) or "").lower()
    return value * {"万": 10000, "w": 10000, "k": 1000, "千": 1000}.get(unit, 1)


def _quantity(match: re.Match[str] | None) -> int:
    """The quantity written in the question (1 when none); absurdly long numbers stay absurd, never crash int()."""
    if match is None:
        return 1
    digits = match.group(1)
    return int(digits) if len(digits) <= 12 else 10 ** 12


def propose_pricing_strategies(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Three quote strategies from the pricing engine, rendered for the asking role (no floor/cost to reps)."""
    from tools.sales.customers import find_customer_in_text
    from tools.sales.pricing import PricingError, find_product_in_text, propose_pricing, render_pricing

    question, language = state["question"], state["language"]
    try:
        product = find_product_in_text(question)
    except PricingError as error:  # e.g. no pricing policy configured
        return {"result": _result(str(error), language, "pricing")}
    if product is None:
        customer_example, product_example = _pricing_examples(language)
        text = (f"请告诉我产品和数量，例如「给{customer_example}报价：{product_example} 20台，竞品报价5.8万」。"
                if language == "zh" else
                f"Tell me the product and quantity, e.g. 'quote 20 {product_example} for {customer_example}, "
                f"competitor at 58,000'.")
        return fall_back_to_knowledge("pricing", text)
    quantity_match = _QUANTITY.search(question)
    customer = find_customer_in_text(question)
    try:
        proposal = propose_pricing(product.sku, _quantity(quantity_match),
                                   customer=customer[0].name_zh if customer else None,
                                   competitor_price=_amount(_competitor_price_pattern().search(question)),
                                   customer_ask=_amount(_CUSTOMER_ASK.search(question)), user=runtime.context.user_id,
                                   role=runtime.context.role)
    except PricingError as error:
        return {"result": _result(str(error), language, "pricing")}
    text = render_pricing(proposal, runtime.context.role, language)
    return {"result": _result(text, language, "pricing", pricing=proposal.view_for_role(runtime.context.role),
                              suggestion_id=proposal.suggestion_id)}


def _pricing_examples(language: str) -> tuple[str, str]:
    """A customer and a product for example texts, taken from the registry (placeholders when it is empty)."""
    from knowledge.base import get_entity_registry

    registry = get_entity_registry()
    customers, products = registry.of_type("customer"), registry.of_type("product")
    chinese = language == "zh"
    customer = (customers[0].name if chinese else customers[0].latin_name()) if customers else (
        "<客户>" if chinese else "<customer>")
    product = products[0].key if products else ("<产品>" if chinese else "<product>")
    return customer, product


def answer_data_question(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Read-only text-to-SQL for roles allowed to ask data questions."""
    from tools.model_tools import answer_data_question as run_data_question

    question, language = state["question"], state["language"]
    settings = get_settings()
    if runtime.context.role not in settings.data_question_roles and not asks_to_change_data(question):
        # The tool's own refusal says which roles may ask; the documents may still answer (a partner report).
        refused = run_data_question_refusal(question, runtime.context.role)
        return fall_back_to_knowledge("data", refused, refused=True)
    chart_dir = settings.home_dir / "charts"
    chart_dir.mkdir(parents=True, exist_ok=True)
    answer = run_data_question(question, runtime.context.role, chart_path=str(chart_dir / f"{uuid.uuid4().hex}.png"),
                               llm=_model_asked(language))
    table = None if answer.refused or not answer.sql else {"sql": answer.sql, "columns": answer.columns,
                                                           "rows": answer.rows}
    if table is None and not asks_to_change_data(question):
        # No rows (no database yet, a question the rules could not read): the documents may still hold the figure;
        # if they don't, the turn is a refusal with the data route's reason (never an answer without a source).
        return fall_back_to_knowledge("data", answer.message, refused=True)
    # The table travels in `table`; each connector renders it (Rich, Block Kit, WeCom Markdown).
    text = f"{answer.message}\nSQL: {answer.sql}" if table else answer.message
    return {"result": {**_result(text, language, "data", table=_json_safe(table), chart=answer.chart),
                       "refused": answer.refused}}


def run_data_question_refusal(question: str, role: str) -> str:
    """The data tool's message for a role that may not ask data questions (it returns before any SQL work)."""
    from tools.model_tools import answer_data_question as run_data_question

    return run_data_question(question, role).message


def _json_safe(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str)) if value is not None else None


def propose_write_action(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Turn the user's own words into a pending action (persisted before anyone is asked to confirm)."""
    from tools.gate.models import ActionContext
    from tools.gate.store import ActionError

    question, language = _last_human_text(state), state["language"]
    # An MCP client is a program acting for a person, not the person: its requests never auto-execute.
    origin = "mcp" if runtime.context.channel == "mcp" else "user"
    context = ActionContext(user_id=runtime.context.user_id, role=runtime.context.role,
                            thread_id=runtime.context.thread_id, origin=origin, request_text=question)
    try:
        view, missing = _propose_from_text(question, task_kind(question), context)
    except ActionError as error:
        return {"result": _result(str(error), language, "task")}
    if view is None:
        return fall_back_to_knowledge("task", missing)
    action = view.model_dump(mode="json")
    if view.status == "executed":
        text = (f"已按责任清单自动执行：{view.summary_zh}" if language == "zh"
                else f"Done automatically (the responsibility list allows it): {view.summary}")
        return {"pending_action": action, "result": _result(text, language, "task", executed_actions=[action])}
    # The gate's own approver wording (one source), typed per language on the view.
    label_en, label_zh = view.approver_label_en or view.required_approver, view.approver_label_zh or view.required_approver
    text = (f"待确认 [{view.id}]：{view.summary_zh}\n{label_zh}。"
            f"回复「确认 {view.id}」执行，「修改 {view.id} 字段=值」调整，或「取消 {view.id}」。"
            if language == "zh" else
            f"Pending [{view.id}]: {view.summary}\n{label_en[:1].upper()}{label_en[1:]}. "
            f"Reply 'approve {view.id}', 'edit {view.id} field=value' or 'reject {view.id}'.")
    return {"pending_action": action, "result": _result(text, language, "task", pending_actions=[action],
                                                        suggestion_id=view.id)}


def _propose_from_text(text: str, kind: str, context: Any) -> tuple[Any, str]:
    from tools.model_tools import create_follow_up_task, log_opportunity_card, update_opportunity_stage
    from tools.sales.customers import find_customer_in_text
    from tools.sales.opportunity import card_to_action_args, extract_opportunity_card
    from tools.sales.task_requests import parse_task_request

    chinese = detect_language(text) == "zh"
    if kind == "log_opportunity_card":
        card = extract_opportunity_card(text, llm=_model_asked("zh" if chinese else "en"))
        if not card.customer:
            return None, ("没看出是哪个客户，请在文字里写上客户名称。" if chinese else
                          "I couldn't tell which customer this is about; please name the customer.")
        return log_opportunity_card(**card_to_action_args(card), context=context), ""
    if kind == "update_opportunity_stage":
        customer = find_customer_in_text(text)
        stage = _stage_in_text(text)
        if customer is None or stage is None:
            return None, ("请说明客户和目标阶段（如 谈判/negotiation）。" if chinese else
                          "Please name the customer and the target stage (e.g. negotiation).")
        return update_opportunity_stage(customer[0].name_zh, stage, context=context), ""
    parsed = parse_task_request(text)
    model = _model_asked("zh" if chinese else "en")
    if model is not None:
        proposed = _propose_task_with_model(model, text, context, parsed)
        if proposed is not None:
            return proposed, ""
    if not parsed or not parsed.get("customer"):
        customer_example, _product = _pricing_examples("zh" if chinese else "en")
        return None, (f"请告诉我客户名称和时间，例如「给{customer_example}下周三安排一次回访」。" if chinese else
                      f"Tell me the customer and when, e.g. 'schedule a follow-up call with {customer_example} "
                      f"next Friday'.")
    if not parsed.get("due"):
        return None, ("什么时候？请补充日期，例如「下周三」或「明天下午3点」。" if chinese else
                      "When? Please add a date, e.g. 'next Friday' or 'in 3 days'.")
    return create_follow_up_task(parsed["customer"], parsed["due"], parsed["description"], context=context), ""


def _propose_task_with_model(model: Any, text: str, context: Any, rule_parse: dict[str, Any] | None) -> Any:
    """A schema-constrained tool call over the user's own message (never retrieved text); None → use the rules.

    The call's arguments are checked against the rules' reading of the same words (`check_task_arguments`): rule
    values win where the rules read one, and unless rules and model agree on every field the proposal is marked
    as the model's, which the gate never auto-executes."""
    from salesbot import clock
    from salesbot.llm import ModelUnavailableError, bind_tools_for, invoke_model
    from tools.gate.store import ActionError
    from tools.model_tools import action_tools, create_follow_up_task

    try:
        bound = bind_tools_for(model, action_tools(context), tool_name="create_follow_up_task")
        reply = invoke_model(bound, [("human", load_prompt("extract_task").format(
            message=text, today=clock.today().isoformat()))])
        call = next((c for c in reply.tool_calls if c["name"] == "create_follow_up_task"), None)
        if call is None:
            record_model_check("task_arguments", "failed", "no create_follow_up_task call")
            return None
        args = {key: str(call["args"].get(key) or "") for key in ("customer", "due", "description")}
        if not _customer_named_by_user(args["customer"], text):
            logger.info("model proposed customer %r that the user's message does not name", args["customer"])
            record_model_check("task_arguments", "rejected", "a customer the user's message does not name")
            return None
        checked = check_task_arguments(args, rule_parse, clock.now())
        record_model_check("task_arguments", "accepted" if checked.may_auto_execute else "rejected",
                           "rules and model agree" if checked.may_auto_execute else
                           "rules and model disagree or the rules could not verify every field: confirmation needed")
        if not checked.args["due"]:
            return None  # neither the rules nor the model read a date: the rules' "when?" question follows
        if not checked.may_auto_execute and context.origin == "user":
            context = context.model_copy(update={"origin": MODEL_UNVERIFIED_ORIGIN})
        return create_follow_up_task(checked.args["customer"], checked.args["due"], checked.args["description"],
                                     context=context)
    except (ModelUnavailableError, ActionError, ValueError, TypeError, KeyError) as error:
        logger.info("model tool call for a task failed, using the rules: %s", error)
        record_model_check("task_arguments", "failed", error)
        return None


def _customer_named_by_user(customer: str, text: str) -> bool:
    """The model may only propose for a customer the user's own words name (no customer from elsewhere)."""
    from tools.sales.customers import find_customer_in_text, resolve_customer

    named = find_customer_in_text(text)
    resolved = resolve_customer(customer) if customer else None
    if named is not None and resolved is not None:
        return named[0].key == resolved.key
    if resolved is not None:  # a short form the user typed ("<Brand>" for "<Brand> Second Hospital")
        words = re.findall(r"[A-Za-z][\w'&.-]{2,}|[\u4e00-\u9fff]{2,}", text)
        if any((ref := resolve_customer(word)) is not None and ref.key == resolved.key for word in words):
            return True
    return bool(customer) and customer.lower() in text.lower()


_STAGES = {"closed_won": r"赢单|成交|closed[ _]?won|\bwon\b", "closed_lost": r"输单|丢单|closed[ _]?lost|\blost\b",
           "negotiation": r"谈判|negotiat", "proposal": r"方案|报价阶段|proposal", "qualification": r"确认需求|qualif",
           "prospecting": r"线索|初步接触|prospect"}


def _stage_in_text(text: str) -> str | None:
    for stage, pattern in _STAGES.items():
        if re.search(pattern, text, re.I):
            return stage
    return None


def confirm_action(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """The confirmation gate: pause until a person approves, edits or rejects; then apply it once."""
    from tools.gate.store import ActionError, decide_action

    action = state.get("pending_action")
    if not action or action.get("status") != "pending":
        return {}
    # Everything above this line re-runs on resume; the write happens only after the human decision.
    request = {"action_id": action["id"], "kind": action["kind"], "summary": action["summary"],
               "required_approver": action["required_approver"]}
    decision = interrupt(request)
    while decision.get("action_id", action["id"]) != action["id"]:
        # A decision for an earlier action of this thread, whose gate another process resumed first (the thread
        # then moved on to this one): it must not approve this action, so the gate pauses again.
        decision = interrupt(request)
    try:
        view = decide_action(action["id"], decision["decision"], decision["user_id"], decision["role"],
                             decision.get("edited_args"))
    except ActionError as error:
        # The gate is consumed either way; the action stays pending in the database and can still be
        # decided (the service then applies it directly), so nothing is lost.
        return {"decision_token": decision.get("decision_token"),
                "result": _result(str(error), decision.get("language", "en"), "decision_error")}
    return {"pending_action": view.model_dump(mode="json"), "decision_token": decision.get("decision_token"),
            "result": decision_result(view, decision.get("language", state.get("language", "zh")))}


def decision_result(view: Any, language: str) -> dict[str, Any]:
    """The result of a decided action (an ActionView); it travels as JSON in the graph state, typed in TurnResult."""
    action = view.model_dump(mode="json")
    if view.status == "executed":
        text = (f"已执行 [{view.id}]：{view.summary_zh}" if language == "zh" else f"Done [{view.id}]: {view.summary}")
        if view.already_decided:
            text += "（此前已执行，未重复写入）" if language == "zh" else " (already done earlier; nothing written twice)"
        return _result(text, language, "decision", executed_actions=[action])
    if view.status == "rejected":
        text = f"已取消 [{view.id}]。" if language == "zh" else f"Rejected [{view.id}]; nothing was written."
        return _result(text, language, "decision")
    text = (f"[{view.id}] 状态：{view.status}" if language == "zh" else f"[{view.id}] status: {view.status}")
    return _result(text, language, "decision", pending_actions=[action] if view.status == "pending" else [])


def respond_help(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    language = state["language"]
    text = load_prompt("help_zh" if language == "zh" else "help_en")
    return {"result": _result(text.strip(), language, "help")}


def record_turn(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Append the answer to the thread's messages (thread memory)."""
    answer = (state.get("result") or {}).get("answer", "")
    return {"messages": [AIMessage(content=answer)]}
