"""Pages (documents, forms, a shop's catalogue pages: mostly one flat paper, :data:`imagetwins.verify.PAGE_CANVAS`)
that differ by content on a blank part are different pages, not copies: a signature added under a form, a second
product in a page's empty quarter (the verification compared only the cells textured on both sides, so content where
the other page is blank was never looked at: copy 0.984, and ``remove`` would have moved one of them). A page saved
again or scaled is still a copy, and the same product placed elsewhere on a blank page is a copy too (the blank page
one shows beyond the other's frame is padding, not more of a scene)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw

import imagetwins
from imagetwins import copies, verify
from imagetwins.encoders import get_encoder
from imagetwins.scores import Verdict

WORDS = ("lorem", "ipsum", "dolor", "price", "$19.99", "order", "shipping", "item")


def _product(datasets: Path, k: int, side: int) -> Image.Image:
    photo = Image.open(datasets / "ukbench-600" / "images" / f"ukbench{4 * k:05d}.jpg").convert("RGB")
    photo.thumbnail((side, side), Image.Resampling.LANCZOS)
    return photo


def _page(datasets: Path, size=(1000, 1200), products=((0, 240, (380, 120)),), lines: int = 20) -> Image.Image:
    """A white page: ukbench products (group, long side, place) and lines of text under them; the lower quarter
    blank."""
    page = Image.new("RGB", size, "white")
    for k, side, at in products:
        page.paste(_product(datasets, k, side), at)
    draw = ImageDraw.Draw(page)
    for n in range(lines):
        draw.text((60, 420 + 22 * n), " ".join(WORDS[(n + j) % len(WORDS)] for j in range(9)), fill=(40, 40, 40))
    return page


def _signed(page: Image.Image) -> Image.Image:
    signed = page.copy()
    draw = ImageDraw.Draw(signed)
    draw.line([(600 + 12 * k, 1000 + (25 if k % 2 else 0)) for k in range(20)], fill=(20, 20, 120), width=3)
    draw.text((600, 1060), "signed: J. Doe, 4.12.", fill=(30, 30, 30))
    return signed


def _rows(folder: Path):
    paths = sorted(folder.iterdir())
    rows = get_encoder("copies").encode_files(paths, warn=False).encodings
    return {p.stem: r for p, r in zip(paths, rows)}


@pytest.fixture(scope="module")
def pages(datasets: Path, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pages")
    page = _page(datasets)
    page.save(folder / "form.jpg", quality=90)
    _signed(page).save(folder / "form_signed.jpg", quality=90)
    page.resize((500, 600), Image.Resampling.LANCZOS).save(folder / "form_half_q25.jpg", quality=25)
    page.save(folder / "form_again.png")
    two = _page(datasets, products=((0, 240, (380, 120)), (8, 200, (400, 960))))  # a second product, lower quarter
    two.save(folder / "two_products.jpg", quality=85)
    return folder


@pytest.mark.integration
def test_a_signature_or_a_second_product_on_a_blank_part_makes_another_page(pages: Path) -> None:
    rows = _rows(pages)
    for a, b in (("form", "form_signed"), ("form", "two_products"), ("form_half_q25", "two_products")):
        v = copies.verify_records(rows[a], rows[b])
        assert v.confidence < verify.DEFAULT_CONFIDENCE, (a, b, v.to_dict())
        assert v.not_one_capture == "added" and v.pages_differ, (a, b, v.to_dict())
        assert v.added >= verify.ADDED_CAP
        # one page, two versions of it: a person picks, nothing is removed as a copy
        assert v.verdict() is Verdict.RESHOT
        assert v.verdict() == v.swapped().verdict()
    for a, b in (("form", "form_again"), ("form", "form_half_q25")):  # saved again, halved at JPEG 25: copies
        v = copies.verify_records(rows[a], rows[b])
        assert v.confidence >= verify.DEFAULT_CONFIDENCE and v.added == 0.0, (a, b, v.to_dict())


@pytest.mark.integration
def test_find_groups_a_page_with_its_copies_never_with_its_signed_version(pages: Path) -> None:
    # the page and its signed version hash within copies.HASH_SURE bits: a hash-sure pair of pages is checked too
    result = imagetwins.find(pages, cache=False, decisions=False)
    groups = sorted(sorted(Path(f).stem for f in g.files) for g in result.groups)
    assert groups == [["form", "form_again", "form_half_q25"]]


@pytest.mark.integration
def test_a_page_holding_a_product_larger_is_no_copy_of_a_page_holding_it_beside_another(datasets: Path,
                                                                                          tmp_path: Path) -> None:
    """The one-product page maps whole into the two-product page (its product there at a third of its size, its white
    round it): the two-product page holds a product the other lacks, the other holds its product's detail finer."""
    single = Image.new("RGB", (1000, 1000), "white")
    single.paste(_product(datasets, 4, 240), (380, 400))
    single.save(tmp_path / "single.jpg", quality=90)
    double = Image.new("RGB", (1000, 1000), "white")
    double.paste(_product(datasets, 0, 80), (200, 420))
    double.paste(_product(datasets, 4, 80), (600, 420))
    double.save(tmp_path / "double.jpg", quality=90)
    rows = _rows(tmp_path)
    v = copies.verify_records(rows["single"], rows["double"])
    assert v.confidence < verify.DEFAULT_CONFIDENCE and v.pages_differ, v.to_dict()
    assert v.not_one_capture == "added" and v.verdict() is Verdict.RESHOT


@pytest.mark.integration
def test_a_product_placed_elsewhere_on_a_blank_page_is_still_a_copy(datasets: Path, tmp_path: Path) -> None:
    """The same product shot on two pages, at another place or on a page of other proportions: each page shows blank
    page beyond the other's frame, padding (capped at 0.5 by the frame rules before)."""
    product = _product(datasets, 12, 140)
    for name, size, at in (("centre", (800, 800), (330, 350)), ("corner", (800, 800), (600, 640)),
                           ("wide", (1000, 600), (80, 60))):
        page = Image.new("RGB", size, "white")
        page.paste(product, at)
        page.save(tmp_path / f"{name}.jpg", quality=90)
    rows = _rows(tmp_path)
    for other in ("corner", "wide"):
        v = copies.verify_records(rows["centre"], rows[other])
        assert v.confidence >= verify.DEFAULT_CONFIDENCE and v.verdict() is Verdict.COPY, (other, v.to_dict())
