// Live captions: the microphone streamed to /v1/realtime (OpenAI's Realtime protocol, transcription intent) as
// 24 kHz 16-bit PCM; each turn's text shown as it is heard, then replaced by its finished transcript.
import { call, storedKey } from "./api.js";
import { $, el } from "./dom.js";

const RATE = 24_000; // what the protocol's audio/pcm is
const CHUNK = RATE / 10; // 100 ms of samples a message
const FLUSH_MS = 10_000; // how long Stop waits for the turn being spoken to be transcribed

// Mono float audio at the capture rate -> 16-bit samples at 24 kHz, in CHUNK-sized pieces. Each output sample
// averages the input it spans (a box filter, enough to keep speech from aliasing). Also runs inside the
// AudioWorklet, from its source text: it must not use anything outside itself.
function Downsampler(inRate, outRate, chunk, emit) {
  const step = inRate / outRate;
  let position = 0; // where the next output sample starts, in input samples since `sum` began
  let sum = 0;
  let count = 0;
  let out = new Int16Array(chunk);
  let filled = 0;
  this.push = (input) => {
    for (let i = 0; i < input.length; i++) {
      sum += input[i];
      count += 1;
      if (count >= position + step - 1e-9) {
        const value = Math.max(-1, Math.min(1, sum / count));
        out[filled++] = value < 0 ? value * 0x8000 : value * 0x7fff;
        position = position + step - count; // the fraction of an input sample carried into the next
        sum = 0;
        count = 0;
        if (filled === chunk) {
          emit(out);
          out = new Int16Array(chunk);
          filled = 0;
        }
      }
    }
  };
}

const WORKLET = `${Downsampler.toString()}
registerProcessor("pcm24", class extends AudioWorkletProcessor {
  constructor() {
    super();
    this.down = new Downsampler(sampleRate, ${RATE}, ${CHUNK}, (pcm) => this.port.postMessage(pcm, [pcm.buffer]));
  }
  process(inputs) {
    const channels = inputs[0];
    if (channels && channels.length) {
      const mono = channels.length === 1 ? channels[0] : channels[0].map((v, i) => (v + channels[1][i]) / 2);
      this.down.push(mono);
    }
    return true;
  }
});`;

const startButton = $("#live-start");
const stopButton = $("#live-stop");
const captions = $("#live-captions");
const download = $("#live-download");
let session = null; // the running session, null when off
let downloadUrl = null;

function setState(state, label, message = "") {
  const badge = $("#live-state");
  badge.dataset.state = state;
  badge.className = `badge ${state === "listening" ? "processing" : state === "failed" ? "failed" : ""}`;
  badge.textContent = label;
  $("#live-status").textContent = message;
  startButton.disabled = state !== "idle" && state !== "failed";
  stopButton.disabled = state !== "listening" && state !== "connecting";
}

function showError(message) {
  const box = $("#live-error");
  box.textContent = message || "";
  box.hidden = !message;
}

function base64(pcm) {
  const bytes = new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

// --- captions -------------------------------------------------------------

function caption(id) {
  let line = captions.querySelector(`li[data-item="${CSS.escape(id)}"]`);
  if (!line) {
    line = el("li", { className: "caption pending" });
    line.dataset.item = id;
    captions.append(line);
  }
  return line;
}

function finishedText() {
  return [...captions.querySelectorAll("li.caption.done")].map((line) => line.textContent.trim()).join("\n");
}

function refreshDownload() {
  const text = finishedText();
  if (downloadUrl) URL.revokeObjectURL(downloadUrl);
  downloadUrl = text ? URL.createObjectURL(new Blob([`${text}\n`], { type: "text/plain" })) : null;
  download.hidden = !text;
  if (downloadUrl) download.href = downloadUrl;
  else download.removeAttribute("href");
}

function onEvent(event) {
  switch (event.type) {
    case "input_audio_buffer.speech_started":
      session.open = event.item_id;
      caption(event.item_id);
      break;
    case "input_audio_buffer.committed":
      if (session.open === event.item_id) session.open = null;
      caption(event.item_id);
      break;
    case "conversation.item.input_audio_transcription.delta": {
      const line = caption(event.item_id);
      if (line.classList.contains("pending")) line.textContent += event.delta;
      break;
    }
    case "conversation.item.input_audio_transcription.completed": {
      const line = caption(event.item_id);
      const text = (event.transcript || "").trim();
      if (text) {
        line.textContent = text;
        line.className = "caption done";
      } else {
        line.remove(); // nothing was said after all
      }
      refreshDownload();
      session.finished?.(event.item_id);
      break;
    }
    case "conversation.item.input_audio_transcription.failed":
      caption(event.item_id).className = "caption failed";
      showError(event.error?.message || "A turn could not be transcribed.");
      session.finished?.(event.item_id);
      break;
    case "error":
      showError(event.error?.message || "The server reported an error.");
      session.finished?.(null);
      break;
    default:
      break;
  }
}

// --- the session ----------------------------------------------------------

// A keyed server refuses the socket before it opens, with no reason a browser can read: a keyed call first
// asks for the key when none is kept (or it was refused).
async function keyReady() {
  const response = await call("/v1/models");
  return response.status !== 401;
}

function connect() {
  const key = storedKey();
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const protocols = key ? ["realtime", `openai-insecure-api-key.${key}`] : ["realtime"];
  return new WebSocket(`${scheme}//${location.host}/v1/realtime?intent=transcription`, protocols);
}

function configure(socket) {
  const transcription = { model: $("#model")?.value || "whisper-1" };
  const language = $("#language")?.value;
  if (language) transcription.language = language;
  const ready = new Promise((resolve, reject) => {
    socket.addEventListener("close", () => reject(new Error("The server closed the connection.")), { once: true });
    socket.addEventListener("message", function updated(message) {
      const event = JSON.parse(message.data);
      if (event.type === "session.updated") {
        socket.removeEventListener("message", updated);
        resolve();
      } else if (event.type === "error") {
        reject(new Error(event.error?.message || "The session was refused."));
      }
    });
  });
  socket.send(
    JSON.stringify({
      type: "session.update",
      session: {
        type: "transcription",
        audio: {
          input: {
            format: { type: "audio/pcm", rate: RATE },
            transcription,
            turn_detection: { type: "server_vad" },
          },
        },
      },
    }),
  );
  return ready;
}

// The microphone as 100 ms PCM messages: an AudioWorklet where there is one, else a ScriptProcessor.
async function capture(context, stream, send) {
  const source = context.createMediaStreamSource(stream);
  if (context.audioWorklet) {
    const url = URL.createObjectURL(new Blob([WORKLET], { type: "text/javascript" }));
    try {
      await context.audioWorklet.addModule(url);
    } finally {
      URL.revokeObjectURL(url);
    }
    const node = new AudioWorkletNode(context, "pcm24", { numberOfOutputs: 0 });
    node.port.onmessage = (message) => send(message.data);
    source.connect(node);
    return;
  }
  const down = new Downsampler(context.sampleRate, RATE, CHUNK, send);
  const node = context.createScriptProcessor(4096, 1, 1);
  node.onaudioprocess = (event) => down.push(event.inputBuffer.getChannelData(0));
  source.connect(node);
  node.connect(context.destination); // a ScriptProcessor only runs when connected; it outputs silence
}

async function start() {
  showError("");
  if (!navigator.mediaDevices?.getUserMedia) {
    return showError("This browser gives no microphone here (it needs HTTPS or localhost).");
  }
  setState("connecting", "connecting", "Connecting…");
  const current = { socket: null, stream: null, context: null, open: null, finished: null };
  session = current;
  try {
    if (!(await keyReady())) throw new Error("This server needs an API key.");
    const socket = connect();
    current.socket = socket;
    await new Promise((resolve, reject) => {
      socket.addEventListener("open", resolve, { once: true });
      socket.addEventListener("error", () => reject(new Error("Could not connect for live transcription.")), {
        once: true,
      });
    });
    socket.addEventListener("message", (message) => session === current && onEvent(JSON.parse(message.data)));
    socket.addEventListener("close", () => session === current && !current.stopping && stop(true));
    await configure(socket);
    if (session !== current) return; // stopped meanwhile
    current.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    if (session !== current) return current.stream.getTracks().forEach((track) => track.stop());
    current.context = new AudioContext();
    await capture(current.context, current.stream, (pcm) => {
      if (socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ type: "input_audio_buffer.append", audio: base64(pcm) }));
      }
    });
    if (session !== current) return release(current);
    setState("listening", "listening", "Listening…");
  } catch (error) {
    if (session !== current) return;
    release(current);
    session = null;
    setState("failed", "off", "");
    showError(error.name === "NotAllowedError" ? "The microphone was not allowed." : error.message);
  }
}

function release(current) {
  current.stream?.getTracks().forEach((track) => track.stop());
  current.context?.close().catch(() => {});
  current.stopping = true;
  if (current.socket && current.socket.readyState <= WebSocket.OPEN) current.socket.close(1000);
}

// Stop: the microphone goes off; a turn still being spoken is committed and its text awaited; the socket closes.
async function stop(lost = false) {
  const current = session;
  if (!current) return;
  current.stream?.getTracks().forEach((track) => track.stop());
  current.context?.close().catch(() => {});
  current.stream = current.context = null;
  if (!lost && current.open && current.socket?.readyState === WebSocket.OPEN) {
    setState("stopping", "stopping", "Finishing the last turn…");
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, FLUSH_MS);
      current.finished = () => {
        clearTimeout(timer);
        resolve();
      };
      current.socket.addEventListener("close", resolve, { once: true });
      current.socket.send(JSON.stringify({ type: "input_audio_buffer.commit" }));
    });
  }
  release(current);
  captions.querySelectorAll("li.caption.pending").forEach((line) => line.textContent.trim() || line.remove());
  if (session === current) session = null;
  setState("idle", "off", lost ? "The connection closed." : "Stopped.");
  refreshDownload();
}

startButton.addEventListener("click", () => {
  captions.replaceChildren();
  refreshDownload();
  start();
});
stopButton.addEventListener("click", () => stop());
