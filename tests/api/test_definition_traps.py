"""Definition-language traps, through the API and a worker on the real dev server."""

from __future__ import annotations

import httpx

from tests.helpers.api import create_process, start_run, wait_for_state


async def test_float_given_a_bad_number_fails_the_run_instead_of_passing_as_zero(
    api: httpx.AsyncClient, worker: object
) -> None:
    """A European total went through ``map('float')`` as 0.0, and the limit check passed."""
    definition = {
        "inputs": {"rows": {"type": "array", "required": True}},
        "steps": [
            {"id": "total", "uses": "set",
             "with": {"sum": "{{ inputs.rows | map(attribute='total') | map('float') | sum }}"}},
            {"id": "limit", "if": "{{ steps.total.sum > 1000 }}", "uses": "fail",
             "with": {"message": "total {{ steps.total.sum }} is over 1000"}},
        ],
        "outputs": {"total": "{{ steps.total.sum }}"},
    }  # fmt: skip
    process = await create_process(api, definition)
    rows = [{"total": "15.000,00"}, {"total": "12.50"}]
    run = await start_run(api, process["id"], inputs={"rows": rows})
    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Failed", done
    assert done["error"]["step"] == "total"
    assert "'15.000,00' is not a number (float filter" in done["error"]["message"]
    assert done["steps"][0]["state"] == "Failed"

    good = await start_run(api, process["id"], inputs={"rows": [{"total": "12.50"}]})
    done = await wait_for_state(api, good["id"])
    assert done["state"] == "Succeeded" and done["outputs"] == {"total": 12.5}, done
