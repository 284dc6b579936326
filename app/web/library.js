// What the library panels (Voices, Vocabularies) share: the error line and the changes that reload the list, and
// each item of the list with its view, its inline edit form and its delete confirmation.
import { $, el } from "./dom.js";

export function button(text, className, accessibleName) {
  const node = el("button", { type: "button", className }, text);
  if (accessibleName) node.setAttribute("aria-label", accessibleName);
  return node;
}

// The panel's error line (`selector`), and `change(request)`: a change to the library, then the list as it now
// stands from `reload()` (or the reason it was refused).
export function libraryPanel(selector, reload) {
  const showError = (message) => {
    const box = $(selector);
    box.textContent = message || "";
    box.hidden = !message;
  };
  const change = async (request) => {
    try {
      await request();
      showError("");
    } catch (error) {
      return showError(error.message);
    }
    await reload();
  };
  return { showError, change };
}

// One item of a library list, one of its three parts shown at a time:
// - the view: `name`, `meta`, and the edit (`editLabel`, e.g. "Rename") and Delete buttons;
// - the edit form: `fields` ([{ label, input }], the inputs' default values being what is saved, so that Cancel
//   puts them back), saved by `onSave(values)` with the typed values by input name; `false` from it means there
//   was nothing to save, and the view comes back;
// - the delete confirmation: `deleteMessage`, Keep, and "Yes, delete", which calls `onDelete()`.
export function libraryItem({ className, name, meta, editLabel, fields, onSave, deleteMessage, onDelete }) {
  const item = el("li", { className });
  const show = (part) => {
    for (const node of item.children) node.hidden = node !== part;
  };

  const editButton = button(editLabel, "ghost", `${editLabel} ${name}`);
  const remove = button("Delete", "ghost danger", `Delete ${name}`);
  const view = el(
    "div",
    { className: "voice-view" },
    el("div", { className: "voice-text" }, el("span", { className: "voice-name" }, name), el("span", { className: "voice-meta" }, meta)),
    el("div", { className: "voice-actions" }, editButton, remove),
  );

  const cancelEdit = button("Cancel", "ghost");
  const edit = el(
    "form",
    { className: "voice-edit", noValidate: true },
    ...fields.map(({ label, input }) => el("label", { className: "field" }, label, input)),
    el("div", { className: "row-actions" }, cancelEdit, el("button", { type: "submit", className: "ghost accent" }, "Save")),
  );
  edit.setAttribute("aria-label", `${editLabel} ${name}`);

  const keep = button("Keep", "ghost");
  const confirmDelete = button("Yes, delete", "ghost danger");
  const confirm = el(
    "div",
    { className: "voice-confirm" },
    el("span", {}, deleteMessage),
    el("div", { className: "row-actions" }, keep, confirmDelete),
  );
  confirm.setAttribute("role", "group");
  confirm.setAttribute("aria-label", `Delete ${name}`);

  item.append(view, edit, confirm);
  show(view);

  editButton.addEventListener("click", () => {
    show(edit);
    fields[0].input.focus();
  });
  cancelEdit.addEventListener("click", () => {
    edit.reset();
    show(view);
    editButton.focus();
  });
  edit.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(fields.map(({ input }) => [input.name, input.value]));
    if ((await onSave(values)) === false) show(view);
  });
  remove.addEventListener("click", () => {
    show(confirm);
    keep.focus();
  });
  keep.addEventListener("click", () => {
    show(view);
    remove.focus();
  });
  confirmDelete.addEventListener("click", () => onDelete());
  return item;
}
