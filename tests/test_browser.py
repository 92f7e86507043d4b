"""The page in a real Chromium (Playwright): draw with pointer events, upload, drop; the verdict shown is the guard's.

The server runs a small guard trained here on the real MNIST with outlier exposure (its .ckpt: the torch path of
Guard.load in every worker), so a drawn 1 or 7 is read as such and a scribble is refused. Every check also compares
the page with the guard's own verdict (or, in code mode, the code reader's) on the very bytes the page sent.
Screenshots for the README: DIGIT_LIT_SCREENSHOTS=docs pytest tests/test_browser.py -k "seven or code_drawn".
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
from PIL import Image

from digit_lit.detect import choose, read_candidates
from digit_lit.guard import Guard
from digit_lit.serve_process import Server, serving
from digit_lit.train import train
from tests.helpers.browser import chromium_path, launch_args, playwright_api, shown_percent, stroke, touch_stroke
from tests.helpers.configs import compose_train
from tests.helpers.paths import ROOT
from tests.helpers.pictures import (
    CODE_171,
    CODE_SEND_WIDTH,
    CODE_WIDTH,
    PAD,
    SEND_MARGIN,
    SEND_SIDE,
    STROKES,
    drawn,
    encode,
    png_pixels,
)

pytestmark = [pytest.mark.mnist, pytest.mark.browser]  # make test-fast leaves them out

SCRIBBLE = [(60, 80), (220, 100), (70, 140), (210, 170), (80, 200), (200, 230), (140, 60), (100, 240), (230, 60)]
# Playwright does not see a fetch body that is a Blob or a File: the test's own wrapper of fetch keeps each picture
RECORD_SENT = """
const send = window.fetch;
window.sent = [];
window.fetch = async (url, init = {}) => {
  const body = init.body instanceof FormData ? init.body.get("file") : init.body;
  if (body instanceof Blob) {
    let text = "";
    for (const byte of new Uint8Array(await body.arrayBuffer())) text += String.fromCharCode(byte);
    const options = init.body instanceof FormData
      ? Object.fromEntries([...init.body.entries()].filter(([name]) => name !== "file"))
      : Object.fromEntries(new URL(url, location.href).searchParams);
    window.sent.push({ picture: btoa(text), type: init.body instanceof FormData ? "multipart" : body.type, options });
  }
  return send(url, init);
};
"""


@pytest.fixture(scope="module")
def model(mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A guard MLP in seconds: 2 short epochs on the real MNIST with outlier exposure; no test-set pass."""
    overrides = [
        "experiment=guard_mlp",
        "trainer.max_epochs=2",
        "+trainer.limit_train_batches=60",
        "data.outliers=3000",
        "test=false",
        "logger=none",
        "callbacks.progress_bar=null",
    ]
    run = tmp_path_factory.mktemp("browser_model")
    train(compose_train(overrides, run, mnist_dir))
    (best,) = (run / "checkpoints").glob("epoch_*.ckpt")  # the best by val accuracy (last.ckpt beside it)
    return best


@pytest.fixture(scope="module")
def server(model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("browser_log") / "serve.log"
    with serving(model, log=log, cwd=ROOT) as running:
        yield running


@pytest.fixture(scope="module")
def guard(model: Path) -> Guard:
    return Guard.load(model)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    api = playwright_api()
    with api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), args=launch_args())
        yield chromium
        chromium.close()


@contextmanager
def open_page(browser: Any, server: Server, **device: Any) -> Iterator[Any]:
    """The page in a fresh browser context (a device: viewport, touch...), recording the pictures it sends."""
    context = browser.new_context(**device)
    try:
        context.add_init_script(RECORD_SENT)
        page = context.new_page()
        page.goto(server.url)
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    with open_page(browser, server, viewport={"width": 1000, "height": 760}) as desktop:
        yield desktop


def submit(page: Any, action: Any, kind: str = "image/png", options: dict[str, str] | None = None) -> bytes:
    """Run `action` (a click, a key...), wait for POST /predict to be answered; return the picture the page sent,
    as a body of type `kind` ("multipart": in field file), with these options (query string or form fields)."""
    with page.expect_response(lambda response: urlsplit(response.url).path == "/predict"):
        action()
    sent = page.evaluate("window.sent.at(-1)")
    assert sent["type"] == kind, sent["type"]
    assert sent["options"] == (options or {}), sent["options"]
    return base64.b64decode(sent["picture"])


def expect_verdict(page: Any, verdict: dict[str, Any]) -> None:
    """The page shows this verdict: digit, confidence, ACCEPTED or REFUSED, the top 3."""
    expect = playwright_api().expect
    decision = "ACCEPTED" if verdict["accepted"] else "REFUSED"
    expect(page.locator("#decision")).to_have_text(decision)
    expect(page.locator("#verdict")).to_have_class(f"verdict {decision.lower()}")
    expect(page.locator("#digit")).to_have_text(str(verdict["digit"]))
    expect(page.locator("#confidence")).to_have_text(shown_percent(verdict["confidence"]))
    rows = [f"{d}{shown_percent(p)}" for d, p in verdict["top3"]]
    expect(page.locator("#top3 li")).to_have_text(rows)


def read_sent(guard: Guard, body: bytes) -> dict[str, Any]:
    with Image.open(io.BytesIO(body)) as img:
        return guard.read(img)


def transfer(page: Any, png: bytes, name: str, text: str | None = None) -> Any:
    """A DataTransfer in the page, as a drop or a paste carries it: the picture `png` as a file named `name`, and
    `text` beside it (a spreadsheet's cell is both)."""
    return page.evaluate_handle(
        """([b64, name, text]) => {
            const data = new DataTransfer();
            if (text !== null) data.setData("text/plain", text);
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            data.items.add(new File([bytes], name, { type: "image/png" }));
            return data;
        }""",
        [base64.b64encode(png).decode(), name, text],
    )


PASTE = "([target, data]) => target.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true }))"


def page_limit(page: Any) -> int:
    """The server's max_bytes as the page knows it, once GET /health has answered (the footer names the model)."""
    playwright_api().expect(page.locator("#model")).to_contain_text("sha256")
    return page.evaluate("maxBytes")


def shown_view(page: Any) -> np.ndarray:
    src = page.locator("#view").get_attribute("src")
    assert src.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))))


def test_a_vertical_stroke_is_read_as_a_one(page: Any, guard: Guard) -> None:
    stroke(page, [(140, 40), (140, 240)])
    sent = submit(page, lambda: page.get_by_role("button", name="Read digit").click())
    verdict = read_sent(guard, sent)
    expect_verdict(page, verdict)
    assert verdict["digit"] == 1
    view = shown_view(page)
    assert view.shape == (28, 28)
    columns = np.flatnonzero(view.max(axis=0) > 128)
    rows = np.flatnonzero(view.max(axis=1) > 128)
    assert len(rows) >= 3 * len(columns), "the view is a tall thin stroke"


def test_a_stroke_to_the_pads_edge_is_read(page: Any, guard: Guard) -> None:
    """A 1 drawn from the pad's top edge: the pad's edge is paper, so the page sends the drawing with paper around it.
    Sent as drawn, the stroke crossed the picture's edge and the server refused it as a digit cut by the frame."""
    stroke(page, [(140, 1), (140, 200)])
    sent = submit(page, lambda: page.click("#read"))
    verdict = read_sent(guard, sent)  # no PreprocessError: read as a digit
    expect_verdict(page, verdict)
    with Image.open(io.BytesIO(sent)) as img:
        grey = np.asarray(img.convert("L"))
    side = SEND_SIDE + 2 * SEND_MARGIN
    assert grey.shape == (side, side) and grey[:SEND_MARGIN].min() > 200  # paper along the top edge
    assert verdict["digit"] == 1


def screenshot(page: Any, name: str, tmp_path: Path) -> None:
    """The README's pictures of the page: saved in $DIGIT_LIT_SCREENSHOTS (docs/) when set."""
    shot = Path(os.environ.get("DIGIT_LIT_SCREENSHOTS") or tmp_path) / name
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_a_drawn_seven_is_accepted(page: Any, guard: Guard, tmp_path: Path) -> None:
    stroke(page, [(70, 50), (210, 50)])
    stroke(page, [(210, 50), (120, 240)])
    verdict = read_sent(guard, submit(page, lambda: page.click("#read")))
    expect_verdict(page, verdict)
    assert verdict["digit"] == 7 and verdict["accepted"]
    screenshot(page, "serve_page.png", tmp_path)


def test_a_scribble_is_refused(page: Any, guard: Guard) -> None:
    stroke(page, SCRIBBLE, steps=6)
    verdict = read_sent(guard, submit(page, lambda: page.click("#read")))
    expect_verdict(page, verdict)
    assert not verdict["accepted"]
    playwright_api().expect(page.locator("#status")).to_contain_text("Refused")


def test_an_uploaded_or_dropped_picture_is_read(page: Any, guard: Guard, tmp_path: Path) -> None:
    picture = tmp_path / "four.jpg"
    picture.write_bytes(encode(drawn(STROKES["4"], 200), "JPEG"))
    sent = submit(page, lambda: page.locator("#file").set_input_files(picture), "multipart")  # "Upload a picture…"
    assert sent == picture.read_bytes()
    expect_verdict(page, read_sent(guard, sent))

    png = encode(drawn(STROKES["0"], 150))
    dropped = transfer(page, png, "zero.png")
    sent = submit(page, lambda: page.dispatch_event("#drop", "drop", {"dataTransfer": dropped}), "multipart")
    assert sent == png
    expect_verdict(page, read_sent(guard, sent))


def test_a_bad_file_shows_the_servers_error(page: Any, tmp_path: Path) -> None:
    fake = tmp_path / "notes.png"
    fake.write_text("not a picture")
    submit(page, lambda: page.locator("#file").set_input_files(fake), "multipart")
    status = page.locator("#status")
    playwright_api().expect(status).to_have_text(
        "Cannot read it: not an image in a supported format (PNG, JPEG, BMP, GIF, TIFF, WEBP)"
    )
    assert page.locator("#result").is_hidden()


def test_keyboard_alone_reaches_and_uses_every_control(page: Any, guard: Guard) -> None:
    expect = playwright_api().expect
    order = []
    for _ in range(5):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id"))
    assert order == ["mode-digit", "pad", "clear", "read", "choose"]
    for name in ("Clear", "Read digit", "Upload a picture…"):
        expect(page.get_by_role("button", name=name)).to_be_visible()
    expect(page.get_by_role("img", name="Drawing area")).to_be_visible()

    page.locator("#pad").focus()
    page.keyboard.press("Enter")  # nothing drawn yet
    expect(page.locator("#status")).to_have_text("Draw a digit first.")
    stroke(page, [(140, 40), (140, 240)])
    page.locator("#read").focus()
    verdict = read_sent(guard, submit(page, lambda: page.keyboard.press("Enter")))
    expect_verdict(page, verdict)
    page.locator("#pad").focus()
    page.keyboard.press("Escape")
    expect(page.locator("#status")).to_have_text("Cleared: draw a digit.")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text("Draw a digit first.")


def test_a_phone_sized_touch_screen(browser: Any, server: Server, guard: Guard) -> None:
    phone = {"viewport": {"width": 375, "height": 667}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
    with open_page(browser, server, **phone) as page:
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, "no sideways scrolling"
        pad = page.locator("#pad").bounding_box()
        assert pad["x"] >= 0 and pad["x"] + pad["width"] <= 375 and pad["width"] >= 200
        for button in page.get_by_role("button").all():
            assert button.bounding_box()["height"] >= 44, button.inner_text()
        page.evaluate("window.kinds = []; pad.addEventListener('pointerdown', (e) => kinds.push(e.pointerType))")
        touch_stroke(page, [(140, 40), (140, 240)])
        assert page.evaluate("window.kinds") == ["touch"]
        # a finger takes a moment from the pad to the button; Chromium turns no tap into a click in the ~second after
        # a touch gesture (what it waits for a double tap)
        page.wait_for_timeout(1000)
        verdict = read_sent(guard, submit(page, lambda: page.get_by_role("button", name="Read digit").tap()))
        expect_verdict(page, verdict)
        assert verdict["digit"] == 1
        # below the pad on a phone: the page scrolls the verdict into view (it stayed below the fold)
        playwright_api().expect(page.locator("#decision")).to_be_in_viewport()


def read_code_sent(guard: Guard, body: bytes, expected_length: int | None = None) -> dict[str, Any]:
    """The code reader's verdict on the picture the page sent, with each digit's view (uint8) as the server gives it."""
    with Image.open(io.BytesIO(body)) as img:
        found = read_candidates(guard, img)
    chosen, verdict = choose(guard, found, expected_length)
    views = np.rint(found.views[chosen] * 255).astype(np.uint8)
    return {**verdict, "views": list(views)}


def expect_code_verdict(page: Any, verdict: dict[str, Any]) -> None:
    """The page shows this code verdict: the code, ACCEPTED or REFUSED and why, and each digit with its confidence,
    accepted mark and the 28x28 view the guard read."""
    expect = playwright_api().expect
    decision = "ACCEPTED" if verdict["accepted"] else "REFUSED"
    expect(page.locator("#decision")).to_have_text(decision)
    expect(page.locator("#verdict")).to_have_class(f"verdict {decision.lower()}")
    expect(page.locator("#code")).to_have_text(verdict["code"])
    expect(page.locator("#code-confidence")).to_have_text(shown_percent(verdict["confidence"]))
    if not verdict["accepted"]:
        expect(page.locator("#rule")).to_contain_text(f"Why: {verdict['reason']}.")
    for hidden in ("#digit-reading", "#digit-details"):
        expect(page.locator(hidden)).to_be_hidden()
    items = page.locator("#digits li")
    expect(items).to_have_count(len(verdict["digits"]))
    for k, (digit, view) in enumerate(zip(verdict["digits"], verdict["views"], strict=True)):
        item = items.nth(k)
        expect(item).to_have_class("accepted" if digit["accepted"] else "refused")
        expect(item.locator(".d")).to_have_text(str(digit["digit"]))
        expect(item.locator(".p")).to_have_text(shown_percent(digit["confidence"]))
        expect(item.locator(".ok")).to_have_text("✓ sure" if digit["accepted"] else "✗ unsure")
        src = item.locator("img").get_attribute("src")
        assert np.array_equal(png_pixels(src.split(",", 1)[1]), view), f"digit {k + 1}: not the view the guard read"


def draw_code(page: Any, touch: bool = False) -> None:
    for line in CODE_171:
        (touch_stroke if touch else stroke)(page, line)


def test_a_code_drawn_in_code_mode_is_read(page: Any, guard: Guard, tmp_path: Path) -> None:
    """Switch to code mode with the keyboard, draw "1 7 1" in separate strokes, read it; then with expected length 4
    the same drawing is refused."""
    expect = playwright_api().expect
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "mode-digit", "the switch comes first"
    page.keyboard.press("ArrowRight")  # a radio group: the arrow keys choose
    expect(page.get_by_role("radio", name="A code")).to_be_checked()
    expect(page.locator("#pad")).to_have_attribute("width", str(CODE_WIDTH))
    expect(page.get_by_role("button", name="Read code")).to_be_visible()
    expect(page.get_by_label("Expected length")).to_be_visible()
    box = page.locator("#pad").bounding_box()
    assert box["width"] >= 2.5 * box["height"], "a pad for a line of digits"

    draw_code(page)
    sent = submit(page, lambda: page.get_by_role("button", name="Read code").click(), options={"mode": "code"})
    with Image.open(io.BytesIO(sent)) as img:
        height = round(CODE_SEND_WIDTH * PAD / CODE_WIDTH)
        assert img.size == (CODE_SEND_WIDTH + 2 * SEND_MARGIN, height + 2 * SEND_MARGIN)
    verdict = read_code_sent(guard, sent)
    expect_code_verdict(page, verdict)
    assert verdict["code"] == "171", verdict
    screenshot(page, "serve_code.png", tmp_path)

    page.get_by_label("Expected length").fill("4")
    options = {"mode": "code", "expected_length": "4"}
    sent = submit(page, lambda: page.get_by_label("Expected length").press("Enter"), options=options)
    verdict = read_code_sent(guard, sent, expected_length=4)
    assert verdict["accepted"] is False and verdict["reason"] == "found 3 digits, expected 4", verdict
    expect_code_verdict(page, verdict)
    expect(page.locator("#status")).to_have_text("Refused: found 3 digits, expected 4.")


def test_code_mode_on_a_phone(browser: Any, server: Server, guard: Guard, tmp_path: Path) -> None:
    """Code mode at a phone's size: the pad fits the screen, a code drawn with a finger is read, an uploaded picture
    goes with its options, and nothing scrolls sideways."""
    phone = {"viewport": {"width": 375, "height": 667}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
    with open_page(browser, server, **phone) as page:
        page.get_by_role("radio", name="A code").tap()
        pad = page.locator("#pad").bounding_box()
        assert pad["x"] >= 0 and pad["x"] + pad["width"] <= 375 and pad["width"] >= 2.5 * pad["height"]
        draw_code(page, touch=True)
        page.wait_for_timeout(1000)  # no tap becomes a click in the second after a touch gesture (see above)
        sent = submit(page, lambda: page.get_by_role("button", name="Read code").tap(), options={"mode": "code"})
        expect_code_verdict(page, read_code_sent(guard, sent))
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, "no sideways scrolling"

        picture = tmp_path / "code.png"
        picture.write_bytes(sent)
        page.get_by_label("Expected length").fill("3")
        options = {"mode": "code", "expected_length": "3"}
        sent = submit(page, lambda: page.locator("#file").set_input_files(picture), "multipart", options)
        expect_code_verdict(page, read_code_sent(guard, sent, expected_length=3))


# The page's own fetch, wrapped once more: the next answer arrives this many ms late (a slow reading, a slow network)
DELAY_NEXT = """
(ms) => {
  const inner = window.fetch;
  let delayed = false;
  window.fetch = async (url, init) => {
    if (delayed) return inner(url, init);
    delayed = true;
    const response = await inner(url, init);
    await new Promise((done) => setTimeout(done, ms));
    return response;
  };
}
"""


def test_a_late_answer_never_shows_over_a_newer_question(page: Any, guard: Guard) -> None:
    """A 7 is asked, its answer is slow; meanwhile the pad is drawn on and asked again: the newer verdict stays when
    the 7's arrives (it overwrote it: ACCEPTED 7 over what the pad no longer held)."""
    page.evaluate(DELAY_NEXT, 2500)
    stroke(page, [(70, 50), (210, 50)])
    stroke(page, [(210, 50), (120, 240)])
    page.click("#read")  # the 7: answered 2.5 s late
    stroke(page, SCRIBBLE, steps=6)  # drawing again drops the question before
    newer = read_sent(guard, submit(page, lambda: page.locator("#pad").press("Enter")))  # (the button waits)
    expect_verdict(page, newer)
    page.wait_for_timeout(3000)  # the 7's answer has come and gone
    expect_verdict(page, newer)
    assert page.evaluate("window.sent.length") == 2


def test_a_verdict_never_outlives_what_it_was_for(page: Any, guard: Guard) -> None:
    """After a verdict: a request that fails (the server unreachable) and a cleared pad each hide it (the failure
    left ACCEPTED on screen under "The server cannot be reached")."""
    expect = playwright_api().expect
    stroke(page, [(140, 40), (140, 240)])
    expect_verdict(page, read_sent(guard, submit(page, lambda: page.click("#read"))))
    page.route("**/predict", lambda route: route.abort())
    page.click("#read")
    expect(page.locator("#status")).to_contain_text("The server cannot be reached")
    expect(page.locator("#result")).to_be_hidden()
    page.unroute("**/predict")
    expect_verdict(page, read_sent(guard, submit(page, lambda: page.click("#read"))))
    page.click("#clear")
    expect(page.locator("#result")).to_be_hidden()


def test_an_expected_length_that_is_no_number_is_not_dropped(page: Any) -> None:
    """Typed "4e", a number field's value is empty: the code was sent without the check asked for, and could be
    accepted with any count of digits. The page says so and sends nothing."""
    expect = playwright_api().expect
    page.get_by_role("radio", name="A code").check()
    draw_code(page)
    page.get_by_label("Expected length").press_sequentially("4e")
    page.get_by_role("button", name="Read code").click()
    expect(page.locator("#status")).to_have_text(
        "The expected length is not a number: give the count of digits, e.g. 4, or leave it empty."
    )
    expect(page.locator("#result")).to_be_hidden()
    assert page.evaluate("window.sent.length") == 0


def test_a_verdict_goes_when_its_length_changes_or_a_picture_is_read_instead(
    page: Any, guard: Guard, tmp_path: Path
) -> None:
    """A code read without a length, then a length typed: ACCEPTED stayed up for a question no longer asked. A
    picture uploaded while a drawing is on the pad: its verdict showed beside the drawing, as if of it. Now the length
    hides the verdict, and a picture clears the pad and is named in the status."""
    expect = playwright_api().expect
    page.get_by_role("radio", name="A code").check()
    draw_code(page)
    sent = submit(page, lambda: page.click("#read"), options={"mode": "code"})
    expect_code_verdict(page, read_code_sent(guard, sent))
    page.get_by_label("Expected length").press_sequentially("2")
    expect(page.locator("#result")).to_be_hidden()
    expect(page.locator("#status")).to_have_text("The expected length changed: read the code again.")

    page.get_by_role("radio", name="One digit").check()
    stroke(page, [(70, 50), (210, 50)])
    stroke(page, [(210, 50), (120, 240)])
    picture = tmp_path / "four.png"
    picture.write_bytes(encode(drawn(STROKES["4"], 200)))
    verdict = read_sent(guard, submit(page, lambda: page.locator("#file").set_input_files(picture), "multipart"))
    expect_verdict(page, verdict)
    expect(page.locator("#status")).to_contain_text("four.png: ")
    assert page.evaluate(  # the pad is blank paper: the 7 drawn on it is gone
        "(() => { const d = pad.getContext('2d').getImageData(0, 0, pad.width, pad.height).data;"
        " return d.every((v) => v === 255); })()"
    )


def test_two_dropped_files_or_a_link_read_nothing_and_say_so(page: Any) -> None:
    """Two pictures dropped at once: the first was read and the second ignored in silence; a dropped link did nothing
    and left the verdict before on screen."""
    expect = playwright_api().expect
    two = page.evaluate_handle(
        """() => {
            const data = new DataTransfer();
            for (const name of ["three.png", "eight.png"]) data.items.add(new File(["x"], name, { type: "image/png" }));
            return data;
        }"""
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": two})
    expect(page.locator("#status")).to_have_text("Drop one picture at a time (2 were dropped): nothing was read.")
    link = page.evaluate_handle(
        "() => { const d = new DataTransfer(); d.setData('text/uri-list', 'https://example.com/7.png'); return d; }"
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": link})
    expect(page.locator("#status")).to_contain_text("a link or text cannot be read")
    assert page.evaluate("window.sent.length") == 0


def test_a_photo_over_the_servers_limit_is_shrunk_and_read(page: Any, guard: Guard, tmp_path: Path) -> None:
    """A phone's photo is often over the server's 5 MB: sent as it was it got 413. The page shrinks it first (the
    server reads at 192 px anyway) and the verdict is the guard's on what was sent."""
    limit = page_limit(page)
    rng = np.random.default_rng(0)
    photo = np.asarray(drawn(STROKES["4"], 2000), dtype=np.int16) + rng.integers(-20, 21, (2000, 2000, 3))  # grain
    picture = tmp_path / "four.png"
    picture.write_bytes(encode(Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8))))
    assert picture.stat().st_size > limit, "the photo must be over the limit"
    sent = submit(page, lambda: page.locator("#file").set_input_files(picture), "multipart")
    assert len(sent) <= limit
    with Image.open(io.BytesIO(sent)) as img:
        assert max(img.size) == 1600
    verdict = read_sent(guard, sent)
    expect_verdict(page, verdict)
    assert verdict["digit"] == 4


def test_a_pasted_picture_is_read(page: Any, guard: Guard) -> None:
    """Ctrl+V of a copied picture (a screenshot) did nothing; now it is read as a dropped one."""
    png = encode(drawn(STROKES["0"], 150))
    pasted = transfer(page, png, "image.png")
    sent = submit(page, lambda: page.evaluate(PASTE, [page.locator("body").element_handle(), pasted]), "multipart")
    assert sent == png
    expect_verdict(page, read_sent(guard, sent))


def test_a_transparent_picture_over_the_limit_stays_transparent(page: Any, guard: Guard, tmp_path: Path) -> None:
    """A drawing on a clear canvas, over the limit even at 1600 px: as JPEG its clear paper would turn black (the
    digit's ink on black: nothing to read); it is sent smaller, as PNG, still transparent."""
    limit = page_limit(page)
    rng = np.random.default_rng(1)
    ink = np.asarray(drawn(STROKES["4"], 2000).convert("L")) < 128
    rgba = rng.integers(0, 256, (2000, 2000, 4), dtype=np.uint8)  # a grainy clear canvas: colour, faint alpha
    rgba[..., 3] = rng.integers(0, 41, (2000, 2000))
    rgba[ink] = (0, 0, 0, 255)
    picture = tmp_path / "four.png"
    picture.write_bytes(encode(Image.fromarray(rgba, "RGBA")))
    assert picture.stat().st_size > limit
    sent = submit(page, lambda: page.locator("#file").set_input_files(picture), "multipart")
    assert len(sent) <= limit
    with Image.open(io.BytesIO(sent)) as img:
        assert img.format == "PNG" and img.mode == "RGBA" and max(img.size) < 1600
    verdict = read_sent(guard, sent)
    expect_verdict(page, verdict)
    assert verdict["digit"] == 4


@pytest.mark.parametrize("name", ["moving.gif", "moving.jpg"])
def test_an_animation_over_the_limit_is_not_shrunk_to_its_first_frame(page: Any, tmp_path: Path, name: str) -> None:
    """Shrunk, an animated GIF went as its first frame, past the server's refusal of pictures of more frames; the
    page knows one by its bytes, not its name (one named .jpg went through)."""
    expect = playwright_api().expect
    limit = page_limit(page)
    rng = np.random.default_rng(2)
    frames = [Image.fromarray(rng.integers(0, 256, (1500, 1500), dtype=np.uint8)) for _ in range(3)]
    picture = tmp_path / name
    frames[0].save(picture, "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert picture.stat().st_size > limit
    page.locator("#file").set_input_files(picture)
    expect(page.locator("#status")).to_contain_text("cannot be shrunk here: it has more than one frame")
    assert page.evaluate("window.sent.length") == 0


def test_a_picture_of_a_format_the_server_does_not_read_is_not_shrunk(page: Any, tmp_path: Path) -> None:
    """An AVIF (which the browser opens, and plays when animated) was shrunk to its first frame and read, where the
    server refuses the format; a picture of another format than the server's is not shrunk, and the page says so."""
    expect = playwright_api().expect
    limit = page_limit(page)
    rng = np.random.default_rng(5)
    picture = tmp_path / "grain.avif"
    Image.fromarray(rng.integers(0, 256, (2000, 2000, 3), dtype=np.uint8)).save(picture, "AVIF", quality=100)
    assert picture.stat().st_size > limit
    page.locator("#file").set_input_files(picture)
    expect(page.locator("#status")).to_contain_text("it is not a PNG, JPEG, BMP, GIF or WebP picture")
    expect(page.locator("#read")).to_be_enabled()
    assert page.evaluate("window.sent.length") == 0


def test_a_still_gif_over_the_limit_is_shrunk_and_read(page: Any, guard: Guard, tmp_path: Path) -> None:
    """The browser's ImageDecoder calls every GIF animated: a still one was refused as a possible animation."""
    limit = page_limit(page)
    rng = np.random.default_rng(4)
    grey = np.asarray(drawn(STROKES["7"], 3000).convert("L"), dtype=np.int16) + rng.integers(-40, 41, (3000, 3000))
    picture = tmp_path / "seven.gif"
    Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8)).save(picture, "GIF")
    assert picture.stat().st_size > limit
    sent = submit(page, lambda: page.locator("#file").set_input_files(picture), "multipart")
    verdict = read_sent(guard, sent)
    expect_verdict(page, verdict)
    assert verdict["digit"] == 7


def test_what_happens_on_the_page_while_a_picture_is_shrunk_comes_first(page: Any, tmp_path: Path) -> None:
    """The page took its question's number only once the shrinking was done: a stroke drawn meanwhile sat beside the
    picture's ACCEPTED. Now a stroke (or Clear, or another picture) drops the picture being shrunk."""
    expect = playwright_api().expect
    page_limit(page)  # the page knows the limit: this picture is over it
    page.evaluate(
        """() => {
            const decode = window.createImageBitmap;
            window.createImageBitmap = async (...args) => {
                await new Promise((done) => setTimeout(done, 1500));
                return decode(...args);
            };
        }"""
    )
    rng = np.random.default_rng(3)
    photo = np.asarray(drawn(STROKES["7"], 2000), dtype=np.int16) + rng.integers(-20, 21, (2000, 2000, 3))
    picture = tmp_path / "seven.png"
    picture.write_bytes(encode(Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8))))
    page.locator("#file").set_input_files(picture)
    expect(page.locator("#status")).to_contain_text("Shrinking seven.png")
    page.locator("#pad").press("Enter")  # Read is off while the picture is on its way: Enter said "Draw a digit first."
    expect(page.locator("#status")).to_contain_text("Shrinking seven.png")
    stroke(page, [(140, 40), (140, 240)])  # a 1, while the 7 is being shrunk
    page.wait_for_timeout(3000)
    assert page.evaluate("window.sent.length") == 0
    expect(page.locator("#result")).to_be_hidden()
    expect(page.locator("#status")).not_to_contain_text("Shrinking")  # the dropped picture's line goes with it

    # an expected length typed while a code's picture is shrunk: the picture went without it (the options were taken
    # before), and was accepted; now the length drops it, as it drops a verdict
    page.get_by_role("radio", name="A code").check()
    page.locator("#file").set_input_files(picture)
    expect(page.locator("#status")).to_contain_text("Shrinking seven.png")
    expect(page.locator("#read")).to_be_disabled()
    page.get_by_label("Expected length").fill("5")
    expect(page.locator("#status")).to_have_text(
        "The expected length changed: upload the picture again, or write the code on the pad."
    )
    page.wait_for_timeout(3000)
    assert page.evaluate("window.sent.length") == 0


def test_a_picture_dropped_beside_the_pad_is_read_and_text_pasted_into_the_length_stays(
    page: Any, guard: Guard
) -> None:
    """A file dropped beside the pad did nothing (or the browser opened it in place of the page); a paste into the
    length field of a clipboard holding text and a picture (a spreadsheet's cell) sent the picture."""
    png = encode(drawn(STROKES["0"], 150))
    files = transfer(page, png, "zero.png")
    sent = submit(page, lambda: page.dispatch_event("header", "drop", {"dataTransfer": files}), "multipart")
    assert sent == png
    expect_verdict(page, read_sent(guard, sent))

    page.get_by_role("radio", name="A code").check()
    cell = transfer(page, png, "cell.png", text="4")
    page.evaluate(PASTE, [page.locator("#length").element_handle(), cell])
    page.wait_for_timeout(500)
    assert page.evaluate("window.sent.length") == 1, "the picture of the cell was sent"
