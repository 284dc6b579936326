// Saved vocabularies: list, save, edit and delete named keyterms and replacements, and offer them to the next run.
import { api, sendJson } from "./api.js";
import { formatReplacements, parseReplacements, parseTerms, syncCallOptions } from "./calls.js";
import { $, el } from "./dom.js";

let vocabularies = []; // the saved vocabularies, by name

function showVocabulariesError(message) {
  const box = $("#vocabularies-error");
  box.textContent = message || "";
  box.hidden = !message;
}

function button(text, className, accessibleName) {
  const node = el("button", { type: "button", className }, text);
  if (accessibleName) node.setAttribute("aria-label", accessibleName);
  return node;
}

const plural = (count, one) => `${count} ${one}${count === 1 ? "" : "s"}`;

export async function loadVocabularies() {
  try {
    vocabularies = await api("/vocabularies");
  } catch (error) {
    return showVocabulariesError(error.message);
  }
  $("#vocabularies").replaceChildren(...vocabularies.map(vocabularyItem));
  $("#vocabularies-empty").hidden = vocabularies.length > 0;
  renderChoices();
}

// --- the Vocabulary select of the upload form ---------------------------------------------------------------

function renderChoices() {
  const select = $("#vocabulary");
  const chosen = select.value; // kept while the list reloads, unless it was deleted
  const options = vocabularies.map((vocabulary) => el("option", { value: vocabulary.name }, vocabulary.name));
  select.replaceChildren(el("option", { value: "" }, "None"), ...options);
  select.value = vocabularies.some((vocabulary) => vocabulary.name === chosen) ? chosen : "";
  syncCallOptions();
}

// --- the list: each vocabulary, with its edit form and its delete confirmation -------------------------------

function describe(vocabulary) {
  const counts = `${plural(vocabulary.keyterms.length, "keyterm")} · ${plural(Object.keys(vocabulary.replacements).length, "replacement")}`;
  const sample = vocabulary.keyterms.slice(0, 3).join(", ");
  return sample ? `${counts} · ${sample}${vocabulary.keyterms.length > 3 ? ", …" : ""}` : counts;
}

function textArea(name, value) {
  // The default value, so that Cancel (a form reset) puts back what is saved.
  return el("textarea", { name, defaultValue: value, rows: 3, autocomplete: "off" });
}

function vocabularyItem(vocabulary) {
  const item = el("li", { className: "voice vocabulary" });
  item.dataset.name = vocabulary.name;
  const show = (part) => {
    for (const node of item.children) node.hidden = node !== part;
  };

  const editButton = button("Edit", "ghost", `Edit ${vocabulary.name}`);
  const remove = button("Delete", "ghost danger", `Delete ${vocabulary.name}`);
  const view = el(
    "div",
    { className: "voice-view" },
    el(
      "div",
      { className: "voice-text" },
      el("span", { className: "voice-name" }, vocabulary.name),
      el("span", { className: "voice-meta" }, describe(vocabulary)),
    ),
    el("div", { className: "voice-actions" }, editButton, remove),
  );

  const keyterms = textArea("keyterms", vocabulary.keyterms.join("\n"));
  const replacements = textArea("replacements", formatReplacements(vocabulary.replacements));
  const cancelEdit = button("Cancel", "ghost");
  const edit = el(
    "form",
    { className: "voice-edit", noValidate: true },
    el("label", { className: "field" }, "Keyterms (one per line)", keyterms),
    el("label", { className: "field" }, "Replacements (spelling => Spelling)", replacements),
    el("div", { className: "row-actions" }, cancelEdit, el("button", { type: "submit", className: "ghost accent" }, "Save")),
  );
  edit.setAttribute("aria-label", `Edit ${vocabulary.name}`);

  const keep = button("Keep", "ghost");
  const confirmDelete = button("Yes, delete", "ghost danger");
  const confirm = el(
    "div",
    { className: "voice-confirm" },
    el("span", {}, `Delete ${vocabulary.name}? Transcripts can no longer name it.`),
    el("div", { className: "row-actions" }, keep, confirmDelete),
  );
  confirm.setAttribute("role", "group");
  confirm.setAttribute("aria-label", `Delete ${vocabulary.name}`);

  item.append(view, edit, confirm);
  show(view);

  editButton.addEventListener("click", () => {
    show(edit);
    keyterms.focus();
  });
  cancelEdit.addEventListener("click", () => {
    edit.reset();
    show(view);
    editButton.focus();
  });
  edit.addEventListener("submit", async (event) => {
    event.preventDefault();
    const terms = readTerms(keyterms.value, replacements.value);
    if (terms instanceof Error) return showVocabulariesError(terms.message);
    await change(() => api(`/vocabularies/${encodeURIComponent(vocabulary.name)}`, sendJson("PUT", terms)));
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
    change(() => api(`/vocabularies/${encodeURIComponent(vocabulary.name)}`, { method: "DELETE" })),
  );
  return item;
}

// The keyterms and replacements typed in two textareas, as the API takes them (or the Error of a bad line).
function readTerms(keytermsText, replacementsText) {
  const replacements = parseReplacements(replacementsText);
  if (replacements instanceof Error) return replacements;
  return { keyterms: parseTerms(keytermsText), replacements };
}

// A change to the library, then the list as it now stands (or the reason it was refused).
async function change(request) {
  try {
    await request();
    showVocabulariesError("");
  } catch (error) {
    return showVocabulariesError(error.message);
  }
  await loadVocabularies();
}

async function save(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const name = form.elements.name.value.trim();
  if (!name) return showVocabulariesError("Give the vocabulary a name.");
  const terms = readTerms(form.elements.keyterms.value, form.elements.replacements.value);
  if (terms instanceof Error) return showVocabulariesError(terms.message);
  if (!terms.keyterms.length && !Object.keys(terms.replacements).length) {
    return showVocabulariesError("Give keyterms or replacements to save.");
  }

  const submit = $("#vocabulary-submit");
  submit.disabled = true;
  try {
    await change(async () => {
      await api("/vocabularies", sendJson("POST", { name, ...terms }));
      form.reset();
    });
  } finally {
    submit.disabled = false;
  }
}

$("#vocabulary-form").addEventListener("submit", save);
