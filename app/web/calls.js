// The upload form's call options: channels, keyterms, replacements, a saved vocabulary and redaction, sent as
// the JSON text form fields of the transcribing routes (docs/call-recordings.md). Only what was set is sent.
import { $ } from "./dom.js";

export const REPLACEMENT_ARROW = "=>";

// Keyterms typed one per line: each line trimmed, blank lines left out, each term once.
export function parseTerms(text) {
  return [...new Set(text.split("\n").map((line) => line.trim()).filter(Boolean))];
}

// Replacements typed `spelling => Spelling`, one per line: an object, or an Error naming the first bad line.
export function parseReplacements(text) {
  const replacements = {};
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (!line) continue;
    const at = line.indexOf(REPLACEMENT_ARROW);
    const from = at < 0 ? "" : line.slice(0, at).trim();
    const to = at < 0 ? "" : line.slice(at + REPLACEMENT_ARROW.length).trim();
    if (!from || !to) {
      return new Error(`Replacement line ${index + 1} ("${line}") needs a spelling on each side of ${REPLACEMENT_ARROW}.`);
    }
    replacements[from] = to;
  }
  return replacements;
}

// An object of replacements as the textareas show them.
export const formatReplacements = (replacements) =>
  Object.entries(replacements || {})
    .map(([from, to]) => `${from} ${REPLACEMENT_ARROW} ${to}`)
    .join("\n");

// Comma-separated channel names, in channel order.
const parseNames = (text) => text.split(",").map((name) => name.trim()).filter(Boolean);

// Add the call options set in the form to `data`; a message when one cannot be read, else null.
export function appendCallOptions(data) {
  if ($("#multichannel").checked) {
    data.append("multichannel", "true");
    const names = parseNames($("#channel-names").value);
    if (names.length) data.append("channel_names", JSON.stringify(names));
    if ($("#diarize-channels").checked) data.append("diarize_channels", "true");
  }
  const keyterms = parseTerms($("#keyterms").value);
  if (keyterms.length) data.append("keyterms", JSON.stringify(keyterms));
  const replacements = parseReplacements($("#replacements").value);
  if (replacements instanceof Error) return replacements.message;
  if (Object.keys(replacements).length) data.append("replacements", JSON.stringify(replacements));
  const vocabulary = $("#vocabulary").value;
  if (vocabulary) data.append("vocabulary", vocabulary);
  const redact = [...document.querySelectorAll("#redact-kinds input:checked")].map((box) => box.value);
  if (redact.length) data.append("redact", JSON.stringify(redact));
  if (redact.length && $("#redact-audio").checked) data.append("redact_audio", "true");
  return null;
}

// How many call options are set, shown on the collapsed group so that none is sent unseen.
function countSet() {
  const set = [
    $("#multichannel").checked,
    parseTerms($("#keyterms").value).length > 0,
    $("#replacements").value.trim() !== "",
    $("#vocabulary").value !== "",
    document.querySelector("#redact-kinds input:checked") !== null,
    !$("#redact-audio").disabled && $("#redact-audio").checked,
  ];
  return set.filter(Boolean).length;
}

export function syncCallOptions() {
  // Names and diarization within a channel only mean something per channel.
  $("#channel-names").disabled = $("#diarize-channels").disabled = !$("#multichannel").checked;
  // Only redacted words are bleeped.
  $("#redact-audio").disabled = document.querySelector("#redact-kinds input:checked") === null;
  const count = countSet();
  $("#call-options-count").textContent = count ? `${count} set` : "";
}

$("#call-options").addEventListener("input", syncCallOptions);
$("#call-options").addEventListener("change", syncCallOptions);
syncCallOptions();
