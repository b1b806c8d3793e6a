// calfcount live page: a thin view over /api/state and the /api/events stream.
// No framework and no inline script (the page's Content-Security-Policy forbids it).
// Every number shown comes from the server's state: no counting happens here.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let csrf = document.querySelector('meta[name="csrf-token"]').content;
  const TIPS = {
    bouncing: "Pause at the bottom, don't bounce.",
    too_fast: "Lower slowly: about 2 s up, 2 s down.",
  };
  const WORDS = { bouncing: "Bouncing", too_fast: "Too fast" };
  const PLOT_WINDOW_S = 30;
  const POLL_MS = 2000;
  const RECONNECT_MS = 3000;
  let state = null;
  let stateAt = 0;          // performance.now() when state.t_s was last known
  let plot = [];            // [[t_s, value], ...]
  let pollTimer = null;
  let reconnectTimer = null;
  let source = null;

  function fmt(s) {
    s = Math.max(0, Math.round(s));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }
  function sampleNow() {  // sample time now, extrapolated from the last news (keeps a timer going while the sensor is away)
    if (!state || state.t_s == null) return 0;
    return state.t_s + (performance.now() - stateAt) / 1000;
  }

  function render(s) {
    if (!s) return;
    // Snapshots are numbered by the counter (afresh when it restarts): one older than the one
    // shown is stale, e.g. a button's answer that the event stream overtook with the rep after.
    if (state && s.boot === state.boot && s.seq < state.seq) return;
    state = s; stateAt = performance.now();
    if (Array.isArray(s.plot)) plot = s.plot.slice();
    const inSet = s.in_set;
    const lastSet = s.sets && s.sets.length ? s.sets[s.sets.length - 1] : null;
    const resting = !inSet && s.rest && lastSet;
    // While resting the big number keeps the set just done: that is what the user looks for.
    $("reps").textContent = resting ? lastSet.reps : s.reps;
    $("target-reps").textContent = s.target_reps;
    $("set-label").textContent = (s.target_met && !inSet)
      ? "Target met: " + s.target_sets + " × " + s.target_reps
      : resting ? "Set " + lastSet.set + " done · next: set " + s.set
      : "Set " + s.set + " of " + s.target_sets;
    $("phase").textContent = inSet ? (s.phase && s.phase !== "idle" ? "rep under way" : "in set")
                                   : (resting ? "resting" : "ready");
    $("btn-set").textContent = inSet ? "End set" : "Start set";
    renderTiles(s);
    renderLast(s.last_rep);
    renderSensor(s.sensor);
    $("exercise").value = s.exercise;
    keepTyping("t-sets", s.target_sets);
    keepTyping("t-reps", s.target_reps);
    keepTyping("t-rest", s.rest_target_s);
    const carryMode = s.exercise === "farmers_walk";
    $("btn-carry").hidden = !carryMode;
    $("btn-set").hidden = carryMode;
    $("carry-box").hidden = !carryMode;
    $("btn-carry").textContent = s.carry ? "Stop carry" : "Start carry";
    $("carry-target").textContent = fmt(s.carry_target_s);
    const last = s.carries && s.carries.length ? s.carries[s.carries.length - 1] : null;
    $("carry-last").textContent = last ? ("Last carry " + fmt(last.duration_s) + ", " + last.steps + " steps" +
                                          (last.target_met ? " – target met" : "")) : "";
    $("store-error").hidden = !s.store_error;
    $("store-error").textContent = s.store_error || "";
    tick();
  }

  // A target field the user has changed shows what they typed until it is sent: a rep
  // arriving while they move on to the next field must not put the old value back.
  const edited = new Set();
  function keepTyping(id, value) {
    if (!edited.has(id) && document.activeElement !== $(id) && value != null) $(id).value = value;
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function renderTiles(s) {
    const tiles = $("tiles");
    const done = s.sets || [];
    const n = Math.max(s.target_sets, done.length + (s.in_set ? 1 : 0));
    tiles.textContent = "";
    for (let i = 0; i < n; i++) {
      const t = el("div", "tile");
      let reps = 0, sub = "to do";
      if (i < done.length) {
        reps = done[i].reps;
        const parts = [];
        if (done[i].bouncing) parts.push(done[i].bouncing + " bouncing");
        if (done[i].too_fast) parts.push(done[i].too_fast + " fast");
        sub = parts.length ? parts.join(" · ") : "clean";
        t.classList.add(reps >= s.target_reps ? "done" : "short");
      } else if (i === done.length && s.in_set) {
        reps = s.reps; sub = "now";
        t.classList.add("current");
      }
      const fill = el("div", "fill");
      fill.style.height = Math.min(100, 100 * reps / s.target_reps) + "%";
      const count = el("div", "tile-count", String(reps));
      count.append(el("small", null, "/" + s.target_reps));
      t.append(fill, el("div", "tile-label", "Set " + (i + 1)), count, el("div", "sub", sub));
      t.setAttribute("aria-label", "Set " + (i + 1) + ": " + reps + " of " + s.target_reps + ", " + sub);
      tiles.append(t);
    }
  }

  function renderLast(rep) {
    const flag = $("flag"), tip = $("tip"), tempo = $("tempo");
    if (!rep) {
      flag.className = "flag flag-none"; flag.textContent = "No reps yet"; tip.textContent = ""; tempo.textContent = "";
      return;
    }
    const flags = rep.flags || [];
    if (!flags.length) {
      flag.className = "flag flag-clean"; flag.textContent = "Rep " + rep.rep + ": good"; tip.textContent = "";
    } else {
      flag.className = "flag " + (flags.includes("bouncing") ? "flag-bad" : "flag-warn");
      flag.textContent = "Rep " + rep.rep + ": " + flags.map((f) => WORDS[f] || f).join(" + ");
      tip.textContent = flags.map((f) => TIPS[f] || "").join(" ");
    }
    const num = (x) => (typeof x === "number" ? x.toFixed(1) : "–");
    tempo.textContent = "up " + num(rep.lift_s) + " s · hold " + num(rep.hold_s) + " s · down " + num(rep.lower_s) + " s";
  }

  function renderSensor(sensor) {
    const e = $("sensor");
    const st = sensor ? sensor.status : "none";
    e.textContent = "sensor " + (st === "none" ? "–" : st);
    e.className = "pill " + (st === "ok" || st === "replay" ? "pill-ok" : st === "reconnecting" ? "pill-warn"
                             : st === "lost" ? "pill-bad" : "");
  }

  function tick() {
    if (!state) return;
    const rest = !state.in_set && state.rest;
    $("rest-box").hidden = !rest;
    if (rest) {
      const elapsed = sampleNow() - rest.since_s;
      const left = rest.target_s - elapsed;
      $("rest").textContent = fmt(elapsed);
      $("rest-left").textContent = left > 0 ? fmt(left) : "now";
      $("rest-box").classList.toggle("rest-over", left <= 0);
    }
    if (state.carry) $("carry-time").textContent = fmt(sampleNow() - state.carry.start_s);
  }

  function drawPlot() {
    const c = $("plot"), g = c.getContext("2d");
    const dpr = window.devicePixelRatio || 1;
    const w = c.width = Math.max(1, Math.round(c.clientWidth * dpr));
    const h = c.height = Math.max(1, Math.round(c.clientHeight * dpr));
    g.clearRect(0, 0, w, h);
    if (plot.length < 2) return;
    const css = getComputedStyle(document.documentElement);
    const t1 = plot[plot.length - 1][0], t0 = t1 - PLOT_WINDOW_S;
    let vmin = 0, vmax = 1;
    for (const p of plot) { if (p[1] > vmax) vmax = p[1]; if (p[1] < vmin) vmin = p[1]; }
    const x = (t) => (t - t0) / PLOT_WINDOW_S * w;
    const y = (v) => h - 4 * dpr - (v - vmin) / (vmax - vmin) * (h - 8 * dpr);
    // Rep markers: a vertical line where each rep ended, in the flag colour if flagged.
    g.lineWidth = 2 * dpr;
    for (const m of state && state.rep_marks ? state.rep_marks : []) {
      if (m[0] < t0) continue;
      g.strokeStyle = css.getPropertyValue(m[1] ? "--warn" : "--mark").trim();
      g.beginPath(); g.moveTo(x(m[0]), 0); g.lineTo(x(m[0]), h); g.stroke();
    }
    g.strokeStyle = css.getPropertyValue("--accent").trim();
    g.lineWidth = 2.5 * dpr;
    g.lineJoin = "round";
    g.beginPath();
    plot.forEach((p, i) => { if (i === 0) g.moveTo(x(p[0]), y(p[1])); else g.lineTo(x(p[0]), y(p[1])); });
    g.stroke();
  }

  // -- connection: the event stream, polling while it is down -------------------------
  function online(ok) {
    const e = $("conn");
    e.textContent = ok ? "live" : "offline – retrying";
    e.className = "pill " + (ok ? "pill-ok" : "pill-off");
  }

  async function poll() {
    try {
      const r = await fetch("/api/state", { cache: "no-store" });
      if (r.ok) render(await r.json());
    } catch (e) { /* still offline */ }
  }
  function startPolling() { if (!pollTimer) pollTimer = setInterval(poll, POLL_MS); }
  function stopPolling() { if (pollTimer) { clearInterval(pollTimer); pollTimer = null; } }

  function connect() {
    if (reconnectTimer) { clearTimeout(reconnectTimer); reconnectTimer = null; }
    if (source) source.close();
    source = new EventSource("/api/events");
    source.addEventListener("open", () => { online(true); stopPolling(); });
    source.addEventListener("error", () => {
      online(false);
      startPolling();
      // The browser retries by itself unless the stream was refused (readyState CLOSED):
      // then it is up to us.
      if (source.readyState === EventSource.CLOSED && !reconnectTimer) {
        reconnectTimer = setTimeout(connect, RECONNECT_MS);
      }
    });
    source.addEventListener("state", (e) => render(JSON.parse(e.data).state));
    source.addEventListener("plot", (e) => {
      const d = JSON.parse(e.data);
      plot.push([d.t_s, d.value]);
      while (plot.length && plot[0][0] < d.t_s - PLOT_WINDOW_S) plot.shift();
      if (state) { state.t_s = d.t_s; stateAt = performance.now(); }
    });
    source.addEventListener("rep", (e) => {
      const d = JSON.parse(e.data);
      if (navigator.vibrate && d.flags && d.flags.length) navigator.vibrate(80);
    });
  }

  // A phone that slept may hold a dead stream: start afresh when the page is looked at again.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && (!source || source.readyState === EventSource.CLOSED)) connect();
  });

  // -- controls ---------------------------------------------------------------------------
  const pinField = $("pin");
  if (pinField) {
    pinField.value = sessionStorage.getItem("calfcount-pin") || "";
    pinField.addEventListener("change", () => sessionStorage.setItem("calfcount-pin", pinField.value));
  }

  // The token changes when the counter restarts: fetch the page's new one instead of
  // making the user reload.
  async function refreshToken() {
    const r = await fetch("/", { cache: "no-store" });
    const doc = new DOMParser().parseFromString(await r.text(), "text/html");
    const meta = doc.querySelector('meta[name="csrf-token"]');
    if (!meta || meta.content === csrf) return false;
    csrf = meta.content;
    return true;
  }

  const controls = $("controls");
  let inFlight = 0;  // requests sent from the controls and not yet answered (aria-busy)
  function busy(delta) {
    inFlight += delta;
    controls.setAttribute("aria-busy", inFlight > 0 ? "true" : "false");
  }

  async function post(path, body, retried) {
    busy(+1);
    try { return await send(path, body, retried); } finally { busy(-1); }
  }

  async function send(path, body, retried) {
    const headers = { "X-CSRF-Token": csrf, "Content-Type": "application/json" };
    if (pinField) headers["X-PIN"] = pinField.value;
    $("msg").textContent = "";
    try {
      const r = await fetch(path, { method: "POST", headers, body: body ? JSON.stringify(body) : "" });
      const d = await r.json();
      if (r.status === 403 && !retried && /CSRF/.test(d.message || "") && await refreshToken()) {
        return send(path, body, true);
      }
      if (!r.ok) { $("msg").textContent = d.message || ("error " + r.status); return false; }
      render(d.state);
      return true;
    } catch (e) {
      $("msg").textContent = "No connection to the counter.";
      return false;
    }
  }

  $("btn-set").addEventListener("click", () => post(state && state.in_set ? "/api/set/end" : "/api/set/start"));
  $("btn-undo").addEventListener("click", () => post("/api/rep/undo"));
  $("btn-new").addEventListener("click", () => { if (confirm("Start a new session?")) post("/api/session/new"); });
  $("btn-carry").addEventListener("click", () => post(state && state.carry ? "/api/carry/stop" : "/api/carry/start"));
  $("exercise").addEventListener("change", (e) => post("/api/exercise", { exercise: e.target.value }));
  for (const id of ["t-sets", "t-reps", "t-rest"]) $(id).addEventListener("input", () => edited.add(id));
  $("btn-target").addEventListener("click", async () => {
    const sent = await post("/api/target", {
      sets: parseInt($("t-sets").value, 10), reps: parseInt($("t-reps").value, 10),
      rest_target_s: parseInt($("t-rest").value, 10) });
    if (sent) { edited.clear(); render(state); }  // (refused: what was typed stays, to be fixed)
  });

  setInterval(tick, 250);
  setInterval(drawPlot, 200);
  poll();
  connect();
})();
