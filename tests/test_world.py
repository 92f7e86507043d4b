"""The world renderer: each transform does what it claims, pictures are seeded, views look like MNIST, caching."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from scipy import ndimage

from digit_lit import world
from digit_lit.world import (
    MIN_CONTRAST,
    READABLE,
    agreement,
    blur,
    cached_world_views,
    draw_page,
    dust,
    fill_frame,
    handwriting,
    ideal_view,
    ink_colour,
    jpeg,
    keeps_shape,
    lay_ink,
    legible,
    low_resolution,
    noise_std,
    paper,
    pen,
    photo_effects,
    place,
    redraw,
    render,
    ruling,
    sensor_noise,
    stroke_width,
    thin,
    tiny_scan,
    to_view,
    uneven_light,
    world_views,
)
from tests.helpers.digits import bar, seven

STILL = dict(shear=0.0, angle=0.0, aspect=1.0, elastic=0.0)  # handwriting that changes nothing but the size


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def centroid_x(rows: np.ndarray) -> float:
    return float(ndimage.center_of_mass(rows)[1])


def assert_unit(a: np.ndarray) -> None:
    assert a.dtype == np.float32 and a.min() >= 0.0 and a.max() <= 1.0


# ---------------------------------------------------------------- handwriting


def test_handwriting_upsamples_and_stays_in_range() -> None:
    out = handwriting(bar(), rng(), **STILL)
    assert_unit(out)
    assert 4 * 20 - 4 <= world.ink_height(out, 0.5) <= 4 * 20 + 4  # 20 rows of ink, 4x larger


def test_shear_moves_the_top_relative_to_the_bottom() -> None:
    for shear, sign in ((0.4, 1), (-0.4, -1)):
        out = handwriting(bar(), rng(), **{**STILL, "shear": shear})
        h = out.shape[0]
        lean = centroid_x(out[: h // 4]) - centroid_x(out[-h // 4 :])
        assert sign * lean > 0.4 * 0.5 * 80 * 0.8  # the top quarter sits ~0.4 * 60 px right (or left) of the bottom
    plain = handwriting(bar(), rng(), **STILL)
    h = plain.shape[0]
    assert abs(centroid_x(plain[: h // 4]) - centroid_x(plain[-h // 4 :])) < 1.0


def test_rotation_turns_a_vertical_stroke() -> None:
    out = handwriting(bar(), rng(), **{**STILL, "angle": 90.0})
    mask = out > 0.5
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    assert cols[-1] - cols[0] > 4 * (rows[-1] - rows[0])  # lying down now


def test_aspect_stretches_width_against_height() -> None:
    def ratio(a: np.ndarray) -> float:
        mask = a > 0.5
        return mask.any(0).sum() / mask.any(1).sum()

    plain = handwriting(seven(), rng(), **STILL)
    wide = handwriting(seven(), rng(), **{**STILL, "aspect": 1.35})
    narrow = handwriting(seven(), rng(), **{**STILL, "aspect": 0.7})
    assert ratio(wide) / ratio(plain) == pytest.approx(1.35, rel=0.12)
    assert ratio(narrow) / ratio(plain) == pytest.approx(0.7, rel=0.12)


def test_elastic_distortion_is_mild() -> None:
    plain = handwriting(seven(), rng(), **STILL)
    wobbly = handwriting(seven(), rng(1), **{**STILL, "elastic": 1.3})
    assert not np.array_equal(plain.shape, wobbly.shape) or not np.allclose(plain, wobbly)
    # same frame for both: pad to a common size around the centre, then every wobbly stroke lies near a plain one
    h, w = max(plain.shape[0], wobbly.shape[0]), max(plain.shape[1], wobbly.shape[1])

    def centred(a: np.ndarray) -> np.ndarray:
        out = np.zeros((h, w), np.float32)
        top, left = (h - a.shape[0]) // 2, (w - a.shape[1]) // 2
        out[top : top + a.shape[0], left : left + a.shape[1]] = a
        cy, cx = ndimage.center_of_mass(out)
        return ndimage.shift(out, (round(h / 2 - cy), round(w / 2 - cx)), order=0)

    near_plain = ndimage.binary_dilation(centred(plain) > 0.3, iterations=4 * 2)  # 2 MNIST px
    wob = centred(wobbly)
    assert wob[near_plain].sum() / wob.sum() > 0.97


# ---------------------------------------------------------------- pen


def test_thin_leaves_a_connected_one_pixel_line() -> None:
    mask = np.zeros((40, 60), bool)
    mask[15:22, 5:55] = True
    skeleton = thin(mask)
    assert skeleton.sum() >= 40 and ndimage.label(skeleton, np.ones((3, 3)))[1] == 1
    assert skeleton.sum(0).max() == 1  # one pixel across the bar everywhere


def test_fine_pen_lowers_ink_and_marker_raises_it() -> None:
    written = handwriting(seven(), rng(), **STILL)
    own = stroke_width(written)
    fine, same, marker = (pen(written, rng(), width=w) for w in (0.15, 1.0, 2.2))
    for drawn in (fine, same, marker):
        assert_unit(drawn)
    assert fine.sum() < 0.4 * written.sum() < 0.4 * marker.sum()
    assert abs(same.sum() - written.sum()) < 0.15 * written.sum()
    assert stroke_width(fine) < 0.5 * own < own < 0.7 * stroke_width(marker)
    # a fine pen follows the strokes: its ink lies on the written strokes
    assert fine[written < 0.2].sum() < 0.02 * fine.sum()


def six_written_filled() -> np.ndarray:
    """A small 6 written with a thick pen, its loop filled in (as in many MNIST 6s), 4x MNIST's size."""
    img = Image.new("L", (80, 112), 0)
    draw = ImageDraw.Draw(img)
    draw.line([(52, 10), (28, 60), (26, 80)], fill=255, width=11)
    draw.ellipse((16, 56, 62, 102), fill=255)
    return np.asarray(img, dtype=np.float32) / 255


def test_a_pen_that_would_turn_the_digit_into_another_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fine pen follows the strokes' skeleton: the digit's path, but of a loop written filled in, a line (the 6 above
    becomes a 1). Such a drawing is not kept: the writer's own pen draws the digit instead."""
    written = handwriting(seven(), rng(), **STILL)
    assert all(keeps_shape(written, pen(written, rng(), width=w)) for w in (0.15, 1.0, 2.2))
    filled = six_written_filled()
    assert keeps_shape(filled, pen(filled, rng(), width=1.0))
    assert not keeps_shape(filled, pen(filled, rng(), width=0.15))
    widths = []

    def recorded(ink: np.ndarray, r: np.random.Generator, *, width: float | None = None) -> np.ndarray:
        widths.append(width)
        return pen(ink, r, width=0.15 if width is None else width)  # the random pen: a fine one

    monkeypatch.setattr(world, "handwriting", lambda digit, r: filled)
    monkeypatch.setattr(world, "pen", recorded)
    page, _ = draw_page(np.zeros((28, 28), np.uint8), rng())
    assert widths == [None, 1.0] and world.ink_height(page) > 0


def test_pen_levels_change_the_width_gradually() -> None:
    written = handwriting(seven(), rng(), **STILL)
    widths = [stroke_width(pen(written, rng(), width=w)) for w in (0.7, 1.0, 1.3)]
    assert widths[0] < widths[1] < widths[2]


# ---------------------------------------------------------------- page


def test_place_puts_the_ink_where_and_as_tall_as_asked() -> None:
    ink = pen(handwriting(seven(), rng(), **STILL), rng(), width=1.0)
    page = place(ink, rng(), page=(120, 200), height=60, top_left=(50, 130))
    assert page.shape == (120, 200)
    assert_unit(page)
    rows, cols = np.flatnonzero(page.max(1) > 0.3), np.flatnonzero(page.max(0) > 0.3)
    assert abs((rows[-1] - rows[0] + 1) - 60) <= 2 and abs(rows[0] - 50) <= 2 and cols[0] >= 129


def test_random_pages_vary_in_size_and_place_the_digit_anywhere() -> None:
    ink = pen(handwriting(seven(), rng(), **STILL), rng(), width=1.0)
    sides, offsets = [], []
    for seed in range(40):
        page = place(ink, rng(seed))
        sides.append(max(page.shape))
        cy, cx = ndimage.center_of_mass(page)
        offsets.append(max(abs(cy / page.shape[0] - 0.5), abs(cx / page.shape[1] - 0.5)))
        assert world.ink_height(page) >= world.MIN_DIGIT_PX * min(1.0, world.WORK_SIDE / max(page.shape)) - 1
    assert min(sides) < 64 and max(sides) > 150
    assert max(offsets) > 0.2  # some digits far off-centre


def test_fill_frame_spans_the_height_and_centres_across() -> None:
    ink = pen(handwriting(seven(), rng(), **STILL), rng(), width=1.0)
    frame = fill_frame(ink, side=32)
    assert frame.shape == (32, 32)
    rows, cols = np.flatnonzero(frame.max(1) > 0.2), np.flatnonzero(frame.max(0) > 0.2)
    assert rows[0] <= 1 and rows[-1] >= 30
    assert abs((cols[0] + cols[-1]) / 2 - 15.5) <= 1.5


# ---------------------------------------------------------------- photo effects


def test_paper_tint_and_ink_colour() -> None:
    pages = [paper((20, 30), rng(s), "photo") for s in range(6)]
    colours = np.array([p.mean((0, 1)) for p in pages])
    assert colours.std(0).max() > 0.02  # tinted and dimmed differently
    assert all(p.shape == (20, 30, 3) and p.dtype == np.float32 for p in pages)
    board = paper((20, 30), rng(), "photo", board=True)
    assert board.mean() < 0.4
    kinds = {ink_colour(rng(s))[0] for s in range(60)}
    assert {"black", "blue", "red", "pencil"} <= kinds
    for s in range(60):
        kind, colour = ink_colour(rng(s))
        if kind == "blue":
            assert colour[2] > colour[0]
        if kind == "red":
            assert colour[0] > colour[2]


def test_ink_is_laid_in_its_colour_and_kept_legible() -> None:
    sheet = np.full((10, 10, 3), 0.9, np.float32)
    ink = np.zeros((10, 10), np.float32)
    ink[3:7, 3:7] = 1.0
    blue = np.array([0.1, 0.2, 0.7], np.float32)
    out = lay_ink(sheet, ink, blue, rng(), "ballpoint")
    assert np.allclose(out[5, 5], blue) and np.allclose(out[0, 0], 0.9)
    for grey in (0.5, 0.7, 0.95):
        dark = legible(np.array([0.45, 0.45, 0.45], np.float32), grey)
        assert grey - dark.mean() >= MIN_CONTRAST - 1e-6
        light = legible(np.array([0.5, 0.5, 0.5], np.float32), 1 - grey, board=True)
        assert light.mean() - (1 - grey) >= MIN_CONTRAST - 1e-6


def test_ruled_and_squared_paper_and_dust() -> None:
    sheet = np.full((60, 80, 3), 0.9, np.float32)
    ruled = ruling(sheet, rng(), spacing=10, squared=False, contrast=0.2)
    rows = np.flatnonzero(ruled[:, 40, 0] < 0.89)
    assert 5 <= len(rows) <= 7 and np.all(np.diff(rows) >= 9)  # a line every 10 px
    assert np.all(ruled[rows, :, 2] > ruled[rows, :, 0])  # blue-grey print: less dark in blue
    assert ruled.max() <= 0.9 and ruled[:, :, 0].min() > 0.7  # faint
    squared = ruling(sheet, rng(), spacing=10, squared=True, contrast=0.2)
    assert (squared[:, :, 0].min(0) < 0.89).sum() >= 7  # columns too
    specks = dust(sheet, rng(), 5)
    changed = (specks != sheet).any(2)
    assert 1 <= changed.sum() <= 5 and specks.min() >= 0.9 * world.DUST_DARKNESS[0] - 1e-6


def test_light_gradient_darkens_one_side() -> None:
    white = np.ones((40, 60, 3), np.float32)
    lit = uneven_light(white, rng(), gradient=0.4, direction=0.0, vignette=0.0, shadow=0.0)
    assert_unit(lit)
    left, right = lit[:, :5].mean(), lit[:, -5:].mean()
    assert right / left == pytest.approx(0.6, abs=0.05)
    dark_corners = uneven_light(white, rng(), gradient=0.0, direction=0.0, vignette=0.3, shadow=0.0)
    assert dark_corners[0, 0].mean() < 0.8 * dark_corners[20, 30].mean()


def test_noise_and_blur() -> None:
    grey = np.full((50, 50, 3), 0.5, np.float32)
    noisy = sensor_noise(grey, rng(), 0.05)
    assert_unit(noisy)
    assert noisy.std() == pytest.approx(0.05, rel=0.1)
    edge = np.zeros((20, 20, 3), np.float32)
    edge[:, 10:] = 1.0
    soft = blur(edge, 2.0)
    assert np.abs(np.diff(soft, axis=1)).max() < 0.5 * np.abs(np.diff(edge, axis=1)).max()
    assert soft.mean() == pytest.approx(edge.mean(), abs=0.01)


def test_photo_noise_is_the_cameras_averaged_down_by_shrinking() -> None:
    """A photo's noise is drawn at the camera's resolution and shrunk with the picture: its std falls by the camera px
    per picture px (log-uniform over CAMERA_PX); the other looks keep their level."""
    r = rng()
    photo = np.array([noise_std("photo", r) for _ in range(8000)])
    scan = np.array([noise_std("scan", r) for _ in range(8000)])
    assert photo.max() <= world.NOISE["photo"] and scan.max() <= world.NOISE["scan"]
    assert scan.mean() == pytest.approx(world.NOISE["scan"] / 2, rel=0.05)
    lo, hi = world.CAMERA_PX
    mean_shrink = (1 / lo - 1 / hi) / np.log(hi / lo)  # the mean of 1/k for k log-uniform in [lo, hi]
    assert photo.mean() == pytest.approx(world.NOISE["photo"] / 2 * mean_shrink, rel=0.05)


def test_low_resolution_shrinks_the_ink_to_the_target() -> None:
    ink = np.zeros((200, 160), np.float32)
    ink[20:180, 70:90] = 1.0
    rgb = np.repeat((1 - ink)[..., None], 3, axis=2)
    small = low_resolution(rgb, rng(), ink_px=160, target=12, upscale="none")
    assert small.shape[0] == round(200 * 12 / 160)
    dark_rows = np.flatnonzero(small.mean(2).min(1) < 0.5)
    assert abs(len(dark_rows) - 12) <= 1
    blocky = low_resolution(rgb, rng(), ink_px=160, target=12, upscale="nearest")
    assert blocky.shape == rgb.shape and len(np.unique(blocky[100, :, 0])) <= 4


def test_tiny_scan_has_the_claimed_size_levels_and_polarity() -> None:
    ink = fill_frame(pen(handwriting(seven(), rng(), **STILL), rng(), width=1.0))
    for side, levels in ((8, 17), (12, 2), (16, 5)):
        light = tiny_scan(ink, rng(), side=side, levels=levels, light_ink=True, colour_map="grey")
        assert light.shape == (side, side, 3)
        assert len(np.unique(light)) <= levels
        grey = light[..., 0]
        assert grey.max() == 1.0 and np.median(grey) < 0.5  # bright ink on black
    dark = tiny_scan(ink, rng(), side=8, levels=17, light_ink=False, colour_map="grey")[..., 0]
    assert np.median(dark) > 0.5  # dark ink on white


def test_tiny_scans_are_sometimes_painted_with_a_colour_map() -> None:
    """A tiny scan shown by a plotting library: its ink values painted with a matplotlib colour map (viridis: dark
    purple paper, yellow ink), which `to_mnist` still reads as the digit drawn, whichever map painted it."""
    ink = fill_frame(pen(handwriting(seven(), rng(), **STILL), rng(), width=1.0))
    grey = tiny_scan(ink, rng(), side=8, levels=17, light_ink=True, colour_map="grey")
    painted = tiny_scan(ink, rng(), side=8, levels=17, light_ink=True, colour_map="viridis")
    assert painted.shape == (8, 8, 3) and painted.min() >= 0 and painted.max() <= 1
    assert not np.allclose(painted[..., 0], painted[..., 2])  # coloured, not grey
    paper, inked = grey[..., 0] == 0, grey[..., 0] == 1
    assert painted[paper][:, 2].mean() > painted[paper][:, 1].mean()  # viridis' low end is blue-purple ...
    assert painted[inked][:, 0].mean() > 0.9 > 0.2 > painted[inked][:, 2].mean()  # ... its top yellow
    for name in world.TINY_COLOUR_MAPS:
        shown = tiny_scan(ink, rng(), side=8, levels=17, light_ink=True, colour_map=name)
        view = to_view(Image.fromarray(world._to_uint8(shown)))
        assert view is not None and agreement(view, ink) >= READABLE, name
    r = rng()
    maps = [tiny_scan(ink, r, side=8) for _ in range(200)]
    share = np.mean([not np.allclose(m[..., 0], m[..., 2]) for m in maps])
    assert 0.1 < share < 0.4  # P_TINY_COLOUR_MAP = 0.25, of which gray_r, Greys and binary are grey


def test_tiny_scans_are_sometimes_shown_enlarged() -> None:
    """A tiny scan is also sent enlarged to any side (repeated pixels, or smoothly), as a person shows an 8x8 scan:
    square, 1.5 to 10 times its side (8x8 as 28x28: not a whole factor)."""
    ink = fill_frame(pen(handwriting(seven(), rng(), **STILL), rng(), width=1.0))
    r = rng()
    sides = [photo_effects(ink, r, look="tiny").size for _ in range(300)]
    assert all(w == h for w, h in sides)
    big = [w for w, _ in sides if w > world.TINY_SIDES[1]]
    assert 0.3 < len(big) / len(sides) < 0.65  # P_TINY_ENLARGED = 0.5; a 16x16 scan enlarged 1.5x is 24 px
    assert max(big) <= world.TINY_SIDES[1] * world.TINY_ENLARGE[1] and any(w % 8 and w % 16 for w in big)
    scan = Image.fromarray(world._to_uint8(tiny_scan(ink, rng(), side=8, colour_map="grey")))
    assert world.enlarged(scan, rng(), factor=3.5).size == (28, 28)


def test_jpeg_changes_bytes_but_keeps_the_picture() -> None:
    rgb = np.full((64, 80, 3), 230, np.uint8)
    rgb[10:50, 30:40] = (20, 30, 160)
    img = Image.fromarray(rgb)
    out = jpeg(img, 20)
    back = np.asarray(out)
    assert out.mode == "RGB" and out.size == img.size
    assert not np.array_equal(back, rgb)
    assert np.abs(back.astype(int) - rgb).mean() < 12
    assert back[30, 35].mean() < 120 and back[5, 5].mean() > 200


def test_photo_effects_give_rgb_pictures_of_every_look() -> None:
    ink = place(pen(handwriting(seven(), rng(), **STILL), rng(), width=1.0), rng(), page=(90, 70), height=60)
    for look in world.LOOKS:
        for seed in range(3):
            img = photo_effects(ink, rng(seed), look=look)
            assert img.mode == "RGB"
            if look in ("clean", "scan", "photo"):
                assert img.size == (70, 90)
            if look == "tiny":
                assert 8 <= img.size[0] <= world.TINY_SIDES[1] * world.TINY_ENLARGE[1]


# ---------------------------------------------------------------- pictures and views


def test_render_is_seeded() -> None:
    a, b = render(seven(), rng(3)), render(seven(), rng(3))
    assert a.size == b.size and a.tobytes() == b.tobytes()
    assert render(seven(), rng(4)).tobytes() != a.tobytes()


@pytest.mark.parametrize("look", sorted(world.LOOKS))
def test_draw_page_in_a_given_look(look: str) -> None:
    """`draw_page(..., look=)` draws the page of that look (benchmarks/tiny_threshold.py draws tiny scans only): the
    frame of a tiny scan, or a page with paper around the digit; with no look, the look is drawn as before."""
    for seed in range(5):
        page, got = world.draw_page(seven(), rng(seed), look=look)
        assert got == look
        assert (page.shape == (world.TINY_FRAME, world.TINY_FRAME)) == (look == "tiny")
    drawn = [world.draw_page(seven(), rng(seed))[1] for seed in range(40)]
    assert len(set(drawn)) > 1 and drawn == [world.draw_page(seven(), rng(seed))[1] for seed in range(40)]


def test_render_and_view_give_mnist_like_digits() -> None:
    shown = 0
    for seed in range(30):
        page, look = world.draw_page(seven(), rng(seed))
        view = to_view(photo_effects(page, rng(100 + seed), look=look))
        if view is None:
            continue
        assert view.shape == (28, 28) and view.dtype == np.uint8
        if agreement(view, page) < READABLE:
            continue
        shown += 1
        x = view / 255.0
        cy, cx = ndimage.center_of_mass(x)
        assert abs(cy - 13.5) <= 1.5 and abs(cx - 13.5) <= 1.5
        rows, cols = np.flatnonzero(x.max(1) > 0.1), np.flatnonzero(x.max(0) > 0.1)
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 23  # the 20-px box (plus a thickened pen)
    assert shown >= 24


def test_agreement_tells_a_kept_digit_from_a_lost_one() -> None:
    ink = place(pen(handwriting(seven(), rng(), **STILL), rng(), width=1.0), rng(), page=(90, 70), height=60)
    kept = (ideal_view(ink) * 255).astype(np.uint8)
    assert agreement(kept, ink) > 0.95
    smudge = np.zeros((28, 28), np.uint8)
    smudge[4:24, 4:24] = 200  # shading read as ink
    assert agreement(smudge, ink) < 0.6
    assert agreement(np.roll(kept, 8, axis=1), ink) < READABLE


def test_unusable_pictures_are_none() -> None:
    assert to_view(Image.new("RGB", (50, 50), (255, 255, 255))) is None


def test_world_views_do_not_depend_on_the_worker_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(world, "CHUNK", 16)
    images = np.stack([seven(), bar()] * 20)  # three chunks
    views1, status1 = world_views(images, seed=5, workers=1)
    views2, status2 = world_views(images, seed=5, workers=2)
    assert views1.dtype == torch.uint8 and views1.shape == (len(images), 28, 28) and status1.dtype == torch.uint8
    assert torch.equal(views1, views2) and torch.equal(status1, status2)
    assert (status1 == world.READ).float().mean() > 0.7
    assert views1[status1 == world.REFUSED].sum() == 0  # refused: black
    assert (views1[status1 != world.REFUSED].flatten(1).amax(1) > 0).all()  # read or lost: a view to judge
    other, _ = world_views(images[:20], seed=6, workers=1)
    assert not torch.equal(other, views1[:20])


def test_redraw_gives_the_pictures_behind_the_views(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(world, "CHUNK", 16)
    images = np.stack([seven(), bar()] * 20)  # three chunks
    views, status = world_views(images, seed=5, workers=1)
    wanted = [3, 17, 18, 39]  # in the first, second and third chunk, and the very last picture
    drawn = redraw(images, 5, wanted)
    assert sorted(drawn) == wanted
    for i in wanted:
        page, look, picture = drawn[i]
        assert look in world.LOOKS and page.max() > 0
        view = to_view(picture)
        assert (status[i] == world.REFUSED) if view is None else np.array_equal(view, views[i].numpy())
    assert not np.array_equal(drawn[17][0], drawn[18][0])  # each its own drawing, not a chunk's first


def test_cache_hit_returns_the_same_views_and_a_corrupt_file_is_rendered_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    images = torch.from_numpy(np.stack([seven(), bar()] * 4))
    calls = []
    real = world.world_views

    def counted(*args: object, **kwargs: object) -> tuple[torch.Tensor, torch.Tensor]:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(world, "world_views", counted)
    views, status = cached_world_views(images, seed=1, cache_dir=tmp_path, workers=1)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and f"v{world.RENDER_VERSION}" in files[0].name and len(calls) == 1
    again, status_again = cached_world_views(images, seed=1, cache_dir=tmp_path, workers=1)
    assert len(calls) == 1 and torch.equal(views, again) and torch.equal(status, status_again)
    # other seed or other images: another file
    cached_world_views(images, seed=2, cache_dir=tmp_path, workers=1)
    cached_world_views(images[:4], seed=1, cache_dir=tmp_path, workers=1)
    assert len(calls) == 3 and len(list(tmp_path.glob("*.pt"))) == 3
    # a damaged file (bytes flipped in the middle, then cut short) is rendered again, never trusted
    path = files[0]
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    flipped, _ = cached_world_views(images, seed=1, cache_dir=tmp_path, workers=1)
    assert len(calls) == 4 and torch.equal(flipped, views)
    path.write_bytes(path.read_bytes()[:100])
    cut, _ = cached_world_views(images, seed=1, cache_dir=tmp_path, workers=1)
    assert len(calls) == 5 and torch.equal(cut, views)
    # a whole file that holds other tensors under the same name (copied by hand, say) is not trusted either
    path.unlink()
    world.cached(path, lambda: {"views": views[:3], "status": status[:3]})
    foreign, _ = cached_world_views(images, seed=1, cache_dir=tmp_path, workers=1)
    assert len(calls) == 6 and torch.equal(foreign, views)
    # nor is another key's whole file (another seed's, of the same shape) copied to its name
    path.write_bytes(next(p for p in tmp_path.glob("*seed2_*.pt")).read_bytes())
    copied, _ = cached_world_views(images, seed=1, cache_dir=tmp_path, workers=1)
    assert len(calls) == 7 and torch.equal(copied, views)
    # a pipe in its place (torch.load would wait for a writer for ever) is rendered again, the pipe replaced
    path.unlink()
    os.mkfifo(path)
    piped, _ = cached_world_views(images, seed=1, cache_dir=tmp_path, workers=1)
    assert len(calls) == 8 and torch.equal(piped, views) and path.is_file()
    assert not list(tmp_path.glob("*.tmp"))  # no temporary file left behind


# ---------------------------------------------------------------- real MNIST


@pytest.mark.mnist
def test_real_digits_render_to_readable_mnist_like_views(mnist_dir: Path) -> None:
    from digit_lit.data import load_split

    images, _ = load_split(mnist_dir, train=False, download=False)
    views, status = world_views(images[:200], seed=0, workers=2)
    ok = status == world.READ
    assert ok.float().mean() > 0.8
    x = views[ok].float() / 255
    mass = x.sum((1, 2))
    ys = (x.sum(2) * torch.arange(28)).sum(1) / mass
    xs = (x.sum(1) * torch.arange(28)).sum(1) / mass
    assert (ys - 13.5).abs().max() <= 1.5 and (xs - 13.5).abs().max() <= 1.5
    height = (x.amax(2) > 0.1).float().sum(1)
    width = (x.amax(1) > 0.1).float().sum(1)
    assert torch.maximum(height, width).median() >= 19 and torch.maximum(height, width).max() <= 24


def test_blank_and_odd_inputs_never_crash() -> None:
    odd = np.stack([np.zeros((28, 28), np.uint8), np.full((28, 28), 255, np.uint8), np.eye(28, dtype=np.uint8) * 255])
    views, status = world_views(odd, seed=0, workers=1)
    # a blank digit is never taught as a digit: refused, or lost (a blank photo's shading read as ink)
    assert views.shape == (3, 28, 28) and status[0] != world.READ


def test_world_views_are_what_predict_hands_the_net(tmp_path: Path) -> None:
    """Preprocessing in the loop: a world view is the tensor `predict` makes of the same picture, saved as a file and
    read back (uint8 rounding aside), and a picture the world records as refused is refused by `predict` too."""
    from digit_lit.predict import open_image
    from digit_lit.preprocess import PreprocessError, to_mnist

    digits = np.stack([seven(), bar(), np.rot90(seven()).copy(), np.zeros((28, 28), np.uint8)] * 3)
    seed = 7
    views, status = world_views(digits, seed=seed, workers=1)
    generator = np.random.default_rng([seed, 0])  # chunk 0's stream: the pictures world_views drew, redrawn
    compared = 0
    for i, digit in enumerate(digits):
        page, look = world.draw_page(digit, generator)
        path = tmp_path / f"{i}.png"
        photo_effects(page, generator, look=look).save(path)
        with open_image(path) as img:
            if status[i] == world.REFUSED:
                with pytest.raises(PreprocessError):
                    to_mnist(img)
                continue
            seen = to_mnist(img)
        assert seen.shape == (28, 28) and views[i].dtype == torch.uint8
        assert np.abs(seen - views[i].numpy() / 255.0).max() <= 0.5 / 255 + 1e-6, i
        compared += 1
    # the blank digits: never taught as digits (refused, or a blank photo's shading lost as ink), and the refusal
    # checked against predict's at least once
    assert compared >= 6 and (status[3::4] != world.READ).all() and (status == world.REFUSED).sum() >= 1


@pytest.mark.parametrize("workers", [1, 2])
def test_long_renders_log_their_progress_and_keep_task_order(workers: int, caplog: pytest.LogCaptureFixture) -> None:
    # drawing the preset's world takes minutes: a line at every tenth, so that a run does not look hung
    with caplog.at_level(logging.INFO, logger="digit_lit.world"):
        out = world.run_chunks(abs, list(range(-25, 0)), workers, what="rendering 6400 world pictures")
    assert out == list(range(25, 0, -1))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 10 and lines[0].startswith("rendering 6400 world pictures: 10% in ")
    assert lines[-1].startswith("rendering 6400 world pictures: 100% in ") and lines[-1].endswith("about 0.0 min left")
    caplog.clear()
    world.run_chunks(abs, list(range(-world.PROGRESS_TASKS + 1, 0)), workers, what="rendering a few")  # short: silent
    assert caplog.records == []
