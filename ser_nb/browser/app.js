// ser_nb in the browser: the served page's answers computed on this device, nothing uploaded.
// Each step ports a Python function; the comment names it. Needs onnxruntime-web (`ort`) loaded.
const SR = 16000, VAD_FRAME = 512, VAD_CONTEXT = 64;
const ser = {config: null, model: null, vad: null};

async function serLoad(base, headers = {}) {  // config.json, then the model and silero VAD
  if (ser.model) return ser;
  ser.config = await (await fetch(base + "config.json")).json();
  ort.env.wasm.numThreads = 1;  // no worker threads: any static host, no isolation headers
  ort.env.wasm.wasmPaths = new URL(base + "ort/", location.href).href;
  const options = {executionProviders: ["wasm"]};
  ser.vad = await ort.InferenceSession.create(base + ser.config.files.vad, options);
  const r = await fetch(base + ser.config.files.model, {headers});  // with the service's token
  if (!r.ok) throw new Error(r.status === 401 ? "the model needs the API token: enter it, " +
    "then turn this on again" : `${ser.config.files.model}: HTTP ${r.status}`);
  ser.model = await ort.InferenceSession.create(new Uint8Array(await r.arrayBuffer()), options);
  return ser;
}

async function decode(blob) {  // ser_nb.data.load_audio: mono (mean of channels) at 16 kHz
  const audio = await new OfflineAudioContext(1, 1, SR).decodeAudioData(await blob.arrayBuffer());
  const y = new Float32Array(audio.length);
  for (let c = 0; c < audio.numberOfChannels; c++) {
    const x = audio.getChannelData(c);
    for (let i = 0; i < y.length; i++) y[i] += x[i]/audio.numberOfChannels;
  }
  return y;
}

function silenceReason(y) {  // ser_nb.data.silence_reason
  let peak = 0, mean = 0, swing = 0;
  for (const x of y) { peak = Math.max(peak, Math.abs(x)); mean += x/y.length; }
  for (const x of y) swing = Math.max(swing, Math.abs(x - mean));
  const quiet = ser.config.silence_peak;
  if (peak === 0) return "every sample is zero";
  if (peak < quiet) return `peak ${(20*Math.log10(peak)).toFixed(0)} dBFS`;
  if (swing < quiet) return "a constant signal, no AC energy";
  return null;
}

function trimSilence(y, {top_db, frame_length, hop_length}) {  // ser_nb.data.trim_silence
  const half = frame_length/2, n = Math.floor(y.length/hop_length) + 1, power = new Float64Array(n);
  for (let k = 0; k < n; k++) {  // frames of the signal padded with frame_length/2 zeros a side
    let sum = 0;
    for (let i = k*hop_length - half; i < k*hop_length + half; i++)
      if (i >= 0 && i < y.length) sum += y[i]*y[i];
    power[k] = sum/frame_length;
  }
  const db = p => 10*Math.log10(Math.max(1e-10, p)), ref = db(Math.max(...power));
  const loud = [...power.keys()].filter(k => db(power[k]) - ref > -top_db);
  if (!loud.length) return y.subarray(0, 0);
  return y.subarray(loud[0]*hop_length, Math.min(y.length, (loud.at(-1) + 1)*hop_length));
}

function modelInput(y, name) {  // ser_nb.runtime.OnnxEmotionModel.model_input, "wave" kind
  const {trim, max_duration, multiple, sr} = ser.config.inputs;
  if (trim) {
    const why = silenceReason(y);
    if (why) throw new Error(`${name}: is silent (${why})`);
    y = trimSilence(y, ser.config.trim);
    if (max_duration !== null) y = y.subarray(0, Math.round(max_duration*sr));
  }
  const x = new Float32Array(Math.ceil(y.length/multiple)*multiple);
  x.set(y);
  return x;
}

async function probabilities(y, name) {  // the model's probabilities, in the card's label order
  const x = modelInput(y, name);
  const out = await ser.model.run({input: new ort.Tensor("float32", x, [1, x.length])});
  return Array.from(out[ser.model.outputNames[0]].data);
}

async function speechProbabilities(y) {  // ser_nb.speech.speech_probabilities
  const frames = Math.ceil(y.length/VAD_FRAME), out = new Float32Array(frames);
  const sr = new ort.Tensor("int64", BigInt64Array.from([BigInt(SR)]), []);
  let state = new ort.Tensor("float32", new Float32Array(2*128), [2, 1, 128]);
  const x = new Float32Array(VAD_CONTEXT + VAD_FRAME);  // the frame, after 64 samples of context
  for (let k = 0; k < frames; k++) {
    x.copyWithin(0, VAD_FRAME);
    x.fill(0, VAD_CONTEXT); x.set(y.subarray(k*VAD_FRAME, (k + 1)*VAD_FRAME), VAD_CONTEXT);
    const r = await ser.vad.run({input: new ort.Tensor("float32", x.slice(), [1, x.length]),
                                 state, sr});
    out[k] = r.output.data[0]; state = r.stateN;
  }
  return out;
}

class SpeechEvents {  // ser_nb.timeline.SpeechEvents, fed the VAD's probability of each chunk
  constructor({threshold, min_silence, pad}) {
    Object.assign(this, {threshold, minSilence: min_silence*SR, pad: pad*SR});
    this.speaking = false; this.silentSince = 0; this.pos = 0;
  }
  push(p) {  // the chunk's start or end of speech, in samples from the start; {} if neither
    this.pos += VAD_FRAME;
    if (p >= this.threshold) {
      this.silentSince = 0;
      if (!this.speaking) {
        this.speaking = true;
        return {start: Math.trunc(Math.max(0, this.pos - this.pad - VAD_FRAME))};
      }
    } else if (p < this.threshold - .15 && this.speaking) {
      this.silentSince = this.silentSince || this.pos;
      if (this.pos - this.silentSince >= this.minSilence) {
        const end = this.silentSince;
        this.speaking = false; this.silentSince = 0;
        return {end: Math.trunc(end + this.pad - VAD_FRAME)};
      }
    }
    return {};
  }
}

function speechWindows(probs, n, t) {  // ser_nb.timeline.speech_windows: [start, end] in samples
  const W = Math.trunc(t.window*SR), H = Math.trunc(t.hop*SR),
    shortest = Math.trunc(t.min_speech*SR), keep = Math.trunc(t.pad*SR) + 2*VAD_FRAME;
  const vad = new SpeechEvents(t), out = [];
  let base = 0, pos = 0, start = null, first = false;
  for (let k = 0; k < Math.floor(n/VAD_FRAME); k++) {  // whole chunks, as `_vad_events` reads
    const event = vad.push(probs[k]);
    pos += VAD_FRAME;
    if ("start" in event && start === null) { start = Math.max(event.start, base); first = true; }
    if (start !== null && pos - start >= W) {
      out.push([start, start + W]); start += H; first = false;
    }
    if ("end" in event && start !== null) {
      if (event.end - start >= (first ? shortest : W - H + shortest)) out.push([start, event.end]);
      start = null;
    }
    const cut = (start === null ? pos : start) - keep;  // where the Python stream drops audio
    if (cut > base) base = cut;
  }
  if (start !== null && pos - start >= (first ? shortest : W - H + shortest))
    out.push([start, pos]);
  return out;
}

function best(labels, q) {  // the most probable of `labels`, its probability, and every one
  const j = q.indexOf(Math.max(...q));
  return [labels[j], q[j], Object.fromEntries(labels.map((l, i) => [l, q[i]]))];
}

function answer(p) {  // a prediction as the service gives it: emotion, confidence, probabilities,
  const labels = ser.config.labels;  // then each aspect's columns (EmotionModel.aspect_answers)
  const [emotion, confidence, probabilities] = best(labels, p.slice(0, labels.length));
  const out = {emotion, confidence, probabilities};
  let at = labels.length;
  for (const [aspect, names] of Object.entries(ser.config.aspects || {})) {
    const [label, conf, probs] = best(names, p.slice(at, at += names.length));
    out[aspect] = {label, confidence: conf, probabilities: probs};
  }
  return out;
}

async function timeline(y, probs, name) {  // ser_nb.timeline.emotion_timeline, gate off
  const segments = [];
  for (const [a, b] of speechWindows(probs, y.length, ser.config.timeline)) {
    const row = {start: +(a/SR).toFixed(3), end: +(b/SR).toFixed(3)};
    try { segments.push({...row, ...answer(await probabilities(y.subarray(a, b), name))}); }
    catch (e) { segments.push({...row, error: e.message.split(": ").slice(1).join(": ")}); }
  }
  return {filename: name, duration: +(y.length/SR).toFixed(3), segments};
}

async function predictLocal(blob, name) {  // what POST /predict (and /timeline) would answer
  const y = await decode(blob), probs = await speechProbabilities(y), c = ser.config;
  const duration = y.length/SR, tooLong = duration > c.max_seconds;
  const speech = probs.filter(p => p >= c.speech.probability).length*VAD_FRAME/SR;
  let out = {filename: name, duration: +duration.toFixed(3), speech};
  if (tooLong) out.error = `${name}: ${duration.toFixed(1)} s long, over the ` +
    `${c.max_seconds} s limit of one prediction`;
  else if (speech < c.speech.min_speech)
    out.error = `no speech found in ${name} (${(speech*1000).toFixed(0)} ms of speech)`;
  else out = {...out, ...answer(await probabilities(y, name))};
  if (tooLong || (!out.error && duration > c.timeline.after))
    out.timeline = await timeline(y, probs, name);
  return out;
}

async function sendLocal(blob, name) {  // the served page's `send`, computed on this device
  $("error").textContent = $("emotion").textContent = $("aspects").textContent =
    $("timeline-caption").textContent = "";
  $("bars").replaceChildren(); $("timeline").replaceChildren();
  $("status").textContent = `listening to ${name} on this device...`;
  try {
    await serReady;
    const out = await predictLocal(blob, name);
    if (!out.error) show(out); else if (!out.timeline) $("error").textContent = out.error;
    if (out.timeline) showTimeline(out.timeline);
  } catch (e) { $("error").textContent = `could not predict on this device: ${e.message || e}`; }
  $("status").textContent = "";
}

window.serProbabilities = async (b64, name) => {  // test hook: raw probabilities of a file's bytes
  await serReady;
  const bytes = Uint8Array.from(atob(b64), ch => ch.charCodeAt(0)), t0 = performance.now();
  const y = await decode(new Blob([bytes])), speech = await speechProbabilities(y);
  const p = await probabilities(y, name);
  return {probabilities: p, ms: performance.now() - t0,
          speech: speech.filter(q => q >= ser.config.speech.probability).length*VAD_FRAME/SR};
};
