// The voice library: enroll, rename and delete voices, pick the known speakers of a run, name a transcript's speaker.
import { api, sendJson } from "./api.js";
import { $, el } from "./dom.js";

let voices = []; // the enrolled voices, by name
const picked = new Set(); // ids of the voices ticked as known speakers, kept while the list reloads

function showVoicesError(message) {
  const box = $("#voices-error");
  box.textContent = message || "";
  box.hidden = !message;
}

function button(text, className, accessibleName) {
  const node = el("button", { type: "button", className }, text);
  if (accessibleName) node.setAttribute("aria-label", accessibleName);
  return node;
}

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
  const item = el("li", { className: "voice" });
  item.dataset.id = voice.id;
  const show = (part) => {
    for (const node of item.children) node.hidden = node !== part;
  };

  const rename = button("Rename", "ghost", `Rename ${voice.name}`);
  const remove = button("Delete", "ghost danger", `Delete ${voice.name}`);
  const view = el(
    "div",
    { className: "voice-view" },
    el("div", { className: "voice-text" }, el("span", { className: "voice-name" }, voice.name), el("span", { className: "voice-meta" }, describe(voice))),
    el("div", { className: "voice-actions" }, rename, remove),
  );

  const name = textInput("name", voice.name, { required: true, maxLength: 64 });
  const description = textInput("description", voice.description, { maxLength: 2000 });
  const cancelEdit = button("Cancel", "ghost");
  const edit = el(
    "form",
    { className: "voice-edit", noValidate: true },
    el("label", { className: "field" }, "Name", name),
    el("label", { className: "field" }, "Description", description),
    el("div", { className: "row-actions" }, cancelEdit, el("button", { type: "submit", className: "ghost accent" }, "Save")),
  );
  edit.setAttribute("aria-label", `Rename ${voice.name}`);

  const keep = button("Keep", "ghost");
  const confirmDelete = button("Yes, delete", "ghost danger");
  const confirm = el(
    "div",
    { className: "voice-confirm" },
    el("span", {}, `Delete ${voice.name}? Recordings will no longer be named after it.`),
    el("div", { className: "row-actions" }, keep, confirmDelete),
  );
  confirm.setAttribute("role", "group");
  confirm.setAttribute("aria-label", `Delete ${voice.name}`);

  item.append(view, edit, confirm);
  show(view);

  rename.addEventListener("click", () => {
    show(edit);
    name.focus();
  });
  cancelEdit.addEventListener("click", () => {
    edit.reset();
    show(view);
    rename.focus();
  });
  edit.addEventListener("submit", async (event) => {
    event.preventDefault();
    const changes = {};
    if (name.value.trim() !== voice.name) changes.name = name.value.trim();
    if (description.value.trim() !== (voice.description ?? "")) changes.description = description.value.trim();
    if (!Object.keys(changes).length) return show(view);
    if (changes.name === "") return showVoicesError("A voice needs a name.");
    await change(() => api(`/voices/${encodeURIComponent(voice.id)}`, sendJson("PATCH", changes)));
  });
  remove.addEventListener("click", () => {
    show(confirm);
    keep.focus();
  });
  keep.addEventListener("click", () => {
    show(view);
    remove.focus();
  });
  confirmDelete.addEventListener("click", () =>
    change(() => api(`/voices/${encodeURIComponent(voice.id)}`, { method: "DELETE" })),
  );
  return item;
}

// A change to the library, then the list as it now stands (or the reason it was refused).
async function change(request) {
  try {
    await request();
    showVoicesError("");
  } catch (error) {
    return showVoicesError(error.message);
  }
  await loadVoices();
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
