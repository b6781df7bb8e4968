"""The command line: validate, convert, dialects, tour; exit codes and formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from trackway import dialects
from trackway.cli.main import cli
from trackway.cli.tour import examples_dir

GOOD = '{"event": "add_to_cart", "ecommerce": {"currency": "EUR", "value": 1, "items": [{"item_id": "a"}]}}'
BAD = '{"event": "add_to_cart", "ecommerce": {"currency": "EURO", "value": 1, "items": [{"item_id": "a"}]}}'


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


@pytest.mark.parametrize(
    ("text", "count"),
    [
        (GOOD, 1),
        (f"[{GOOD}, {GOOD}]", 2),
        (f"{GOOD}\n{GOOD}\n", 2),
        ('["event", "search", {"search_term": "t"}]', 1),
        ("dataLayer.push({event: 'search', search_term: 't'});\ngtag('event', 'login', {method: 'x'})", 2),
    ],
    ids=["one-json", "json-array", "json-lines", "call-array", "javascript"],
)
def test_validate_reads_every_input_form(text, count):
    result = run("validate", "--format", "json", stdin=text)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == count


def test_validate_json_format_has_the_documented_keys():
    result = run("validate", "--format", "json", "--dialect", "gtm-ga4", stdin=BAD)
    assert result.exit_code == 1
    [item] = json.loads(result.stdout)
    assert set(item) == {"index", "dialect", "valid", "events", "issues"}
    assert item["valid"] is False
    assert item["issues"][0] == {
        "path": "$.ecommerce.currency",
        "code": "CURRENCY_INVALID",
        "severity": "error",
        "message": item["issues"][0]["message"],
    }
    assert item["events"][0]["name"] == "add_to_cart"


def test_validate_text_format_has_one_line_per_issue_and_a_summary():
    result = run("validate", stdin=f"[{GOOD}, {BAD}]")
    assert result.exit_code == 1
    assert "$.ecommerce.currency CURRENCY_INVALID" in result.stdout
    assert "2 payloads: 1 valid, 1 with errors; 1 error, 0 warnings" in result.stdout


def test_unreadable_input_exits_2(tmp_path: Path):
    assert run("validate", stdin="{event: ").exit_code == 2
    assert run("validate", str(tmp_path / "missing.json")).exit_code == 2
    assert run("validate", "--dialect", "nope", stdin=GOOD).exit_code == 2


@pytest.mark.parametrize(
    "command", [("validate",), ("convert", "--to", "gtm-ga4")], ids=["validate", "convert"]
)
@pytest.mark.parametrize("text", ["", " \n\t\n"], ids=["empty", "blank"])
def test_an_empty_input_is_an_input_error_not_zero_valid_payloads(tmp_path: Path, command, text):
    """An empty export checked in CI must not pass as "0 payloads: 0 valid"."""
    (tmp_path / "export.json").write_text(text)
    for args, name in (((str(tmp_path / "export.json"),), "export.json"), ((), "<stdin>")):
        result = run(*command, *args, stdin=text)
        assert result.exit_code == 2
        assert f"{name}: expected at least one payload, got an empty text" in result.stderr


def test_a_missing_file_is_named_with_the_reason_in_words(tmp_path: Path):
    result = run("validate", str(tmp_path / "nope.json"))
    assert result.exit_code == 2
    assert "nope.json: no such file or directory; expected a readable file of payloads" in result.stderr
    assert "Errno" not in result.stderr


DEEP = 100_000  # far past msgspec's limit (the interpreter's recursion limit, about 1,000)


@pytest.mark.parametrize(
    "text",
    [
        "[" * DEEP + "]" * DEEP,
        '{"a":' * 2_000 + "1" + "}" * 2_000,
        ("[" * 2_000 + "]" * 2_000 + "\n") * 2,  # JSON lines
    ],
    ids=["array", "object", "json-lines"],
)
@pytest.mark.parametrize(
    "command", [("validate",), ("convert", "--to", "gtm-ga4")], ids=["validate", "convert"]
)
def test_json_nested_past_the_decoders_limit_is_an_input_error(text: str, command: tuple[str, ...]):
    result = run(*command, stdin=text)  # catch_exceptions=False: a traceback fails the test
    assert result.exit_code == 2
    assert "nested at most 64 levels deep, got more" in result.stderr


def test_validate_reads_files(tmp_path: Path):
    (tmp_path / "a.json").write_text(GOOD)
    (tmp_path / "b.js").write_text("gtag('event', 'login', {method: 'email'})")
    result = run("validate", "--format", "json", str(tmp_path / "a.json"), str(tmp_path / "b.js"))
    assert result.exit_code == 0
    assert [r["index"] for r in json.loads(result.stdout)] == [0, 1]


def test_convert_prints_a_json_array_and_issues_on_stderr():
    result = run("convert", "--to", "gtm-ga4", stdin=f"[{GOOD}, {BAD}]")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [json.loads(GOOD)]
    assert "CURRENCY_INVALID" in result.stderr


def test_convert_needs_a_known_target():
    assert run("convert", "--to", "nope", stdin=GOOD).exit_code == 2


def test_dialects_lists_every_dialect_with_events():
    result = run("dialects", "--format", "json")
    data = json.loads(result.stdout)
    assert [d["name"] for d in data] == dialects.names()  # the registry's order: auto-detection's
    assert all(d["events"] for d in data), [d["name"] for d in data if not d["events"]]
    gtm = next(d for d in data if d["name"] == "gtm-ga4")
    assert {"wire": "purchase", "canonical": "purchase"} in gtm["events"]


def test_tour_runs_the_bundled_examples():
    result = run("tour")
    assert result.exit_code == 0
    assert "trackway validate" in result.stdout and "trackway convert" in result.stdout
    assert (examples_dir() / "shop.js").exists()


def test_console_script_is_installed():
    exe = Path(sys.executable).with_name("trackway")
    proc = subprocess.run(
        [str(exe), "validate", "--format", "json"], input=GOOD, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["valid"] is True


@pytest.mark.parametrize(
    ("text", "dialects"),
    [
        ("insend('event', 'custom', {key: 'event_key'});", ["insend"]),
        ("window.insend('event', 'link', {});\nconvead('event', 'link', {})", ["insend", "convead"]),
        ("convead('event', 'custom', {key: 'event_key'})", ["convead"]),
        ('["event", "custom", {"key": "event_key"}]', ["convead"]),  # no function: Convead's, as documented
    ],
    ids=["insend", "both-in-one-file", "convead", "call-array"],
)
def test_validate_reads_a_call_as_the_dialect_its_function_names(text, dialects):
    # the file's calls were read as arrays and their function dropped, so insend(...) was Convead's
    result = run("validate", "--format", "json", stdin=text)
    assert result.exit_code == 0, result.output
    assert [item["dialect"] for item in json.loads(result.stdout)] == dialects


def test_convert_names_the_vendor_of_the_function_called():
    text = "insend('event', 'purchase', {order_id: '1', revenue: 10, currency: 'EUR'})"
    result = run("convert", "--to", "gtm-ga4", stdin=text)
    assert "InSend has no currency field" in result.stderr, result.stderr
    assert "Convead" not in result.stderr


def test_validate_reads_a_console_paste_for_its_tracking_calls():
    # the README promises JavaScript as pasted from a console; the first line made it exit 2
    text = (
        "window.dataLayer = window.dataLayer || [];\n"
        "dataLayer.push({event: 'search', search_term: 'tee'});\n"
        "gtag('js', new Date());\n"
    )
    result = run("validate", stdin=text)
    assert result.exit_code == 0, result.output
    assert "read as a page script" in result.output and "skipped gtag(...)" in result.output
    assert [r["dialect"] for r in json.loads(run("validate", "--format", "json", stdin=text).stdout)] == [
        "gtm-ga4"
    ]
