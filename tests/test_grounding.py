"""The answer checks of agent_graphs.grounding: claimed actions."""

from agent_graphs.grounding import claimed_actions


def test_an_answer_that_says_it_sent_an_email_claims_send_email():
    assert claimed_actions("Revenue grew 12%. I emailed the summary to Elena.", {}) == [
        "send_email"]
    assert claimed_actions("The report was saved to a file in the workspace.", {}) == [
        "write_file"]


def test_a_negated_sentence_claims_nothing_and_a_later_sentence_still_counts():
    assert claimed_actions("The summary was not sent.\nNothing was mailed.", {}) == []
    assert claimed_actions("It was not sent yesterday. Today I sent it.", {}) == [
        "send_email"]


def test_a_claim_that_a_result_records_is_not_flagged():
    done = {"s4": {"tool": "send_email", "ok": True}}
    assert claimed_actions("I sent the summary to Elena.", done) == []
    assert claimed_actions("Revenue grew 12% from Q3 to Q4 2024.", {}) == []
