// The segments a running task has decoded so far, shown as they come; the full result replaces them.
import { $, clock, el } from "./dom.js";

export function showPartial(segments) {
  const lines = (segments || []).map((segment) =>
    el("p", {}, el("span", { className: "time" }, clock(segment.start || 0)), segment.text.trim()),
  );
  $("#partial").hidden = !lines.length;
  // The page's placeholder gives way to the text; with no text it is back unless a result is shown.
  $("#result-empty").hidden = lines.length > 0 || !$("#result").hidden;
  $("#partial-text").replaceChildren(...lines);
}
