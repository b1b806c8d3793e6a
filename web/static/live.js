// calfcount live page: a thin view over /api/state and the /api/events stream.
// No framework and no inline script (the page's Content-Security-Policy forbids it).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const TIPS = {
    bouncing: "Pause at the bottom, don't bounce.",
    too_fast: "Lower slowly: about 2 s up, 2 s down.",
  };
  const WORDS = { bouncing: "Bouncing", too_fast: "Too fast" };
  const REST_SUGGESTED_S = 60;
  let state = null;
  let stateAt = 0;          // performance.now() when state arrived
  let plot = [];            // [t_s, value]
  let repMarks = [];        // end_s of reps, for the plot
  let pollTimer = null;
  let source = null;

  function fmt(s) {
    s = Math.max(0, Math.round(s));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }
  function sampleNow() {  // sample time now, extrapolated from the last state
    if (!state || state.t_s == null) return 0;
    return state.t_s + (performance.now() - stateAt) / 1000;
  }

  function render(s) {
    state = s; stateAt = performance.now();
    if (Array.isArray(s.plot)) plot = s.plot.slice();
    const inSet = s.in_set;
    const lastSet = s.sets && s.sets.length ? s.sets[s.sets.length - 1] : null;
    const resting = !inSet && s.resting_since_s != null && lastSet;
    // While resting the big number keeps the set just done: that is what the user looks for.
    $("reps").textContent = resting ? lastSet.reps : s.reps;
    $("target-reps").textContent = s.target_reps;
    $("set-label").textContent = (s.target_met && !inSet)
      ? "Target met: " + s.target_sets + " × " + s.target_reps
      : resting ? "Set " + lastSet.set + " done · next: set " + s.set
      : "Set " + s.set + " of " + s.target_sets;
    $("phase").textContent = inSet ? (s.phase === "idle" ? "in set" : "rep under way")
                                   : (s.resting_since_s != null ? "resting" : "ready");
    $("btn-set").textContent = inSet ? "End set" : "Start set";
    renderTiles(s);
    renderLast(s.last_rep);
    renderSensor(s.sensor);
    $("exercise").value = s.exercise;
    if (document.activeElement !== $("t-sets")) $("t-sets").value = s.target_sets;
    if (document.activeElement !== $("t-reps")) $("t-reps").value = s.target_reps;
    const carryMode = s.exercise === "farmers_walk";
    $("btn-carry").hidden = !carryMode;
    $("carry-box").hidden = !carryMode;
    $("btn-carry").textContent = s.carry ? "Stop carry" : "Start carry";
    $("carry-target").textContent = fmt(s.carry_target_s);
    const last = s.carries && s.carries.length ? s.carries[s.carries.length - 1] : null;
    $("carry-last").textContent = last ? ("Last carry " + fmt(last.duration_s) + ", " + last.steps + " steps" +
                                          (last.target_met ? " – target met" : "")) : "";
    tick();
  }

  function renderTiles(s) {
    const tiles = $("tiles");
    const done = s.sets || [];
    const n = Math.max(s.target_sets, done.length + (s.in_set ? 1 : 0));
    tiles.textContent = "";
    for (let i = 0; i < n; i++) {
      const t = document.createElement("div");
      t.className = "tile";
      let reps = 0, sub = "to do";
      if (i < done.length) {
        reps = done[i].reps;
        const flags = done[i].bouncing + done[i].too_fast;
        sub = flags ? (done[i].bouncing + " bouncing, " + done[i].too_fast + " fast") : "clean";
        if (reps >= s.target_reps) t.classList.add("done");
      } else if (i === done.length && s.in_set) {
        reps = s.reps; sub = "now";
        t.classList.add("current");
      }
      const fill = document.createElement("div");
      fill.className = "fill";
      fill.style.height = Math.min(100, 100 * reps / s.target_reps) + "%";
      const txt = document.createElement("div");
      txt.className = "txt";
      txt.textContent = "Set " + (i + 1) + ": " + reps;
      const subEl = document.createElement("div");
      subEl.className = "sub";
      subEl.textContent = sub;
      t.append(fill, txt, subEl);
      tiles.append(t);
    }
  }

  function renderLast(rep) {
    const flag = $("flag"), tip = $("tip"), tempo = $("tempo");
    if (!rep) { flag.className = "flag flag-none"; flag.textContent = "No reps yet"; tip.textContent = ""; tempo.textContent = ""; return; }
    const flags = rep.flags || [];
    if (!flags.length) {
      flag.className = "flag flag-clean"; flag.textContent = "Rep " + rep.rep + ": good"; tip.textContent = "";
    } else {
      flag.className = "flag " + (flags.includes("bouncing") ? "flag-bad" : "flag-warn");
      flag.textContent = "Rep " + rep.rep + ": " + flags.map((f) => WORDS[f] || f).join(" + ");
      tip.textContent = flags.map((f) => TIPS[f] || "").join(" ");
    }
    tempo.textContent = "up " + rep.lift_s.toFixed(1) + " s · hold " + rep.hold_s.toFixed(1) +
                        " s · down " + rep.lower_s.toFixed(1) + " s";
  }

  function renderSensor(sensor) {
    const el = $("sensor");
    const st = sensor ? sensor.status : "none";
    el.textContent = "sensor " + (st === "none" ? "–" : st);
    el.className = "pill " + (st === "ok" || st === "replay" ? "pill-ok" : st === "reconnecting" ? "pill-warn" : st === "lost" ? "pill-bad" : "");
  }

  function tick() {
    if (!state) return;
    const resting = !state.in_set && state.resting_since_s != null;
    $("rest-box").hidden = !resting;
    if (resting) {
      const rest = sampleNow() - state.resting_since_s;
      $("rest").textContent = fmt(rest);
      $("rest-left").textContent = rest < REST_SUGGESTED_S ? fmt(REST_SUGGESTED_S - rest) : "now";
    }
    if (state.carry) $("carry-time").textContent = fmt(sampleNow() - state.carry.start_s);
  }

  function drawPlot() {
    const c = $("plot"), g = c.getContext("2d");
    const w = c.width = c.clientWidth * (window.devicePixelRatio || 1);
    const h = c.height = c.clientHeight * (window.devicePixelRatio || 1);
    g.clearRect(0, 0, w, h);
    if (plot.length < 2) return;
    const css = getComputedStyle(document.documentElement);
    const t1 = plot[plot.length - 1][0], t0 = t1 - 30;
    let vmax = 1;
    for (const p of plot) vmax = Math.max(vmax, p[1]);
    const x = (t) => (t - t0) / 30 * w, y = (v) => h - 4 - (v / vmax) * (h - 8);
    g.strokeStyle = css.getPropertyValue("--line");
    g.lineWidth = 2;
    for (const m of repMarks) { if (m >= t0) { g.beginPath(); g.moveTo(x(m), 0); g.lineTo(x(m), h); g.stroke(); } }
    g.strokeStyle = css.getPropertyValue("--accent");
    g.lineWidth = 3;
    g.beginPath();
    plot.forEach((p, i) => { if (i === 0) g.moveTo(x(p[0]), y(p[1])); else g.lineTo(x(p[0]), y(p[1])); });
    g.stroke();
  }

  function online(ok) {
    const el = $("conn");
    el.textContent = ok ? "live" : "offline – retrying";
    el.className = "pill " + (ok ? "pill-ok" : "pill-off");
  }

  async function poll() {
    try {
      const r = await fetch("/api/state", { cache: "no-store" });
      if (r.ok) render(await r.json());
    } catch (e) { /* still offline */ }
  }
  function startPolling() { if (!pollTimer) { pollTimer = setInterval(poll, 2000); } }
  function stopPolling() { if (pollTimer) { clearInterval(pollTimer); pollTimer = null; } }

  function connect() {
    source = new EventSource("/api/events");
    source.addEventListener("open", () => { online(true); stopPolling(); });
    source.addEventListener("error", () => { online(false); startPolling(); });
    source.addEventListener("state", (e) => render(JSON.parse(e.data).state));
    source.addEventListener("plot", (e) => {
      const d = JSON.parse(e.data);
      plot.push([d.t_s, d.value]);
      while (plot.length && plot[0][0] < d.t_s - 30) plot.shift();
      if (state) { state.t_s = d.t_s; stateAt = performance.now(); }
    });
    source.addEventListener("rep", (e) => {
      const d = JSON.parse(e.data);
      repMarks.push(d.end_s);
      if (repMarks.length > 50) repMarks.shift();
      if (navigator.vibrate && d.flags && d.flags.length) navigator.vibrate(80);
    });
  }

  async function post(path, body) {
    const headers = { "X-CSRF-Token": csrf, "Content-Type": "application/json" };
    const pin = $("pin");
    if (pin) headers["X-PIN"] = pin.value;
    $("msg").textContent = "";
    try {
      const r = await fetch(path, { method: "POST", headers, body: body ? JSON.stringify(body) : "" });
      const d = await r.json();
      if (!r.ok) { $("msg").textContent = d.message || ("error " + r.status); return; }
      render(d.state);
    } catch (e) {
      $("msg").textContent = "No connection to the counter.";
    }
  }

  $("btn-set").addEventListener("click", () => post(state && state.in_set ? "/api/set/end" : "/api/set/start"));
  $("btn-undo").addEventListener("click", () => post("/api/rep/undo"));
  $("btn-new").addEventListener("click", () => { if (confirm("Start a new session?")) post("/api/session/new"); });
  $("btn-carry").addEventListener("click", () => post(state && state.carry ? "/api/carry/stop" : "/api/carry/start"));
  $("exercise").addEventListener("change", (e) => post("/api/exercise", { exercise: e.target.value }));
  $("btn-target").addEventListener("click", () => post("/api/target", {
    sets: parseInt($("t-sets").value, 10), reps: parseInt($("t-reps").value, 10) }));

  setInterval(() => { tick(); }, 250);
  setInterval(drawPlot, 200);
  poll();
  connect();
})();
