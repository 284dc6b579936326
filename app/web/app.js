// The transcript page: submit audio, follow the task, show the speaker-coloured transcript.
import { api, call, refusal } from "./api.js";
import { $, clock, el } from "./dom.js";
import { appendCallOptions } from "./calls.js";
import { showPartial } from "./partial.js";
import { loadVocabularies } from "./vocabularies.js";
import { knownSpeakers, loadVoices, speakerNamer } from "./voices.js";

const form = $("#job-form");
const player = $("#player");
const transcript = $("#transcript");
const statusBox = $("#status");

const POLL_MS = 1000;
const ACTIVE = new Set(["queued", "processing"]);
const STAGES = { transcribe: "Transcribing", align: "Aligning words", diarize: "Finding speakers", combine: "Assigning speakers" };
const audioFor = new Map(); // task id -> audio source; uploads are only playable in the tab that sent them
let current = null; // the task id shown
let pollTimer = null;
const LOW_CONFIDENCE = 0.5;
const DIARIZER_LABEL = /^SPEAKER_\d+$/;
let words = []; // [{start, end, el}] sorted by start, for the highlight

function showError(message) {
  const box = $("#error");
  box.textContent = message || "";
  box.hidden = !message;
}

// --- submitting -----------------------------------------------------------

function sourceKind() {
  return form.elements.source.value;
}

function syncSource() {
  const kind = sourceKind();
  $("#file-field").hidden = kind !== "file";
  $("#url-field").hidden = kind !== "url";
}

function jsonField(data, name, values) {
  const kept = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== "" && v != null));
  if (Object.keys(kept).length) data.append(name, JSON.stringify(kept));
}

async function submit(event) {
  event.preventDefault();
  showError("");
  const data = new FormData();
  const kind = sourceKind();
  let audioSource;
  if (kind === "file") {
    const file = $("#file").files[0];
    if (!file) return showError("Choose a file to transcribe.");
    data.append("file", file);
    audioSource = URL.createObjectURL(file);
  } else {
    const url = $("#url").value.trim();
    if (!/^https?:\/\//i.test(url)) return showError("Enter an http(s) URL.");
    data.append("url", url);
    audioSource = url;
  }
  const minSpeakers = $("#min-speakers").value;
  const maxSpeakers = $("#max-speakers").value;
  jsonField(data, "model_params", { model: $("#model").value, language: $("#language").value });
  jsonField(data, "diarize_params", {
    min_speakers: minSpeakers && Number(minSpeakers),
    max_speakers: maxSpeakers && Number(maxSpeakers),
    ...knownSpeakers(),
  });
  const problem = appendCallOptions(data);
  if (problem) return showError(problem);

  $("#submit").disabled = true;
  setStatus("submitting", "Uploading…", 0);
  try {
    const route = kind === "file" ? "/speech-to-text" : "/speech-to-text-url";
    const accepted = await api(route, { method: "POST", body: data });
    audioFor.set(accepted.identifier, audioSource);
    openTask(accepted.identifier);
    loadTasks();
  } catch (error) {
    setStatus("failed", "Not submitted", 0);
    showError(error.message);
  } finally {
    $("#submit").disabled = false;
  }
}

// --- following a task -----------------------------------------------------

function setStatus(state, text, progress) {
  statusBox.hidden = false;
  statusBox.dataset.state = state;
  $("#status-text").textContent = text;
  $("#status-percent").textContent = ACTIVE.has(state) ? `${Math.round(progress * 100)}%` : "";
  $("#progress").value = progress;
}

function openTask(id) {
  current = id;
  clearTimeout(pollTimer);
  history.replaceState(null, "", `#task=${encodeURIComponent(id)}`);
  showResult(false);
  poll();
}

async function poll() {
  const id = current;
  let task;
  try {
    task = await api(`/task/${encodeURIComponent(id)}`);
  } catch (error) {
    if (id !== current) return;
    setStatus("failed", "Could not load the task", 0);
    return showError(error.message);
  }
  if (id !== current) return; // another task was opened meanwhile
  if (ACTIVE.has(task.status)) {
    const stage = STAGES[task.stage] || (task.status === "queued" ? "Queued" : "Working");
    setStatus(task.status, `${stage}…`, task.progress || 0);
    showPartial(task.partial);
    pollTimer = setTimeout(poll, POLL_MS);
    return;
  }
  showPartial(null);
  loadTasks();
  if (task.status === "completed") {
    setStatus("completed", task.duration ? `Done in ${Math.round(task.duration)} s` : "Done", 1);
    showError("");
    renderResult(task);
  } else {
    setStatus(task.status, task.status === "cancelled" ? "Cancelled" : "Failed", task.progress || 0);
    showError(task.error_detail?.message || task.error || `The task was ${task.status}.`);
  }
}

// --- the transcript -------------------------------------------------------

function speakerOrder(segments) {
  const order = [];
  for (const segment of segments) {
    for (const word of segment.words?.length ? segment.words : [segment]) {
      const speaker = word.speaker || segment.speaker;
      if (speaker && !order.includes(speaker)) order.push(speaker);
    }
  }
  return order;
}

// Consecutive words of one speaker form a turn, whatever the segment boundaries.
function turns(segments) {
  const result = [];
  for (const segment of segments) {
    const segmentWords = segment.words?.length ? segment.words : [{ word: segment.text, start: segment.start, end: segment.end }];
    for (const word of segmentWords) {
      const speaker = word.speaker || segment.speaker || result.at(-1)?.speaker || null;
      let turn = result.at(-1);
      if (!turn || turn.speaker !== speaker) {
        turn = { speaker, start: word.start ?? segment.start, words: [] };
        result.push(turn);
      }
      turn.words.push(word);
    }
  }
  return result;
}

function renderResult(task) {
  const result = task.result || {};
  const segments = result.segments || [];
  const order = speakerOrder(segments);
  // Diarizer labels read "Speaker 1", "Speaker 2"…; a speaker named after an enrolled voice keeps its name.
  const labels = order.filter((speaker) => DIARIZER_LABEL.test(speaker));
  const label = (speaker) =>
    !speaker ? "Unknown speaker" : DIARIZER_LABEL.test(speaker) ? `Speaker ${labels.indexOf(speaker) + 1}` : speaker;
  const colour = (speaker) => (speaker ? `spk-${order.indexOf(speaker) % 8}` : "spk-none");

  const stem = (task.file_name || task.identifier).replace(/\.[^.]+$/, "");
  for (const link of document.querySelectorAll(".downloads a[data-format]")) {
    const format = link.dataset.format;
    link.href = `/task/${encodeURIComponent(task.identifier)}/result?format=${format}`;
    link.download = `${stem}.${format}`;
  }
  // A task run with `redact_audio` kept its audio with the redacted words bleeped.
  const bleeped = $("#redacted-audio");
  bleeped.hidden = !result.redacted_audio;
  if (result.redacted_audio) {
    bleeped.href = result.redacted_audio.url;
    bleeped.download = `${stem}.redacted.flac`;
  }
  const meta = [task.file_name || task.url, result.language || task.language, task.audio_duration && clock(task.audio_duration)];
  $("#result-meta").textContent = meta.filter(Boolean).join(" · ");

  const chip = (speaker) => {
    const node = el("span", { className: `chip ${colour(speaker)}`, title: speaker || "" }, label(speaker));
    if (speaker) node.dataset.speaker = speaker;
    return node;
  };
  $("#speakers").replaceChildren(
    ...order.map((speaker) => {
      const item = el("li", {}, chip(speaker));
      // A label can be named: its voice is enrolled from this task, and later runs can name it.
      if (DIARIZER_LABEL.test(speaker)) item.append(speakerNamer(task.identifier, speaker, label(speaker), relabel));
      return item;
    }),
  );

  words = [];
  const blocks = turns(segments).map((turn) => {
    const text = el("p", { className: "turn-text" });
    for (const word of turn.words) {
      const timed = Number.isFinite(word.start);
      // The decoder's probability of the word (else the aligner's score): unsure words are shaded for review.
      const confidence = word.probability ?? word.score;
      const unsure = confidence < LOW_CONFIDENCE;
      const className = `${timed ? "word" : "word untimed"}${unsure ? " unsure" : ""}`;
      const title = Number.isFinite(confidence) ? `confidence ${Math.round(confidence * 100)} %` : "";
      const span = el("span", { className, title }, word.word.trim());
      if (timed) {
        span.dataset.start = word.start;
        words.push({ start: word.start, end: word.end ?? word.start, el: span });
      }
      text.append(span, " ");
    }
    const seek = el("button", { type: "button", className: "time", title: "Play from here" }, clock(turn.start || 0));
    seek.dataset.start = turn.start || 0;
    const head = el("div", { className: "turn-head" }, chip(turn.speaker), seek);
    return el("article", { className: `turn ${colour(turn.speaker)}`, title: turn.speaker || "" }, head, text);
  });
  words.sort((a, b) => a.start - b.start);
  transcript.replaceChildren(...blocks);
  if (!segments.length) transcript.replaceChildren(el("p", { className: "meta" }, "No speech was found."));

  const source = audioFor.get(task.identifier) || task.url;
  $("#no-audio").hidden = Boolean(source);
  player.hidden = !source;
  if (source && player.getAttribute("src") !== source) player.src = source;
  if (!source) player.removeAttribute("src");
  showResult(true);
}

// A speaker just named from this transcript: its labels read the name.
function relabel(speaker, name) {
  for (const node of document.querySelectorAll("#result .chip[data-speaker]")) {
    if (node.dataset.speaker === speaker) node.textContent = name;
  }
}

function showResult(shown) {
  $("#result").hidden = !shown;
  $("#downloads").hidden = !shown;
  $("#result-empty").hidden = shown;
  if (!shown) player.pause();
}

function seekTo(seconds) {
  if (!player.getAttribute("src")) return;
  player.currentTime = seconds;
  player.play().catch(() => {}); // autoplay refusals leave the player paused at the word
  highlight();
}

let highlighted = null;
function highlight() {
  const t = player.currentTime;
  // The last word starting at or before t (binary search: transcripts can hold thousands of words).
  let lo = 0;
  let hi = words.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (words[mid].start <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const word = found >= 0 && t <= words[found].end + 0.25 ? words[found].el : null;
  if (word === highlighted) return;
  highlighted?.classList.remove("current");
  word?.classList.add("current");
  highlighted = word;
}

function followPlayback() {
  highlight();
  if (!player.paused) requestAnimationFrame(followPlayback);
}

// Downloads go through fetch() so that they carry the key; the browser saves the blob under the link's name.
async function download(event) {
  event.preventDefault();
  const link = event.currentTarget;
  try {
    const response = await call(link.getAttribute("href"));
    if (!response.ok) throw await refusal(response);
    const url = URL.createObjectURL(await response.blob());
    const save = el("a", { href: url, download: link.download, hidden: true });
    document.body.append(save);
    save.click();
    save.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (error) {
    showError(error.message);
  }
}

// --- past tasks -----------------------------------------------------------

async function loadTasks() {
  let page;
  try {
    page = await api("/task/all?page_size=20");
  } catch (error) {
    return showError(error.message);
  }
  const items = page.tasks.map((task) => {
    const name = task.file_name || task.url || task.identifier;
    const when = new Date(task.created_at).toLocaleString();
    const open = el(
      "button",
      { type: "button", className: "task-open", title: `Show task ${task.identifier}` },
      el("span", { className: "task-name" }, name),
      el("span", { className: "task-when" }, `${when} · ${task.task_type.replace(/_/g, " ")}`),
    );
    open.addEventListener("click", () => openTask(task.identifier));
    const badge = el("span", { className: `badge ${task.status}` }, task.status);
    const item = el("li", { className: task.identifier === current ? "selected" : "" }, open, badge);
    item.dataset.id = task.identifier;
    item.dataset.status = task.status;
    return item;
  });
  $("#tasks").replaceChildren(...items);
  $("#tasks-empty").hidden = items.length > 0;
}

async function loadModels() {
  try {
    const { data } = await api("/v1/models");
    // "whisper-1" is the OpenAI alias of the server default, already offered as "Default".
    const names = data.map((m) => m.id).filter((id) => id !== "whisper-1");
    $("#model").append(...names.map((name) => el("option", { value: name }, name)));
  } catch {
    // the server default still works
  }
}

// --- wiring ---------------------------------------------------------------

form.addEventListener("submit", submit);
form.addEventListener("change", (event) => event.target.name === "source" && syncSource());
transcript.addEventListener("click", (event) => {
  const target = event.target.closest("[data-start]");
  if (target) seekTo(Number(target.dataset.start));
});
player.addEventListener("play", followPlayback);
player.addEventListener("seeked", highlight);
player.addEventListener("timeupdate", highlight);
$("#refresh").addEventListener("click", loadTasks);
for (const link of document.querySelectorAll(".downloads a")) link.addEventListener("click", download);

syncSource();
loadModels();
loadTasks();
loadVoices();
loadVocabularies();
const fromHash = new URLSearchParams(location.hash.slice(1)).get("task");
if (fromHash) openTask(fromHash);
