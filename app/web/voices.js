// The voice library: enroll, rename and delete voices, pick the known speakers of a run, name a transcript's speaker.
import { api, sendJson } from "./api.js";
import { $, el } from "./dom.js";
import { button, libraryItem, libraryPanel } from "./library.js";

let voices = []; // the enrolled voices, by name
const picked = new Set(); // ids of the voices ticked as known speakers, kept while the list reloads
const { showError: showVoicesError, change } = libraryPanel("#voices-error", () => loadVoices());

function textInput(name, value, props = {}) {
  // The default value, so that Cancel (a form reset) puts back what is saved.
  return el("input", { type: "text", name, defaultValue: value ?? "", autocomplete: "off", ...props });
}

export async function loadVoices() {
  try {
    voices = await api("/voices");
  } catch (error) {
    return showVoicesError(error.message);
  }
  $("#voices").replaceChildren(...voices.map(voiceItem));
  $("#voices-empty").hidden = voices.length > 0;
  renderChoices();
}

// --- the list: each voice, with its rename form and its delete confirmation -------------------------------

function describe(voice) {
  const clips = voice.clips === 1 ? "1 clip" : `${voice.clips} clips`;
  const source = voice.clips ? `${clips} · ${voice.seconds.toFixed(1)} s` : "from a transcript";
  return [voice.description, source].filter(Boolean).join(" · ");
}

function voiceItem(voice) {
  const path = `/voices/${encodeURIComponent(voice.id)}`;
  const item = libraryItem({
    className: "voice",
    name: voice.name,
    meta: describe(voice),
    editLabel: "Rename",
    fields: [
      { label: "Name", input: textInput("name", voice.name, { required: true, maxLength: 64 }) },
      { label: "Description", input: textInput("description", voice.description, { maxLength: 2000 }) },
    ],
    onSave: async ({ name, description }) => {
      const changes = {};
      if (name.trim() !== voice.name) changes.name = name.trim();
      if (description.trim() !== (voice.description ?? "")) changes.description = description.trim();
      if (!Object.keys(changes).length) return false;
      if (changes.name === "") return showVoicesError("A voice needs a name.");
      await change(() => api(path, sendJson("PATCH", changes)));
    },
    deleteMessage: `Delete ${voice.name}? Recordings will no longer be named after it.`,
    onDelete: () => change(() => api(path, { method: "DELETE" })),
  });
  item.dataset.id = voice.id;
  return item;
}

async function enroll(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const name = form.elements.name.value.trim();
  const description = form.elements.description.value.trim();
  const files = [...form.elements.files.files];
  if (!name) return showVoicesError("Give the voice a name.");
  if (!files.length) return showVoicesError("Choose one or more clips of this person alone.");
  const data = new FormData();
  data.append("name", name);
  if (description) data.append("description", description);
  for (const file of files) data.append("files", file);

  const submit = $("#enroll-submit");
  submit.disabled = true;
  submit.textContent = "Enrolling…";
  try {
    await change(async () => {
      await api("/voices", { method: "POST", body: data });
      form.reset();
    });
  } finally {
    submit.disabled = false;
    submit.textContent = "Enroll";
  }
}

// --- known speakers of the next run -------------------------------------------------------------------------

function renderChoices() {
  const ids = new Set(voices.map((voice) => voice.id));
  for (const id of picked) if (!ids.has(id)) picked.delete(id);
  $("#known-field").hidden = !voices.length;
  const boxes = voices.map((voice) => {
    const box = el("input", { type: "checkbox", name: "known_speaker", value: voice.name, checked: picked.has(voice.id) });
    box.addEventListener("change", () => (box.checked ? picked.add(voice.id) : picked.delete(voice.id)));
    return el("label", { className: "check" }, box, ` ${voice.name}`);
  });
  $("#known-voices").replaceChildren(el("legend", { className: "visually-hidden" }, "Enrolled voices to name"), ...boxes);
}

// The diarize_params that name enrolled voices: every one that matches, or the ones ticked.
export function knownSpeakers() {
  if (!voices.length) return {};
  if ($("#identify-speakers").checked) return { identify_speakers: true };
  const names = voices.filter((voice) => picked.has(voice.id)).map((voice) => voice.name);
  return names.length ? { known_speakers: Object.fromEntries(names.map((name) => [name, null])) } : {};
}

// --- naming a transcript's speaker ----------------------------------------------------------------------

// "Name this speaker…" for a diarizer's label of a finished task: its voice is enrolled under the name given,
// then `onNamed(speaker, name)` relabels the transcript.
export function speakerNamer(taskId, speaker, shownAs, onNamed) {
  const open = button("Name this speaker…", "ghost small", `Name this speaker (${shownAs})`);
  const name = textInput("name", "", { required: true, maxLength: 64 });
  const cancel = button("Cancel", "ghost small");
  const save = el("button", { type: "submit", className: "ghost small accent" }, "Enroll");
  const error = el("span", { className: "inline-error", role: "alert", hidden: true });
  const form = el(
    "form",
    { className: "name-speaker", noValidate: true, hidden: true },
    el("label", {}, `Name of ${shownAs}`, name),
    save,
    cancel,
    error,
  );
  const namer = el("span", { className: "namer" }, open, form);

  open.addEventListener("click", () => {
    open.hidden = true;
    form.hidden = false;
    name.focus();
  });
  cancel.addEventListener("click", () => {
    form.reset();
    error.hidden = true;
    form.hidden = true;
    open.hidden = false;
    open.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const given = name.value.trim();
    if (!given) return name.focus();
    save.disabled = true;
    try {
      const voice = await api("/voices/from-task", sendJson("POST", { task_id: taskId, speaker, name: given }));
      namer.remove();
      onNamed(speaker, voice.name);
      loadVoices();
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    } finally {
      save.disabled = false;
    }
  });
  return namer;
}

$("#enroll-form").addEventListener("submit", enroll);
$("#identify-speakers").addEventListener("change", (event) => {
  $("#known-voices").disabled = event.target.checked; // every enrolled voice is looked for
});
