"""The operator's commands (docs/legal-persons.md): ``idp matters import FILE`` / ``list`` for the
catalogue of government service matters, and ``idp entities list`` / ``show`` / ``suspend`` /
``reinstate`` for registered companies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.companies.helpers import (
    CHEN_XIAOMING,
    HANGZHOU,
    SAMPLE_CATALOGUE,
    ZHANG_SAN,
)
from tests.realname.helpers import count
from tests.support import CliRunner


def test_the_sample_catalogue_imports_and_lists(cli: CliRunner, provider: Any) -> None:
    sample = json.loads(SAMPLE_CATALOGUE.read_text(encoding="utf-8"))

    out = cli.ok("matters", "import", str(SAMPLE_CATALOGUE))

    assert f"{len(sample)} added, 0 updated" in out
    listed = cli.ok("matters", "list", "--json")
    assert [row["code"] for row in listed] == sorted(row["code"] for row in sample)
    by_code = {row["code"]: row for row in listed}
    for code in (
        "tax",
        "tax.declaration",
        "tax.invoice",
        "social_insurance",
        "social_insurance.enrolment",
        "business_registration",
        "business_registration.change",
    ):
        assert by_code[code]["name"] and by_code[code]["name_en"], code
    assert by_code["tax.declaration"] == {
        "code": "tax.declaration",
        "name": "纳税申报",
        "name_en": "Tax declaration",
        "parent": "tax",
        "active": True,
    }
    assert "tax.declaration\t纳税申报\tTax declaration" in cli.ok("matters", "list")
    # Importing again updates in place.
    assert "0 added" in cli.ok("matters", "import", str(SAMPLE_CATALOGUE))
    assert count(provider, "matter_classes") == len(sample)


def test_a_csv_catalogue_adds_and_updates(cli: CliRunner, tmp_path: Path) -> None:
    cli.ok("matters", "import", str(SAMPLE_CATALOGUE))
    csv_file = tmp_path / "matters.csv"
    csv_file.write_text(
        "code,name,name_en\n"
        "tax.invoice,发票领用与开具,Invoices\n"
        "tax.invoice.electronic,电子发票,Electronic invoices\n"
        "education,教育,\n",
        encoding="utf-8",
    )
    assert "2 added, 1 updated" in cli.ok("matters", "import", str(csv_file))
    by_code = {row["code"]: row for row in cli.ok("matters", "list", "--json")}
    assert by_code["tax.invoice"]["name"] == "发票领用与开具"
    assert by_code["tax.invoice.electronic"]["parent"] == "tax.invoice"
    assert by_code["education"]["name_en"] is None


def test_a_bad_catalogue_is_refused_whole_with_the_reason(
    cli: CliRunner, provider: Any, tmp_path: Path
) -> None:
    cases = {
        "orphan.json": ([{"code": "tax.declaration", "name": "纳税申报"}], "parent class tax"),
        "code.json": ([{"code": "Tax", "name": "税务"}], "code must look like"),
        "name.json": ([{"code": "tax", "name": " "}], "name is required"),
        "field.json": ([{"code": "tax", "name": "税务", "nmae_en": "Tax"}], "unknown field"),
        "shape.json": ({"code": "tax"}, "JSON list of objects"),
        "active.json": ([{"code": "tax", "name": "税务", "active": "maybe"}], "'active'"),
        "empty.json": ([], "no entries"),
    }
    for filename, (content, reason) in cases.items():
        path = tmp_path / filename
        path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
        code, _out, err = cli.run("matters", "import", str(path))
        assert code == 2, filename
        assert reason in err, (filename, err)
    broken = tmp_path / "broken.json"
    broken.write_text("[{", encoding="utf-8")
    assert "not valid JSON" in cli.run("matters", "import", str(broken))[2]
    header = tmp_path / "header.csv"
    header.write_text("kode,naam\ntax,税务\n", encoding="utf-8")
    assert "code,name,name_en" in cli.run("matters", "import", str(header))[2]
    missing = cli.run("matters", "import", str(tmp_path / "missing.json"))
    assert missing[0] == 2 and "cannot read" in missing[2]
    # One bad entry among good ones: nothing is imported.
    mixed = tmp_path / "mixed.json"
    mixed.write_text(
        json.dumps([{"code": "tax", "name": "税务"}, {"code": "x..y", "name": "?"}]),
        encoding="utf-8",
    )
    assert cli.run("matters", "import", str(mixed))[0] == 2
    assert count(provider, "matter_classes") == 0


def test_entities_list_and_show_mask_people(world: Any, cli: CliRunner) -> None:
    (listed,) = cli.ok("entities", "list", "--json")
    assert listed["uscc"] == HANGZHOU["uscc"]
    assert listed["administrators"] == 1 and listed["active_handler_grants"] == 1
    assert HANGZHOU["uscc"] in cli.ok("entities", "list")

    shown = cli.ok("entities", "show", HANGZHOU["uscc"].lower(), "--json")
    assert [role["role"] for role in shown["roles"]] == ["legal_representative", "administrator"]
    assert shown["roles"][1]["grade"] == "apply" and shown["roles"][1]["matters"] == ["tax"]
    (grant,) = shown["handler_grants"]
    assert (grant["id"], grant["status"], grant["grade"]) == (world.grant_id, "active", "apply")
    assert grant["handler"]["name"] == "*四"
    text = json.dumps(shown, ensure_ascii=False)
    for secret in (CHEN_XIAOMING.name, CHEN_XIAOMING.phone, ZHANG_SAN.id_number, "李四"):
        assert secret not in text

    code, _out, err = cli.run("entities", "show", "91310104246029102B")
    assert code == 2 and "no company" in err
    code, _out, err = cli.run("entities", "reinstate", HANGZHOU["uscc"], "--reason", "why")
    assert code == 2 and "not suspended" in err
