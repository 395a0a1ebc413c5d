"""Settings precedence: a value passed for the run > environment > default."""

from agent_graphs.context import Context, context_from


def test_default_is_local_without_a_provider():
    assert Context().planner_model == "local"
    assert Context().max_replans == 2


def test_environment_beats_default(monkeypatch):
    monkeypatch.setenv("AGENT_GRAPHS_MAX_REPLANS", "5")
    monkeypatch.setenv("AGENT_GRAPHS_EXECUTOR_MODEL", "openai:gpt-4o-mini")
    ctx = Context()
    assert ctx.max_replans == 5 and ctx.executor_model == "openai:gpt-4o-mini"


def test_passed_value_beats_environment_even_when_equal_to_default(monkeypatch):
    monkeypatch.setenv("AGENT_GRAPHS_MAX_REPLANS", "5")
    monkeypatch.setenv("AGENT_GRAPHS_PLANNER_MODEL", "openai:gpt-4o")
    ctx = context_from({"max_replans": 2, "planner_model": "local"})
    assert ctx.max_replans == 2 and ctx.planner_model == "local"


def test_openai_provider_from_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert Context().critic_model == "openai:gpt-4o-mini"
    monkeypatch.setenv("OPENAI_MODEL", "qwen2.5")
    assert Context().critic_model == "openai:qwen2.5"
    monkeypatch.setenv("AGENT_GRAPHS_MODEL", "local:1.5b")
    assert Context().critic_model == "local:1.5b"


def test_graph_coerces_a_dict_context_with_the_same_precedence(monkeypatch):
    from langgraph.pregel.main import _coerce_context

    monkeypatch.setenv("AGENT_GRAPHS_MAX_STEPS", "7")
    ctx = _coerce_context(Context, {"max_replans": 1})
    assert ctx.max_steps == 7 and ctx.max_replans == 1


def test_one_openai_client_per_settings_and_environment(monkeypatch):
    from agent_graphs.models import load_chat_model

    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "k1")
    first = load_chat_model("openai:m", max_tokens=100)
    assert load_chat_model("openai:m", max_tokens=100) is first  # built once, reused
    assert load_chat_model("openai:m", max_tokens=200) is not first
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:10/v1")
    moved = load_chat_model("openai:m", max_tokens=100)
    assert moved is not first and "127.0.0.1:10" in str(moved.root_client.base_url)
