// The page: draw on the pad (pointer events: mouse, pen, finger) or drop/choose a picture, ask POST /predict, show
// the verdict. The server does all the reading (digit_lit.preprocess + the guard); this file only draws and shows.
"use strict";

// The drawing is sent shrunk to this side: the server's preprocessing costs about a third of what it costs at the
// pad's 280 px, and a digit drawn on the pad still spans ~80 px, four times the 20 px MNIST box it is fitted into.
const SEND_SIDE = 112;
const STROKE = 18; // pen width in pad pixels: about MNIST's stroke relative to the digit once fitted to 20 px

const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ctx = pad.getContext("2d");
let drawn = false;
let last = null;

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

function show(answer) {
  const accepted = answer.accepted === true;
  $("verdict").className = `verdict ${accepted ? "accepted" : "refused"}`;
  $("mark").textContent = accepted ? "✓" : "✗";
  $("decision").textContent = accepted ? "ACCEPTED" : "REFUSED";
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
  $("result").hidden = false;
  say(accepted ? `Read ${answer.digit}: accepted.` : `Refused: best guess ${answer.digit}, not sure enough.`,
      accepted ? "ok" : "no");
}

async function ask(body, headers = {}) {
  say("Reading…");
  $("read").disabled = true;
  try {
    const response = await fetch("/predict", { method: "POST", body, headers });
    const answer = await response.json().catch(() => ({ error: `the server answered ${response.status}` }));
    if (!response.ok) {
      $("result").hidden = true;
      say(`Cannot read it: ${answer.error || response.status}`, "error");
      return;
    }
    show(answer);
  } catch (err) {
    say(`The server cannot be reached (${err.message}); try again.`, "error");
  } finally {
    $("read").disabled = false;
  }
}

function readPad() {
  if (!drawn) {
    say("Draw a digit first.", "error");
    pad.focus();
    return;
  }
  const small = document.createElement("canvas");
  small.width = small.height = SEND_SIDE;
  const sctx = small.getContext("2d");
  sctx.imageSmoothingQuality = "high";
  sctx.drawImage(pad, 0, 0, SEND_SIDE, SEND_SIDE);
  small.toBlob((png) => ask(png, { "Content-Type": "image/png" }), "image/png");
}

function readFile(file) {
  if (!file) return;
  const form = new FormData();
  form.append("file", file, file.name);
  ask(form);
}

$("read").addEventListener("click", readPad);
$("clear").addEventListener("click", () => { clearPad(); say("Cleared: draw a digit."); pad.focus(); });
$("choose").addEventListener("click", () => $("file").click());
$("file").addEventListener("change", (event) => { readFile(event.target.files[0]); event.target.value = ""; });
pad.addEventListener("keydown", (event) => {
  if (event.key === "Enter" || event.key === " ") { readPad(); event.preventDefault(); }
  if (event.key === "Escape" || event.key === "Delete" || event.key === "Backspace") { $("clear").click(); }
});

const drop = $("drop");
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  readFile(event.dataTransfer.files[0]);
});

fetch("/health")
  .then((r) => r.json())
  .then(({ model }) => {
    $("model").textContent =
      `Model: ${model.model} · sha256 ${model.sha256.slice(0, 12)}… · accepts at ${percent(model.threshold)} or more`;
  })
  .catch(() => { $("model").textContent = "Model: unknown (the server did not answer /health)"; });

clearPad();
