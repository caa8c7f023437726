"""``openruns.secrets``: which secrets a definition names, and swapping placeholders for values
(only this run's) and values back out of what a step returns."""

from __future__ import annotations

import pytest

from openruns import secrets

NONCE = secrets.nonce("run-1")
ENV = {"OPENRUNS_SECRET_TOKEN": "tok-123456", "OPENRUNS_SECRET_TOKEN_LONG": "tok-1234567890"}


def test_references_are_the_names_templates_use() -> None:
    definition = {
        "steps": [
            {"id": "a", "uses": "http", "with": {"headers": {"x": "Bearer {{ secrets.CRM }}"}}},
            {"id": "b", "uses": "set", "with": {"v": ["{{ secrets['Other_1'] }}", 3]}},
            {"id": "c", "uses": "set", "with": {"v": '{{ secrets["DQ"] ~ mysecrets.no }}'}},
        ],
        "outputs": {"note": "secrets are mentioned here but not used"},
    }
    assert secrets.references(definition) == {"CRM", "Other_1", "DQ"}


def test_each_run_has_its_own_nonce() -> None:
    assert NONCE == secrets.nonce("run-1") != secrets.nonce("run-2")
    assert len(NONCE) == 16


def test_substitute_puts_in_values_of_this_runs_placeholders_only() -> None:
    mine = secrets.placeholder("TOKEN", NONCE)
    forged = secrets.placeholder("TOKEN", secrets.nonce("another run"))
    args = {"h": {"auth": f"Bearer {mine}"}, "list": [mine, forged, 1], "plain": "x"}
    replaced, used = secrets.substitute(args, NONCE, {"TOKEN"}, ENV.get)
    assert replaced == {
        "h": {"auth": "Bearer tok-123456"},
        "list": ["tok-123456", forged, 1],  # another run's placeholder stays text
        "plain": "x",
    }
    assert used == {"TOKEN": "tok-123456"}


def test_a_secret_the_worker_lacks_is_named() -> None:
    with pytest.raises(secrets.SecretNotSet, match="set OPENRUNS_SECRET_NOPE in the environment"):
        secrets.substitute({"x": secrets.placeholder("NOPE", NONCE)}, NONCE, {"NOPE"}, ENV.get)


def test_redact_takes_values_out_longest_first() -> None:
    used = {"TOKEN": "tok-123456", "TOKEN_LONG": "tok-1234567890", "PIN": "42"}
    output = {"echo": "a tok-1234567890 b tok-123456", "tok-123456": [("tok-123456",)], "n": "42"}
    assert secrets.redact(output, used) == {
        "echo": "a ⟦secret:TOKEN_LONG⟧ b ⟦secret:TOKEN⟧",
        "⟦secret:TOKEN⟧": [["⟦secret:TOKEN⟧"]],
        "n": "42",  # too short to look for: "42" would be replaced anywhere
    }


def test_a_placeholder_for_a_secret_the_definition_does_not_name_is_refused() -> None:
    """Only the names the definition uses are filled in: a placeholder for another, which can
    only have come in as data, fails the step rather than fetch that secret."""
    other = secrets.placeholder("OTHER", NONCE)
    with pytest.raises(secrets.SecretNotNamed, match="'OTHER', which this process's definition"):
        secrets.substitute({"x": other}, NONCE, {"TOKEN"}, ENV.get)


def test_deactivate_makes_every_placeholder_inert() -> None:
    live = {"a": secrets.placeholder("TOKEN", NONCE), "b": [secrets.placeholder("X", "f" * 16)]}
    assert secrets.deactivate(live) == {"a": "⟦secret:TOKEN⟧", "b": ["⟦secret:X⟧"]}


def test_redact_finds_encoded_numeric_and_cut_off_values() -> None:
    used = {"KEY": 'correct horse"battery', "NUM": "4242424242"}
    output = {
        "url": "https://x.test/?k=correct%20horse%22battery",
        "form": "k=correct+horse%22battery",
        "json": 'said "correct horse\\"battery"',
        "n": 4242424242,
        "start": "correct hor",  # an output may end like a secret begins
    }
    assert secrets.redact(output, used) == {
        "url": "https://x.test/?k=⟦secret:KEY⟧",
        "form": "k=⟦secret:KEY⟧",
        "json": 'said "⟦secret:KEY⟧"',
        "n": "⟦secret:NUM⟧",
        "start": "correct hor",
    }
    # An error message quotes a snippet that may cut a secret off.
    cut = "HTTP 404 from GET https://x.test: key=correct hor"
    assert (
        secrets.redact(cut, used, cut_off=True)
        == "HTTP 404 from GET https://x.test: key=⟦secret:KEY⟧"
    )
    assert secrets.redact("key=corre", used, cut_off=True) == "key=corre"  # under 6: not looked for


def test_redacted_keys_stay_apart() -> None:
    assert secrets.redact({"path-value": 1, "⟦secret:P⟧": 2}, {"P": "path-value"}) == {
        "⟦secret:P⟧": 1,
        "⟦secret:P⟧#2": 2,
    }
