"""Products as data: the built-in products load with their cited figures; bad files name file, line and key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from yibao.cli.main import app
from yibao.core.scheme import LayerKind
from yibao.products import ProductError, ProductKind, builtin_products, load_product
from yibao.products.loader import BUILTIN_DIR
from yibao.products.model import EventKind, PreExisting


def test_builtin_products_load_with_their_kinds() -> None:
    products = {p.id: p for p in builtin_products()}
    assert set(products) == {"shanghai-huhuibao-2021", "guangzhou-suisuikang-2021", "rural-small-value", "million-medical"}
    assert {p.kind for p in products.values()} == set(ProductKind)
    for product in products.values():
        assert product.reference and product.window.reference


def test_huhuibao_2021_as_published() -> None:
    product = load_product("shanghai-huhuibao-2021")
    day = dt.date(2021, 6, 1)
    assert product.premium.bands.at(day)[0].premium == 11_500
    assert product.eligibility.pre_existing is PreExisting.REDUCED and not product.eligibility.health_declaration
    assert product.indemnity is not None and product.indemnity.kind is LayerKind.HUIMINBAO
    parts = {p.id: p for p in product.indemnity.parts}
    assert parts["in_catalogue"].deductible is not None and parts["in_catalogue"].deductible.at(day) == 2_000_000
    assert parts["in_catalogue"].rate.at(day, "false")[0].rate == 700_000
    assert parts["in_catalogue"].rate.at(day, "true")[0].rate == 300_000
    assert parts["special_drugs"].deductible is None
    assert product.special_drugs


def test_small_value_and_million_medical() -> None:
    small = load_product("rural-small-value")
    day = dt.date(2021, 1, 1)
    assert small.daily_allowance is not None and small.daily_allowance.amount.at(day) == 5_000
    assert small.premium.government_share.at(day) == 800_000
    assert {lump.event for lump in small.lump_sums} == {EventKind.ACCIDENTAL_DEATH, EventKind.DISABILITY}
    million = load_product("million-medical")
    assert million.eligibility.pre_existing is PreExisting.EXCLUDED and million.eligibility.health_declaration
    assert million.indemnity is not None and million.indemnity.kind is LayerKind.COMMERCIAL
    assert len(million.premium.bands.at(day)) > 1


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = (BUILTIN_DIR / "rural-small-value" / "product.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "product.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def test_missing_unit_names_file_line_and_key(tmp_path: Path) -> None:
    path = _broken(tmp_path, "    description: Hospital cash per day of inpatient stay\n    unit: yuan\n",
                   "    description: Hospital cash per day of inpatient stay\n")
    with pytest.raises(ProductError) as info:
        load_product(path)
    message = info.value.message
    assert str(path) in message and "'daily_allowance.amount.unit'" in message
    assert f"line {_line_of(path, 'Hospital cash per day')}" in message


def test_missing_reference_names_file_line_and_key(tmp_path: Path) -> None:
    path = _broken(tmp_path, "      reference: illustrative, as accidental death\n", "")
    with pytest.raises(ProductError) as info:
        load_product(path)
    message = info.value.message
    assert "'lump_sums.1.amount.reference'" in message and f"line {_line_of(path, 'Sum insured for accidental')}" in message


def test_wrong_value_names_its_line(tmp_path: Path) -> None:
    path = _broken(tmp_path, "      2021-01-01: 0.80\n", "      2021-01-01: 1.80\n")
    with pytest.raises(ProductError) as info:
        load_product(path)
    assert f"line {_line_of(path, '2021-01-01: 1.80')}" in info.value.message
    assert "premium.government_share.values.2021-01-01" in info.value.message


def test_unknown_product_lists_the_builtin_ones() -> None:
    with pytest.raises(ProductError, match="rural-small-value"):
        load_product("no-such-product")


def test_cli_list_and_show_in_both_languages() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["products", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "shanghai-huhuibao-2021" in result.output and "115.00" in result.output
    result = runner.invoke(app, ["products", "show", "rural-small-value", "--lang", "zh"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "住院津贴: 50.00 × 90" in result.output and "80% / 0%" in result.output
    result = runner.invoke(app, ["products", "show", "million-medical"], env={"COLUMNS": "200"})
    assert "1396.00" in result.output and "excluded" in result.output


def test_builtin_folder_names_are_the_product_ids() -> None:
    for folder in sorted(BUILTIN_DIR.iterdir()):
        if (folder / "product.yaml").exists():
            assert load_product(folder.name).id == folder.name


def test_unknown_key_names_its_line(tmp_path: Path) -> None:
    path = _broken(tmp_path, "  health_declaration: false\n", "  health_declaration: false\n  colour: red\n")
    with pytest.raises(ProductError) as info:
        load_product(path)
    assert "unknown key(s) ['colour']" in info.value.message and "key 'eligibility'" in info.value.message
    assert f"line {_line_of(path, 'age: {min: 16')}" in info.value.message
