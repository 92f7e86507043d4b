// The page: draw on the pad (pointer events: mouse, pen, finger) or drop/choose a picture, ask POST /predict, show
// the verdict. The server does all the reading (digit_lit.preprocess + the guard); this file only draws and shows.
"use strict";

// The drawing is sent shrunk to this side: the server's preprocessing costs about a third of what it costs at the
// pad's 280 px, and a digit drawn on the pad still spans ~80 px, four times the 20 px MNIST box it is fitted into.
const SEND_SIDE = 112;
const STROKE = 18; // pen width in pad pixels: about MNIST's stroke relative to the digit once fitted to 20 px
// In code mode the pad is as tall as in digit mode (the same pen for the same size of digit) and three times as wide:
// a line of digits. It is sent at half its size: the code reader costs about 0.6x what it costs at 640 px wide (its
// working size) and reads as well (benchmarks/send_size.py --code; README: Serving).
const CODE_WIDTH = 840;
const CODE_SEND_WIDTH = 420;
// The drawing is sent with this much paper around it (px, on each side of the SEND_SIDE square): the pad's edge is
// paper, not a frame that cut the digit off, and the server refuses a digit whose stroke crosses the picture's edge
// (preprocess.runs_off)
const SEND_MARGIN = 8;
// A picture over the server's byte limit (GET /health: max_bytes; a phone's photo is often 5-12 MB) is shrunk to this
// longest side before it is sent: the server reads every picture at 192 px (preprocess.WORK_SIDE) anyway
const UPLOAD_SIDE = 1600;
const FORM_ROOM = 4096; // bytes of the request beside the picture (the form's parts and fields), under max_bytes

const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ctx = pad.getContext("2d");
const SIDE = pad.width; // the pad in digit mode, from the page (square)
const WORDS = {
  digit: { noun: "digit", read: "Read digit", pad: "draw one digit" },
  code: { noun: "code", read: "Read code", pad: "write a code, its digits side by side on one line" },
};
let mode = "digit";
let drawn = false;
let last = null;
// The number of the latest question asked. A verdict shows only for it: an answer to an earlier one (a slow reading
// overtaken by a newer, or asked before the pad was cleared, drawn on or switched to the other mode) is dropped, so
// the page never shows ACCEPTED for what is no longer on it.
let asked = 0;
let maxBytes = null; // the server's limit on a request body, once /health has said it

// the verdict on screen, if any, no longer belongs to what the page holds; answers still on their way are dropped
function forget() {
  asked += 1;
  $("result").hidden = true;
  $("read").disabled = false;
}

function clearPad() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
  drawn = false;
}

function point(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
}

function line(from, to) {
  ctx.strokeStyle = "#000";
  ctx.lineWidth = STROKE;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(...from);
  ctx.lineTo(...to);
  ctx.stroke();
}

pad.addEventListener("pointerdown", (event) => {
  if (event.button !== 0) return;
  forget(); // the drawing changes: a verdict shown, or on its way, is for the one before
  pad.setPointerCapture(event.pointerId);
  last = point(event);
  line(last, last); // a tap leaves a dot
  drawn = true;
  event.preventDefault();
});
pad.addEventListener("pointermove", (event) => {
  if (last === null) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of events.length ? events : [event]) {
    const p = point(e);
    line(last, p);
    last = p;
  }
});
for (const name of ["pointerup", "pointercancel", "lostpointercapture"]) {
  pad.addEventListener(name, () => { last = null; });
}

function say(text, kind = "") {
  const status = $("status");
  status.textContent = text;
  status.className = `status ${kind}`;
}

function percent(p) {
  return `${(Math.floor(p * 10000) / 100).toFixed(2)}%`; // rounded down: 99.996% must not show as 100%
}

function setMode(next) {
  mode = next;
  document.body.dataset.mode = mode;
  pad.width = mode === "code" ? CODE_WIDTH : SIDE; // a new size also clears the canvas
  clearPad();
  pad.setAttribute("aria-label",
    `Drawing area: ${WORDS[mode].pad} with a mouse, pen or finger. Enter reads it, Escape clears it.`);
  $("read").textContent = WORDS[mode].read;
  $("length-row").hidden = mode !== "code";
  forget();
}

function showDecision(accepted) {
  $("verdict").className = `verdict ${accepted ? "accepted" : "refused"}`;
  $("mark").textContent = accepted ? "✓" : "✗";
  $("decision").textContent = accepted ? "ACCEPTED" : "REFUSED";
}

function showKind(kind) {
  for (const id of ["digit-reading", "digit-details"]) $(id).hidden = kind !== "digit";
  for (const id of ["code-reading", "code-details"]) $(id).hidden = kind !== "code";
}

// each shows its answer and returns the line the status says of it
function showCode(answer) {
  const accepted = answer.accepted === true;
  showKind("code");
  showDecision(accepted);
  $("code").textContent = answer.code;
  $("code-confidence").textContent = percent(answer.confidence);
  const rule = `every digit, and the code as a whole, reach ${percent(answer.model.threshold)}`;
  $("rule").textContent = accepted
    ? `Sure enough: ${rule}.`
    : `Why: ${answer.reason}. The guard accepts a code only when ${rule}.`;
  const list = $("digits");
  list.replaceChildren();
  answer.digits.forEach((read, i) => {
    const item = document.createElement("li");
    item.className = read.accepted ? "accepted" : "refused";
    item.innerHTML = '<img width="56" height="56" alt=""><span class="d"></span><span class="p"></span><span class="ok"></span>';
    const img = item.querySelector("img");
    img.src = `data:image/png;base64,${read.view}`;
    img.alt = `Digit ${i + 1} as the model saw it`;
    item.querySelector(".d").textContent = read.digit;
    item.querySelector(".p").textContent = percent(read.confidence);
    item.querySelector(".ok").textContent = read.accepted ? "✓ sure" : "✗ unsure";
    list.append(item);
  });
  return accepted ? `Read ${answer.code}: accepted.` : `Refused: ${answer.reason}.`;
}

// the verdict in view: on a phone it lies below the pad
function reveal() {
  $($("result").hidden ? "status" : "verdict").scrollIntoView({ block: "nearest" });
}

// `source`: the file read, named in the status (a picture's verdict is not the pad's)
function show(answer, source) {
  const line = "code" in answer ? showCode(answer) : showDigit(answer);
  $("result").hidden = false;
  say(source ? `${source}: ${line}` : line, answer.accepted === true ? "ok" : "no");
  reveal();
}

function showDigit(answer) {
  const accepted = answer.accepted === true;
  showKind("digit");
  showDecision(accepted);
  $("digit").textContent = answer.digit;
  $("confidence").textContent = percent(answer.confidence);
  $("rule").textContent = accepted
    ? `Sure enough: the guard accepts at ${percent(answer.model.threshold)} or more.`
    : `Not sure enough: the guard needs ${percent(answer.model.threshold)}. Best guess ${answer.digit}.`;
  $("view").src = `data:image/png;base64,${answer.view}`;
  const list = $("top3");
  list.replaceChildren();
  for (const [digit, p] of answer.top3) {
    const item = document.createElement("li");
    item.innerHTML = '<span class="d"></span><span class="bar" aria-hidden="true"><span></span></span><span class="p"></span>';
    item.querySelector(".d").textContent = digit;
    item.querySelector(".bar span").style.width = `${(100 * p).toFixed(1)}%`;
    item.querySelector(".p").textContent = percent(p);
    list.append(item);
  }
  return accepted ? `Read ${answer.digit}: accepted.` : `Refused: best guess ${answer.digit}, not sure enough.`;
}

async function ask(body, headers = {}, query = "", source = "") {
  forget(); // the verdict shown was for the question before
  const mine = asked;
  say("Reading…");
  $("read").disabled = true;
  try {
    const response = await fetch(`/predict${query}`, { method: "POST", body, headers });
    const answer = await response.json().catch(() => ({ error: `the server answered ${response.status}` }));
    if (mine !== asked) return; // overtaken: a newer question, a cleared pad, the other mode
    if (!response.ok) {
      // busy (503) or no worker in time (504): the picture may be fine
      const busy = response.status === 503 || response.status === 504;
      say(`${busy ? "The server is busy" : "Cannot read it"}: ${answer.error || response.status}`, "error");
      reveal();
      return;
    }
    show(answer, source);
  } catch (err) {
    if (mine === asked) {
      say(`The server cannot be reached (${err.message}); try again.`, "error");
      reveal();
    }
  } finally {
    if (mine === asked) $("read").disabled = false;
  }
}

// the options of code mode, or null when the expected length is no number (the server checks the rest: a bad
// expected length gets its one-line error). A number field whose text is no number ("4e") has an empty value:
// sent so, the code would be read without the check the person asked for.
function options() {
  if (mode !== "code") return {};
  const field = $("length");
  if (field.validity.badInput) {
    forget();
    say("The expected length is not a number: give the count of digits, e.g. 4, or leave it empty.", "error");
    field.focus();
    return null;
  }
  const length = field.value.trim();
  return length ? { mode, expected_length: length } : { mode };
}

function readPad() {
  if ($("read").disabled) return; // a picture is on its way (Enter on the pad, or in the length field)
  if (!drawn) {
    say(`Draw a ${WORDS[mode].noun} first.`, "error");
    pad.focus();
    return;
  }
  const asking = options();
  if (asking === null) return;
  const small = document.createElement("canvas");
  const width = mode === "code" ? CODE_SEND_WIDTH : SEND_SIDE;
  const height = Math.round(width * pad.height / pad.width);
  small.width = width + 2 * SEND_MARGIN;
  small.height = height + 2 * SEND_MARGIN;
  const sctx = small.getContext("2d");
  sctx.fillStyle = "white";
  sctx.fillRect(0, 0, small.width, small.height);
  sctx.imageSmoothingQuality = "high";
  sctx.drawImage(pad, SEND_MARGIN, SEND_MARGIN, width, height);
  const query = new URLSearchParams(asking).toString();
  small.toBlob((png) => ask(png, { "Content-Type": "image/png" }, query && `?${query}`), "image/png");
}

// a picture over the server's limit, shrunk to UPLOAD_SIDE (turned upright as its EXIF says, which the sent copy
// then no longer needs), as JPEG for a photo and PNG otherwise (a transparent drawing stays transparent: the server
// chooses the paper under it); a PNG still over the limit goes as JPEG when it is opaque (a grainy photo), else
// smaller (JPEG would put black under its transparent paper)
async function shrunk(file) {
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  const canvas = document.createElement("canvas");
  const c = canvas.getContext("2d", { willReadFrequently: true });
  const draw = (side) => {
    const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    c.imageSmoothingQuality = "high";
    c.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  };
  const encode = (type) => new Promise((done) => canvas.toBlob(done, type, 0.92));
  draw(UPLOAD_SIDE);
  let blob = await encode(file.type === "image/jpeg" ? "image/jpeg" : "image/png");
  if (blob.size > maxBytes - FORM_ROOM) {
    const alpha = c.getImageData(0, 0, canvas.width, canvas.height).data;
    let opaque = true;
    for (let i = 3; i < alpha.length && opaque; i += 4) opaque = alpha[i] === 255;
    for (let side = UPLOAD_SIDE / 2; blob.size > maxBytes - FORM_ROOM && !opaque && side >= 100; side /= 2) {
      draw(side);
      blob = await encode("image/png");
    }
    if (opaque) blob = await encode("image/jpeg");
  }
  if (blob.size > maxBytes - FORM_ROOM) throw new Error("still over the limit");
  return new File([blob], file.name, { type: blob.type });
}

// how many frames a picture's bytes hold, by its content (a name can lie: an animated GIF named .jpg): a GIF's images,
// an APNG's frame count, an animated WebP's flag; JPEG (a phone's MPO is one photo to the server too) and BMP hold
// one. Shrunk, only the first frame would be sent, past the server's refusal of a picture of more frames than one.
// Written by hand: the browser's ImageDecoder calls every GIF animated, and Safari has none. Throws on a damaged file,
// and on a format the server does not read (an AVIF, which the browser would open, and shrink to its first frame)
function frames(bytes) {
  const text = (at, n) => String.fromCharCode(...bytes.subarray(at, at + n));
  const number = (at) => ((bytes[at] << 24) >>> 0) + (bytes[at + 1] << 16) + (bytes[at + 2] << 8) + bytes[at + 3];
  const damaged = () => { throw new Error("damaged"); };
  if (text(0, 4) === "GIF8") {
    let at = 13 + (bytes[10] & 0x80 ? 3 << ((bytes[10] & 7) + 1) : 0); // after the screen and its colour table
    let images = 0;
    const skipBlocks = () => { while (at < bytes.length && bytes[at] !== 0) at += bytes[at] + 1; at += 1; };
    while (at < bytes.length && bytes[at] !== 0x3b) {
      if (bytes[at] === 0x21) { at += 2; skipBlocks(); continue; } // an extension
      if (bytes[at] !== 0x2c) damaged();
      images += 1;
      const flags = bytes[at + 9];
      at += 10 + (flags & 0x80 ? 3 << ((flags & 7) + 1) : 0) + 1; // the image, its colour table, the LZW size
      skipBlocks();
    }
    return images || damaged();
  }
  if (text(0, 8) === "\x89PNG\r\n\x1a\n") {
    for (let at = 8; at + 8 <= bytes.length; at += 12 + number(at)) { // the chunks before the first image data
      const type = text(at + 4, 4);
      if (type === "acTL") return number(at + 8); // an APNG: its count of frames
      if (type === "IDAT") return 1;
    }
    damaged();
  }
  if (text(0, 4) === "RIFF" && text(8, 4) === "WEBP") return text(12, 4) === "VP8X" && bytes[20] & 0x02 ? 2 : 1;
  if ((bytes[0] === 0xff && bytes[1] === 0xd8) || text(0, 2) === "BM") return 1;
  throw new Error("format");
}

// the limit as a person reads it: "5 MB", "1.5 MB", "0.3 MB"
function megabytes(bytes) {
  return `${Number((bytes / 1e6).toFixed(1))} MB`;
}

async function readFile(file) {
  if (!file) return;
  const asking = options();
  if (asking === null) return;
  clearPad(); // the verdict is for the picture: a drawing left on the pad would seem to be what was read
  forget();
  const mine = asked; // a drawing, Clear, a changed length or another picture while it is being shrunk drops it
  let sent = file;
  if (maxBytes !== null && file.size > maxBytes - FORM_ROOM) {
    const shrinking = `Shrinking ${file.name} to send it…`;
    say(shrinking);
    $("read").disabled = true; // Read would say to draw first while the picture is on its way
    let problem = null;
    try {
      if (frames(new Uint8Array(await file.arrayBuffer())) > 1) {
        problem = "it has more than one frame (an animation): save the frame to read alone, smaller";
      } else {
        sent = await shrunk(file);
      }
    } catch (err) {
      problem = {
        "still over the limit": "even shrunk it is over the limit: save it smaller, as a JPEG",
        format: "it is not a PNG, JPEG, BMP, GIF or WebP picture that can be shrunk here: save it as a smaller JPEG "
          + `or PNG (e.g. ${UPLOAD_SIDE} px wide)`,
      }[err.message] || "this browser cannot open it (a HEIC or TIFF file, or a damaged one): save it as a smaller "
        + `JPEG or PNG (e.g. ${UPLOAD_SIDE} px wide)`;
    }
    if (mine !== asked) { // dropped while it was shrunk: its line goes too
      if ($("status").textContent === shrinking) say("");
      return;
    }
    $("read").disabled = false;
    if (problem !== null) {
      say(`${file.name} is over the server's ${megabytes(maxBytes)} limit and cannot be shrunk here: ${problem}.`,
          "error");
      reveal();
      return;
    }
  }
  const form = new FormData();
  form.append("file", sent, file.name);
  for (const [name, value] of Object.entries(asking)) form.append(name, value);
  ask(form, {}, "", file.name);
}

$("read").addEventListener("click", readPad);
$("clear").addEventListener("click", () => {
  clearPad();
  forget();
  say(`Cleared: draw a ${WORDS[mode].noun}.`);
  pad.focus();
});
for (const radio of document.querySelectorAll('input[name="mode"]')) {
  radio.addEventListener("change", () => {
    setMode(radio.value);
    say(mode === "code" ? "Code mode: write the digits side by side on one line." : "Digit mode: draw one digit.");
  });
}
$("length").addEventListener("input", () => {
  if ($("result").hidden && !$("read").disabled) return;
  forget(); // the verdict shown, or on its way, was asked with the length before
  say(drawn ? "The expected length changed: read the code again."
    : "The expected length changed: upload the picture again, or write the code on the pad.");
});
$("length").addEventListener("keydown", (event) => {
  if (event.key === "Enter") { readPad(); event.preventDefault(); }
});
$("choose").addEventListener("click", () => $("file").click());
$("file").addEventListener("change", (event) => { readFile(event.target.files[0]); event.target.value = ""; });
pad.addEventListener("keydown", (event) => {
  if (event.key === "Enter" || event.key === " ") { readPad(); event.preventDefault(); }
  if (event.key === "Escape" || event.key === "Delete" || event.key === "Backspace") { $("clear").click(); }
});

const drop = $("drop");
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
// a drop on the pad, or files dropped anywhere on the page (the browser opened a file dropped beside the pad in place
// of the page)
function dropped(event) {
  event.preventDefault();
  drop.classList.remove("over");
  const files = event.dataTransfer.files;
  if (files.length !== 1) {
    forget();
    say(files.length
      ? `Drop one picture at a time (${files.length} were dropped): nothing was read.`
      : "Drop a picture file (PNG, JPEG, ...): a link or text cannot be read; save the picture, then drop the file.",
    "error");
    reveal();
    return;
  }
  readFile(files[0]);
}
drop.addEventListener("drop", (event) => { event.stopPropagation(); dropped(event); });
// only files: text dragged onto the length field drops there as usual
const carriesFiles = (event) => event.dataTransfer.types.includes("Files");
document.addEventListener("dragover", (event) => { if (carriesFiles(event)) event.preventDefault(); });
document.addEventListener("drop", (event) => { if (carriesFiles(event)) dropped(event); });
// a picture pasted (Ctrl+V from a screenshot or a copied image) is read as one dropped; text pasted into the length
// field stays its own, even when the clipboard holds a picture of it too (a spreadsheet's cell)
document.addEventListener("paste", (event) => {
  const pictures = [...event.clipboardData.files].filter((file) => file.type.startsWith("image/"));
  const typing = event.target === $("length") && event.clipboardData.types.includes("text/plain");
  if (!pictures.length || typing) return;
  event.preventDefault();
  readFile(pictures[0]);
});

fetch("/health")
  .then((r) => r.json())
  .then(({ model, max_bytes: limit }) => {
    maxBytes = limit;
    $("model").textContent =
      `Model: ${model.model} · sha256 ${model.sha256.slice(0, 12)}… · accepts at ${percent(model.threshold)} or more`;
  })
  .catch(() => { $("model").textContent = "Model: unknown (the server did not answer /health)"; });

setMode(document.querySelector('input[name="mode"]:checked').value);
