"""The /workflow page draws the lifecycle from the machine itself."""

from workflows import lifecycle


def test_workflow_page_shows_every_state_and_trigger(client):
    res = client.get("/workflow")
    assert res.status_code == 200
    page = res.get_data(as_text=True)
    assert "<svg" in page and "<?xml" not in page
    for state in lifecycle.STATES:
        assert lifecycle.STATE_LABELS[state] in page, state
    for trigger in lifecycle.TRIGGERS:
        assert trigger in page and lifecycle.TRIGGER_LABELS[trigger] in page, trigger
    assert "Paperwork complete: MTA signature date" in page
    assert client.get("/workflow.svg").mimetype == "image/svg+xml"
