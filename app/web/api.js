// Calls to this server, with the API key a keyed server asks for.
import { $ } from "./dom.js";

export class ApiError extends Error {}

// A server with API_KEYS answers 401 without one: ask once, keep it in this browser, send it on every call.
const KEY_STORE = "whisperx.apiKey";
let keyPrompt = null; // one prompt shared by the calls refused meanwhile

function askForKey(refused) {
  keyPrompt ??= new Promise((resolve) => {
    const dialog = $("#key-dialog");
    $("#key-message").textContent = refused ? "That key was refused; enter a valid API key." : "This server needs an API key.";
    $("#api-key").value = "";
    dialog.returnValue = "";
    dialog.addEventListener(
      "close",
      () => {
        keyPrompt = null;
        resolve(dialog.returnValue === "ok" ? $("#api-key").value.trim() : null);
      },
      { once: true },
    );
    dialog.showModal();
  });
  return keyPrompt;
}

// fetch() with the stored key; a 401 asks for a key and tries again (until the prompt is cancelled).
export async function call(path, options = {}) {
  for (;;) {
    const key = localStorage.getItem(KEY_STORE);
    const headers = new Headers(options.headers);
    if (key) headers.set("Authorization", `Bearer ${key}`);
    const response = await fetch(path, { ...options, headers });
    if (response.status !== 401) return response;
    const given = await askForKey(Boolean(key));
    if (!given) return response;
    localStorage.setItem(KEY_STORE, given);
  }
}

// The error a refused call's answer carries ({"error": {"code", "message"}}), else its status.
export async function refusal(response) {
  const body = await response.json().catch(() => null);
  return new ApiError(body?.error?.message || `${response.status} ${response.statusText}`);
}

// A call's JSON answer; a refusal is thrown as an ApiError.
export async function api(path, options) {
  const response = await call(path, options);
  if (!response.ok) throw await refusal(response);
  return response.json().catch(() => null);
}

// A JSON body for api(): `api(path, sendJson("PATCH", {...}))`.
export const sendJson = (method, body) => ({
  method,
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

$("#key-cancel").addEventListener("click", () => $("#key-dialog").close(""));

// The key this browser keeps for the server (null until one was asked for).
export const storedKey = () => localStorage.getItem(KEY_STORE);
