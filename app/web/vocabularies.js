// Saved vocabularies: list, save, edit and delete named keyterms and replacements, and offer them to the next run.
import { api, sendJson } from "./api.js";
import { formatReplacements, parseReplacements, parseTerms, syncCallOptions } from "./calls.js";
import { $, el } from "./dom.js";
import { libraryItem, libraryPanel } from "./library.js";

let vocabularies = []; // the saved vocabularies, by name

const { showError: showVocabulariesError, change } = libraryPanel("#vocabularies-error", () => loadVocabularies());

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
  const path = `/vocabularies/${encodeURIComponent(vocabulary.name)}`;
  const item = libraryItem({
    className: "voice vocabulary",
    name: vocabulary.name,
    meta: describe(vocabulary),
    editLabel: "Edit",
    fields: [
      { label: "Keyterms (one per line)", input: textArea("keyterms", vocabulary.keyterms.join("\n")) },
      {
        label: "Replacements (spelling => Spelling)",
        input: textArea("replacements", formatReplacements(vocabulary.replacements)),
      },
    ],
    onSave: async ({ keyterms, replacements }) => {
      const terms = readTerms(keyterms, replacements);
      if (terms instanceof Error) return showVocabulariesError(terms.message);
      await change(() => api(path, sendJson("PUT", terms)));
    },
    deleteMessage: `Delete ${vocabulary.name}? Transcripts can no longer name it.`,
    onDelete: () => change(() => api(path, { method: "DELETE" })),
  });
  item.dataset.name = vocabulary.name;
  return item;
}

// The keyterms and replacements typed in two textareas, as the API takes them (or the Error of a bad line).
function readTerms(keytermsText, replacementsText) {
  const replacements = parseReplacements(replacementsText);
  if (replacements instanceof Error) return replacements;
  return { keyterms: parseTerms(keytermsText), replacements };
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
